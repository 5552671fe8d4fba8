"""The pipelines' pure structure: stages, actions, variables, triggers, the
plan of one env and its checks (no Pulumi resources: the tests read it)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from components import naming, params, stackname
from components.contract import PIPELINES
from components.errors import MultilaneError
from components.params import PipelinesParams, ServiceParams

if TYPE_CHECKING:  # pulumi-aws's typed shapes of these dicts; nothing Pulumi runs here
    from pulumi_aws.codepipeline import PipelineStageActionArgsDict as Action
    from pulumi_aws.codepipeline import PipelineStageArgsDict as Stage
    from pulumi_aws.codepipeline import PipelineTriggerArgsDict as Trigger
    from pulumi_aws.codepipeline import PipelineVariableArgsDict as Variable

LAYER = PIPELINES.name

SOURCE_PROVIDER = "CodeStarSourceConnection"
INFRA_SOURCE, APP_SOURCE = "InfraSource", "AppSource"
INFRA_OUT, APP_OUT, BUILD_OUT = "InfraOut", "AppOut", "BuildOut"
APP_SOURCE_NAMESPACE = "AppSourceVariables"
BUILD_NAMESPACE = "BuildVariables"
BUILD_EXPORTS = ("ECR_REPO_URI", "IMAGE_TAG_URI")
BUILDSPEC = "ci/buildspec.yaml"
DEPLOY_BUILDSPEC = "ci/deploy-buildspec.yaml"
PARAMS_FILE = "cfn-params.json"

# Infra changes queue (one network change at a time, none cancelled); boot
# and app runs target different stacks and must not supersede each other.
EXECUTION_MODE = {"infra": "QUEUED", "boot": "PARALLEL", "app": "PARALLEL"}

BUILD_TIMEOUT_MINUTES = 60
DEPLOY_TIMEOUT_MINUTES = 60


# --- pure pipeline structure ---------------------------------------------------


def variable(name: str) -> str:
    """CodePipeline's reference to a pipeline-level variable."""
    return f"#{{variables.{name}}}"


def env_vars(values: Mapping[str, str]) -> str:
    """CodeBuild action EnvironmentVariables: a JSON list, in a stable order."""
    return json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in values.items()])


def source_action(
    name: str, output: str, repository: str, branch: str, connection_arn: str, *, detect_changes: bool
) -> Action:
    action: Action = {
        "name": name,
        "category": "Source",
        "owner": "AWS",
        "provider": SOURCE_PROVIDER,
        "version": "1",
        "output_artifacts": [output],
        "configuration": {
            "ConnectionArn": connection_arn,
            "FullRepositoryId": repository,
            "BranchName": branch,
            "OutputArtifactFormat": "CODE_ZIP",
            # Only the infra pipeline starts on pushes (through its V2
            # trigger); lane releases are started explicitly.
            "DetectChanges": "true" if detect_changes else "false",
        },
        "run_order": 1,
    }
    if name == APP_SOURCE:
        action["namespace"] = APP_SOURCE_NAMESPACE  # #{AppSourceVariables.CommitId}
    return action


def codebuild_action(
    name: str,
    category: str,
    project: str,
    inputs: Sequence[str],
    variables: Mapping[str, str],
    *,
    outputs: Sequence[str] = (),
    namespace: str | None = None,
) -> Action:
    configuration = {"ProjectName": project, "EnvironmentVariables": env_vars(variables)}
    if len(inputs) > 1:
        # The first input holds the buildspec; the others are mounted at
        # $CODEBUILD_SRC_DIR_<artifact>.
        configuration["PrimarySource"] = inputs[0]
    action: Action = {
        "name": name,
        "category": category,
        "owner": "AWS",
        "provider": "CodeBuild",
        "version": "1",
        "input_artifacts": list(inputs),
        "configuration": configuration,
        "run_order": 1,
    }
    if outputs:
        action["output_artifacts"] = list(outputs)
    if namespace:
        action["namespace"] = namespace
    return action


def infra_source(pp: PipelinesParams, *, detect_changes: bool) -> Action:
    repo = pp.infra_repository
    return source_action(
        INFRA_SOURCE, INFRA_OUT, repo.repository, repo.branch, pp.connection_arn, detect_changes=detect_changes
    )


def infra_stages(env: str, pp: PipelinesParams, deploy_project: str) -> list[Stage]:
    return [
        {"name": "Source", "actions": [infra_source(pp, detect_changes=False)]},
        {
            "name": "Deploy",
            "actions": [
                codebuild_action(
                    "Deploy",
                    "Build",
                    deploy_project,
                    [INFRA_OUT],
                    {"APP_ENV": env, "DEPLOY_STACK": naming.infra_stack(env)},
                )
            ],
        },
    ]


def boot_stages(service: str, env: str, pp: PipelinesParams, deploy_project: str) -> list[Stage]:
    return [
        {"name": "Source", "actions": [infra_source(pp, detect_changes=False)]},
        {
            "name": "Deploy",
            "actions": [
                codebuild_action(
                    "Deploy",
                    "Build",
                    deploy_project,
                    [INFRA_OUT],
                    {"APP_ENV": env, "SERVICE_NAME": service, "DEPLOY_STACK": naming.boot_stack(service, env)},
                )
            ],
        },
    ]


def app_stages(
    service: str, env: str, svc: ServiceParams, pp: PipelinesParams, build_project: str, deploy_project: str
) -> list[Stage]:
    lane = variable("LANE")
    # The branch AppSource actually fetched (app.branch in params): the source
    # action builds that branch, so BRANCH records it, it does not choose it.
    # Build another commit with a per-execution source revision override
    # (start-pipeline-execution --source-revisions actionName=AppSource,...).
    branch = f"#{{{APP_SOURCE_NAMESPACE}.BranchName}}"
    assert svc.app is not None
    return [
        {
            "name": "Source",
            "actions": [
                infra_source(pp, detect_changes=False),
                source_action(
                    APP_SOURCE, APP_OUT, svc.app.repository, svc.app.branch, pp.connection_arn, detect_changes=False
                ),
            ],
        },
        {
            "name": "Build",
            "actions": [
                codebuild_action(
                    "Build",
                    "Build",
                    build_project,
                    [INFRA_OUT, APP_OUT],
                    {
                        "SERVICE_NAME": service,
                        "APP_ENV": env,
                        "SERVICE": variable("SERVICE"),
                        "LANE": lane,
                        "APP_BRANCH": branch,
                        "APP_COMMIT": f"#{{{APP_SOURCE_NAMESPACE}.CommitId}}",
                    },
                    outputs=[BUILD_OUT],
                    namespace=BUILD_NAMESPACE,
                )
            ],
        },
        {
            "name": "Deploy",
            "actions": [
                codebuild_action(
                    "Deploy",
                    "Build",
                    deploy_project,
                    [INFRA_OUT, BUILD_OUT],
                    {
                        "SERVICE_NAME": service,
                        "APP_ENV": env,
                        "LANE": lane,
                        "BRANCH": branch,
                        "DEPLOY_STACK": naming.lane_stack(service, env, lane),
                        "IMAGE_URI": f"#{{{BUILD_NAMESPACE}.IMAGE_TAG_URI}}",
                    },
                )
            ],
        },
    ]


def app_variables(service: str, svc: ServiceParams) -> list[Variable]:
    assert svc.app is not None
    return [
        {"name": "SERVICE", "default_value": service, "description": "service to release (must be this pipeline's)"},
        {"name": "LANE", "default_value": naming.DEFAULT_LANE, "description": "lane stack to deploy"},
    ]


def infra_triggers(pp: PipelinesParams) -> list[Trigger]:
    return [
        {
            "provider_type": SOURCE_PROVIDER,
            "git_configuration": {
                "source_action_name": INFRA_SOURCE,
                "pushes": [{"branches": {"includes": [pp.infra_repository.branch]}}],
            },
        }
    ]


# --- validation ------------------------------------------------------------------


@dataclass(frozen=True)
class PipelinesPlan:
    """Everything the stack builds from, validated before any resource exists."""

    env: str
    region: str
    params: PipelinesParams
    services: dict[str, ServiceParams]
    production: bool = False


def plan(env: str, params_dir: Path) -> PipelinesPlan:
    infra = params.load_infra(env, params_dir)
    pp = params.load_pipelines(env, params_dir)
    names = params.services(env, params_dir)
    if not names:
        raise MultilaneError(
            f"env {env!r} has no service params file in {params.rel(params_dir)}/ "
            f"(expected {{service}}-{env}.json); add one before deploying {naming.pipelines_stack(env)}"
        )
    services: dict[str, ServiceParams] = {}
    for service in names:
        stackname.check_service(service, env)
        services[service] = params.load_service(service, env, params_dir)  # pydantic requires "app"
    check_artifact_folders(env, list(services))
    return PipelinesPlan(env=env, region=infra.region, params=pp, services=services, production=infra.production)


def check_artifact_folders(env: str, services: Sequence[str]) -> None:
    """Each pipeline's roles may touch only its own artifact folder, which
    CodePipeline names after the first 20 characters of the pipeline name:
    two pipelines sharing them would share a folder."""
    seen: dict[str, str] = {}
    names = [naming.infra_pipeline_name(env)]
    names += [naming.boot_pipeline_name(s, env) for s in services]
    names += [naming.app_pipeline_name(s, env) for s in services]
    names += [naming.review_pipeline_name(s, env) for s in services] + [naming.reaper_pipeline_name(env)]
    for name in names:
        folder = naming.artifact_folder(name)
        if folder in seen:
            raise MultilaneError(
                f"pipelines {seen[folder]} and {name} share the artifact folder {folder!r} (CodePipeline keeps only "
                f"the first {naming.LIMIT_ARTIFACT_FOLDER} characters of a pipeline name); rename one service so "
                "the first 20 characters of its pipeline names differ (boot-{service}-{env} leaves 15 for the service)"
            )
        seen[folder] = name


# --- components ------------------------------------------------------------------

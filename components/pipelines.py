"""Pipelines layer, stack ``pipelines-{env}``: the article's delivery half.

One artifact bucket, one CodePipeline role, and three kinds of CodePipeline
V2 pipeline per env:

- ``infra-{env}``: InfraSource -> deploy ``infra-{env}``; starts on a push to
  the infra repository's branch (the only pipeline with a git trigger).
- ``boot-{env}``: variable SERVICE (required) -> deploy
  ``boot-#{variables.SERVICE}-{env}``.
- ``{service}-{env}`` per ``params/{service}-{env}.json``: the article's
  dual-source pipeline. InfraSource -> InfraOut (this repo: buildspecs,
  scripts, the Pulumi program) and AppSource -> AppOut (the app repo); Build
  runs ci/buildspec.yaml with InfraOut primary and AppOut secondary and writes
  the parameter file; Deploy runs the runner on
  ``{service}-{env}-#{variables.LANE}`` with it.

App and boot pipelines run in PARALLEL execution mode (the article's defect
3: SUPERSEDED would cancel a running lane's release when another lane's
starts). Every deploy goes through ``python -m automation up``; the CodeBuild
roles are scoped per layer and per service (components/iam.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from . import iam, naming, params, stackname
from .buckets import Expiry, private_bucket
from .errors import MultilaneError
from .params import PipelinesParams, ServiceParams
from .stackconfig import StackConfig
from .stackname import Target

LAYER = "pipelines"

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
) -> dict:
    action: dict = {
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
) -> dict:
    configuration = {"ProjectName": project, "EnvironmentVariables": env_vars(variables)}
    if len(inputs) > 1:
        # The first input holds the buildspec; the others are mounted at
        # $CODEBUILD_SRC_DIR_<artifact>.
        configuration["PrimarySource"] = inputs[0]
    action: dict = {
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


def infra_source(pp: PipelinesParams, *, detect_changes: bool) -> dict:
    repo = pp.infra_repository
    return source_action(
        INFRA_SOURCE, INFRA_OUT, repo.repository, repo.branch, pp.connection_arn, detect_changes=detect_changes
    )


def infra_stages(env: str, pp: PipelinesParams, deploy_project: str) -> list[dict]:
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


def boot_stages(env: str, pp: PipelinesParams, deploy_project: str) -> list[dict]:
    service = variable("SERVICE")
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
) -> list[dict]:
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


def app_variables(service: str, svc: ServiceParams) -> list[dict]:
    assert svc.app is not None
    return [
        {"name": "SERVICE", "default_value": service, "description": "service to release (must be this pipeline's)"},
        {"name": "LANE", "default_value": naming.DEFAULT_LANE, "description": "lane stack to deploy"},
    ]


BOOT_VARIABLES = [{"name": "SERVICE", "description": "service whose boot stack to deploy (required)"}]


def infra_triggers(pp: PipelinesParams) -> list[dict]:
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
        svc = params.load_service(service, env, params_dir)
        if getattr(svc, "app", None) is None:
            raise MultilaneError(
                f"{params.rel(params.service_path(service, env, params_dir))}: key 'app' is missing; the "
                'pipeline needs the app repository, e.g. "app": {"repository": "acme/' + service + '"}'
            )
        services[service] = svc
    check_artifact_folders(env, list(services))
    return PipelinesPlan(env=env, region=infra.region, params=pp, services=services, production=infra.production)


def check_artifact_folders(env: str, services: Sequence[str]) -> None:
    """Each pipeline's roles may touch only its own artifact folder, which
    CodePipeline names after the first 20 characters of the pipeline name:
    two pipelines sharing them would share a folder."""
    seen: dict[str, str] = {}
    names = [naming.infra_pipeline_name(env), naming.boot_pipeline_name(env)]
    names += [naming.app_pipeline_name(s, env) for s in services]
    for name in names:
        folder = naming.artifact_folder(name)
        if folder in seen:
            raise MultilaneError(
                f"pipelines {seen[folder]} and {name} share the artifact folder {folder!r} (CodePipeline keeps only "
                f"the first {naming.LIMIT_ARTIFACT_FOLDER} characters of a pipeline name); rename one service so "
                "the first 20 characters of its pipeline name differ"
            )
        seen[folder] = name


# --- components ------------------------------------------------------------------


@dataclass
class ArtifactStoreArgs:
    env: str
    retention_days: int


class ArtifactStore(pulumi.ComponentResource):
    """The pipelines' artifact bucket: private, encrypted, versioned, TLS
    only, and old artifacts expire."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:ArtifactStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = private_bucket(
            name,
            bucket_prefix=naming.artifact_bucket_prefix(args.env),
            force_destroy=True,  # artifacts are disposable; the stack owns them
            tags=naming.tags(args.env, LAYER),
            expiry=Expiry("expire-old-artifacts", args.retention_days, noncurrent_days=7, abort_multipart_days=1),
            opts=child,
        )
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(iam.artifact_bucket_policy(arn))),
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})


@dataclass
class BuildProjectArgs:
    env: str
    project_name: str
    role_name: str
    policy: pulumi.Input[str]
    buildspec: str
    image: str
    log_retention_days: int
    privileged: bool
    environment: Mapping[str, pulumi.Input[str]]
    scope: pulumi.Input[iam.Scope]
    service: str | None = None


class BuildProject(pulumi.ComponentResource):
    """A CodeBuild project with its own role, policy and log group.

    The role's Allow statements are its inline policy; its Deny statements
    (the layer, env and boundary guards) are a managed policy attached to it,
    so the inline policy stays within IAM's 10,240-character quota."""

    project_name: pulumi.Output[str]
    project_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BuildProjectArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:BuildProject", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = naming.tags(args.env, LAYER, args.service)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.codebuild_log_group_name(args.project_name),
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        scope = pulumi.Output.from_input(args.scope)
        project_name = args.project_name
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            # Only CodeBuild running this project of this account (confused deputy).
            assume_role_policy=scope.apply(
                lambda s: json.dumps(
                    iam.trust(
                        "codebuild.amazonaws.com",
                        account=s.account,
                        source_arns=[s.arn("codebuild", f"project/{project_name}")],
                    )
                )
            ),
            tags=tags,
            opts=child,
        )
        parts = pulumi.Output.from_input(args.policy).apply(lambda raw: iam.split_guard(json.loads(raw)))
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=parts.apply(lambda p: json.dumps(p[0])), opts=child
        )
        guard = aws.iam.Policy(
            f"{name}-guard",
            name=naming.pipeline_guard_policy_name(args.role_name),
            description=f"explicit Deny statements of {args.role_name}",
            policy=parts.apply(lambda p: json.dumps(p[1])),
            tags=tags,
            opts=child,
        )
        attached = aws.iam.RolePolicyAttachment(f"{name}-guard", role=role.name, policy_arn=guard.arn, opts=child)
        project = aws.codebuild.Project(
            f"{name}-project",
            name=args.project_name,
            service_role=role.arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            source={"type": "CODEPIPELINE", "buildspec": args.buildspec},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "compute_type": "BUILD_GENERAL1_SMALL",
                "image": args.image,
                "type": "LINUX_CONTAINER",
                "image_pull_credentials_type": "CODEBUILD",
                "privileged_mode": args.privileged,
                "environment_variables": [
                    {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in args.environment.items()
                ],
            },
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name}},
            tags=tags,
            # The role must hold its policies before the first build runs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, attached]),
        )
        self.project_name = project.name
        self.project_arn = project.arn
        self.role_arn = role.arn
        self.register_outputs({"projectName": self.project_name, "roleArn": self.role_arn})


@dataclass
class PipelineArgs:
    env: str
    name: str
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]
    stages: list[dict]
    variables: list[dict]
    execution_mode: str
    triggers: list[dict] | None = None
    service: str | None = None


def _pipeline(resource_name: str, args: PipelineArgs, parent: pulumi.Resource) -> aws.codepipeline.Pipeline:
    return aws.codepipeline.Pipeline(
        resource_name,
        name=args.name,
        pipeline_type="V2",
        execution_mode=args.execution_mode,
        role_arn=args.role_arn,
        artifact_stores=[{"location": args.artifact_bucket, "type": "S3"}],
        stages=args.stages,
        variables=args.variables or None,
        triggers=args.triggers,
        tags=naming.tags(args.env, LAYER, args.service),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass
class DeployEnvironment:
    """What every deploy project needs to run the runner against the backend."""

    pulumi_version: str
    backend_url: str
    secrets_provider: str | None

    def variables(self, env: str) -> dict[str, str]:
        out = {"APP_ENV": env, "PULUMI_VERSION": self.pulumi_version, "PULUMI_BACKEND_URL": self.backend_url}
        if self.secrets_provider:
            out["MULTILANE_SECRETS_PROVIDER"] = self.secrets_provider
        else:
            # Without a KMS key the stacks use the passphrase provider with an
            # empty passphrase: multilane config holds no secret values
            # (secrets are ARNs); set stateKmsKeyArn to encrypt with KMS.
            out["PULUMI_CONFIG_PASSPHRASE"] = ""
        return out


def deploy_environment(pp: PipelinesParams, region: str) -> DeployEnvironment:
    provider = None
    if pp.state_kms_key_arn:
        key = pp.state_kms_key_arn.split(":", 5)[5]  # key/<id> or alias/<name>
        provider = f"awskms://{key}?region={region}"
    return DeployEnvironment(pp.pulumi_version, f"s3://{pp.state_bucket}", provider)


@dataclass
class LayerPipelineArgs:
    env: str
    layer: str  # "infra" or "boot"
    params: PipelinesParams
    scope: pulumi.Input[iam.Scope]
    deploy: DeployEnvironment
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]


class LayerPipeline(pulumi.ComponentResource):
    """``infra-{env}`` or ``boot-{env}``: the infra repo, then one deploy."""

    pipeline_name: pulumi.Output[str]

    def __init__(self, name: str, args: LayerPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:LayerPipeline", name, None, opts)
        env, layer, pp = args.env, args.layer, args.params
        project = naming.codebuild_project_name(env, f"{layer}-deploy")
        document = iam.infra_deploy_policy if layer == "infra" else iam.boot_deploy_policy
        deploy = BuildProject(
            f"{name}-deploy",
            BuildProjectArgs(
                env=env,
                project_name=project,
                role_name=naming.pipeline_role_name(env, layer, "deploy"),
                policy=pulumi.Output.from_input(args.scope).apply(lambda s: json.dumps(document(s, project))),
                buildspec=DEPLOY_BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=False,
                environment=args.deploy.variables(env),
                scope=args.scope,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if layer == "infra":
            name_, stages, variables, triggers = (
                naming.infra_pipeline_name(env),
                infra_stages(env, pp, project),
                [],
                infra_triggers(pp),
            )
        else:
            name_, stages, variables, triggers = (
                naming.boot_pipeline_name(env),
                boot_stages(env, pp, project),
                BOOT_VARIABLES,
                None,
            )
        pipeline = _pipeline(
            f"{name}-pipeline",
            PipelineArgs(
                env=env,
                name=name_,
                role_arn=args.role_arn,
                artifact_bucket=args.artifact_bucket,
                stages=stages,
                variables=variables,
                execution_mode=EXECUTION_MODE[layer],
                triggers=triggers,
            ),
            self,
        )
        self.deploy_project = deploy
        self.pipeline_name = pipeline.name
        self.register_outputs({"pipelineName": self.pipeline_name})


@dataclass
class DualSourcePipelineArgs:
    env: str
    service: str
    service_params: ServiceParams
    params: PipelinesParams
    scope: pulumi.Input[iam.Scope]
    deploy: DeployEnvironment
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]
    repository_url: pulumi.Input[str]


class DualSourcePipeline(pulumi.ComponentResource):
    """``{service}-{env}``: infra repo + app repo -> image -> lane stack."""

    pipeline_name: pulumi.Output[str]

    def __init__(self, name: str, args: DualSourcePipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:DualSourcePipeline", name, None, opts)
        env, service, svc, pp = args.env, args.service, args.service_params, args.params
        assert svc.app is not None
        scope = pulumi.Output.from_input(args.scope)
        build_name = naming.app_codebuild_project_name(service, env, "build")
        deploy_name = naming.app_codebuild_project_name(service, env, "deploy")
        child = pulumi.ResourceOptions(parent=self)
        BuildProject(
            f"{name}-build",
            BuildProjectArgs(
                env=env,
                service=service,
                project_name=build_name,
                role_name=naming.pipeline_role_name(env, "app", f"{service}-build"),
                policy=scope.apply(lambda s: json.dumps(iam.app_build_policy(s, service, build_name))),
                buildspec=BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=True,  # docker build needs the daemon
                environment={
                    "APP_ENV": env,
                    "SERVICE_NAME": service,
                    "MODULE_PATH": svc.app.module_path,
                    "DOCKERFILE": svc.app.dockerfile,
                    "ECR_REPO_URI": args.repository_url,
                    "PARAMS_FILE": PARAMS_FILE,
                },
                scope=scope,
            ),
            opts=child,
        )
        BuildProject(
            f"{name}-deploy",
            BuildProjectArgs(
                env=env,
                service=service,
                project_name=deploy_name,
                role_name=naming.pipeline_role_name(env, "app", f"{service}-deploy"),
                policy=scope.apply(lambda s: json.dumps(iam.app_deploy_policy(s, service, deploy_name))),
                buildspec=DEPLOY_BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=False,
                environment={**args.deploy.variables(env), "SERVICE_NAME": service},
                scope=scope,
            ),
            opts=child,
        )
        pipeline = _pipeline(
            f"{name}-pipeline",
            PipelineArgs(
                env=env,
                service=service,
                name=naming.app_pipeline_name(service, env),
                role_arn=args.role_arn,
                artifact_bucket=args.artifact_bucket,
                stages=app_stages(service, env, svc, pp, build_name, deploy_name),
                variables=app_variables(service, svc),
                execution_mode=EXECUTION_MODE["app"],
            ),
            self,
        )
        self.pipeline_name = pipeline.name
        self.register_outputs({"pipelineName": self.pipeline_name})


def project_names(env: str, services: Sequence[str]) -> list[str]:
    """Every CodeBuild project of the env (the CodePipeline role may start these)."""
    out = [naming.codebuild_project_name(env, "infra-deploy"), naming.codebuild_project_name(env, "boot-deploy")]
    for service in services:
        out += [
            naming.app_codebuild_project_name(service, env, "build"),
            naming.app_codebuild_project_name(service, env, "deploy"),
        ]
    return out


@dataclass
class DeliveryPipelinesArgs:
    plan: PipelinesPlan
    account: str


class DeliveryPipelines(pulumi.ComponentResource):
    """Everything in ``pipelines-{env}``."""

    pipeline_names: pulumi.Output[list[str]]
    artifact_bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: DeliveryPipelinesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:DeliveryPipelines", name, None, opts)
        p = args.plan
        env, pp = p.env, p.params
        child = pulumi.ResourceOptions(parent=self)
        store = ArtifactStore("artifacts", ArtifactStoreArgs(env=env, retention_days=pp.artifact_retention_days), child)

        def scope_of(bucket: str) -> iam.Scope:
            return iam.Scope(
                account=args.account,
                region=p.region,
                env=env,
                state_bucket=pp.state_bucket,
                artifact_bucket=bucket,
                connection_arn=pp.connection_arn,
                state_kms_key_arn=pp.state_kms_key_arn,
                production=p.production,
                services=tuple(p.services),
            )

        scope = store.bucket_name.apply(scope_of)
        template = scope_of("")  # what the trust policy needs does not depend on the bucket
        role = aws.iam.Role(
            "codepipeline",
            name=naming.pipeline_role_name(env, LAYER, "codepipeline"),
            # Only CodePipeline running this env's pipelines (confused deputy).
            assume_role_policy=json.dumps(
                iam.trust(
                    "codepipeline.amazonaws.com",
                    account=args.account,
                    source_arns=[template.arn("codepipeline", n) for n in template.pipeline_names()],
                )
            ),
            tags=naming.tags(env, LAYER),
            opts=child,
        )
        # The ceiling of every lane role of each service (components/lane.py
        # sets it; the app deploy role may create lane roles only under it).
        for service, svc in p.services.items():
            aws.iam.Policy(
                f"{service}-lane-boundary",
                name=naming.lane_boundary_policy_name(service, env),
                path=naming.lane_boundary_policy_path(service, env),
                description=f"permissions boundary of the {service} lane roles in {env}",
                policy=json.dumps(
                    iam.lane_boundary_policy(
                        partition=template.partition,
                        region=p.region,
                        account_id=args.account,
                        service=service,
                        env=env,
                        secret_arns=list(svc.secrets.values()),
                        kms_key_arn=svc.secrets_kms_key_arn,
                    )
                ),
                tags=naming.tags(env, LAYER, service),
                opts=child,
            )
        projects = project_names(env, list(p.services))
        role_policy = aws.iam.RolePolicy(
            "codepipeline",
            role=role.id,
            policy=scope.apply(lambda s: json.dumps(iam.codepipeline_policy(s, projects))),
            opts=child,
        )
        # Pipelines start a run on creation: the role must already work.
        after_policy = pulumi.ResourceOptions(parent=self, depends_on=[role_policy])
        deploy = deploy_environment(pp, p.region)
        common = {"role_arn": role.arn, "artifact_bucket": store.bucket_name, "scope": scope, "deploy": deploy}
        names: list[pulumi.Output[str]] = []
        for layer in ("infra", "boot"):
            lp = LayerPipeline(layer, LayerPipelineArgs(env=env, layer=layer, params=pp, **common), after_policy)
            names.append(lp.pipeline_name)
        for service, svc in p.services.items():
            repo_url = f"{args.account}.dkr.ecr.{p.region}.amazonaws.com/{naming.ecr_repository_name(service, env)}"
            dp = DualSourcePipeline(
                service,
                DualSourcePipelineArgs(
                    env=env, service=service, service_params=svc, params=pp, repository_url=repo_url, **common
                ),
                after_policy,
            )
            names.append(dp.pipeline_name)
        self.pipeline_names = pulumi.Output.all(*names).apply(list)
        self.artifact_bucket_name = store.bucket_name
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output]:
        return {"PipelineNames": self.pipeline_names, "ArtifactBucketName": self.artifact_bucket_name}


def build(target: Target, config: StackConfig, params_dir: Path) -> dict[str, pulumi.Output]:
    p = plan(target.env, params_dir)  # every params file validated before anything registers
    provider = aws.Provider("aws", region=p.region)
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    pipelines = DeliveryPipelines(
        "pipelines",
        DeliveryPipelinesArgs(plan=p, account=identity.account_id),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return pipelines.outputs()

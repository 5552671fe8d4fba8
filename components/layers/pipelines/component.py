"""Pipelines layer, stack ``pipelines-{env}``: the article's delivery half.

One artifact bucket, one CodePipeline role, and three kinds of CodePipeline
V2 pipeline per env:

- ``infra-{env}``: InfraSource -> deploy ``infra-{env}``; starts on a push to
  the infra repository's branch (the only pipeline with a git trigger).
- ``boot-{service}-{env}`` per service: the infra repo -> deploy
  ``boot-{service}-{env}`` with that service's own boot deploy role (the
  article's one boot pipeline with a SERVICE variable would need one role
  able to change every service's ALB).
- ``{service}-{env}`` per ``params/{service}-{env}.json``: the article's
  dual-source pipeline. InfraSource -> InfraOut (this repo: buildspecs,
  scripts, the Pulumi program) and AppSource -> AppOut (the app repo); Build
  runs ci/buildspec.yaml with InfraOut primary and AppOut secondary and writes
  the parameter file; Deploy runs the runner on
  ``{service}-{env}-#{variables.LANE}`` with it.

App and boot pipelines run in PARALLEL execution mode (the article's defect
3: SUPERSEDED would cancel a running lane's release when another lane's
starts). Every deploy goes through ``python -m automation up``; the CodeBuild
roles are scoped per layer and per service (components/iam/).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import iam, naming
from components.contract import PipelinesOutputs
from components.stackconfig import StackConfig
from components.stackname import PipelinesTarget

from .parts import (
    ArtifactStore,
    ArtifactStoreArgs,
    DualSourcePipeline,
    DualSourcePipelineArgs,
    LayerPipeline,
    LayerPipelineArgs,
    PipelineShared,
    deploy_environment,
)
from .review import Reaper, ReaperArgs, ReviewPipeline, ReviewPipelineArgs, review_project_names
from .stages import (
    LAYER,
    PipelinesPlan,
    plan,
)


def project_names(env: str, services: Sequence[str]) -> list[str]:
    """Every CodeBuild project of the env (the CodePipeline role may start these)."""
    out = [naming.codebuild_project_name(env, "infra-deploy")]
    for service in services:
        out += [
            naming.boot_codebuild_project_name(service, env),
            naming.app_codebuild_project_name(service, env, "build"),
            naming.app_codebuild_project_name(service, env, "deploy"),
            *review_project_names(service, env),
            naming.reaper_project_name(service, env),
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

        def scope_of(bucket: str) -> iam.pipeline_roles.Scope:
            return iam.pipeline_roles.Scope(
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
                iam.documents.trust(
                    "codepipeline.amazonaws.com",
                    account=args.account,
                    source_arns=[template.arn("codepipeline", n) for n in template.pipeline_names()],
                )
            ),
            tags=naming.tags(env, LAYER),
            opts=child,
        )
        # The ceiling of every lane role of each service (components/layers/lane/
        # sets it; the app deploy role may create lane roles only under it).
        for service, svc in p.services.items():
            aws.iam.Policy(
                f"{service}-lane-boundary",
                name=naming.lane_boundary_policy_name(service, env),
                path=naming.lane_boundary_policy_path(service, env),
                description=f"permissions boundary of the {service} lane roles in {env}",
                policy=json.dumps(
                    iam.pipeline_roles.lane_boundary_policy(
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
            policy=scope.apply(lambda s: json.dumps(iam.pipeline_roles.codepipeline_policy(s, projects))),
            opts=child,
        )
        # Pipelines start a run on creation: the role must already work.
        after_policy = pulumi.ResourceOptions(parent=self, depends_on=[role_policy])
        deploy = deploy_environment(pp, p.region)
        common: PipelineShared = {
            "role_arn": role.arn,
            "artifact_bucket": store.bucket_name,
            "scope": scope,
            "deploy": deploy,
        }
        names: list[pulumi.Output[str]] = []
        infra = LayerPipeline("infra", LayerPipelineArgs(env=env, layer="infra", params=pp, **common), after_policy)
        names.append(infra.pipeline_name)
        for service in p.services:
            boot = LayerPipeline(
                f"boot-{service}",
                LayerPipelineArgs(env=env, layer="boot", params=pp, service=service, **common),
                after_policy,
            )
            names.append(boot.pipeline_name)
        for service, svc in p.services.items():
            repo_url = naming.ecr_repository_url(args.account, p.region, service, env)
            dp = DualSourcePipeline(
                service,
                DualSourcePipelineArgs(
                    env=env, service=service, service_params=svc, params=pp, repository_url=repo_url, **common
                ),
                after_policy,
            )
            names.append(dp.pipeline_name)
            rp = ReviewPipeline(
                f"{service}-review",
                ReviewPipelineArgs(
                    env=env, service=service, service_params=svc, params=pp, repository_url=repo_url, **common
                ),
                after_policy,
            )
            names.append(rp.pipeline_name)
        reaper = Reaper(
            "reaper",
            ReaperArgs(
                env=env,
                services=list(p.services),
                params=pp,
                account=args.account,
                schedule_arn=template.arn("scheduler", f"schedule/default/{naming.reaper_schedule_name(env)}"),
                **common,
            ),
            after_policy,
        )
        names.append(reaper.pipeline_name)
        self.pipeline_names = pulumi.Output.all(*names).apply(list)
        self.artifact_bucket_name = store.bucket_name
        self.register_outputs(self.outputs().exports())

    def outputs(self) -> PipelinesOutputs:
        return PipelinesOutputs(pipeline_names=self.pipeline_names, artifact_bucket_name=self.artifact_bucket_name)


def build(target: PipelinesTarget, config: StackConfig, params_dir: Path) -> PipelinesOutputs:
    p = plan(target.env, params_dir)  # every params file validated before anything registers
    provider = aws.Provider("aws", region=p.region)
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    pipelines = DeliveryPipelines(
        "pipelines",
        DeliveryPipelinesArgs(plan=p, account=identity.account_id),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return pipelines.outputs()

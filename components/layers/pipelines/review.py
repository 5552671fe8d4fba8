"""Review pipelines (one per service) and the env's reaper, in ``pipelines-{env}``.

- ``pr-{service}-{env}`` (components/review_pipeline.py has its stages and
  why the app repository's workflow starts it): a build project and a deploy
  project of its own. The deploy role is the app deploy role narrowed to the
  review lanes (``pr-*``): their state glob, ECS services, task families and
  alarms by name, target groups, rules and scaling targets by ``Lane`` tag.
- ``reaper-{env}``: InfraSource, then one Reap action per service, each in a
  project whose role has exactly that service's lane rights; an EventBridge
  Scheduler schedule starts it every hour with a role that may start that
  one pipeline and nothing else.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pulumi
import pulumi_aws as aws

from components import iam, naming, review_pipeline
from components.params import PipelinesParams
from components.review_pipeline import review_project_names

from .parts import (
    BuildProject,
    BuildProjectArgs,
    DeployEnvironment,
    DualSourcePipelineArgs,
    PipelineArgs,
    _pipeline,
    app_build_environment,
)
from .stages import BUILDSPEC, EXECUTION_MODE, INFRA_OUT, LAYER, codebuild_action, infra_source

if TYPE_CHECKING:
    from pulumi_aws.codepipeline import PipelineStageArgsDict as Stage
    from pulumi_aws.codepipeline import PipelineVariableArgsDict as Variable

__all__ = ["Reaper", "ReaperArgs", "ReviewPipeline", "ReviewPipelineArgs", "review_project_names"]


# A review pipeline is given exactly what the service's app pipeline is.
ReviewPipelineArgs = DualSourcePipelineArgs


class ReviewPipeline(pulumi.ComponentResource):
    pipeline_name: pulumi.Output[str]

    def __init__(self, name: str, args: ReviewPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:ReviewPipeline", name, None, opts)
        env, service, svc, pp = args.env, args.service, args.service_params, args.params
        assert svc.app is not None
        scope = pulumi.Output.from_input(args.scope)
        pipeline_name = naming.review_pipeline_name(service, env)
        build_name, deploy_name = review_project_names(service, env)
        token = [pp.review_comment_token_secret_arn] if pp.review_comment_token_secret_arn else []
        child = pulumi.ResourceOptions(parent=self)
        BuildProject(
            f"{name}-build",
            BuildProjectArgs(
                env=env,
                service=service,
                project_name=build_name,
                role_name=naming.app_pipeline_role_name(service, env, "review-build"),
                policy=scope.apply(
                    lambda s: json.dumps(
                        iam.pipeline_roles.app_build_policy(s, service, build_name, pipeline=pipeline_name)
                    )
                ),
                buildspec=BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=True,  # docker build needs the daemon
                environment=app_build_environment(env, service, svc, args.repository_url),
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
                role_name=naming.app_pipeline_role_name(service, env, "review-deploy"),
                policy=scope.apply(
                    lambda s: json.dumps(
                        iam.pipeline_roles.app_deploy_policy(
                            s,
                            service,
                            deploy_name,
                            lane_prefix=naming.REVIEW_LANE_PREFIX,
                            pipeline=pipeline_name,
                            read_secrets=token,
                        )
                    )
                ),
                buildspec=review_pipeline.REVIEW_BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=False,
                environment={**args.deploy.variables(env), "SERVICE_NAME": service},
                secret_environment={"GITHUB_TOKEN": token[0]} if token else {},
                scope=scope,
            ),
            opts=child,
        )
        pipeline = _pipeline(
            f"{name}-pipeline",
            PipelineArgs(
                env=env,
                service=service,
                name=pipeline_name,
                role_arn=args.role_arn,
                artifact_bucket=args.artifact_bucket,
                # Plain dicts in pulumi-aws's input shape, typed at this one seam.
                stages=cast(
                    "list[Stage]", review_pipeline.review_stages(service, env, svc, pp, build_name, deploy_name)
                ),
                variables=cast("list[Variable]", review_pipeline.review_variables()),
                execution_mode=EXECUTION_MODE["app"],
            ),
            self,
        )
        self.pipeline_name = pipeline.name
        self.register_outputs({"pipelineName": self.pipeline_name})


@dataclass
class ReaperArgs:
    env: str
    services: list[str]
    params: PipelinesParams
    account: str
    schedule_arn: str  # the reaper schedule's ARN (its role trusts only it)
    scope: pulumi.Input[iam.pipeline_roles.Scope]
    deploy: DeployEnvironment
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]


class Reaper(pulumi.ComponentResource):
    """``reaper-{env}`` and the schedule that starts it."""

    pipeline_name: pulumi.Output[str]

    def __init__(self, name: str, args: ReaperArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:Reaper", name, None, opts)
        env, pp = args.env, args.params
        scope = pulumi.Output.from_input(args.scope)
        pipeline_name = naming.reaper_pipeline_name(env)
        child = pulumi.ResourceOptions(parent=self)
        actions = []
        for service in args.services:
            project = naming.reaper_project_name(service, env)
            BuildProject(
                f"{name}-{service}",
                BuildProjectArgs(
                    env=env,
                    service=service,
                    project_name=project,
                    role_name=naming.app_pipeline_role_name(service, env, "reaper"),
                    policy=scope.apply(functools.partial(_reaper_policy, service, project, pipeline_name)),
                    buildspec=review_pipeline.REAPER_BUILDSPEC,
                    image=pp.build_image,
                    log_retention_days=pp.build_log_retention_days,
                    privileged=False,
                    environment={**args.deploy.variables(env), "SERVICE_NAME": service},
                    scope=scope,
                ),
                opts=child,
            )
            actions.append(
                codebuild_action(f"Reap-{service}", "Build", project, [INFRA_OUT], {"SERVICE_NAME": service})
            )
        pipeline = _pipeline(
            f"{name}-pipeline",
            PipelineArgs(
                env=env,
                name=pipeline_name,
                role_arn=args.role_arn,
                artifact_bucket=args.artifact_bucket,
                stages=[
                    {"name": "Source", "actions": [infra_source(pp, detect_changes=False)]},
                    {"name": "Reap", "actions": actions},
                ],
                variables=[],
                # One reap at a time; a schedule tick while one runs waits.
                execution_mode="QUEUED",
            ),
            self,
        )
        # Only EventBridge Scheduler of this account, for this one schedule (confused deputy).
        schedule_name = naming.reaper_schedule_name(env)
        role = aws.iam.Role(
            f"{name}-schedule-role",
            name=naming.scheduler_role_name(env),
            assume_role_policy=json.dumps(
                iam.documents.trust("scheduler.amazonaws.com", account=args.account, source_arns=[args.schedule_arn])
            ),
            tags=naming.tags(env, LAYER),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-schedule-policy",
            role=role.id,
            policy=scope.apply(lambda s: json.dumps(iam.pipeline_roles.scheduler_policy(s))),
            opts=child,
        )
        aws.scheduler.Schedule(
            f"{name}-schedule",
            name=schedule_name,
            description=f"starts {pipeline_name}: destroy the lanes of {env} past their expiry",
            schedule_expression=review_pipeline.REAPER_SCHEDULE,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={"arn": pipeline.arn, "role_arn": role.arn},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.pipeline_name = pipeline.name
        self.register_outputs({"pipelineName": self.pipeline_name})


def _reaper_policy(service: str, project: str, pipeline: str, scope: iam.pipeline_roles.Scope) -> str:
    """One service's reaper build: that service's lane rights, nothing more."""
    return json.dumps(iam.pipeline_roles.app_deploy_policy(scope, service, project, pipeline=pipeline))

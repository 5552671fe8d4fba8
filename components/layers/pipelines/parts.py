"""The pipelines layer's parts: artifact store, CodeBuild project, one-source
layer pipeline, dual-source app pipeline, and their deploy environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import pulumi
import pulumi_aws as aws
from pulumi_aws.codepipeline import PipelineStageArgsDict as Stage
from pulumi_aws.codepipeline import PipelineTriggerArgsDict as Trigger
from pulumi_aws.codepipeline import PipelineVariableArgsDict as Variable

from components import iam, naming
from components.buckets import Expiry, private_bucket
from components.params import PipelinesParams, ServiceParams

from .stages import (
    BUILD_TIMEOUT_MINUTES,
    BUILDSPEC,
    DEPLOY_BUILDSPEC,
    EXECUTION_MODE,
    LAYER,
    PARAMS_FILE,
    app_stages,
    app_variables,
    boot_stages,
    infra_stages,
    infra_triggers,
)


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
            policy=bucket.arn.apply(lambda arn: json.dumps(iam.buckets.artifact_bucket_policy(arn))),
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
    scope: pulumi.Input[iam.pipeline_roles.Scope]
    service: str | None = None
    # Environment variables CodeBuild reads from Secrets Manager (name -> secret ARN).
    secret_environment: Mapping[str, str] = field(default_factory=dict)


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
                    iam.documents.trust(
                        "codebuild.amazonaws.com",
                        account=s.account,
                        source_arns=[s.arn("codebuild", f"project/{project_name}")],
                    )
                )
            ),
            tags=tags,
            opts=child,
        )
        parts = pulumi.Output.from_input(args.policy).apply(lambda raw: iam.documents.split_guard(json.loads(raw)))
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
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=args.buildspec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                compute_type="BUILD_GENERAL1_SMALL",
                image=args.image,
                type="LINUX_CONTAINER",
                image_pull_credentials_type="CODEBUILD",
                privileged_mode=args.privileged,
                environment_variables=[
                    aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v, type="PLAINTEXT")
                    for k, v in args.environment.items()
                ]
                + [
                    aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v, type="SECRETS_MANAGER")
                    for k, v in args.secret_environment.items()
                ],
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=logs.name
                )
            ),
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
    stages: list[Stage]
    variables: list[Variable]
    execution_mode: str
    triggers: list[Trigger] | None = None
    service: str | None = None


def _pipeline(resource_name: str, args: PipelineArgs, parent: pulumi.Resource) -> aws.codepipeline.Pipeline:
    return aws.codepipeline.Pipeline(
        resource_name,
        name=args.name,
        pipeline_type="V2",
        execution_mode=args.execution_mode,
        role_arn=args.role_arn,
        artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(location=args.artifact_bucket, type="S3")],
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


class PipelineShared(TypedDict):
    """What every pipeline of an env shares (the fields both pipeline args hold)."""

    scope: pulumi.Input[iam.pipeline_roles.Scope]
    deploy: DeployEnvironment
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]


@dataclass
class LayerPipelineArgs:
    env: str
    layer: str  # "infra" or "boot"
    params: PipelinesParams
    scope: pulumi.Input[iam.pipeline_roles.Scope]
    deploy: DeployEnvironment
    role_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]
    service: str | None = None  # boot: the one service this pipeline and its role serve


class LayerPipeline(pulumi.ComponentResource):
    """``infra-{env}`` or ``boot-{service}-{env}``: the infra repo, then one deploy."""

    pipeline_name: pulumi.Output[str]

    def __init__(self, name: str, args: LayerPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:pipelines:LayerPipeline", name, None, opts)
        env, layer, pp, service = args.env, args.layer, args.params, args.service
        if layer == "infra":
            project = naming.codebuild_project_name(env, "infra-deploy")
            role_name = naming.pipeline_role_name(env, layer, "deploy")
            policy = pulumi.Output.from_input(args.scope).apply(
                lambda s: json.dumps(iam.pipeline_roles.infra_deploy_policy(s, project))
            )
        else:
            if service is None:
                raise ValueError("a boot pipeline serves exactly one service")
            project = naming.boot_codebuild_project_name(service, env)
            role_name = naming.boot_deploy_role_name(service, env)
            policy = pulumi.Output.from_input(args.scope).apply(
                lambda s: json.dumps(iam.pipeline_roles.boot_deploy_policy(s, service, project))
            )
        deploy = BuildProject(
            f"{name}-deploy",
            BuildProjectArgs(
                env=env,
                project_name=project,
                role_name=role_name,
                policy=policy,
                buildspec=DEPLOY_BUILDSPEC,
                image=pp.build_image,
                log_retention_days=pp.build_log_retention_days,
                privileged=False,
                environment=args.deploy.variables(env),
                scope=args.scope,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if service is None:
            name_, stages, triggers = (
                naming.infra_pipeline_name(env),
                infra_stages(env, pp, project),
                infra_triggers(pp),
            )
        else:
            name_, stages, triggers = (
                naming.boot_pipeline_name(service, env),
                boot_stages(service, env, pp, project),
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
                variables=[],
                execution_mode=EXECUTION_MODE[layer],
                triggers=triggers,
            ),
            self,
        )
        self.deploy_project = deploy
        self.pipeline_name = pipeline.name
        self.register_outputs({"pipelineName": self.pipeline_name})


def app_build_environment(
    env: str, service: str, svc: ServiceParams, repository_url: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """What ci/buildspec.yaml reads: the app and review pipelines build the same way."""
    assert svc.app is not None  # the pipelines plan refuses a service without an app repository
    return {
        "APP_ENV": env,
        "SERVICE_NAME": service,
        "MODULE_PATH": svc.app.module_path,
        "DOCKERFILE": svc.app.dockerfile,
        "ECR_REPO_URI": repository_url,
        "PARAMS_FILE": PARAMS_FILE,
    }


@dataclass
class DualSourcePipelineArgs:
    env: str
    service: str
    service_params: ServiceParams
    params: PipelinesParams
    scope: pulumi.Input[iam.pipeline_roles.Scope]
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
                role_name=naming.app_pipeline_role_name(service, env, "build"),
                policy=scope.apply(lambda s: json.dumps(iam.pipeline_roles.app_build_policy(s, service, build_name))),
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
                role_name=naming.app_pipeline_role_name(service, env, "deploy"),
                policy=scope.apply(lambda s: json.dumps(iam.pipeline_roles.app_deploy_policy(s, service, deploy_name))),
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

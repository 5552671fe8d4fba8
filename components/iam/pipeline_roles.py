"""The deploy and build roles the pipelines layer creates, per env and service.

  infra  deploy role    writes only infra-{env} state, network/cluster/namespace
  boot   deploy role    writes only boot-*-{env} state, ALB/listener/TG/SG/logs/ECR/Cloud Map
  app    deploy role    ONE PER SERVICE: writes only {service}-{env}-* state and
                        that service's lane resources (ECS service + task
                        definitions, lane target groups, rules on its own
                        listener, its alarms, its lane roles)
  app    build role     ONE PER SERVICE: pushes to its own ECR repository and
                        writes pipeline artifacts; no state, no deploy rights
Per-service app roles are what makes "its own lanes" expressible: a single
app role shared by every service's pipeline could only be scoped to "some
service's lanes". The build role is separate from the deploy role because the
build runs the app repository's Dockerfile in privileged docker: code from the
app repo must never hold rights to change infrastructure or state.

Every role also gets explicit Deny statements at its layer boundary (the
article's `Deny boot-*, infra-environment-*`), so a later, broader Allow
(a managed policy someone attaches by hand) cannot cross the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from components import naming

from .actions import (
    ALARM_WRITE_ACTIONS,
    BOUNDARY_GUARDED_ACTIONS,
    BOUNDARY_POLICY_WRITE_ACTIONS,
    DISCOVERY_WRITE_ACTIONS,
    EC2_ALL_WRITES,
    EC2_DESCRIBE_ACTIONS,
    ECS_CLUSTER_WRITE_ACTIONS,
    ECS_LANE_WRITE_ACTIONS,
    ECS_TASK_EXECUTION_POLICY,
    FOREIGN_LAYER_TAGS,
    IAM_WRITE_ACTIONS,
    LB_WRITE_ACTIONS,
    PROD_LISTENER_ACTIONS,
    RULE_WRITE_ACTIONS,
    SECURITY_GROUP_RULE_ACTIONS,
    SECURITY_GROUP_WRITE_ACTIONS,
    SERVICEDISCOVERY_TAG_ACTIONS,
    STATE_READ_ACTIONS,
    STATE_WRITE_ACTIONS,
    TARGET_GROUP_WRITE_ACTIONS,
    VPC_CREATE_ACTIONS,
    VPC_WRITE_ACTIONS,
)
from .documents import Document, Policy, Statement, document, statement
from .lane_roles import lane_execution_policy


@dataclass(frozen=True)
class Scope:
    """Where a pipeline role works: one env in one account and region."""

    account: str
    region: str
    env: str
    state_bucket: str
    artifact_bucket: str
    connection_arn: str
    state_kms_key_arn: str | None = None
    partition: str = "aws"
    # params/infra-{env}.json `production`: prod listeners and certificates
    # are out of the boot role's reach.
    production: bool = False
    # Every service of the env (params/{service}-{env}.json): the pipelines'
    # artifact folders, and look-alike service names the state grant excludes.
    services: tuple[str, ...] = ()

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return naming.arn(
            self.partition, service, self.region if region else "", self.account if account else "", resource
        )

    def s3(self, bucket: str, key: str | None = None) -> str:
        return naming.s3_arn(self.partition, bucket, key)

    def state(self, stack_glob: str) -> list[str]:
        """ARNs of every backend object of the stacks matching ``stack_glob``."""
        return [self.s3(self.state_bucket, key) for key in naming.state_object_keys(stack_glob)]

    @property
    def meta(self) -> str:
        return self.s3(self.state_bucket, naming.state_meta_key())

    def artifacts(self, pipeline: str) -> str:
        """Every artifact object of one pipeline (its CodePipeline folder)."""
        return self.s3(self.artifact_bucket, f"{naming.artifact_folder(pipeline)}/*")

    def pipeline_names(self) -> list[str]:
        return [
            naming.infra_pipeline_name(self.env),
            naming.boot_pipeline_name(self.env),
            *(naming.app_pipeline_name(s, self.env) for s in self.services),
        ]

    def lane_boundary(self, service: str) -> str:
        return lane_boundary_arn(self.partition, self.account, service, self.env)


def lane_boundary_arn(partition: str, account: str, service: str, env: str) -> str:
    """ARN of the permissions boundary of ``service``'s lane roles in ``env``
    (created by the pipelines layer, set on every lane role)."""
    path = naming.lane_boundary_policy_path(service, env)
    return naming.arn(partition, "iam", "", account, f"policy{path}{naming.lane_boundary_policy_name(service, env)}")


def env_tagged(env: str) -> dict[str, Any]:
    """Condition: the existing resource carries this env's Env tag."""
    return {"StringEquals": {f"aws:ResourceTag/{naming.ENV_TAG}": env}}


def env_tagging_request(env: str) -> dict[str, Any]:
    """Condition: the create request tags the new resource with this env and
    only with multilane's tag keys (aws:TagKeys)."""
    return {
        "StringEquals": {f"aws:RequestTag/{naming.ENV_TAG}": env},
        "ForAllValues:StringEquals": {"aws:TagKeys": list(naming.TAG_KEYS)},
    }


def _tag_on_create(env: str, create_key: str, creates: Sequence[str]) -> dict[str, Any]:
    """Condition: tagging only inside one of ``creates`` and only for this env."""
    cond = env_tagging_request(env)
    cond["StringEquals"] = {**cond["StringEquals"], create_key: [a.split(":")[1] for a in creates]}
    return cond


def _deny_other_envs(env: str, actions: Sequence[str]) -> list[Statement]:
    """Explicit Deny on resources tagged with another env, and on creating
    resources tagged for another env. Resource "*" and whole-service actions:
    the deny is the tag condition itself, whatever the resource type or
    action (a Deny only narrows; StringLike "*" makes the key's presence a
    requirement, so untagged resources and creates are not caught)."""
    out = []
    for sid, key in (("DenyOtherEnvsTaggedResources", "ResourceTag"), ("DenyTaggingForOtherEnvs", "RequestTag")):
        out.append(
            statement(
                sid,
                "Deny",
                actions,
                ["*"],
                Condition={
                    "StringLike": {f"aws:{key}/{naming.ENV_TAG}": "*"},
                    "StringNotEquals": {f"aws:{key}/{naming.ENV_TAG}": env},
                },
            )
        )
    return out


def _log_statement(scope: Scope, project: str) -> Statement:
    group = naming.codebuild_log_group_name(project)
    return statement(
        "WriteOwnBuildLogs",
        "Allow",
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [scope.arn("logs", f"log-group:{group}:*")],
    )


def _artifact_read(scope: Scope, pipeline: str) -> Statement:
    """Read the artifacts of the one pipeline the role serves."""
    return statement(
        "ReadOwnPipelineArtifacts",
        "Allow",
        ["s3:GetObject", "s3:GetObjectVersion"],
        [scope.artifacts(pipeline)],
    )


def _state_access(scope: Scope, own: str, reads: Sequence[str], exclude: Sequence[str] = ()) -> list[Statement]:
    """Read the backend's meta file, the lower layers' state and its own; write its own.

    ``exclude``: stack globs that ``own`` matches but that are not this
    role's (another service whose name starts with this one's
    ``{service}-{env}-``); they get an explicit Deny, so the grant is exact.
    """
    read_resources = [scope.meta, *scope.state(own)]
    for glob in reads:
        # A StackReference reads only the checkpoint of the stack it names.
        read_resources.append(scope.state(glob)[0])
    out = [
        statement(
            "ListStateBucket",
            "Allow",
            ["s3:ListBucket", "s3:GetBucketLocation"],
            [scope.s3(scope.state_bucket)],
        ),
        statement("ReadState", "Allow", STATE_READ_ACTIONS, read_resources),
        statement("WriteOwnState", "Allow", STATE_WRITE_ACTIONS, scope.state(own)),
    ]
    if exclude:
        out.append(
            statement(
                "DenyLookAlikeServicesState",
                "Deny",
                [*STATE_WRITE_ACTIONS, *STATE_READ_ACTIONS],
                [r for glob in exclude for r in scope.state(glob)],
            )
        )
    if scope.state_kms_key_arn:
        out.append(_kms(scope))
    return out


def _kms(scope: Scope) -> Statement:
    """The state/secrets key: encrypt and decrypt stack secrets."""
    assert scope.state_kms_key_arn is not None
    actions = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    arn = scope.state_kms_key_arn
    if ":alias/" in arn:
        # IAM cannot name a key by alias ARN; match the key through its alias.
        # (arn:aws:kms:<region>:<account>:alias/<name> -> alias/<name>)
        # kms:ResourceAliases works for Decrypt too, where kms:RequestAlias
        # would not (a ciphertext names no alias). parliament's bundled
        # database predates this key and reports UNKNOWN_CONDITION_FOR_ACTION.
        return statement(
            "UseStateKey",
            "Allow",
            actions,
            [scope.arn("kms", "key/*")],
            Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": arn.split(":", 5)[5]}},
        )
    return statement("UseStateKey", "Allow", actions, [arn])


def _deny_state_outside(scope: Scope, own: str) -> Statement:
    """Deny writing any object of the state bucket except this layer's own state."""
    return {
        "Sid": "DenyStateWritesOutsideOwnLayer",
        "Effect": "Deny",
        "Action": list(STATE_WRITE_ACTIONS),
        "NotResource": [*scope.state(own), scope.s3(scope.artifact_bucket, "*")],
    }


def _deny_layers_state(scope: Scope, layers: Sequence[str]) -> Statement:
    """The article's explicit Deny on other layers' stacks, in any env."""
    # ".pulumi/*/multilane/boot-*" covers stacks/, history/, backups/ and
    # locks/organization/ alike (IAM's "*" spans "/").
    resources = [scope.s3(scope.state_bucket, naming.layer_state_keys(layer)) for layer in layers]
    resources.append(scope.meta)
    return statement("DenyOtherLayersState", "Deny", STATE_WRITE_ACTIONS, resources)


def _deny_foreign_tagged(layer: str, actions: Sequence[str]) -> Statement:
    return statement(
        "DenyChangingOtherLayersTaggedResources",
        "Deny",
        actions,
        ["*"],
        Condition={"StringEquals": {"aws:ResourceTag/Layer": FOREIGN_LAYER_TAGS[layer]}},
    )


def _deny_iam(scope: Scope, except_resources: Sequence[str]) -> Statement:
    stmt: Statement = {"Sid": "DenyIamOutsideOwnRoles", "Effect": "Deny", "Action": list(IAM_WRITE_ACTIONS)}
    if except_resources:
        stmt["NotResource"] = list(except_resources)
    else:
        stmt["Resource"] = ["*"]
    return stmt


def _service_linked_roles(scope: Scope, services: Sequence[str]) -> tuple[Statement, str]:
    """AWS creates a service-linked role the first time an account uses ELB or
    ECS; the deploy role may create exactly those, nothing else in IAM."""
    resource = scope.arn("iam", "role/aws-service-role/*", region=False)
    return (
        statement(
            "CreateServiceLinkedRoles",
            "Allow",
            ["iam:CreateServiceLinkedRole"],
            [resource],
            Condition={"StringEquals": {"iam:AWSServiceName": list(services)}},
        ),
        resource,
    )


def codepipeline_policy(scope: Scope, projects: Sequence[str]) -> Policy:
    """The CodePipeline service role: artifacts, the source connection, its builds."""
    conn = scope.connection_arn
    # The CodeStar and CodeConnections prefixes name the same connection;
    # CodePipeline calls UseConnection under either, so grant both forms.
    conn_ids = conn.split(":", 5)[5]
    connections = sorted(
        {
            scope.arn("codestar-connections", conn_ids),
            scope.arn("codeconnections", conn_ids),
        }
    )
    return document(
        [
            # Only the env's own pipelines' folders, never the whole bucket.
            statement(
                "ArtifactObjects",
                "Allow",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                sorted({scope.artifacts(p) for p in scope.pipeline_names()}),
            ),
            statement(
                "ArtifactBucket",
                "Allow",
                ["s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:ListBucket"],
                [scope.s3(scope.artifact_bucket)],
            ),
            statement(
                "UseSourceConnection",
                "Allow",
                ["codestar-connections:UseConnection", "codeconnections:UseConnection"],
                connections,
            ),
            statement(
                "RunOwnBuilds",
                "Allow",
                ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
                [scope.arn("codebuild", f"project/{p}") for p in sorted(projects)],
            ),
            # CodePipeline never needs the state bucket: only builds touch it.
            statement(
                "DenyStateBucket",
                "Deny",
                ["s3:*"],
                [scope.s3(scope.state_bucket), scope.s3(scope.state_bucket, "*")],
            ),
        ]
    )


def infra_deploy_policy(scope: Scope, project: str) -> Policy:
    """``infra-{env}``: the VPC, the ECS cluster and the Cloud Map namespace."""
    env = scope.env
    own = naming.infra_stack(env)
    slr, slr_resource = _service_linked_roles(scope, ["ecs.amazonaws.com"])
    cluster = scope.arn("ecs", f"cluster/{naming.cluster_name(env)}")
    alarm_topic = scope.arn("sns", naming.alarm_topic_name(env))
    return document(
        [
            _log_statement(scope, project),
            _artifact_read(scope, naming.infra_pipeline_name(env)),
            *_state_access(scope, own, reads=[]),
            # Every EC2 resource type of the network is in play (vpc, subnet,
            # route-table, internet-gateway, natgateway, elastic-ip,
            # vpc-endpoint): the env tag, not the ARN, scopes them.
            statement(
                "CreateNetworkTaggedForOwnEnv",
                "Allow",
                list(VPC_CREATE_ACTIONS),
                [scope.arn("ec2", "*")],
                Condition=env_tagging_request(env),
            ),
            # Tags only as part of those creates (ec2:CreateAction): an untagged
            # resource of someone else's cannot be claimed by tagging it.
            statement(
                "TagOnCreateOnly",
                "Allow",
                ["ec2:CreateTags"],
                [scope.arn("ec2", "*")],
                Condition=_tag_on_create(env, "ec2:CreateAction", VPC_CREATE_ACTIONS),
            ),
            statement(
                "ManageOwnEnvNetwork",
                "Allow",
                [*VPC_WRITE_ACTIONS, "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeVpcAttribute"],
                [scope.arn("ec2", "*")],
                Condition=env_tagged(env),
            ),
            statement("DescribeNetwork", "Allow", EC2_DESCRIBE_ACTIONS, ["*"]),
            statement(
                "ManageCluster",
                "Allow",
                [
                    *ECS_CLUSTER_WRITE_ACTIONS,
                    "ecs:DescribeClusters",
                    "ecs:TagResource",
                    "ecs:UntagResource",
                    "ecs:ListTagsForResource",
                ],
                [cluster],
            ),
            statement(
                "ManageOwnEnvNamespace",
                "Allow",
                [
                    "servicediscovery:DeleteNamespace",
                    "servicediscovery:GetNamespace",
                    "servicediscovery:UpdatePrivateDnsNamespace",
                ],
                [scope.arn("servicediscovery", "namespace/*")],
                Condition=env_tagged(env),
            ),
            # No resource type exists for these in the service authorization
            # reference (parliament's database): "*" is the only form; the
            # create must tag the namespace with this env.
            statement(
                "CreateNamespaceTaggedForOwnEnv",
                "Allow",
                ["servicediscovery:CreatePrivateDnsNamespace"],
                ["*"],
                Condition=env_tagging_request(env),
            ),
            statement(
                "NamespaceLookups",
                "Allow",
                ["servicediscovery:GetOperation", "servicediscovery:ListNamespaces", *SERVICEDISCOVERY_TAG_ACTIONS],
                ["*"],
            ),
            # Cloud Map creates the namespace's private hosted zone with the
            # caller's own Route 53 rights. Route 53 supports no tag condition
            # on hosted zones and their ids are random: hostedzone/* is the
            # narrowest form (docs/security.md, "What is left").
            statement(
                "NamespaceHostedZone",
                "Allow",
                [
                    "route53:AssociateVPCWithHostedZone",
                    "route53:DeleteHostedZone",
                    "route53:GetHostedZone",
                ],
                [scope.arn("route53", "hostedzone/*", region=False, account=False)],
            ),
            statement(
                "HostedZoneChanges",
                "Allow",
                ["route53:GetChange"],
                [scope.arn("route53", "change/*", region=False, account=False)],
            ),
            # The env's alarm topic and its subscriptions (params alarmNotifications).
            statement(
                "ManageAlarmTopic",
                "Allow",
                [
                    "sns:CreateTopic",
                    "sns:DeleteTopic",
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:TagResource",
                    "sns:UntagResource",
                    "sns:ListTagsForResource",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                ],
                [alarm_topic],
            ),
            # Subscriptions have no resource type in the service authorization
            # reference (parliament's database): "*" is the only form.
            statement(
                "ManageAlarmSubscriptions",
                "Allow",
                ["sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"],
                ["*"],
            ),
            statement(
                "CreateHostedZone",
                "Allow",
                ["route53:CreateHostedZone", "route53:ListHostedZonesByName"],
                ["*"],
            ),
            slr,
            _deny_state_outside(scope, own),
            _deny_layers_state(scope, ["boot", "pipelines"]),
            statement(
                "DenyUpperLayerResources",
                "Deny",
                [*LB_WRITE_ACTIONS, *RULE_WRITE_ACTIONS, *TARGET_GROUP_WRITE_ACTIONS, *ECS_LANE_WRITE_ACTIONS],
                ["*"],
            ),
            _deny_foreign_tagged("infra", ["ec2:Delete*", "ec2:Modify*", "ecs:Delete*", "ecs:Update*"]),
            *_deny_other_envs(env, ["ec2:*", "ecs:*", "servicediscovery:*"]),
            _deny_iam(scope, [slr_resource]),
        ]
    )


def boot_deploy_policy(scope: Scope, project: str) -> Policy:
    """``boot-{service}-{env}`` for any service of the env (the boot pipeline's
    SERVICE variable picks it at run time)."""
    env = scope.env
    own = naming.boot_stack_glob(env)
    slr, slr_resource = _service_linked_roles(scope, ["elasticloadbalancing.amazonaws.com"])
    lb_resources = [
        scope.arn("elasticloadbalancing", "loadbalancer/app/*/*"),
        scope.arn("elasticloadbalancing", "listener/app/*/*/*"),
        scope.arn("elasticloadbalancing", "targetgroup/*/*"),
    ]
    lb_actions = [
        *LB_WRITE_ACTIONS,
        *TARGET_GROUP_WRITE_ACTIONS,
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
    ]
    creates = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
    sg_resources = [scope.arn("ec2", "security-group/*"), scope.arn("ec2", "security-group-rule/*")]
    statements = [
        _log_statement(scope, project),
        _artifact_read(scope, naming.boot_pipeline_name(env)),
        *_state_access(scope, own, reads=[naming.infra_stack(env)]),
        # ALB names are hash-fitted and target group ids random: the Env tag
        # (and the Service tag, below) scope them, not the ARN.
        statement(
            "CreateLoadBalancingTaggedForOwnEnv",
            "Allow",
            [*creates, "elasticloadbalancing:CreateListener"],
            lb_resources,
            Condition=env_tagging_request(env),
        ),
        statement(
            "TagLoadBalancingOnCreateOnly",
            "Allow",
            ["elasticloadbalancing:AddTags"],
            lb_resources,
            Condition=_tag_on_create(
                env, "elasticloadbalancing:CreateAction", [*creates, "elasticloadbalancing:CreateListener"]
            ),
        ),
        statement("ManageOwnEnvLoadBalancing", "Allow", lb_actions, lb_resources, Condition=env_tagged(env)),
        statement("DescribeLoadBalancing", "Allow", ["elasticloadbalancing:Describe*"], ["*"]),
        statement(
            "CreateSecurityGroupsTaggedForOwnEnv",
            "Allow",
            ["ec2:CreateSecurityGroup"],
            [scope.arn("ec2", "security-group/*")],
            Condition=env_tagging_request(env),
        ),
        # A group is created inside a VPC: only this env's (infra tags it).
        statement(
            "CreateSecurityGroupsInOwnEnvVpc",
            "Allow",
            ["ec2:CreateSecurityGroup"],
            [scope.arn("ec2", "vpc/*")],
            Condition=env_tagged(env),
        ),
        statement(
            "TagSecurityGroupsOnCreateOnly",
            "Allow",
            ["ec2:CreateTags"],
            sg_resources,
            Condition=_tag_on_create(
                env,
                "ec2:CreateAction",
                [
                    "ec2:CreateSecurityGroup",
                    "ec2:AuthorizeSecurityGroupEgress",
                    "ec2:AuthorizeSecurityGroupIngress",
                ],
            ),
        ),
        statement(
            "ManageOwnEnvSecurityGroups",
            "Allow",
            [*SECURITY_GROUP_WRITE_ACTIONS, "ec2:CreateTags", "ec2:DeleteTags"],
            sg_resources,
            Condition=env_tagged(env),
        ),
        # AWS also authorizes a rule change against the rule itself, which a
        # new rule has no tags on yet; the rule is reachable only through its
        # group, which must be this env's (above), so the rule ARN stays open.
        statement(
            "RulesOfOwnEnvSecurityGroups",
            "Allow",
            list(SECURITY_GROUP_RULE_ACTIONS),
            [scope.arn("ec2", "security-group-rule/*")],
        ),
        statement("DescribeNetwork", "Allow", EC2_DESCRIBE_ACTIONS, ["*"]),
        statement(
            "ManageServiceLogGroups",
            "Allow",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            [scope.arn("logs", f"log-group:{naming.log_group_name('*', env)}")],
        ),
        statement("DescribeLogGroups", "Allow", ["logs:DescribeLogGroups"], ["*"]),
        # The ALB access log buckets of this env's services (named
        # {env}-alb-logs-{service}-<random>); their objects are ELB's.
        statement(
            "ManageAlbLogBuckets",
            "Allow",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetAccelerateConfiguration",
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            [scope.s3(naming.alb_access_log_bucket_glob(env))],
        ),
        statement(
            "ManageRepositories",
            "Allow",
            [
                "ecr:CreateRepository",
                "ecr:DeleteLifecyclePolicy",
                "ecr:DeleteRepository",
                "ecr:DescribeRepositories",
                "ecr:GetLifecyclePolicy",
                "ecr:ListTagsForResource",
                "ecr:PutImageScanningConfiguration",
                "ecr:PutImageTagMutability",
                "ecr:PutLifecyclePolicy",
                "ecr:TagResource",
                "ecr:UntagResource",
            ],
            [scope.arn("ecr", f"repository/{naming.ecr_repository_name('*', env)}")],
        ),
        statement(
            "ReadDiscoveryServices",
            "Allow",
            ["servicediscovery:GetNamespace", "servicediscovery:GetService"],
            [scope.arn("servicediscovery", "namespace/*"), scope.arn("servicediscovery", "service/*")],
        ),
        statement(
            "ManageOwnEnvDiscoveryServices",
            "Allow",
            DISCOVERY_WRITE_ACTIONS,
            [scope.arn("servicediscovery", "namespace/*"), scope.arn("servicediscovery", "service/*")],
            Condition=env_tagged(env),
        ),
        statement("TagDiscoveryServices", "Allow", SERVICEDISCOVERY_TAG_ACTIONS, ["*"]),
        statement(
            "ManageServiceAlarms",
            "Allow",
            [*ALARM_WRITE_ACTIONS, "cloudwatch:ListTagsForResource"],
            [scope.arn("cloudwatch", f"alarm:{naming.alarm_glob('*', env)}")],
        ),
        statement("DescribeAlarms", "Allow", ["cloudwatch:DescribeAlarms"], [scope.arn("cloudwatch", "alarm:*")]),
        slr,
        _deny_state_outside(scope, own),
        _deny_layers_state(scope, ["infra", "pipelines"]),
        statement(
            "DenyNetworkAndLaneResources",
            "Deny",
            [*VPC_WRITE_ACTIONS, *RULE_WRITE_ACTIONS, *ECS_LANE_WRITE_ACTIONS, *ECS_CLUSTER_WRITE_ACTIONS],
            ["*"],
        ),
        _deny_foreign_tagged(
            "boot",
            [
                *TARGET_GROUP_WRITE_ACTIONS,
                *ALARM_WRITE_ACTIONS,
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
            ],
        ),
        *_deny_other_envs(env, ["ec2:*", "elasticloadbalancing:*", "servicediscovery:*"]),
        # The access logs are evidence: the role that manages the buckets may
        # never read, rewrite or delete a log object, whatever bucket policy
        # it writes.
        statement(
            "DenyAccessLogObjects",
            "Deny",
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            [scope.s3(naming.alb_access_log_bucket_glob(env), "*")],
        ),
        _deny_iam(scope, [slr_resource]),
    ]
    if scope.services:
        # One boot role serves every service of the env (the pipeline's
        # SERVICE variable picks one at run time); resources of a service the
        # env's params do not list are not its to change.
        statements.append(
            statement(
                "DenyUndeclaredServicesResources",
                "Deny",
                ["ec2:*", "elasticloadbalancing:*", "servicediscovery:*"],
                ["*"],
                Condition={
                    "StringLike": {f"aws:ResourceTag/{naming.SERVICE_TAG}": "*"},
                    "StringNotEquals": {f"aws:ResourceTag/{naming.SERVICE_TAG}": list(scope.services)},
                },
            )
        )
    if scope.production:
        # The article's stack policy: a production listener and its
        # certificates never change by a pipeline run. Creating them (a new
        # service's first boot) stays allowed; changing them takes a person
        # with a break-glass role, after `pulumi state unprotect`.
        statements.append(
            statement(
                "DenyProductionListenerChanges",
                "Deny",
                PROD_LISTENER_ACTIONS,
                [scope.arn("elasticloadbalancing", "listener/app/*/*/*")],
            )
        )
    return document(statements)


def lane_role_arns(scope: Scope, service: str) -> str:
    """Every lane role of ``service`` (scoped by path: names are hash-fitted)."""
    return scope.arn("iam", f"role{naming.lane_role_path(service, scope.env)}*", region=False)


def app_deploy_policy(scope: Scope, service: str, project: str) -> Policy:
    """``{service}-{env}-{lane}`` stacks of ONE service: its lanes only."""
    env = scope.env
    own = naming.lane_stack_glob(service, env)
    alb = naming.alb_name(service, env)
    cluster = naming.cluster_name(env)
    lane_roles = lane_role_arns(scope, service)
    boundary = scope.lane_boundary(service)
    tg_prefix = naming.lane_target_group_prefix(service, env)
    # Services whose lane stacks the glob "{service}-{env}-*" also matches.
    head = naming.lane_stack(service, env, "")
    look_alikes = [
        naming.lane_stack_glob(o, env)
        for o in scope.services
        if o != service and naming.lane_stack(o, env, "").startswith(head)
    ]
    family_glob = scope.arn("ecs", f"task-definition/{naming.task_family(service, env, '')}*:*")
    return document(
        [
            _log_statement(scope, project),
            _artifact_read(scope, naming.app_pipeline_name(service, env)),
            *_state_access(
                scope, own, reads=[naming.infra_stack(env), naming.boot_stack(service, env)], exclude=look_alikes
            ),
            statement(
                "ManageLaneServices",
                "Allow",
                [
                    "ecs:CreateService",
                    "ecs:DeleteService",
                    "ecs:DescribeServices",
                    "ecs:ListTagsForResource",  # the provider reads tags back
                    "ecs:TagResource",
                    "ecs:UntagResource",
                    "ecs:UpdateService",
                ],
                [scope.arn("ecs", f"service/{cluster}/{naming.ecs_service_name(service, '')}*")],
            ),
            statement(
                "RegisterLaneTaskDefinitions",
                "Allow",
                ["ecs:ListTagsForResource", "ecs:RegisterTaskDefinition", "ecs:TagResource"],
                [family_glob],
            ),
            # Only the service's own families. parliament's (older) IAM
            # database lists no resource type for DeregisterTaskDefinition;
            # the request names one revision ARN, which this pattern scopes.
            statement("DeregisterLaneTaskDefinitions", "Allow", ["ecs:DeregisterTaskDefinition"], [family_glob]),
            # No resource-level permissions exist for these (parliament's
            # IAM database lists no resource type for them); both only read.
            statement(
                "TaskDefinitionLookups",
                "Allow",
                ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
                ["*"],
            ),
            statement(
                "ManageLaneTargetGroups",
                "Allow",
                [*TARGET_GROUP_WRITE_ACTIONS, "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                [scope.arn("elasticloadbalancing", f"targetgroup/{tg_prefix}*/*")],
            ),
            statement(
                "AddRulesToOwnListener",
                "Allow",
                ["elasticloadbalancing:CreateRule"],
                [scope.arn("elasticloadbalancing", f"listener/app/{alb}/*/*")],
            ),
            statement(
                "ManageRulesOnOwnListener",
                "Allow",
                [
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                [scope.arn("elasticloadbalancing", f"listener-rule/app/{alb}/*/*/*")],
            ),
            statement("DescribeLoadBalancing", "Allow", ["elasticloadbalancing:Describe*"], ["*"]),
            statement(
                "ManageLaneAlarms",
                "Allow",
                [*ALARM_WRITE_ACTIONS, "cloudwatch:ListTagsForResource"],
                [scope.arn("cloudwatch", f"alarm:{naming.alarm_glob(service, env)}")],
            ),
            statement("DescribeAlarms", "Allow", ["cloudwatch:DescribeAlarms"], [scope.arn("cloudwatch", "alarm:*")]),
            statement(
                "ManageLaneRoles",
                "Allow",
                [
                    "iam:DeleteRole",
                    "iam:DeleteRolePolicy",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:ListRolePolicies",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:UpdateRole",
                ],
                [lane_roles],
            ),
            # AWS's delegated role creation: a lane role exists, and gets
            # permissions, only under the service's permissions boundary
            # (components/layers/pipelines.py creates it), so whatever inline policy
            # the role is given, it can never do more than the boundary says.
            statement(
                "CreateLaneRolesUnderBoundary",
                "Allow",
                BOUNDARY_GUARDED_ACTIONS,
                [lane_roles],
                Condition={"ArnEquals": {"iam:PermissionsBoundary": boundary}},
            ),
            # Managed policies: only the ECS execution policy may be attached.
            statement(
                "AttachExecutionPolicyToLaneRoles",
                "Allow",
                ["iam:AttachRolePolicy"],
                [lane_roles],
                Condition={
                    "ArnEquals": {"iam:PolicyARN": [ECS_TASK_EXECUTION_POLICY], "iam:PermissionsBoundary": boundary}
                },
            ),
            statement(
                "DetachExecutionPolicyFromLaneRoles",
                "Allow",
                ["iam:DetachRolePolicy"],
                [lane_roles],
                Condition={"ArnEquals": {"iam:PolicyARN": [ECS_TASK_EXECUTION_POLICY]}},
            ),
            statement(
                "PassLaneRolesToEcsTasks",
                "Allow",
                ["iam:PassRole"],
                [lane_roles],
                Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            statement(
                "ReadOwnImages",
                "Allow",
                ["ecr:BatchGetImage", "ecr:DescribeImages"],
                [scope.arn("ecr", f"repository/{naming.ecr_repository_name(service, env)}")],
            ),
            statement(
                "ReadDiscoveryService",
                "Allow",
                ["servicediscovery:GetService"],
                [scope.arn("servicediscovery", "service/*")],
            ),
            _deny_state_outside(scope, own),
            _deny_layers_state(scope, ["boot", "infra", "pipelines"]),
            statement(
                "DenySharedNetworkAndLoadBalancers",
                "Deny",
                [*LB_WRITE_ACTIONS, *EC2_ALL_WRITES, *ECS_CLUSTER_WRITE_ACTIONS],
                ["*"],
            ),
            _deny_foreign_tagged(
                "app",
                [
                    *TARGET_GROUP_WRITE_ACTIONS,
                    *RULE_WRITE_ACTIONS,
                    *ALARM_WRITE_ACTIONS,
                    "ecs:DeleteService",
                    "ecs:UpdateService",
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                ],
            ),
            # Name prefixes cannot separate every pair of services ("user-*"
            # also matches the ECS service "user-api-gray"; long names share
            # target group heads), so existing lane resources must carry this
            # service's Service tag (naming.tags) to be changed at all.
            statement(
                "DenyChangingOtherServicesResources",
                "Deny",
                [
                    "cloudwatch:DeleteAlarms",
                    "ecs:DeleteService",
                    "ecs:UpdateService",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                ["*"],
                Condition={"StringNotEquals": {"aws:ResourceTag/Service": service}},
            ),
            # Resource "*": these hold for every role in the account, whatever
            # a later Allow says. A role without this boundary is never made
            # or given permissions; no boundary is ever removed; no trust
            # policy is rewritten (a lane role's trust is fixed at creation).
            statement(
                "DenyRolesWithoutLaneBoundary",
                "Deny",
                [*BOUNDARY_GUARDED_ACTIONS, "iam:AttachRolePolicy"],
                ["*"],
                Condition={"ArnNotEquals": {"iam:PermissionsBoundary": boundary}},
            ),
            statement(
                "DenyBoundaryRemovalAndTrustChanges",
                "Deny",
                ["iam:DeleteRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"],
                ["*"],
            ),
            statement("DenyBoundaryPolicyChanges", "Deny", BOUNDARY_POLICY_WRITE_ACTIONS, [boundary]),
            _deny_iam(scope, [lane_roles]),
        ]
    )


def lane_boundary_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    service: str,
    env: str,
    secret_arns: Iterable[str],
    kms_key_arn: str | None = None,
) -> Document:
    """The permissions boundary of ``service``'s lane roles in ``env``: the
    most any lane role may ever do, whatever policy it is given. It is the
    union of what an execution role needs (components/layers/lane/); a task role
    starts with no permissions and can never exceed this either."""
    # Every lane's log streams ("*" as the lane), else exactly the execution grant.
    return lane_execution_policy(
        partition=partition,
        region=region,
        account_id=account_id,
        repository_name=naming.ecr_repository_name(service, env),
        log_group_name=naming.log_group_name(service, env),
        lane="*",
        secret_arns=secret_arns,
        kms_key_arn=kms_key_arn,
    )


def app_build_policy(scope: Scope, service: str, project: str) -> Policy:
    """The docker build of ONE service: push its image, write the artifact."""
    repo = scope.arn("ecr", f"repository/{naming.ecr_repository_name(service, scope.env)}")
    return document(
        [
            _log_statement(scope, project),
            statement(
                "ReadWriteOwnPipelineArtifacts",
                "Allow",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                [scope.artifacts(naming.app_pipeline_name(service, scope.env))],
            ),
            # GetAuthorizationToken has no resource type: it only proves identity;
            # the push rights are on the repository below.
            statement("EcrLogin", "Allow", ["ecr:GetAuthorizationToken"], ["*"]),
            statement(
                "PushOwnImage",
                "Allow",
                [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart",
                ],
                [repo],
            ),
            # The build runs the app repository's Dockerfile: it never touches
            # state, whatever else gets attached to this role later.
            statement(
                "DenyStateBucket",
                "Deny",
                ["s3:*"],
                [scope.s3(scope.state_bucket), scope.s3(scope.state_bucket, "*")],
            ),
            _deny_iam(scope, []),
        ]
    )

"""IAM policy documents, as plain dicts (pure: testable without Pulumi).

Each layer keeps its documents in its own section. Resources are always
scoped to what the layer owns; the only ``"*"`` is an action AWS does not let
anyone scope (``ecr:GetAuthorizationToken``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import naming, regions

Document = dict[str, Any]
VERSION = "2012-10-17"

# --- pipeline roles --------------------------------------------------------------
# (components/pipelines.py attaches them; the rationale is below.)

Policy = dict[str, Any]
Statement = dict[str, Any]


def document(statements: Iterable[Statement]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def trust(service: str, *, account: str | None = None, source_arns: Sequence[str] = ()) -> Policy:
    """Trust policy letting one AWS service principal assume the role.

    With ``account`` and ``source_arns`` (what the pipelines layer always
    passes) the service may assume the role only on behalf of those resources
    of this account: aws:SourceAccount and aws:SourceArn close the confused
    deputy (another account's CodeBuild project naming our role).
    """
    stmt: Statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition: dict[str, Any] = {}
    if account:
        condition["StringEquals"] = {"aws:SourceAccount": account}
    if source_arns:
        condition["ArnLike"] = {"aws:SourceArn": sorted(source_arns)}
    if condition:
        stmt["Condition"] = condition
    return document([stmt])


def _stmt(sid: str, effect: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Statement:
    out: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(set(actions)), "Resource": list(resources)}
    out.update(extra)
    return out


#
# One CodePipeline role per env, and CodeBuild roles per layer:
#   infra  deploy role    writes only infra-{env} state, network/cluster/namespace
#   boot   deploy role    writes only boot-*-{env} state, ALB/listener/TG/SG/logs/ECR/Cloud Map
#   app    deploy role    ONE PER SERVICE: writes only {service}-{env}-* state and
#                         that service's lane resources (ECS service + task
#                         definitions, lane target groups, rules on its own
#                         listener, its alarms, its lane roles)
#   app    build role     ONE PER SERVICE: pushes to its own ECR repository and
#                         writes pipeline artifacts; no state, no deploy rights
# Per-service app roles are what makes "its own lanes" expressible: a single
# app role shared by every service's pipeline could only be scoped to "some
# service's lanes". The build role is separate from the deploy role because the
# build runs the app repository's Dockerfile in privileged docker: code from the
# app repo must never hold rights to change infrastructure or state.
#
# Every role also gets explicit Deny statements at its layer boundary (the
# article's `Deny boot-*, infra-environment-*`), so a later, broader Allow
# (a managed policy someone attaches by hand) cannot cross the boundary.

# State actions that change an object; reads stay allowed where needed (the
# lane program's StackReferences read boot and infra state).
STATE_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
STATE_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")

# IAM actions that change identities or hand them out.
IAM_WRITE_ACTIONS = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:PassRole",
    "iam:Put*",
    "iam:Remove*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)

# The shared network: the infra layer's, nobody else's.
VPC_WRITE_ACTIONS = (
    "ec2:AllocateAddress",
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:ReleaseAddress",
    "ec2:ReplaceRoute",
    "ec2:ReplaceRouteTableAssociation",
)

# The creates among them: the request must tag the new resource with the env.
VPC_CREATE_ACTIONS = tuple(a for a in VPC_WRITE_ACTIONS if a.split(":")[1].startswith(("Create", "Allocate")))

# Lanes own no EC2 resource at all: every EC2 change is someone else's.
EC2_ALL_WRITES = (
    "ec2:Allocate*",
    "ec2:Associate*",
    "ec2:Attach*",
    "ec2:Authorize*",
    "ec2:Create*",
    "ec2:Delete*",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Modify*",
    "ec2:Release*",
    "ec2:Replace*",
    "ec2:Revoke*",
)

# Security groups belong to boot (ALB and service groups).
SECURITY_GROUP_WRITE_ACTIONS = (
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateSecurityGroup",
    "ec2:DeleteSecurityGroup",
    "ec2:ModifySecurityGroupRules",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)

# What changes the rules of an existing group (not the group itself).
SECURITY_GROUP_RULE_ACTIONS = tuple(
    a for a in SECURITY_GROUP_WRITE_ACTIONS if a not in ("ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup")
)

# Load balancers and listeners belong to boot.
LB_WRITE_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
)

# Listener rules belong to lanes.
RULE_WRITE_ACTIONS = (
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
)

TARGET_GROUP_WRITE_ACTIONS = (
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
)

# ECS services and task definitions belong to lanes; clusters to infra.
ECS_LANE_WRITE_ACTIONS = (
    "ecs:CreateService",
    "ecs:DeleteService",
    "ecs:DeregisterTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
)
ECS_CLUSTER_WRITE_ACTIONS = (
    "ecs:CreateCluster",
    "ecs:DeleteCluster",
    "ecs:PutClusterCapacityProviders",
    "ecs:UpdateCluster",
    "ecs:UpdateClusterSettings",
)

# Read-only EC2 lookups the provider makes; none has a resource type.
EC2_DESCRIBE_ACTIONS = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)

# Cloud Map's tagging actions take "*" only.
SERVICEDISCOVERY_TAG_ACTIONS = (
    "servicediscovery:ListTagsForResource",
    "servicediscovery:TagResource",
    "servicediscovery:UntagResource",
)

DISCOVERY_WRITE_ACTIONS = (
    "servicediscovery:CreateService",
    "servicediscovery:DeleteService",
    "servicediscovery:UpdateService",
)

# Listener and certificate changes (the boot role may not make them in prod).
PROD_LISTENER_ACTIONS = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
)

ALARM_WRITE_ACTIONS = (
    "cloudwatch:DeleteAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
)

# Resources these tags mark are another layer's; the deny below protects them
# where name prefixes cannot (a lane's target group name shares its head with
# the boot stack's default target group).
FOREIGN_LAYER_TAGS = {
    "infra": ["boot", "lane", "pipelines"],
    "boot": ["infra", "lane", "pipelines"],
    "app": ["infra", "boot", "pipelines"],
}

# What a lane role may be created or given permissions with only while it
# carries the service's boundary (iam:PermissionsBoundary condition key).
BOUNDARY_GUARDED_ACTIONS = ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy")
BOUNDARY_POLICY_WRITE_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)

ECS_TASK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


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
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")

    def state(self, stack_glob: str) -> list[str]:
        """ARNs of every backend object of the stacks matching ``stack_glob``."""
        return [self.s3(self.state_bucket, key) for key in naming.state_object_keys(stack_glob)]

    @property
    def meta(self) -> str:
        return self.s3(self.state_bucket, f"{naming.STATE_ROOT}/meta.yaml")

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
    return f"arn:{partition}:iam::{account}:policy{path}{naming.lane_boundary_policy_name(service, env)}"


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
            _stmt(
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
    return _stmt(
        "WriteOwnBuildLogs",
        "Allow",
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [scope.arn("logs", f"log-group:{group}:*")],
    )


def _artifact_read(scope: Scope, pipeline: str) -> Statement:
    """Read the artifacts of the one pipeline the role serves."""
    return _stmt(
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
        _stmt(
            "ListStateBucket",
            "Allow",
            ["s3:ListBucket", "s3:GetBucketLocation"],
            [scope.s3(scope.state_bucket)],
        ),
        _stmt("ReadState", "Allow", STATE_READ_ACTIONS, read_resources),
        _stmt("WriteOwnState", "Allow", STATE_WRITE_ACTIONS, scope.state(own)),
    ]
    if exclude:
        out.append(
            _stmt(
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
        return _stmt(
            "UseStateKey",
            "Allow",
            actions,
            [scope.arn("kms", "key/*")],
            Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": arn.split(":", 5)[5]}},
        )
    return _stmt("UseStateKey", "Allow", actions, [arn])


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
    resources = [scope.s3(scope.state_bucket, f"{naming.STATE_ROOT}/*/{naming.PROJECT}/{layer}-*") for layer in layers]
    resources.append(scope.meta)
    return _stmt("DenyOtherLayersState", "Deny", STATE_WRITE_ACTIONS, resources)


def _deny_foreign_tagged(layer: str, actions: Sequence[str]) -> Statement:
    return _stmt(
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
        _stmt(
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
            f"arn:{scope.partition}:codestar-connections:{scope.region}:{scope.account}:{conn_ids}",
            f"arn:{scope.partition}:codeconnections:{scope.region}:{scope.account}:{conn_ids}",
        }
    )
    return document(
        [
            # Only the env's own pipelines' folders, never the whole bucket.
            _stmt(
                "ArtifactObjects",
                "Allow",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                sorted({scope.artifacts(p) for p in scope.pipeline_names()}),
            ),
            _stmt(
                "ArtifactBucket",
                "Allow",
                ["s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:ListBucket"],
                [scope.s3(scope.artifact_bucket)],
            ),
            _stmt(
                "UseSourceConnection",
                "Allow",
                ["codestar-connections:UseConnection", "codeconnections:UseConnection"],
                connections,
            ),
            _stmt(
                "RunOwnBuilds",
                "Allow",
                ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
                [scope.arn("codebuild", f"project/{p}") for p in sorted(projects)],
            ),
            # CodePipeline never needs the state bucket: only builds touch it.
            _stmt(
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
            _stmt(
                "CreateNetworkTaggedForOwnEnv",
                "Allow",
                list(VPC_CREATE_ACTIONS),
                [scope.arn("ec2", "*")],
                Condition=env_tagging_request(env),
            ),
            # Tags only as part of those creates (ec2:CreateAction): an untagged
            # resource of someone else's cannot be claimed by tagging it.
            _stmt(
                "TagOnCreateOnly",
                "Allow",
                ["ec2:CreateTags"],
                [scope.arn("ec2", "*")],
                Condition=_tag_on_create(env, "ec2:CreateAction", VPC_CREATE_ACTIONS),
            ),
            _stmt(
                "ManageOwnEnvNetwork",
                "Allow",
                [*VPC_WRITE_ACTIONS, "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeVpcAttribute"],
                [scope.arn("ec2", "*")],
                Condition=env_tagged(env),
            ),
            _stmt("DescribeNetwork", "Allow", EC2_DESCRIBE_ACTIONS, ["*"]),
            _stmt(
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
            _stmt(
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
            _stmt(
                "CreateNamespaceTaggedForOwnEnv",
                "Allow",
                ["servicediscovery:CreatePrivateDnsNamespace"],
                ["*"],
                Condition=env_tagging_request(env),
            ),
            _stmt(
                "NamespaceLookups",
                "Allow",
                ["servicediscovery:GetOperation", "servicediscovery:ListNamespaces", *SERVICEDISCOVERY_TAG_ACTIONS],
                ["*"],
            ),
            # Cloud Map creates the namespace's private hosted zone with the
            # caller's own Route 53 rights. Route 53 supports no tag condition
            # on hosted zones and their ids are random: hostedzone/* is the
            # narrowest form (docs/security.md, "What is left").
            _stmt(
                "NamespaceHostedZone",
                "Allow",
                [
                    "route53:AssociateVPCWithHostedZone",
                    "route53:DeleteHostedZone",
                    "route53:GetHostedZone",
                ],
                [f"arn:{scope.partition}:route53:::hostedzone/*"],
            ),
            _stmt("HostedZoneChanges", "Allow", ["route53:GetChange"], [f"arn:{scope.partition}:route53:::change/*"]),
            # The env's alarm topic and its subscriptions (params alarmNotifications).
            _stmt(
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
            _stmt(
                "ManageAlarmSubscriptions",
                "Allow",
                ["sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"],
                ["*"],
            ),
            _stmt(
                "CreateHostedZone",
                "Allow",
                ["route53:CreateHostedZone", "route53:ListHostedZonesByName"],
                ["*"],
            ),
            slr,
            _deny_state_outside(scope, own),
            _deny_layers_state(scope, ["boot", "pipelines"]),
            _stmt(
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
        _stmt(
            "CreateLoadBalancingTaggedForOwnEnv",
            "Allow",
            [*creates, "elasticloadbalancing:CreateListener"],
            lb_resources,
            Condition=env_tagging_request(env),
        ),
        _stmt(
            "TagLoadBalancingOnCreateOnly",
            "Allow",
            ["elasticloadbalancing:AddTags"],
            lb_resources,
            Condition=_tag_on_create(
                env, "elasticloadbalancing:CreateAction", [*creates, "elasticloadbalancing:CreateListener"]
            ),
        ),
        _stmt("ManageOwnEnvLoadBalancing", "Allow", lb_actions, lb_resources, Condition=env_tagged(env)),
        _stmt("DescribeLoadBalancing", "Allow", ["elasticloadbalancing:Describe*"], ["*"]),
        _stmt(
            "CreateSecurityGroupsTaggedForOwnEnv",
            "Allow",
            ["ec2:CreateSecurityGroup"],
            [scope.arn("ec2", "security-group/*")],
            Condition=env_tagging_request(env),
        ),
        # A group is created inside a VPC: only this env's (infra tags it).
        _stmt(
            "CreateSecurityGroupsInOwnEnvVpc",
            "Allow",
            ["ec2:CreateSecurityGroup"],
            [scope.arn("ec2", "vpc/*")],
            Condition=env_tagged(env),
        ),
        _stmt(
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
        _stmt(
            "ManageOwnEnvSecurityGroups",
            "Allow",
            [*SECURITY_GROUP_WRITE_ACTIONS, "ec2:CreateTags", "ec2:DeleteTags"],
            sg_resources,
            Condition=env_tagged(env),
        ),
        # AWS also authorizes a rule change against the rule itself, which a
        # new rule has no tags on yet; the rule is reachable only through its
        # group, which must be this env's (above), so the rule ARN stays open.
        _stmt(
            "RulesOfOwnEnvSecurityGroups",
            "Allow",
            list(SECURITY_GROUP_RULE_ACTIONS),
            [scope.arn("ec2", "security-group-rule/*")],
        ),
        _stmt("DescribeNetwork", "Allow", EC2_DESCRIBE_ACTIONS, ["*"]),
        _stmt(
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
            [scope.arn("logs", f"log-group:/ecs/{env}/*")],
        ),
        _stmt("DescribeLogGroups", "Allow", ["logs:DescribeLogGroups"], ["*"]),
        # The ALB access log buckets of this env's services (named
        # {env}-alb-logs-{service}-<random>); their objects are ELB's.
        _stmt(
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
        _stmt(
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
        _stmt(
            "ReadDiscoveryServices",
            "Allow",
            ["servicediscovery:GetNamespace", "servicediscovery:GetService"],
            [scope.arn("servicediscovery", "namespace/*"), scope.arn("servicediscovery", "service/*")],
        ),
        _stmt(
            "ManageOwnEnvDiscoveryServices",
            "Allow",
            DISCOVERY_WRITE_ACTIONS,
            [scope.arn("servicediscovery", "namespace/*"), scope.arn("servicediscovery", "service/*")],
            Condition=env_tagged(env),
        ),
        _stmt("TagDiscoveryServices", "Allow", SERVICEDISCOVERY_TAG_ACTIONS, ["*"]),
        _stmt(
            "ManageServiceAlarms",
            "Allow",
            [*ALARM_WRITE_ACTIONS, "cloudwatch:ListTagsForResource"],
            [scope.arn("cloudwatch", f"alarm:*-{env}-*")],
        ),
        _stmt("DescribeAlarms", "Allow", ["cloudwatch:DescribeAlarms"], [scope.arn("cloudwatch", "alarm:*")]),
        slr,
        _deny_state_outside(scope, own),
        _deny_layers_state(scope, ["infra", "pipelines"]),
        _stmt(
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
        _stmt(
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
            _stmt(
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
            _stmt(
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
            _stmt(
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
            _stmt(
                "RegisterLaneTaskDefinitions",
                "Allow",
                ["ecs:ListTagsForResource", "ecs:RegisterTaskDefinition", "ecs:TagResource"],
                [family_glob],
            ),
            # Only the service's own families. parliament's (older) IAM
            # database lists no resource type for DeregisterTaskDefinition;
            # the request names one revision ARN, which this pattern scopes.
            _stmt("DeregisterLaneTaskDefinitions", "Allow", ["ecs:DeregisterTaskDefinition"], [family_glob]),
            # No resource-level permissions exist for these (parliament's
            # IAM database lists no resource type for them); both only read.
            _stmt(
                "TaskDefinitionLookups",
                "Allow",
                ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
                ["*"],
            ),
            _stmt(
                "ManageLaneTargetGroups",
                "Allow",
                [*TARGET_GROUP_WRITE_ACTIONS, "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                [scope.arn("elasticloadbalancing", f"targetgroup/{tg_prefix}*/*")],
            ),
            _stmt(
                "AddRulesToOwnListener",
                "Allow",
                ["elasticloadbalancing:CreateRule"],
                [scope.arn("elasticloadbalancing", f"listener/app/{alb}/*/*")],
            ),
            _stmt(
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
            _stmt("DescribeLoadBalancing", "Allow", ["elasticloadbalancing:Describe*"], ["*"]),
            _stmt(
                "ManageLaneAlarms",
                "Allow",
                [*ALARM_WRITE_ACTIONS, "cloudwatch:ListTagsForResource"],
                [scope.arn("cloudwatch", f"alarm:{service}-{env}-*")],
            ),
            _stmt("DescribeAlarms", "Allow", ["cloudwatch:DescribeAlarms"], [scope.arn("cloudwatch", "alarm:*")]),
            _stmt(
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
            # (components/pipelines.py creates it), so whatever inline policy
            # the role is given, it can never do more than the boundary says.
            _stmt(
                "CreateLaneRolesUnderBoundary",
                "Allow",
                BOUNDARY_GUARDED_ACTIONS,
                [lane_roles],
                Condition={"ArnEquals": {"iam:PermissionsBoundary": boundary}},
            ),
            # Managed policies: only the ECS execution policy may be attached.
            _stmt(
                "AttachExecutionPolicyToLaneRoles",
                "Allow",
                ["iam:AttachRolePolicy"],
                [lane_roles],
                Condition={
                    "ArnEquals": {"iam:PolicyARN": [ECS_TASK_EXECUTION_POLICY], "iam:PermissionsBoundary": boundary}
                },
            ),
            _stmt(
                "DetachExecutionPolicyFromLaneRoles",
                "Allow",
                ["iam:DetachRolePolicy"],
                [lane_roles],
                Condition={"ArnEquals": {"iam:PolicyARN": [ECS_TASK_EXECUTION_POLICY]}},
            ),
            _stmt(
                "PassLaneRolesToEcsTasks",
                "Allow",
                ["iam:PassRole"],
                [lane_roles],
                Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            _stmt(
                "ReadOwnImages",
                "Allow",
                ["ecr:BatchGetImage", "ecr:DescribeImages"],
                [scope.arn("ecr", f"repository/{naming.ecr_repository_name(service, env)}")],
            ),
            _stmt(
                "ReadDiscoveryService",
                "Allow",
                ["servicediscovery:GetService"],
                [scope.arn("servicediscovery", "service/*")],
            ),
            _deny_state_outside(scope, own),
            _deny_layers_state(scope, ["boot", "infra", "pipelines"]),
            _stmt(
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
            _stmt(
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
            _stmt(
                "DenyRolesWithoutLaneBoundary",
                "Deny",
                [*BOUNDARY_GUARDED_ACTIONS, "iam:AttachRolePolicy"],
                ["*"],
                Condition={"ArnNotEquals": {"iam:PermissionsBoundary": boundary}},
            ),
            _stmt(
                "DenyBoundaryRemovalAndTrustChanges",
                "Deny",
                ["iam:DeleteRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"],
                ["*"],
            ),
            _stmt("DenyBoundaryPolicyChanges", "Deny", BOUNDARY_POLICY_WRITE_ACTIONS, [boundary]),
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
    union of what an execution role needs (components/lane.py); a task role
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
            _stmt(
                "ReadWriteOwnPipelineArtifacts",
                "Allow",
                ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                [scope.artifacts(naming.app_pipeline_name(service, scope.env))],
            ),
            # GetAuthorizationToken has no resource type: it only proves identity;
            # the push rights are on the repository below.
            _stmt("EcrLogin", "Allow", ["ecr:GetAuthorizationToken"], ["*"]),
            _stmt(
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
            _stmt(
                "DenyStateBucket",
                "Deny",
                ["s3:*"],
                [scope.s3(scope.state_bucket), scope.s3(scope.state_bucket, "*")],
            ),
            _deny_iam(scope, []),
        ]
    )


def split_guard(doc: Policy) -> tuple[Policy, Policy]:
    """(Allow statements, Deny statements) of a role document: the first is
    the role's inline policy, the second its attached guard policy."""
    stmts = doc["Statement"]
    return (
        document(s for s in stmts if s["Effect"] == "Allow"),
        document(s for s in stmts if s["Effect"] == "Deny"),
    )


def alb_access_log_bucket_policy(bucket_arn: str, prefix: str, *, account: str, region: str) -> Policy:
    """Bucket policy of an ALB access log bucket: Elastic Load Balancing may
    write only this account's logs under ``prefix``, everyone else only over TLS."""
    elb_account = regions.ELB_LOG_ACCOUNTS.get(region)
    principal = (
        {"AWS": f"arn:aws:iam::{elb_account}:root"}
        if elb_account
        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    )
    return document(
        [
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account}/*",
            },
            *artifact_bucket_policy(bucket_arn)["Statement"],
        ]
    )


def artifact_bucket_policy(bucket_arn: str) -> Policy:
    """Bucket policy of the artifact bucket: TLS only, for everyone."""
    return document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


# --- lane task roles -------------------------------------------------------------

ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """``arn:partition:service:region:account:resource`` -> its five fields."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def repository_name_from_url(url: str) -> str:
    """``123.dkr.ecr.r.amazonaws.com/dev/user-api`` -> ``dev/user-api``."""
    host, sep, name = url.partition("/")
    if not sep or ".dkr.ecr." not in host or not name:
        raise ValueError(f"{url!r} is not an ECR repository URL")
    return name


def secret_resource(value_from: str) -> tuple[str, str]:
    """(IAM action, resource ARN) that lets ECS read one ``valueFrom``.

    A Secrets Manager ``valueFrom`` may end in ``:json-key:version-stage:
    version-id``; the permission is on the secret itself (first 7 fields).
    """
    _, service, _, _, _ = arn_parts(value_from)
    if service == "secretsmanager":
        return "secretsmanager:GetSecretValue", ":".join(value_from.split(":")[:7])
    if service == "ssm":
        return "ssm:GetParameters", value_from
    raise ValueError(f"{value_from!r} is neither an SSM parameter nor a Secrets Manager secret ARN")


def ecs_tasks_assume_role_policy(partition: str, region: str, account_id: str) -> Document:
    """Only ECS tasks of this account and region may assume a lane role
    (aws:SourceAccount / aws:SourceArn guard against the confused deputy)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ECS_TASKS_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account_id}:*"},
                },
            }
        ],
    }


def lane_execution_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    repository_name: str,
    log_group_name: str,
    lane: str,
    secret_arns: Iterable[str],
    kms_key_arn: str | None = None,
) -> Document:
    """What ECS needs to start one lane's tasks, and nothing more.

    Pull from the service's repository, write the lane's own log streams
    (awslogs names them ``{lane}/{container}/{task-id}``) in the service's log
    group, and read exactly the secrets the service lists.
    """
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}"
    statements: list[Document] = [
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",  # AWS offers no resource-level scoping for this action
        },
        {
            "Sid": "PullServiceImages",
            "Effect": "Allow",
            "Action": ECR_PULL_ACTIONS,
            "Resource": f"arn:{partition}:ecr:{region}:{account_id}:repository/{repository_name}",
        },
        {
            "Sid": "CreateLaneLogStreams",
            "Effect": "Allow",
            "Action": "logs:CreateLogStream",
            "Resource": f"{log_group_arn}:*",
        },
        {
            "Sid": "WriteLaneLogStreams",
            "Effect": "Allow",
            "Action": "logs:PutLogEvents",
            "Resource": f"{log_group_arn}:log-stream:{lane}/*",
        },
    ]
    by_action: dict[str, list[str]] = {}
    for value_from in secret_arns:
        action, resource = secret_resource(value_from)
        if resource not in by_action.setdefault(action, []):
            by_action[action].append(resource)
    sids = {"secretsmanager:GetSecretValue": "ReadListedSecrets", "ssm:GetParameters": "ReadListedParameters"}
    for action in sorted(by_action):
        statements.append(
            {"Sid": sids[action], "Effect": "Allow", "Action": action, "Resource": sorted(by_action[action])}
        )
    if kms_key_arn and by_action:
        # The secrets' customer-managed key: decrypt only, only that key, and
        # only when Secrets Manager or SSM asks on the task's behalf.
        via = {"secretsmanager:GetSecretValue": "secretsmanager", "ssm:GetParameters": "ssm"}
        statements.append(
            {
                "Sid": "DecryptListedSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": sorted(f"{via[a]}.{region}.amazonaws.com" for a in by_action)}
                },
            }
        )
    return {"Version": VERSION, "Statement": statements}

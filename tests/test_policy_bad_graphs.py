"""Each policy reports a deliberately bad graph, with its message.

The bad graphs are tiny programs run through the offline harness under a
real multilane stack name (``run_stack(..., program=...)``), so the pack
sees them exactly as it sees the real layers: URNs, inputs in the engine's
camelCase shape, options, property dependencies, stack references.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest

from components import naming, routing
from harness.offline import run_stack
from policy.adapter import PackResult, run_policies
from policy.pack import policies

PACK = policies()

GRAY = naming.tags("dev", "lane", "user-api", "gray")
BOOT_DEV = naming.tags("dev", "boot", "user-api")
BOOT_PROD = naming.tags("prod", "boot", "user-api")
INFRA_DEV = naming.tags("dev", "infra")
PIPES_DEV = naming.tags("dev", "pipelines")
STATE_BUCKET = "acme-multilane-state-dev"  # params/pipelines-dev.json


def check(stack: str, program: Callable[[], object], **kwargs) -> PackResult:
    rec = run_stack(stack, program=lambda _stack, _params: program(), **kwargs)
    return run_policies(rec, PACK)


def messages(result: PackResult, policy: str) -> list[str]:
    """The policy's messages, sorted: registrations arrive in no fixed order."""
    return sorted(v.message for v in result.violations if v.policy == policy)


def only(result: PackResult, policy: str) -> str:
    found = messages(result, policy)
    assert len(found) == 1, (policy, [(v.policy, v.message) for v in result.violations])
    return found[0]


# --- layer boundaries -----------------------------------------------------------


def test_lane_stack_creating_a_load_balancer_is_reported():
    def program():
        aws.lb.LoadBalancer("alb", load_balancer_type="application", subnets=["subnet-1", "subnet-2"], tags=GRAY)

    result = check("user-api-dev-gray", program)
    assert only(result, "layer-boundaries") == (
        "a lane stack must not create aws:lb/loadBalancer:LoadBalancer: the ALB belongs to boot-{service}-{env}; "
        "read LoadBalancerArn from its stack reference"
    )
    assert result.mandatory


@pytest.mark.parametrize(
    ("resource", "type_"),
    [
        (lambda: aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=GRAY), "aws:ec2/vpc:Vpc"),
        (lambda: aws.ecs.Cluster("c", tags=GRAY), "aws:ecs/cluster:Cluster"),
        (lambda: aws.ecr.Repository("r", tags=GRAY), "aws:ecr/repository:Repository"),
        (
            lambda: aws.cloudwatch.LogGroup("l", retention_in_days=7, tags=GRAY),
            "aws:cloudwatch/logGroup:LogGroup",
        ),
        (
            lambda: aws.servicediscovery.PrivateDnsNamespace("n", name="x.internal", vpc="vpc-1", tags=GRAY),
            "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
        ),
    ],
)
def test_lane_stack_must_not_create_lower_layer_types(resource, type_):
    result = check("user-api-dev-gray", resource)
    assert only(result, "layer-boundaries").startswith(f"a lane stack must not create {type_}: ")


def test_boot_stack_creating_an_ecs_service_is_reported():
    def program():
        aws.ecs.Service(
            "svc",
            cluster="c",
            network_configuration={"subnets": ["subnet-1"], "assign_public_ip": False},
            tags=BOOT_DEV,
        )

    assert only(check("boot-user-api-dev", program), "layer-boundaries") == (
        "a boot stack must not create aws:ecs/service:Service: ECS services belong to lane stacks {service}-{env}-{lane}"
    )


def test_infra_stack_creating_an_alb_is_reported():
    def program():
        aws.alb.LoadBalancer("alb", subnets=["subnet-1", "subnet-2"], tags=INFRA_DEV)

    # aws:alb/ is pulumi-aws's alias module of aws:lb/: same boundary.
    assert only(check("infra-dev", program), "layer-boundaries").startswith(
        "a infra stack must not create aws:lb/loadBalancer:LoadBalancer"
    )


def test_unlisted_type_and_foreign_component_are_reported():
    class Boot(pulumi.ComponentResource):
        def __init__(self):
            super().__init__("multilane:boot:ServiceBoot", "boot")

    def program():
        aws.sqs.Queue("q", tags=GRAY)
        Boot()

    found = messages(check("user-api-dev-gray", program), "layer-boundaries")
    assert found == sorted(
        [
            "aws:sqs/queue:Queue is not a lane-layer resource type; if the lane layer really owns it, "
            "add it to the lane layer's owns in components/contract.py in the same review",
            "lane stack user-api-dev-gray instantiates the boot-layer component multilane:boot:ServiceBoot; "
            "only multilane:lane:* components belong here",
        ]
    )


def test_a_stack_name_that_does_not_resolve_is_reported():
    result = check("nosuchservice-dev-gray", lambda: aws.sqs.Queue("q"))
    (message,) = messages(result, "layer-boundaries")
    assert message.startswith(
        "the stack is not a multilane stack, so its layer is unknown: stack 'nosuchservice-dev-gray'"
    )


# --- tags ---------------------------------------------------------------------


def test_missing_and_wrong_tags_are_reported():
    def program():
        aws.lb.TargetGroup("tg", port=8080, protocol="HTTP", target_type="ip", tags={**GRAY, "Env": "prod"})
        aws.iam.Role("role", assume_role_policy="{}", tags={"Env": "dev"})
        aws.iam.RolePolicy("untaggable", role="r", policy=json.dumps({"Version": "2012-10-17", "Statement": []}))

    found = messages(check("user-api-dev-gray", program), "required-tags")
    assert found == sorted(
        [
            "aws:lb/targetGroup:TargetGroup tg: wrong Env='prod' (expected 'dev')",
            "aws:iam/role:Role role: missing Layer, ManagedBy, Service, Lane",
        ]
    )


# --- network -------------------------------------------------------------------


def _service(subnets, public_ip=False, tags=GRAY):
    return aws.ecs.Service(
        "service",
        cluster="c",
        network_configuration={"subnets": subnets, "security_groups": ["sg-1"], "assign_public_ip": public_ip},
        tags=tags,
    )


def test_ecs_task_with_public_ip_is_reported():
    def program():
        ref = pulumi.StackReference(naming.stack_ref("infra-dev"))
        _service(ref.require_output("PrivateSubnetIds"), public_ip=True)

    result = check("user-api-dev-gray", program)
    assert only(result, "ecs-no-public-ip") == (
        "ECS service service assigns a public IP to its tasks (networkConfiguration.assignPublicIp is true)"
    )
    assert messages(result, "ecs-private-subnets") == []


def test_ecs_service_in_public_subnets_is_reported():
    def program():
        ref = pulumi.StackReference(naming.stack_ref("infra-dev"))
        _service(ref.require_output("PublicSubnetIds"))

    assert only(check("user-api-dev-gray", program), "ecs-private-subnets") == (
        "ECS service service in user-api-dev-gray runs in public subnet(s) subnet-0placeholder-pub-a, "
        "subnet-0placeholder-pub-b of the infra stack"
    )


def test_ecs_service_with_literal_subnets_cannot_prove_privacy():
    assert only(check("user-api-dev-gray", lambda: _service(["subnet-0abc12345"])), "ecs-private-subnets") == (
        "ECS service service in user-api-dev-gray runs in subnets that cannot be proven private: the stack reads "
        "no infra stack reference; take the subnets from the infra stack's PrivateSubnetIds"
    )


def test_ecs_service_without_network_configuration_is_reported():
    def program():
        aws.ecs.Service("service", cluster="c", tags=GRAY)

    assert only(check("user-api-dev-gray", program), "ecs-no-public-ip").startswith(
        "ECS service service has no networkConfiguration"
    )


def _alb_with_listener(port: int = 80):
    sg = aws.ec2.SecurityGroup("alb-sg", vpc_id="vpc-1", tags=BOOT_DEV)
    alb = aws.lb.LoadBalancer(
        "alb",
        subnets=["subnet-1", "subnet-2"],
        security_groups=[sg.id],
        tags=BOOT_DEV,
        opts=pulumi.ResourceOptions(protect=True),
    )
    aws.lb.Listener(
        "http",
        load_balancer_arn=alb.arn,
        port=port,
        default_actions=[
            {"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "404"}}
        ],
        tags=BOOT_DEV,
        opts=pulumi.ResourceOptions(protect=True),
    )
    return sg


def _world_rule(name: str, sg, port: int, cidr: str = "0.0.0.0/0", protocol: str = "tcp"):
    aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=sg.id,
        ip_protocol=protocol,
        from_port=port,
        to_port=port,
        cidr_ipv4=cidr if ":" not in cidr else None,
        cidr_ipv6=cidr if ":" in cidr else None,
        tags=BOOT_DEV,
    )


def test_world_ingress_on_the_alb_listener_port_is_allowed_and_elsewhere_reported():
    def program():
        sg = _alb_with_listener(80)
        _world_rule("http-in", sg, 80)
        _world_rule("ssh-in", sg, 22)
        _world_rule("ssh6-in", sg, 22, cidr="::/0")
        tasks = aws.ec2.SecurityGroup(
            "tasks-sg",
            vpc_id="vpc-1",
            ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr_blocks": ["0.0.0.0/0"]}],
            tags=BOOT_DEV,
        )
        assert tasks

    found = messages(check("boot-user-api-dev", program), "sg-world-ingress-listener-ports-only")
    assert found == sorted(
        [
            "SecurityGroupIngressRule ssh-in admits 0.0.0.0/0 on port(s) 22; the load balancer's listener ports are [80]",
            "SecurityGroupIngressRule ssh6-in admits ::/0 on port(s) 22; the load balancer's listener ports are [80]",
            "SecurityGroup tasks-sg admits 0.0.0.0/0 on security group tasks-sg, which no load balancer in this stack uses",
        ]
    )


# --- data --------------------------------------------------------------------------


def _bucket(encrypt=True, versioning="Enabled", block=True):
    bucket = aws.s3.Bucket("artifacts", bucket_prefix="multilane-dev-artifacts-", tags=PIPES_DEV)
    if encrypt:
        aws.s3.BucketServerSideEncryptionConfiguration(
            "artifacts-sse",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
        )
    if versioning:
        aws.s3.BucketVersioning(
            "artifacts-versioning", bucket=bucket.id, versioning_configuration={"status": versioning}
        )
    aws.s3.BucketPublicAccessBlock(
        "artifacts-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=block,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )


def test_secure_bucket_passes():
    assert messages(check("pipelines-dev", _bucket), "s3-bucket-secure") == []


def test_bucket_without_encryption_is_reported():
    assert only(check("pipelines-dev", lambda: _bucket(encrypt=False)), "s3-bucket-secure") == (
        "bucket artifacts is not encrypted (no server-side encryption configuration with AES256 or aws:kms)"
    )


def test_bucket_with_suspended_versioning_and_public_policy_is_reported():
    found = messages(check("pipelines-dev", lambda: _bucket(versioning="Suspended", block=False)), "s3-bucket-secure")
    assert found == sorted(
        [
            "bucket artifacts is not versioned (no BucketVersioning with status Enabled)",
            "bucket artifacts does not block all public access (blockPublicPolicy not true)",
        ]
    )


def test_bucket_alone_is_reported_three_times():
    def program():
        aws.s3.Bucket("bare", tags=PIPES_DEV)

    assert messages(check("pipelines-dev", program), "s3-bucket-secure") == sorted(
        [
            "bucket bare is not encrypted (no server-side encryption configuration with AES256 or aws:kms)",
            "bucket bare is not versioned (no BucketVersioning with status Enabled)",
            "bucket bare has no BucketPublicAccessBlock",
        ]
    )


def test_log_group_without_retention_is_reported():
    def program():
        aws.cloudwatch.LogGroup("logs", name="/ecs/dev/user-api", tags=BOOT_DEV)

    assert only(check("boot-user-api-dev", program), "log-group-retention") == (
        "log group logs never expires its events (retentionInDays is not set)"
    )


# --- IAM ---------------------------------------------------------------------------


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_star_star_statement_is_reported():
    def program():
        role = aws.iam.Role("role", assume_role_policy=_doc(), tags=GRAY)
        aws.iam.RolePolicy(
            "admin",
            role=role.id,
            policy=_doc({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}),
        )
        aws.iam.RolePolicy(
            "not-action",
            role=role.id,
            policy=_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": ["*"]}),
        )
        aws.iam.RolePolicy(
            "scoped",
            role=role.id,
            policy=_doc({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}),
        )

    assert messages(check("user-api-dev-gray", program), "iam-no-admin-statement") == sorted(
        [
            "aws:iam/rolePolicy:RolePolicy admin: policy statement Everything allows every action on every resource",
            "aws:iam/rolePolicy:RolePolicy not-action: policy statement Statement[0] allows every action on every resource",
        ]
    )


def test_inline_role_policy_is_read_too():
    def program():
        aws.iam.Role(
            "role",
            assume_role_policy=_doc(),
            inline_policies=[{"name": "all", "policy": _doc({"Effect": "Allow", "Action": ["*:*"], "Resource": "*"})}],
            tags=GRAY,
        )

    assert only(check("user-api-dev-gray", program), "iam-no-admin-statement") == (
        "aws:iam/role:Role role: inlinePolicies[0].policy statement Statement[0] allows every action on every resource"
    )


def test_wildcard_secret_resources_on_an_execution_role_are_reported():
    # issue 12: a params secret "arn:...:secret:*" once became Resource ...:secret:* silently.
    def program():
        role = aws.iam.Role("execution-role", assume_role_policy=_doc(), tags=GRAY)
        aws.iam.RolePolicy(
            "execution-policy",
            role=role.id,
            policy=_doc(
                {
                    "Sid": "ReadListedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": ["arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*"],
                },
                {"Sid": "Params", "Effect": "Allow", "Action": "ssm:GetParam*", "Resource": "*"},
                {
                    "Sid": "Exact",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:dev/user-api/db-AbCdEf",
                },
                {"Sid": "Token", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            ),
        )

    result = check("user-api-dev-gray", program)
    assert messages(result, "iam-no-wildcard-secrets") == sorted(
        [
            "aws:iam/rolePolicy:RolePolicy execution-policy: policy statement ReadListedSecrets "
            "(secretsmanager:GetSecretValue on arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*) "
            "reads secrets by wildcard",
            "aws:iam/rolePolicy:RolePolicy execution-policy: policy statement Params "
            "(ssm:GetParameter, ssm:GetParameters, ssm:GetParametersByPath on *) reads secrets by wildcard",
        ]
    )
    assert result.mandatory


def test_a_lane_role_without_the_boundary_or_trusting_more_than_ecs_tasks_is_reported():
    # issue 12: the deploy role can only create bounded lane roles; the pack says so before AWS does.
    boundary = "arn:aws:iam::123456789012:policy/multilane/dev/user-api/multilane-dev-user-api-lane-boundary"
    ecs = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    other = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"}

    def program():
        aws.iam.Role("good", assume_role_policy=_doc(ecs), permissions_boundary=boundary, tags=GRAY)
        aws.iam.Role("unbounded", assume_role_policy=_doc(ecs), tags=GRAY)
        aws.iam.Role("foreign", assume_role_policy=_doc(ecs, other), permissions_boundary=boundary, tags=GRAY)
        aws.iam.Role(
            "other-service",
            assume_role_policy=_doc(ecs),
            permissions_boundary=boundary.replace("user-api", "order-api"),
            tags=GRAY,
        )

    found = messages(check("user-api-dev-gray", program), "lane-roles-bounded")
    suffix = ":policy/multilane/dev/user-api/multilane-dev-user-api-lane-boundary"
    assert found == sorted(
        [
            f"lane role unbounded has permissions boundary None, not the service's ...{suffix}",
            "lane role foreign trusts [{'Service': 'ecs-tasks.amazonaws.com'}, "
            "{'AWS': 'arn:aws:iam::210987654321:root'}], not only ecs-tasks.amazonaws.com",
            f"lane role other-service has permissions boundary '{boundary.replace('user-api', 'order-api')}', "
            f"not the service's ...{suffix}",
        ]
    )


def _state(stack: str) -> str:
    return f"arn:aws:s3:::{STATE_BUCKET}/.pulumi/stacks/multilane/{stack}.*"


def test_app_deploy_role_without_cross_layer_deny_is_reported():
    def program():
        role = aws.iam.Role("app-deploy", assume_role_policy=_doc(), tags=PIPES_DEV)
        aws.iam.RolePolicy(
            "app-deploy",
            role=role.id,
            policy=_doc({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [_state("user-api-dev-*")]}),
        )

    found = messages(check("pipelines-dev", program), "pipeline-role-cross-layer-deny")
    assert found == sorted(
        [
            "role app-deploy deploys lane but is not explicitly denied writing the state of infra-dev",
            "role app-deploy deploys lane but is not explicitly denied writing the state of boot-order-api-dev, boot-user-api-dev",
            "role app-deploy deploys lane but is not explicitly denied writing the state of pipelines-dev",
            "role app-deploy deploys lane but is not explicitly denied infra-layer actions "
            "ec2:DeleteVpc, ec2:DeleteSubnet, ec2:DeleteRoute, ecs:DeleteCluster",
            "role app-deploy deploys lane but is not explicitly denied boot-layer actions "
            "elasticloadbalancing:DeleteLoadBalancer, elasticloadbalancing:DeleteListener, elasticloadbalancing:ModifyListener",
        ]
    )


def test_app_deploy_role_with_the_deny_passes_and_a_conditional_deny_does_not_count():
    def program(conditional: bool):
        role = aws.iam.Role("app-deploy", assume_role_policy=_doc(), tags=PIPES_DEV)
        deny_state = {
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "NotResource": [_state("user-api-dev-*")],
        }
        deny_shared = {
            "Effect": "Deny",
            "Action": [
                "ec2:Delete*",
                "ecs:DeleteCluster",
                "elasticloadbalancing:*Listener",
                "elasticloadbalancing:DeleteLoadBalancer",
            ],
            "Resource": "*",
        }
        if conditional:
            deny_shared["Condition"] = {"StringEquals": {"aws:ResourceTag/Layer": "boot"}}
        aws.iam.RolePolicy(
            "app-deploy",
            role=role.id,
            policy=_doc(
                {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [_state("user-api-dev-*")]},
                deny_state,
                deny_shared,
            ),
        )

    assert messages(check("pipelines-dev", lambda: program(False)), "pipeline-role-cross-layer-deny") == []
    found = messages(check("pipelines-dev", lambda: program(True)), "pipeline-role-cross-layer-deny")
    assert [m.split(" actions ")[0] for m in found] == sorted(
        [
            "role app-deploy deploys lane but is not explicitly denied infra-layer",
            "role app-deploy deploys lane but is not explicitly denied boot-layer",
        ]
    )


def test_build_role_must_be_denied_the_state():
    def program():
        role = aws.iam.Role("app-build", assume_role_policy=_doc(), tags=PIPES_DEV)
        aws.iam.RolePolicy(
            "app-build",
            role=role.id,
            policy=_doc({"Effect": "Allow", "Action": ["ecr:PutImage"], "Resource": ["arn:aws:ecr:*:*:repository/x"]}),
        )

    found = messages(check("pipelines-dev", program), "pipeline-role-cross-layer-deny")
    assert "role app-build deploys no layer but is not explicitly denied writing the state of infra-dev" in found
    assert len(found) == 4


# --- protection ----------------------------------------------------------------------


def test_unprotected_network_resource_is_reported():
    def program():
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=INFRA_DEV, opts=pulumi.ResourceOptions(protect=True))
        aws.ec2.Subnet("private-a", vpc_id=vpc.id, cidr_block="10.0.0.0/24", tags=INFRA_DEV)

    assert only(check("infra-dev", program), "shared-resources-protected") == (
        "aws:ec2/subnet:Subnet private-a in infra-dev is shared by every lane but not protected"
    )


def test_unprotected_boot_listener_is_reported():
    def program():
        alb = aws.lb.LoadBalancer(
            "alb", subnets=["s-1", "s-2"], tags=BOOT_DEV, opts=pulumi.ResourceOptions(protect=True)
        )
        aws.lb.Listener("http", load_balancer_arn=alb.arn, port=80, default_actions=[], tags=BOOT_DEV)

    assert only(check("boot-user-api-dev", program), "shared-resources-protected") == (
        "aws:lb/listener:Listener http in boot-user-api-dev is shared by every lane but not protected"
    )


def test_production_alb_without_deletion_protection_is_mandatory():
    def program():
        aws.lb.LoadBalancer(
            "alb",
            subnets=["s-1", "s-2"],
            enable_deletion_protection=False,
            tags=BOOT_PROD,
            opts=pulumi.ResourceOptions(protect=True),
        )

    result = check("boot-user-api-prod", program)
    (violation,) = [v for v in result.violations if v.policy.startswith("alb-deletion")]
    assert violation.policy == "alb-deletion-protection-production"
    assert violation.mandatory
    assert violation.message == "load balancer alb in production env 'prod' has deletion protection off"


def test_non_production_alb_without_deletion_protection_is_advisory():
    def program():
        aws.lb.LoadBalancer("alb", subnets=["s-1", "s-2"], tags=BOOT_DEV, opts=pulumi.ResourceOptions(protect=True))

    result = check("boot-user-api-dev", program)
    (violation,) = [v for v in result.violations if v.policy.startswith("alb-deletion")]
    assert violation.policy == "alb-deletion-protection"
    assert not violation.mandatory
    assert violation.message == "load balancer alb in non-production env 'dev' has deletion protection off"
    assert result.mandatory == []


# --- lane rules --------------------------------------------------------------------------


IN_BAND = routing.priorities.band(0).start + 7


def _rule(conditions, priority=IN_BAND, name="rule-0", tags=GRAY, target=None):
    if target is None:  # the lane's own target group, as the lane layer does
        target = aws.lb.TargetGroup("tg", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1", tags=tags).arn
    aws.lb.ListenerRule(
        name,
        listener_arn="arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener/app/x/1/2",
        priority=priority,
        conditions=conditions,
        actions=[{"type": "forward", "target_group_arn": target}],
        tags=tags,
    )


def test_rule_forwarding_to_a_target_group_the_lane_does_not_own_is_reported():
    gray = routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0]

    def to_default():
        boot = pulumi.StackReference(naming.stack_ref("boot-user-api-dev"))
        _rule(gray, target=boot.require_output("DefaultTargetGroupArn"))

    blue_tg = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-blue/1"
    for program in (to_default, lambda: _rule(gray, target=blue_tg)):
        assert only(check("user-api-dev-gray", program), "lane-rules-forward-to-own-target-group") == (
            "listener rule rule-0 of lane 'gray' does not forward to exactly one target group of its own stack"
        )


def test_the_lanes_own_rule_passes():
    result = check("user-api-dev-gray", lambda: _rule(routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0]))
    assert result.violations == []


def test_rule_for_another_lane_is_reported():
    result = check("user-api-dev-gray", lambda: _rule(routing.carriers.lane_rule_conditions("blue", ["tracestate"])[0]))
    assert (
        only(result, "lane-rules-own-lane")
        == "listener rule rule-0 of lane 'gray' routes lane(s) blue, not this stack's lane 'gray'"
    )


def test_prefix_wildcard_rule_is_reported():
    # The article's naive fix: *ctx=lane:gray* also captures gray2.
    loose = [{"http_header": {"http_header_name": "tracestate", "values": ["*ctx=lane:gray*"]}}]
    assert only(check("user-api-dev-gray", lambda: _rule(loose)), "lane-rules-own-lane") == (
        "listener rule rule-0 of lane 'gray' also captures requests for gray2 "
        "(tracestate: vendor=1,ctx=lane:gray2; baggage: vendor=1,lane=gray2), so it does not route only lane 'gray'"
    )


def test_exact_value_rule_misses_its_own_lane_in_a_list():
    # The article's Values: ['ctx=lane:gray'] only matches a tracestate holding nothing else.
    narrow = [{"http_header": {"http_header_name": "tracestate", "values": ["ctx=lane:gray"]}}]
    assert only(check("user-api-dev-gray", lambda: _rule(narrow)), "lane-rules-own-lane") == (
        "listener rule rule-0 of lane 'gray' does not match its own lane's header member ctx=lane:gray / lane=gray"
    )


def test_extra_conditions_are_not_the_routing_contract():
    conditions = [
        *routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0],
        {"path_pattern": {"values": ["/api/*"]}},
    ]
    message = only(check("user-api-dev-gray", lambda: _rule(conditions)), "lane-rules-own-lane")
    assert message.startswith("listener rule rule-0 of lane 'gray' does not carry the exact conditions of lane 'gray'")


def test_a_loosened_routing_pattern_is_caught_on_the_real_lane(monkeypatch):
    # A regression in components/routing/ itself: the rule equals what
    # routing returns, and the replay through the ALB evaluator still fails it.
    loose = dataclasses.replace(routing.carriers.CARRIERS[0], pattern=lambda lane: f"ctx=lane:{lane}")
    monkeypatch.setattr(routing.carriers, "CARRIERS", (loose, *routing.carriers.CARRIERS[1:]))
    result = run_policies(run_stack("user-api-dev-gray"), PACK)
    assert [(v.policy, v.message) for v in result.mandatory] == [
        (
            "lane-rules-own-lane",
            "listener rule rule-0 of lane 'gray' also captures requests for gray2 "
            "(tracestate: vendor=1,ctx=lane:gray2; baggage: vendor=1,lane=gray2), so it does not route only lane 'gray'",
        )
    ]


def test_rule_without_header_condition_is_reported():
    everything = [{"path_pattern": {"values": ["/*"]}}]
    assert only(check("user-api-dev-gray", lambda: _rule(everything)), "lane-rules-own-lane") == (
        "listener rule rule-0 of lane 'gray' has no http-header condition, so it captures requests of every lane"
    )


def test_default_lane_must_not_add_a_rule():
    tags = naming.tags("dev", "lane", "user-api", "default")
    result = check(
        "user-api-dev-default",
        lambda: _rule(routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0], tags=tags),
    )
    assert only(result, "lane-rules-own-lane") == (
        "listener rule rule-0 of lane 'default' the default lane is the listener's default action and must not add "
        "a listener rule"
    )


def test_rule_priority_outside_the_band_is_reported():
    conditions = routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0]
    assert only(check("user-api-dev-gray", lambda: _rule(conditions, priority=500)), "lane-rule-priority-band") == (
        "listener rule rule-0 of lane 'gray' has priority 500, outside the tracestate lane band 1000..20999"
    )


def test_baggage_rule_in_the_tracestate_band_is_reported():
    conditions = routing.carriers.lane_rule_conditions("gray", ["tracestate", "baggage"])[1]
    message = only(
        check(
            "order-api-dev-gray",
            lambda: _rule(conditions, priority=1500, tags=naming.tags("dev", "lane", "order-api", "gray")),
        ),
        "lane-rule-priority-band",
    )
    assert (
        message == "listener rule rule-0 of lane 'gray' has priority 1500, outside the baggage lane band 21000..40999"
    )


def test_a_pinned_priority_outside_the_band_is_caught_on_the_real_lane_program():
    rec = run_stack("user-api-dev-gray", config={"priority": "500"})
    result = run_policies(rec, PACK)
    assert [(v.policy, v.message) for v in result.violations] == [
        (
            "lane-rule-priority-band",
            "listener rule rule-0 of lane 'gray' has priority 500, outside the tracestate lane band 1000..20999",
        )
    ]


# --- every policy is covered --------------------------------------------------------

# One bad graph per policy, in one place, so a new policy without one fails here.
BAD_GRAPHS: dict[str, tuple[str, Callable[[], object]]] = {
    "layer-boundaries": ("user-api-dev-gray", lambda: aws.ecs.Cluster("c", tags=GRAY)),
    "lane-rules-own-lane": (
        "user-api-dev-gray",
        lambda: _rule(routing.carriers.lane_rule_conditions("blue", ["tracestate"])[0]),
    ),
    # Progressive promotion's weighted rule outside its band (tests/test_weighted_lane.py has the rest).
    "lane-weighted-rule-splits-default-and-own": (
        "user-api-dev-gray",
        lambda: aws.lb.ListenerRule(
            "weighted",
            listener_arn="arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener/app/x/1/2",
            priority=IN_BAND,
            conditions=routing.weighted.catch_all_conditions(),
            actions=[routing.weighted.weighted_forward("arn:default", "arn:own", 10, 60)],
            tags=GRAY,
        ),
    ),
    "lane-rules-forward-to-own-target-group": (
        "user-api-dev-gray",
        lambda: _rule(routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0], target="arn:aws:tg/other"),
    ),
    "lane-rule-priority-band": (
        "user-api-dev-gray",
        lambda: _rule(routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0], priority=45000),
    ),
    "required-tags": ("user-api-dev-gray", lambda: aws.iam.Role("r", assume_role_policy=_doc())),
    "ecs-no-public-ip": ("user-api-dev-gray", lambda: aws.ecs.Service("s", cluster="c", tags=GRAY)),
    "ecs-private-subnets": ("user-api-dev-gray", lambda: _service(["subnet-0abc12345"])),
    "sg-world-ingress-listener-ports-only": (
        "boot-user-api-dev",
        lambda: _world_rule("ssh-in", _alb_with_listener(80), 22),
    ),
    "s3-bucket-secure": ("pipelines-dev", lambda: _bucket(encrypt=False)),
    "log-group-retention": ("boot-user-api-dev", lambda: aws.cloudwatch.LogGroup("logs", tags=BOOT_DEV)),
    "iam-no-admin-statement": (
        "user-api-dev-gray",
        lambda: aws.iam.RolePolicy("p", role="r", policy=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
    ),
    "iam-no-wildcard-secrets": (
        "user-api-dev-gray",
        lambda: aws.iam.RolePolicy(
            "p",
            role="r",
            policy=_doc({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
        ),
    ),
    "lane-roles-bounded": ("user-api-dev-gray", lambda: aws.iam.Role("r", assume_role_policy=_doc(), tags=GRAY)),
    "pipeline-role-cross-layer-deny": (
        "pipelines-dev",
        lambda: aws.iam.Role("codepipeline", assume_role_policy=_doc(), tags=PIPES_DEV),
    ),
    "shared-resources-protected": ("infra-dev", lambda: aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=INFRA_DEV)),
    "alb-deletion-protection-production": (
        "boot-user-api-prod",
        lambda: aws.lb.LoadBalancer("alb", subnets=["s-1"], tags=BOOT_PROD, opts=pulumi.ResourceOptions(protect=True)),
    ),
    "alb-deletion-protection": (
        "boot-user-api-dev",
        lambda: aws.lb.LoadBalancer("alb", subnets=["s-1"], tags=BOOT_DEV, opts=pulumi.ResourceOptions(protect=True)),
    ),
}


def test_every_policy_of_the_pack_has_a_bad_graph():
    assert set(BAD_GRAPHS) == {p.name for p in PACK}


@pytest.mark.parametrize("policy_name", sorted(BAD_GRAPHS))
def test_each_policy_reports_its_bad_graph(policy_name):
    stack, program = BAD_GRAPHS[policy_name]
    assert messages(check(stack, program), policy_name)


@pytest.mark.parametrize("policy", PACK, ids=[p.name for p in PACK])
def test_every_description_says_what_it_protects_and_how_to_fix(policy):
    what, _, fix = policy.description.partition(" Fix: ")
    assert len(what) > 60 and len(fix) > 20, policy.description

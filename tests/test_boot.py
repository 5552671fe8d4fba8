"""Boot layer (boot-{service}-{env}) under the recording harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import iam, naming, params
from components.errors import MultilaneError
from components.layers import boot
from harness.offline import Recording, Registration, run_stack
from tests.conftest import edit_json
from tests.iam_eval import ALLOW, EXPLICIT_DENY, evaluate, matching_sids

STACK = "boot-user-api-dev"
CERT = "arn:aws:acm:ap-southeast-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
BOOT_KEYS = {
    "LoadBalancerArn",
    "LoadBalancerDnsName",
    "HttpListenerArn",
    "DefaultTargetGroupArn",
    "LogGroupName",
    "ServiceDiscoveryServiceArn",
    "AlbSecurityGroupId",
    "ServiceSecurityGroupId",
    "RepositoryUrl",
}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LISTENER = "aws:lb/listener:Listener"
# AWS types without tags.
UNTAGGABLE = {"aws:ecr/lifecyclePolicy:LifecyclePolicy"}


@pytest.fixture(scope="module")
def rec() -> Recording:
    return run_stack(STACK)


def sg(rec: Recording, name: str) -> Registration:
    return rec.one("aws:ec2/securityGroup:SecurityGroup", name)


def rules_of(rec: Recording, type_: str, group: Registration) -> list[Registration]:
    return [r for r in rec.of_type(type_) if r.inputs["securityGroupId"] == group.id]


def test_outputs_are_exactly_the_contract_keys(rec):
    assert set(rec.outputs) == BOOT_KEYS
    assert rec.outputs["LogGroupName"] == "/ecs/dev/user-api"
    assert rec.outputs["RepositoryUrl"].endswith("/dev/user-api")
    assert rec.outputs["HttpListenerArn"] == rec.one(LISTENER, "http").state["arn"]
    assert rec.outputs["DefaultTargetGroupArn"] == rec.one("aws:lb/targetGroup:TargetGroup", "default-tg").state["arn"]


def test_reads_infra_through_a_stack_reference(rec):
    assert list(rec.references) == ["organization/multilane/infra-dev"]
    alb = rec.one("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["subnets"] == rec.references["organization/multilane/infra-dev"]["PublicSubnetIds"]


def test_stack_org_from_config_names_the_reference():
    got = run_stack(STACK, config={"stackOrg": "acme"})
    assert list(got.references) == ["acme/multilane/infra-dev"]


def test_alb_is_public_in_public_subnets_with_invalid_headers_dropped(rec):
    alb = rec.one("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is False
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["enableDeletionProtection"] is False  # boot-dev.json: deletionProtection false
    assert alb.inputs["securityGroups"] == [sg(rec, "alb-sg").id]
    assert alb.inputs["name"] == naming.alb_name("user-api", "dev")


def test_alb_sg_opens_only_listener_ports_to_allowed_cidrs(rec):
    ingress = rules_of(rec, INGRESS, sg(rec, "alb-sg"))
    assert [(r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in ingress] == [
        (80, 80, "0.0.0.0/0")
    ]
    assert all(r.inputs["ipProtocol"] == "tcp" for r in ingress)
    egress = rules_of(rec, EGRESS, sg(rec, "alb-sg"))
    assert [(r.inputs["fromPort"], r.inputs["referencedSecurityGroupId"]) for r in egress] == [
        (8080, sg(rec, "service-sg").id)
    ]


def test_service_sg_admits_only_the_alb_sg_on_the_container_port(rec):
    ingress = rules_of(rec, INGRESS, sg(rec, "service-sg"))
    assert len(ingress) == 1
    rule = ingress[0].inputs
    assert rule["referencedSecurityGroupId"] == sg(rec, "alb-sg").id
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 8080, 8080)
    assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
    # No inline rules that would bypass the rule resources.
    for group in rec.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert "ingress" not in group.inputs and "egress" not in group.inputs


def test_allowed_cidrs_each_get_each_listener_port(params_dir: Path):
    edit_json(
        params.boot_path("dev", params_dir),
        lambda d: d.update(allowedCidrs=["10.0.0.0/8", "192.168.0.0/16"], certificateArn=CERT),
    )
    got = run_stack(STACK, params_dir=params_dir)
    alb_sg = sg(got, "alb-sg")
    opened = sorted((r.inputs["fromPort"], r.inputs["cidrIpv4"]) for r in rules_of(got, INGRESS, alb_sg))
    assert opened == [(80, "10.0.0.0/8"), (80, "192.168.0.0/16"), (443, "10.0.0.0/8"), (443, "192.168.0.0/16")]


def test_http_listener_forwards_to_the_default_target_group(rec):
    [listener] = rec.of_type(LISTENER)
    assert listener.inputs["protocol"] == "HTTP" and listener.inputs["port"] == 80
    tg = rec.one("aws:lb/targetGroup:TargetGroup", "default-tg")
    assert listener.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.state["arn"]}]


def test_https_variant_redirects_http_and_lane_rules_attach_to_https(params_dir: Path):
    edit_json(params.boot_path("dev", params_dir), lambda d: d.update(certificateArn=CERT))
    got = run_stack(STACK, params_dir=params_dir)
    https = got.one(LISTENER, "https")
    http = got.one(LISTENER, "http")
    tg = got.one("aws:lb/targetGroup:TargetGroup", "default-tg")
    assert https.inputs["protocol"] == "HTTPS" and https.inputs["port"] == 443
    assert https.inputs["certificateArn"] == CERT
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.state["arn"]}]
    [redirect] = http.inputs["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}
    assert got.outputs["HttpListenerArn"] == https.state["arn"] != http.state["arn"]
    assert https.protect and http.protect
    ports = sorted(r.inputs["fromPort"] for r in rules_of(got, INGRESS, sg(got, "alb-sg")))
    assert ports == [80, 443]


def test_alb_and_listeners_are_protected_and_nothing_else(rec):
    protected = {(r.type, r.name) for r in rec.resources if r.protect}
    assert protected == {("aws:lb/loadBalancer:LoadBalancer", "alb"), (LISTENER, "http")}


def test_default_target_group_settings_come_from_params(rec):
    boot_p = params.load_boot("dev")
    svc = params.load_service("user-api", "dev")
    tg = rec.one("aws:lb/targetGroup:TargetGroup", "default-tg").inputs
    assert tg["targetType"] == "ip"
    assert tg["port"] == svc.container_port and tg["protocol"] == "HTTP"
    assert tg["deregistrationDelay"] == boot_p.deregistration_delay_seconds
    hc = tg["healthCheck"]
    assert hc["path"] == svc.health_check_path
    assert hc["interval"] == boot_p.health_check.interval_seconds
    assert hc["timeout"] == boot_p.health_check.timeout_seconds
    assert hc["healthyThreshold"] == boot_p.health_check.healthy_threshold
    assert hc["unhealthyThreshold"] == boot_p.health_check.unhealthy_threshold
    assert hc["matcher"] == boot_p.health_check.matcher
    assert len(tg["name"]) <= naming.LIMIT_TARGET_GROUP_NAME


def test_log_group_discovery_and_repository(rec):
    logs = rec.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert logs == {**logs, "name": "/ecs/dev/user-api", "retentionInDays": 14}
    discovery = rec.one("aws:servicediscovery/service:Service").inputs
    assert discovery["name"] == "user-api"
    assert discovery["dnsConfig"]["namespaceId"] == rec.references["organization/multilane/infra-dev"]["NamespaceId"]
    repo = rec.one("aws:ecr/repository:Repository").inputs
    assert repo["name"] == "dev/user-api"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(rec.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    keep = [r for r in policy["rules"] if r["selection"]["countType"] == "imageCountMoreThan"]
    assert [r["selection"]["countNumber"] for r in keep] == [30]  # boot-dev.json ecrKeepImages


def test_service_alarm_is_5xx_percent_metric_math(rec):
    alarm = rec.one("aws:cloudwatch/metricAlarm:MetricAlarm").inputs
    assert alarm["treatMissingData"] == "notBreaching"
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["threshold"] == params.load_service("user-api", "dev").alarms.target_5xx_percent
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["errors"]["metric"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert queries["requests"]["metric"]["metricName"] == "RequestCount"
    [result] = [q for q in alarm["metricQueries"] if q["returnData"]]
    assert result["expression"] == "100 * FILL(errors, 0) / requests"
    alb = rec.one("aws:lb/loadBalancer:LoadBalancer")
    assert queries["errors"]["metric"]["dimensions"] == {"LoadBalancer": alb.state["arnSuffix"]}


def test_every_taggable_resource_carries_the_boot_tags(rec):
    for r in rec.resources:
        if r.type in UNTAGGABLE:
            continue
        tags = r.inputs.get("tags")
        assert tags, f"{r.type} {r.name} has no tags"
        assert tags.items() >= naming.tags("dev", "boot", "user-api").items(), r.name


def test_internal_scheme_uses_private_subnets(params_dir: Path):
    edit_json(params.boot_path("dev", params_dir), lambda d: d.update(albScheme="internal"))
    got = run_stack(STACK, params_dir=params_dir)
    alb = got.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["internal"] is True
    assert alb["subnets"] == got.references["organization/multilane/infra-dev"]["PrivateSubnetIds"]


def test_production_env_forces_deletion_protection(params_dir: Path):
    edit_json(params.infra_path("dev", params_dir), lambda d: d.update(production=True))
    got = run_stack(STACK, params_dir=params_dir)
    assert got.one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is True


def test_prod_params_plan_https_with_deletion_protection():
    got = run_stack("boot-user-api-prod")
    assert {r.name for r in got.of_type(LISTENER)} == {"http", "https"}
    assert got.one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is True


def test_public_alb_on_a_wrapped_vpc_without_public_subnets_fails_before_registering(params_dir: Path):
    def wrap(d):
        d["network"] = {
            "mode": "wrap",
            "vpcId": "vpc-0123456789abcdef0",
            "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        }

    edit_json(params.infra_path("dev", params_dir), wrap)
    with pytest.raises(MultilaneError, match=r"albScheme is internet-facing .* publicSubnetIds") as err:
        run_stack(STACK, params_dir=params_dir)
    assert err.value.registered == []


def test_lifecycle_policy_is_pure_and_keeps_n():
    policy = json.loads(boot.ecr_lifecycle_policy(7))
    assert [r["rulePriority"] for r in policy["rules"]] == [1, 2]
    assert policy["rules"][1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 7}


# --- issue 12: ALB access logs, and the boot role can deploy exactly this -------------------------


def test_production_albs_log_to_a_private_encrypted_bucket_elb_may_write_to():
    prod = run_stack("boot-user-api-prod")
    alb = prod.one("aws:lb/loadBalancer:LoadBalancer").inputs
    bucket = prod.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucketPrefix"] == naming.alb_access_log_bucket_prefix("user-api", "prod")
    assert alb["accessLogs"] == {"bucket": bucket.state["bucket"], "prefix": "user-api", "enabled": True}
    assert alb["dropInvalidHeaderFields"] is True
    sse = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    # ALB log delivery supports SSE-S3 only.
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    arn = bucket.state["arn"]
    elb = policy["Statement"][0]
    assert elb["Principal"] == {"AWS": "arn:aws:iam::783225319266:root"}  # ap-southeast-2's ELB account
    assert elb["Action"] == "s3:PutObject" and elb["Resource"] == f"{arn}/user-api/AWSLogs/123456789012/*"
    assert evaluate([policy], "s3:GetObject", f"{arn}/x", {"aws:SecureTransport": False}) == EXPLICIT_DENY


def test_non_production_albs_log_only_when_params_say_so(rec, params_dir: Path):
    assert "accessLogs" not in rec.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert not rec.of_type("aws:s3/bucket:Bucket")
    edit_json(params.boot_path("dev", params_dir), lambda d: d.update(accessLogs=True))
    on = run_stack(STACK, params_dir=params_dir)
    assert on.one("aws:lb/loadBalancer:LoadBalancer").inputs["accessLogs"]["enabled"] is True


@pytest.mark.parametrize("stack", ["boot-user-api-dev", "boot-user-api-prod"])
def test_the_boot_role_of_the_service_may_create_and_change_what_boot_registers(stack):
    env = stack.rsplit("-", 1)[1]
    rec = run_stack(stack)
    scope = iam.pipeline_roles.Scope(
        account="123456789012",
        region="ap-southeast-2",
        env=env,
        state_bucket=f"acme-multilane-state-{env}",
        artifact_bucket="artifacts",
        connection_arn="arn:aws:codeconnections:ap-southeast-2:123456789012:connection/x",
        production=env == "prod",
        services=tuple(params.services(env)),
    )
    mine = iam.pipeline_roles.boot_deploy_policy(scope, "user-api", "p")
    other = iam.pipeline_roles.boot_deploy_policy(
        iam.pipeline_roles.Scope(**{**scope.__dict__, "env": "dev" if env == "prod" else "prod"}), "user-api", "p"
    )
    neighbour = iam.pipeline_roles.boot_deploy_policy(scope, "order-api", "p")

    def a(service: str, resource: str) -> str:
        return f"arn:aws:{service}:ap-southeast-2:123456789012:{resource}"

    requests = []
    for r in rec.resources:
        tags = r.inputs.get("tags") or {}
        create = {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}
        existing = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
        if r.type == "aws:lb/loadBalancer:LoadBalancer":
            arn_ = a("elasticloadbalancing", f"loadbalancer/app/{r.inputs['name']}/50dc")
            requests += [
                ("elasticloadbalancing:CreateLoadBalancer", arn_, create),
                (
                    "elasticloadbalancing:AddTags",
                    arn_,
                    {**create, "elasticloadbalancing:CreateAction": "CreateLoadBalancer"},
                ),
                ("elasticloadbalancing:ModifyLoadBalancerAttributes", arn_, existing),
            ]
        elif r.type == "aws:lb/targetGroup:TargetGroup":
            arn_ = a("elasticloadbalancing", f"targetgroup/{r.inputs['name']}/abc")
            requests += [
                ("elasticloadbalancing:CreateTargetGroup", arn_, create),
                ("elasticloadbalancing:ModifyTargetGroupAttributes", arn_, existing),
            ]
        elif r.type == "aws:ec2/securityGroup:SecurityGroup":
            requests += [
                ("ec2:CreateSecurityGroup", a("ec2", "security-group/*"), create),
                ("ec2:CreateSecurityGroup", a("ec2", "vpc/vpc-0a1b2c3d"), {"aws:ResourceTag/Env": env}),
                ("ec2:CreateTags", a("ec2", "security-group/*"), {**create, "ec2:CreateAction": "CreateSecurityGroup"}),
                ("ec2:AuthorizeSecurityGroupIngress", a("ec2", "security-group/sg-0a1b2c3d"), existing),
            ]
        elif r.type in (INGRESS, EGRESS):
            kind = "Ingress" if r.type == INGRESS else "Egress"
            action = f"ec2:AuthorizeSecurityGroup{kind}"
            rule = a("ec2", "security-group-rule/*")
            requests += [
                (action, a("ec2", "security-group/sg-0a1b2c3d"), existing),
                (action, rule, create),
                ("ec2:CreateTags", rule, {**create, "ec2:CreateAction": action.split(":")[1]}),
            ]
        elif r.type == "aws:s3/bucket:Bucket":
            requests.append(("s3:CreateBucket", f"arn:aws:s3:::{r.inputs['bucketPrefix']}20240101abcdef", {}))
    assert {q[0] for q in requests} >= {"elasticloadbalancing:CreateLoadBalancer", "ec2:CreateSecurityGroup"}
    for action, resource, context in requests:
        assert evaluate([mine], action, resource, context) == ALLOW, (
            f"{action} {resource}: {matching_sids([mine], action, resource, context)}"
        )
        # ... and the other env's boot role can change none of it.
        assert evaluate([other], action, resource, context) != ALLOW, f"{action} {resource}"
        # Nor can another service's boot role in the same env, except the VPC
        # half of CreateSecurityGroup (the env's VPC; the group half is denied).
        if not resource.endswith(":vpc/vpc-0a1b2c3d"):
            assert evaluate([neighbour], action, resource, context) != ALLOW, f"{action} {resource}"

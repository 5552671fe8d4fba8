"""Lane layer ({service}-{env}-{lane}) under the recording harness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components import alarms, iam, naming, params, routing
from components.errors import MultilaneError
from harness import offline
from harness.offline import Recording, run_stack
from tests.conftest import edit_json

ROOT = Path(__file__).resolve().parent.parent
INFRA_REF = "organization/multilane/infra-dev"
BOOT_REF = "organization/multilane/boot-user-api-dev"
LANE_KEYS = {
    "Lane",
    "ServiceName",
    "TargetGroupArn",
    "ListenerRuleArns",
    "RulePriority",
    "TaskDefinitionArn",
    "ImageUri",
    "RouteHeader",
}
RULE = "aws:lb/listenerRule:ListenerRule"
TG = "aws:lb/targetGroup:TargetGroup"
ECS = "aws:ecs/service:Service"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc123"
LONG_LANE = "feature-" + "x" * 31 + "z"  # 40 characters, the maximum
# Types a lane stack may create although a lower layer also uses them.
LANE_OWNED = {TG, ALARM}


@pytest.fixture(scope="module")
def lower() -> dict[str, dict]:
    """Real infra and boot outputs, from recordings of those stacks."""
    infra = run_stack("infra-dev")
    boot = run_stack("boot-user-api-dev", references={INFRA_REF: infra.outputs})
    return {INFRA_REF: infra.outputs, BOOT_REF: boot.outputs, "types": infra.types() | boot.types()}


def lane(name: str, lower: dict, **kw) -> Recording:
    refs = {INFRA_REF: lower[INFRA_REF], BOOT_REF: lower[BOOT_REF]}
    return run_stack(f"user-api-dev-{name}", references=refs, **kw)


@pytest.fixture(scope="module")
def default(lower) -> Recording:
    return lane("default", lower)


@pytest.fixture(scope="module")
def gray(lower) -> Recording:
    return lane("gray", lower)


@pytest.fixture(scope="module")
def long_lane(lower) -> Recording:
    return lane(LONG_LANE, lower)


@pytest.fixture(params=["default", "gray", "long"])
def any_lane(request, default, gray, long_lane) -> Recording:
    return {"default": default, "gray": gray, "long": long_lane}[request.param]


def container(rec: Recording) -> dict:
    [c] = json.loads(rec.one("aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    return c


# --- the default lane -----------------------------------------------------------


def test_default_lane_serves_the_boot_default_target_group_and_cloud_map(default, lower):
    assert default.of_type(RULE) == []
    assert default.of_type(TG) == []
    svc = default.one(ECS).inputs
    boot = lower[BOOT_REF]
    assert [lb["targetGroupArn"] for lb in svc["loadBalancers"]] == [boot["DefaultTargetGroupArn"]]
    assert svc["serviceRegistries"] == {"registryArn": boot["ServiceDiscoveryServiceArn"]}
    assert svc["desiredCount"] == params.load_service("user-api", "dev").desired_count.default
    assert default.outputs["TargetGroupArn"] == boot["DefaultTargetGroupArn"]
    assert default.outputs["ListenerRuleArns"] == []
    assert default.outputs["RulePriority"] == 0
    assert default.outputs["RouteHeader"] == ""


def test_default_lane_alarms_watch_the_default_target_group(default, lower):
    tg_suffix = alarms.arn_suffix(lower[BOOT_REF]["DefaultTargetGroupArn"])
    healthy = default.one(ALARM, "lane-healthy").inputs
    assert healthy["dimensions"]["TargetGroup"] == tg_suffix


# --- a header-routed lane -----------------------------------------------------------


def test_gray_has_its_own_target_group_and_header_rule(gray, lower):
    tg = gray.one(TG)
    [rule] = gray.of_type(RULE)
    # params/user-api-dev.json: laneCarriers ["tracestate"], so one rule: the
    # tracestate member ctx=lane:gray, anywhere in the list, whole member only.
    assert rule.inputs["conditions"] == [
        {"httpHeader": {"httpHeaderName": "tracestate", "regexValues": [r"^(.*,)?[ \t]*ctx=lane:gray[ \t]*(,.*)?$"]}}
    ]
    assert rule.inputs["listenerArn"] == lower[BOOT_REF]["HttpListenerArn"]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": tg.state["arn"]}]
    assert rule.inputs["priority"] == 7912  # gray's hashed slot in the tracestate band
    assert gray.outputs["RulePriority"] == rule.inputs["priority"]
    assert isinstance(gray.outputs["RulePriority"], int)
    assert gray.outputs["ListenerRuleArns"] == [rule.state["arn"]]
    assert gray.outputs["TargetGroupArn"] == tg.state["arn"]
    assert gray.outputs["RouteHeader"] == "tracestate: ctx=lane:gray"
    svc = gray.one(ECS)
    assert [lb["targetGroupArn"] for lb in svc.inputs["loadBalancers"]] == [tg.state["arn"]]
    assert "serviceRegistries" not in svc.inputs
    assert svc.inputs["desiredCount"] == params.load_service("user-api", "dev").desired_count.lane
    # ECS rejects a target group that no listener forwards to yet.
    assert rule.urn in svc.depends_on


def test_gray_target_group_matches_boot_health_check_and_drain(gray, lower):
    boot_p = params.load_boot("dev")
    tg = gray.one(TG).inputs
    assert tg["targetType"] == "ip"
    assert tg["deregistrationDelay"] == boot_p.deregistration_delay_seconds
    assert tg["healthCheck"]["interval"] == boot_p.health_check.interval_seconds
    assert tg["healthCheck"]["healthyThreshold"] == boot_p.health_check.healthy_threshold
    assert tg["vpcId"] == lower[INFRA_REF]["VpcId"]
    assert tg["name"] == naming.target_group_name(
        "user-api", "dev", "gray", port=8080, protocol="HTTP", target_type="ip"
    )


def test_gray_alarms_follow_the_article_table_scoped_to_the_lane(gray, lower):
    thresholds = params.load_service("user-api", "dev").alarms
    tg_suffix = gray.one(TG).state["arnSuffix"]
    lb_suffix = alarms.arn_suffix(lower[BOOT_REF]["LoadBalancerArn"])
    scope = {"TargetGroup": tg_suffix, "LoadBalancer": lb_suffix}

    five = gray.one(ALARM, "lane-5xx").inputs
    assert five["threshold"] == thresholds.target_5xx_percent
    assert five["treatMissingData"] == "notBreaching"
    metrics = [q["metric"] for q in five["metricQueries"] if "metric" in q]
    assert {m["metricName"] for m in metrics} == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    assert all(m["dimensions"] == scope for m in metrics)

    running = gray.one(ALARM, "lane-running").inputs
    assert running["evaluationPeriods"] == thresholds.running_below_desired_periods
    assert running["datapointsToAlarm"] == thresholds.running_below_desired_periods
    ecs_metrics = [q["metric"] for q in running["metricQueries"] if "metric" in q]
    assert {m["metricName"] for m in ecs_metrics} == {"RunningTaskCount", "DesiredTaskCount"}
    assert all(m["namespace"] == "ECS/ContainerInsights" for m in ecs_metrics)
    assert all(
        m["dimensions"] == {"ClusterName": lower[INFRA_REF]["ClusterName"], "ServiceName": "user-api-gray"}
        for m in ecs_metrics
    )

    healthy = gray.one(ALARM, "lane-healthy").inputs
    assert healthy["metricName"] == "HealthyHostCount"
    assert healthy["comparisonOperator"] == "LessThanThreshold"
    assert healthy["threshold"] == thresholds.healthy_hosts_min
    assert healthy["dimensions"] == scope


# --- every lane -------------------------------------------------------------------


def test_every_lane_rolls_back_on_circuit_breaker_and_alarms_with_no_public_ip(any_lane, lower):
    svc = any_lane.one(ECS).inputs
    assert svc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert svc["alarms"]["enable"] is True and svc["alarms"]["rollback"] is True
    lane_alarm_names = sorted(a.inputs["name"] for a in any_lane.of_type(ALARM))
    assert len(lane_alarm_names) == 3
    assert sorted(svc["alarms"]["alarmNames"]) == lane_alarm_names
    net = svc["networkConfiguration"]
    assert net["assignPublicIp"] is False
    assert net["subnets"] == lower[INFRA_REF]["PrivateSubnetIds"]
    assert net["securityGroups"] == [lower[BOOT_REF]["ServiceSecurityGroupId"]]
    assert svc["cluster"] == lower[INFRA_REF]["ClusterArn"]
    # A capacity provider strategy from params (Spot for dev's non-default lanes), never launchType.
    assert "launchType" not in svc
    expected = "FARGATE" if any_lane.outputs["Lane"] == "default" else "FARGATE_SPOT"
    assert svc["capacityProviderStrategies"] == [{"capacityProvider": expected, "weight": 1, "base": 0}]
    assert (
        svc["healthCheckGracePeriodSeconds"] == params.load_service("user-api", "dev").health_check_grace_period_seconds
    )
    assert set(any_lane.outputs) == LANE_KEYS


def test_every_lane_registers_no_boot_or_infra_resource(any_lane, lower):
    forbidden = lower["types"] - LANE_OWNED
    assert {"aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:ec2/vpc:Vpc"} <= forbidden
    assert any_lane.types() & forbidden == set()
    assert set(any_lane.references) == {INFRA_REF, BOOT_REF}


def test_every_lane_task_definition(any_lane, lower):
    lane_name = any_lane.outputs["Lane"]
    task = any_lane.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    svc_p = params.load_service("user-api", "dev")
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == (str(svc_p.cpu), str(svc_p.memory))
    assert task["executionRoleArn"] != task["taskRoleArn"]
    c = container(any_lane)
    assert c["name"] == naming.container_name("user-api")
    assert c["image"] == svc_p.bootstrap_image == any_lane.outputs["ImageUri"]
    assert c["portMappings"] == [{"containerPort": svc_p.container_port, "protocol": "tcp"}]
    assert {e["name"]: e["value"] for e in c["environment"]} == svc_p.environment
    assert {s["name"]: s["valueFrom"] for s in c["secrets"]} == svc_p.secrets
    options = c["logConfiguration"]["options"]
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == lower[BOOT_REF]["LogGroupName"]
    assert options["awslogs-stream-prefix"] == lane_name


def test_every_lane_execution_role_is_scoped(any_lane):
    lane_name = any_lane.outputs["Lane"]
    policy = json.loads(any_lane.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert [s["Action"] for s in policy["Statement"] if s["Resource"] == "*"] == ["ecr:GetAuthorizationToken"]
    assert by_sid["PullServiceImages"]["Resource"] == "arn:aws:ecr:ap-southeast-2:123456789012:repository/dev/user-api"
    assert by_sid["WriteLaneLogStreams"]["Resource"].endswith(f":log-group:/ecs/dev/user-api:log-stream:{lane_name}/*")
    assert by_sid["ReadListedSecrets"] == {
        "Sid": "ReadListedSecrets",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": list(params.load_service("user-api", "dev").secrets.values()),
    }
    assert "ReadListedParameters" not in by_sid  # no SSM parameter listed
    for role in any_lane.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_every_lane_tags_every_taggable_resource(any_lane):
    lane_name = any_lane.outputs["Lane"]
    # pulumi-aws's RolePolicy and Application Auto Scaling ScheduledAction take no tags
    untaggable = {"aws:iam/rolePolicy:RolePolicy", "aws:appautoscaling/scheduledAction:ScheduledAction"}
    for r in any_lane.resources:
        if r.type in untaggable:
            continue
        assert r.inputs.get("tags", {}).items() >= naming.tags("dev", "lane", "user-api", lane_name).items(), r.name


# --- names, images, priorities ------------------------------------------------------------


def test_long_feature_lane_plans_with_valid_names(long_lane, gray):
    assert len(LONG_LANE) == naming.MAX_LANE_LEN
    tg = long_lane.one(TG).inputs["name"]
    assert len(tg) <= naming.LIMIT_TARGET_GROUP_NAME and not tg.endswith("-")
    assert tg != gray.one(TG).inputs["name"]
    for role in long_lane.of_type("aws:iam/role:Role"):
        assert len(role.inputs["name"]) <= naming.LIMIT_IAM_ROLE_NAME
    assert len(long_lane.one(ECS).inputs["name"]) <= naming.LIMIT_ECS_SERVICE_NAME
    for a in long_lane.of_type(ALARM):
        assert len(a.inputs["name"]) <= naming.LIMIT_ALARM_NAME
    for rule in long_lane.of_type(RULE):
        for cond in rule.inputs["conditions"]:
            assert all(len(v) <= routing.limits.ALB_MAX_VALUE_LEN for v in cond["httpHeader"]["regexValues"])


def test_image_from_stack_config_wins(lower):
    rec = lane("gray", lower, config={"imageUri": IMAGE})
    assert container(rec)["image"] == IMAGE
    assert rec.outputs["ImageUri"] == IMAGE


def test_pinned_priority_from_stack_config(lower):
    rec = lane("gray", lower, config={"priority": "4242"})
    assert [r.inputs["priority"] for r in rec.of_type(RULE)] == [4242]
    assert rec.outputs["RulePriority"] == 4242


def test_baggage_carrier_adds_a_second_rule_in_its_band(lower, params_dir: Path):
    edit_json(
        params.service_path("user-api", "dev", params_dir), lambda d: d.update(laneCarriers=["tracestate", "baggage"])
    )
    refs = {INFRA_REF: lower[INFRA_REF], BOOT_REF: lower[BOOT_REF]}
    rec = run_stack("user-api-dev-gray", references=refs, params_dir=params_dir)
    rules = sorted(rec.of_type(RULE), key=lambda r: r.inputs["priority"])
    assert [r.inputs["conditions"][0]["httpHeader"]["httpHeaderName"] for r in rules] == ["tracestate", "baggage"]
    assert [r.inputs["priority"] for r in rules] == routing.priorities.allocate_priorities(
        "user-api", "gray", 2, taken={}
    )
    assert rec.outputs["RulePriority"] == rules[0].inputs["priority"]
    assert len(rec.outputs["ListenerRuleArns"]) == 2


# --- bad input: one sentence, nothing registered ---------------------------------------


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Every stack reference the program reads (reads bypass RegisterResource)."""
    seen: list[str] = []
    original = offline.RecordingMonitor.ReadResource

    def read(self, request):
        seen.append(request.type)
        return original(self, request)

    monkeypatch.setattr(offline.RecordingMonitor, "ReadResource", read)
    return seen


def test_the_reads_probe_sees_stack_references(reads):
    # Guards the probe itself: a lane that plans reads infra and boot.
    run_stack("user-api-dev-gray")
    assert reads == [offline.STACK_REFERENCE, offline.STACK_REFERENCE]


def assert_nothing_registered(err: pytest.ExceptionInfo, reads: list[str]) -> None:
    assert err.value.registered == []
    assert reads == []
    assert "\n" not in str(err.value)  # one sentence, one line


@pytest.mark.parametrize(
    ("stack", "says"),
    [
        ("user-api-dev-Gray", "not a lower-case name"),
        ("user-api-dev-1gray", "'1gray' is not a lane name"),
        ("user-api-dev-gray-", "not a lower-case name"),
        (f"user-api-dev-{'a' * 41}", "has 41 characters; use at most 40"),
        ("user-api-dev-", "not a lower-case name"),
        ("user-api-dev-g", "'g' is not a lane name"),
    ],
)
def test_bad_lane_names_fail_before_anything_registers(stack, says, reads):
    with pytest.raises(MultilaneError, match=says) as err:
        run_stack(stack)
    assert_nothing_registered(err, reads)


def test_missing_image_fails_before_anything_registers(params_dir: Path, reads):
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.pop("bootstrapImage"))
    with pytest.raises(MultilaneError) as err:
        run_stack("user-api-dev-gray", params_dir=params_dir)
    assert str(err.value) == (
        "lane stack user-api-dev-gray has no image: set multilane:imageUri in stacks/Pulumi.user-api-dev-gray.yaml "
        "(the runner sets it from the build's parameter file) or bootstrapImage in params/user-api-dev.json"
    )
    assert_nothing_registered(err, reads)


def test_missing_image_is_fine_when_stack_config_names_one(params_dir: Path):
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.pop("bootstrapImage"))
    rec = run_stack("user-api-dev-gray", params_dir=params_dir, config={"imageUri": IMAGE})
    assert rec.outputs["ImageUri"] == IMAGE


def test_pinned_priority_on_the_default_lane_is_an_error(reads):
    with pytest.raises(MultilaneError, match="creates no listener rule") as err:
        run_stack("user-api-dev-default", config={"priority": "1234"})
    assert_nothing_registered(err, reads)


# --- the CLI, as a process --------------------------------------------------------------


@pytest.mark.parametrize(
    "stack", ["boot-user-api-dev", "user-api-dev-default", "user-api-dev-gray", f"user-api-dev-{LONG_LANE}"]
)
def test_plan_cli_succeeds(stack):
    proc = subprocess.run(
        [sys.executable, "-m", "automation", "plan", stack], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert f"Stack {stack}:" in proc.stdout


def test_plan_cli_rejects_a_bad_lane_without_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "automation", "plan", "user-api-dev-9lives"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "'9lives' is not a lane name" in proc.stderr


# --- the cutover benchmark reads the program's own settings -------------------------------


def test_cutover_model_follows_the_recorded_target_groups(params_dir: Path):
    from bench import cutover

    def aws_like(d):
        d["healthCheck"].update(intervalSeconds=30, timeoutSeconds=5, healthyThreshold=5)
        d["deregistrationDelaySeconds"] = 300

    edit_json(params.boot_path("dev", params_dir), aws_like)
    tgs = cutover.recorded_target_groups("dev", params_dir)
    assert set(tgs) == {"gray", "default"}
    for tg in tgs.values():
        assert cutover.Cutover.from_inputs(tg).seconds == 450
    dev_lines = [line for line in cutover.main(params_dir) if "-dev-" in line]
    assert len(dev_lines) == 2 and all(line.endswith("FAR OFF") and "= 450 s" in line for line in dev_lines)


# --- the real lane stacks, replayed through the ALB evaluator -------------------------------


def test_rules_of_real_lane_stacks_route_headers_to_their_lanes(lower):
    from harness import alb_eval

    lanes = {name: lane(name, lower) for name in ("gray", "gray2", "blue")}
    rules = [rule for rec in lanes.values() for rule in alb_eval.rules_from_registrations(rec)]
    assert len({r.priority for r in rules}) == 3
    default_tg = lower[BOOT_REF]["DefaultTargetGroupArn"]
    tg = {name: rec.outputs["TargetGroupArn"] for name, rec in lanes.items()}
    cases = {
        "ctx=lane:gray": tg["gray"],
        "rojo=00f0, ctx=lane:gray2 ,congo=t61r": tg["gray2"],
        "vendor=1,ctx=lane:blue": tg["blue"],
        "xctx=lane:gray": default_tg,
        "ctx=lane:green": default_tg,
    }
    for header, target in cases.items():
        assert alb_eval.evaluate(rules, default_tg, {"tracestate": header}) == target, header
    assert alb_eval.evaluate(rules, default_tg, {}) == default_tg


def test_lane_roles_live_under_the_path_the_app_pipeline_may_manage(any_lane):
    roles = any_lane.of_type("aws:iam/role:Role")
    assert len(roles) == 2
    assert {r.inputs["path"] for r in roles} == {naming.lane_role_path("user-api", "dev")}


def test_lane_roles_carry_the_services_permissions_boundary(any_lane):
    # issue 12: the app deploy role may create lane roles only under it.
    expected = iam.pipeline_roles.lane_boundary_arn("aws", "123456789012", "user-api", "dev")
    roles = any_lane.of_type("aws:iam/role:Role")
    assert [r.inputs["permissionsBoundary"] for r in roles] == [expected, expected]


def test_a_secrets_kms_key_is_decryptable_only_through_secrets_manager(params_dir: Path):
    key = "arn:aws:kms:ap-southeast-2:123456789012:key/9f8e7d6c-1234-4e5f-9a0b-1c2d3e4f5a6b"
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.update(secretsKmsKeyArn=key))
    rec = run_stack("user-api-dev-gray", params_dir=params_dir)
    policy = json.loads(rec.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    [stmt] = [s for s in policy["Statement"] if s["Sid"] == "DecryptListedSecrets"]
    assert stmt["Action"] == "kms:Decrypt" and stmt["Resource"] == key
    assert stmt["Condition"] == {"StringEquals": {"kms:ViaService": ["secretsmanager.ap-southeast-2.amazonaws.com"]}}


# --- issue 12: runtime hardening ---------------------------------------------------------------

PROD_IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/prod/user-api:sha-abc123"


def _task(rec: Recording) -> tuple[dict, dict]:
    task = rec.one("aws:ecs/taskDefinition:TaskDefinition").inputs
    [container] = json.loads(task["containerDefinitions"])
    return task, container


def test_production_lanes_run_read_only_and_non_root_with_their_writable_paths():
    rec = run_stack("user-api-prod-gray", config={"imageUri": PROD_IMAGE})
    task, container = _task(rec)
    assert container["readonlyRootFilesystem"] is True
    assert container["user"] == "1000:1000"
    assert container["mountPoints"] == [
        {"sourceVolume": naming.writable_volume_name(0), "containerPath": "/tmp", "readOnly": False}
    ]
    assert task["volumes"] == [{"name": naming.writable_volume_name(0)}]


def test_non_production_lanes_keep_the_image_defaults_unless_params_opt_in(gray, params_dir: Path):
    _, container = _task(gray)
    assert "readonlyRootFilesystem" not in container and "user" not in container
    edit_json(
        params.service_path("user-api", "dev", params_dir),
        lambda d: d.update(readonlyRootFilesystem=True, runAsNonRoot=True, user="10001", writablePaths=["/var/cache"]),
    )
    # A built image: the bootstrap image under a read-only root needs /tmp (its own test).
    built = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc1234-b7"
    _, container = _task(run_stack("user-api-dev-gray", params_dir=params_dir, config={"imageUri": built}))
    assert container["readonlyRootFilesystem"] is True and container["user"] == "10001"
    assert container["mountPoints"][0]["containerPath"] == "/var/cache"


def test_a_production_service_may_opt_out_explicitly(params_dir: Path):
    edit_json(
        params.service_path("user-api", "prod", params_dir),
        lambda d: d.update(readonlyRootFilesystem=False, runAsNonRoot=False),
    )
    task, container = _task(run_stack("user-api-prod-gray", params_dir=params_dir, config={"imageUri": PROD_IMAGE}))
    assert "readonlyRootFilesystem" not in container and "user" not in container
    assert not task.get("volumes")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"user": "0"}, "is not a non-root numeric user"),
        ({"user": "root"}, "is not a non-root numeric user"),
        ({"writablePaths": ["tmp"]}, "is not an absolute container path"),
        ({"writablePaths": ["/"]}, "is not an absolute container path"),
        ({"writablePaths": ["/tmp", "/tmp"]}, "lists a path twice"),
    ],
)
def test_bad_hardening_params_are_one_sentence(params_dir: Path, change, says):
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.update(change))
    with pytest.raises(MultilaneError) as err:
        params.load_service("user-api", "dev", params_dir)
    assert str(err.value).startswith("params/user-api-dev.json: field ") and says in str(err.value)


def test_lane_headers_can_be_accepted_only_from_allowed_sources(params_dir: Path):
    # issue 12 / docs/security.md: without it anyone reaching an internet-facing
    # ALB picks a lane by header; with it, only the listed sources do.

    edit_json(
        params.service_path("user-api", "dev", params_dir),
        lambda d: d.update(laneHeaderSourceCidrs=["10.8.0.0/16", "203.0.113.7/32"]),
    )
    from harness import alb_eval

    rec = run_stack("user-api-dev-gray", params_dir=params_dir)
    [rule] = rec.of_type(RULE)
    assert {"sourceIp": {"values": ["10.8.0.0/16", "203.0.113.7/32"]}} in rule.inputs["conditions"]
    rules = alb_eval.rules_from_registrations(rec)
    gray_tg = rec.one(TG).state["arn"]
    header = {"tracestate": "ctx=lane:gray"}
    assert alb_eval.evaluate(rules, "default", header, source_ip="10.8.3.4") == gray_tg
    assert alb_eval.evaluate(rules, "default", header, source_ip="203.0.113.7") == gray_tg
    assert alb_eval.evaluate(rules, "default", header, source_ip="198.51.100.1") == "default"
    # The policy pack accepts the rule the program built with the service's CIDRs.
    from policy import lanes as lane_policy

    svc = params.load_service("user-api", "dev", params_dir)
    assert (
        lane_policy.check_rule("gray", svc.lane_carriers, rule.inputs["conditions"], svc.lane_header_source_cidrs)
        is None
    )
    assert lane_policy.check_rule("gray", svc.lane_carriers, rule.inputs["conditions"]) is not None


@pytest.mark.parametrize(
    ("cidrs", "says"),
    [
        (["10.0.0.0/33"], "is not an IPv4 CIDR block"),
        (["10.0.0.0/8", "10.0.0.0/8"], "lists a CIDR twice"),
        (["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"], "field 'laneHeaderSourceCidrs'"),
    ],
)
def test_bad_lane_header_sources_are_one_sentence(params_dir: Path, cidrs, says):
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.update(laneHeaderSourceCidrs=cidrs))
    with pytest.raises(MultilaneError) as err:
        params.load_service("user-api", "dev", params_dir)
    assert str(err.value).startswith("params/user-api-dev.json: field 'laneHeaderSourceCidrs'") and says in str(
        err.value
    )

"""The README's deploy commands on the real engine, against the sandbox's emulated AWS.

Everything here is the real Pulumi CLI: it reads Pulumi.yaml and the stack
files, resolves StackReferences through the file backend, passes unknowns in
previews, enforces ``protect`` and orders replacements. AWS is moto behind
the emulated provider (emulator/).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import routing
from harness import alb_eval

from .conftest import Sandbox

pytestmark = pytest.mark.engine

LANE_IMAGE_TAG = "sha-gray001"


def deploy_base(sb: Sandbox) -> dict[str, dict[str, Any]]:
    """infra-dev, boot-user-api-dev and the default lane, as the README deploys them."""
    for stack in ("infra-dev", "boot-user-api-dev", "user-api-dev-default"):
        sb.up(stack)
    return {s: sb.outputs(s) for s in ("infra-dev", "boot-user-api-dev", "user-api-dev-default")}


def deploy_lane(sb: Sandbox, lane: str, boot: dict[str, Any], tag: str) -> dict[str, Any]:
    stack = f"user-api-dev-{lane}"
    sb.pulumi("stack", "init", stack)
    sb.pulumi("config", "set", "-s", stack, "multilane:imageUri", f"{boot['RepositoryUrl']}:{tag}")
    sb.pulumi("up", "--yes", "-s", stack)
    return sb.outputs(stack)


def routes(sb: Sandbox, listener_arn: str) -> tuple[list[routing.rules.Rule], str]:
    stored = sb.client("elbv2").describe_rules(ListenerArn=listener_arn)
    return routing.rules.rules_from_describe_rules(stored), routing.rules.default_target_from_describe_rules(stored)


def reaches(sb: Sandbox, listener_arn: str, headers: dict[str, str]) -> set[str]:
    rules, default = routes(sb, listener_arn)
    return {alb_eval.evaluate(rules, default, headers, s) for s in routing.rules.ALL_SEMANTICS}


def inventory(sb: Sandbox) -> set[str]:
    """Every resource moto holds that the layers make, as "kind:id"."""
    ec2, elbv2, ecs = sb.client("ec2"), sb.client("elbv2"), sb.client("ecs")
    found = {f"vpc:{v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
    found |= {f"subnet:{s['SubnetId']}" for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")}
    found |= {
        f"sg:{g['GroupId']}" for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"
    }
    lbs = elbv2.describe_load_balancers()["LoadBalancers"]
    found |= {f"lb:{lb['LoadBalancerArn']}" for lb in lbs}
    found |= {f"tg:{tg['TargetGroupArn']}" for tg in elbv2.describe_target_groups()["TargetGroups"]}
    for lb in lbs:
        for lst in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            found.add(f"listener:{lst['ListenerArn']}")
            rules = elbv2.describe_rules(ListenerArn=lst["ListenerArn"])["Rules"]
            found |= {f"rule:{r['RuleArn']}" for r in rules if not r["IsDefault"]}
    for cluster in ecs.list_clusters()["clusterArns"]:
        found.add(f"cluster:{cluster}")
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        described = ecs.describe_services(cluster=cluster, services=arns)["services"] if arns else []
        found |= {f"service:{s['serviceArn']}" for s in described if s["status"] == "ACTIVE"}
    found |= {f"taskdef:{t}" for t in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]}
    found |= {f"role:{r['RoleName']}" for r in sb.client("iam").list_roles()["Roles"]}
    found |= {f"alarm:{a['AlarmName']}" for a in sb.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    found |= {f"log:{g['logGroupName']}" for g in sb.client("logs").describe_log_groups()["logGroups"]}
    found |= {f"ecr:{r['repositoryName']}" for r in sb.client("ecr").describe_repositories()["repositories"]}
    return found


def preview_steps(sb: Sandbox, stack: str) -> list[dict[str, Any]]:
    """The resource steps of `pulumi preview --json` (the engine's own plan)."""
    done = sb.pulumi("preview", "--json", "-s", stack)
    return [s for s in json.loads(done.stdout)["steps"] if s["urn"].split("::")[2] != "pulumi:pulumi:Stack"]


def json_documents(text: str) -> list[Any]:
    """Every JSON value in ``text`` (`pulumi up --json` prints the plan, then one event a line)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def changes_of(done_stdout: str) -> dict[str, int]:
    """The resource changes of the update (not of its preview), from the engine's summary event."""
    summaries = [d["summaryEvent"] for d in json_documents(done_stdout) if isinstance(d, dict) and "summaryEvent" in d]
    (update,) = [s for s in summaries if not s.get("isPreview")]
    return update["resourceChanges"]


def test_readme_commands_deploy_a_lane_that_routes_in_the_vpc_infra_made(sandbox: Sandbox) -> None:
    # README "Deploying for real", in its order: infra, boot, pipelines, default, gray.
    for stack in ("infra-dev", "boot-user-api-dev", "pipelines-dev", "user-api-dev-default"):
        sandbox.up(stack)
    base = {s: sandbox.outputs(s) for s in ("infra-dev", "boot-user-api-dev")}
    infra, boot = base["infra-dev"], base["boot-user-api-dev"]
    gray = deploy_lane(sandbox, "gray", boot, LANE_IMAGE_TAG)

    listener = boot["HttpListenerArn"]
    assert reaches(sandbox, listener, {"tracestate": "congo=t61rcWkgMzE,ctx=lane:gray"}) == {gray["TargetGroupArn"]}
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:blue"}) == {boot["DefaultTargetGroupArn"]}
    assert reaches(sandbox, listener, {}) == {boot["DefaultTargetGroupArn"]}
    # The stack references really flowed: the lane's target group sits in infra's VPC.
    (tg,) = sandbox.client("elbv2").describe_target_groups(TargetGroupArns=[gray["TargetGroupArn"]])["TargetGroups"]
    assert tg["VpcId"] == infra["VpcId"]
    svc = sandbox.client("ecs").describe_services(cluster=infra["ClusterArn"], services=[gray["ServiceName"]])
    (service,) = svc["services"]
    net = service["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(net["subnets"]) == sorted(infra["PrivateSubnetIds"])
    assert net["assignPublicIp"] == "DISABLED"
    assert gray["ImageUri"] == f"{boot['RepositoryUrl']}:{LANE_IMAGE_TAG}"


def test_previews_show_only_creates_and_unchanged_stacks_have_no_diff(sandbox: Sandbox) -> None:
    sandbox.pulumi("stack", "init", "infra-dev")
    steps = preview_steps(sandbox, "infra-dev")
    assert steps and {s["op"] for s in steps} == {"create"}
    base = deploy_base(sandbox)
    sandbox.pulumi("stack", "init", "user-api-dev-blue")  # a lane not deployed yet
    steps = preview_steps(sandbox, "user-api-dev-blue")
    # The stack references are reads of the lower stacks' outputs; every AWS resource is a create.
    ops = {(s["op"], s["urn"].split("::")[2].split("$")[-1].startswith("aws:")) for s in steps}
    assert ops == {("create", True), ("create", False), ("read", False)}, ops
    assert all(s["op"] == "read" for s in steps if "pulumi:pulumi:StackReference" in s["urn"])
    assert any("aws:lb/listenerRule:ListenerRule" in s["urn"] for s in steps)
    deploy_lane(sandbox, "gray", base["boot-user-api-dev"], LANE_IMAGE_TAG)
    for stack in ("infra-dev", "boot-user-api-dev", "user-api-dev-default", "user-api-dev-gray"):
        done = sandbox.pulumi("up", "--yes", "--expect-no-changes", "--json", "-s", stack)
        summary = changes_of(done.stdout)
        assert set(summary) <= {"same"}, f"{stack}: {summary}"


def test_protected_boot_refuses_destroy_and_a_lane_destroy_removes_only_the_lane(sandbox: Sandbox) -> None:
    base = deploy_base(sandbox)
    gray = deploy_lane(sandbox, "gray", base["boot-user-api-dev"], LANE_IMAGE_TAG)
    before = inventory(sandbox)
    refused = sandbox.pulumi("destroy", "--yes", "-s", "boot-user-api-dev", check=False)
    assert refused.returncode != 0
    assert "protect" in (refused.stdout + refused.stderr)
    assert inventory(sandbox) == before, "a refused destroy must delete nothing"

    sandbox.pulumi("destroy", "--yes", "-s", "user-api-dev-gray")
    gone = before - inventory(sandbox)
    assert inventory(sandbox) <= before
    assert f"tg:{gray['TargetGroupArn']}" in gone
    assert any(k.startswith("rule:") for k in gone)
    assert f"service:{base['infra-dev']['ClusterArn'].replace(':cluster/', ':service/')}/{gray['ServiceName']}" in gone
    kinds = {k.split(":", 1)[0] for k in gone}
    assert kinds <= {"tg", "rule", "service", "taskdef", "role", "alarm"}, gone
    # Nothing of another layer or lane went.
    default_tg = base["boot-user-api-dev"]["DefaultTargetGroupArn"]
    assert f"tg:{default_tg}" not in gone
    assert not any(k.startswith(("vpc:", "lb:", "listener:", "cluster:", "log:", "ecr:")) for k in gone)


def test_a_replace_forcing_change_replaces_the_target_group_before_deleting_it(sandbox: Sandbox) -> None:
    base = deploy_base(sandbox)
    gray = deploy_lane(sandbox, "gray", base["boot-user-api-dev"], LANE_IMAGE_TAG)
    params = sandbox.project / "params" / "user-api-dev.json"
    data = json.loads(params.read_text())
    data["containerPort"] = data["containerPort"] + 1
    params.write_text(json.dumps(data, indent=2))

    done = sandbox.pulumi("up", "--yes", "--json", "-s", "user-api-dev-gray")
    assert changes_of(done.stdout).get("replace", 0) >= 1
    after = sandbox.outputs("user-api-dev-gray")
    assert after["TargetGroupArn"] != gray["TargetGroupArn"]
    elbv2 = sandbox.client("elbv2")
    (tg,) = elbv2.describe_target_groups(TargetGroupArns=[after["TargetGroupArn"]])["TargetGroups"]
    assert tg["Port"] == data["containerPort"]
    remaining = {t["TargetGroupArn"] for t in elbv2.describe_target_groups()["TargetGroups"]}
    assert gray["TargetGroupArn"] not in remaining, "the old target group is deleted after the new one is in use"
    listener = base["boot-user-api-dev"]["HttpListenerArn"]
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:gray"}) == {after["TargetGroupArn"]}

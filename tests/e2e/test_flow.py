"""infra -> boot -> lanes in moto: the stacks fit together and route as promised.

The module shares one moto world (conftest ``world``): infra-dev, then
boot-user-api-dev fed infra's moto outputs, then lanes default, gray and blue
fed both. The lifecycle test changes that world, so it runs last.
"""

from __future__ import annotations

import pytest

from automation import priority
from components import routing
from harness import alb_eval

from .conftest import SERVICE, World, image

pytestmark = pytest.mark.e2e


def _describe_rules(world: World) -> dict:
    return world.client("elbv2").describe_rules(ListenerArn=world.boot.outputs["HttpListenerArn"])


def _routes(world: World) -> tuple[list[routing.rules.Rule], str]:
    """The listener's rules and default target as moto stores them."""
    stored = _describe_rules(world)
    return routing.rules.rules_from_describe_rules(stored), routing.rules.default_target_from_describe_rules(stored)


def _reaches(world: World, headers) -> set[str]:
    """Target group of ``headers`` under every ALB reading the evaluator knows."""
    rules, default = _routes(world)
    return {alb_eval.evaluate(rules, default, headers, s) for s in routing.rules.ALL_SEMANTICS}


def _service(world: World, lane: str) -> dict:
    ecs = world.client("ecs")
    name = world.lanes[lane].outputs["ServiceName"]
    (svc,) = ecs.describe_services(cluster=world.infra.outputs["ClusterArn"], services=[name])["services"]
    return svc


def _image_of(world: World, task_definition_arn: str) -> str:
    td = world.client("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    (container,) = td["containerDefinitions"]
    return container["image"]


def test_every_layer_is_created_in_moto_from_the_real_outputs_below_it(world: World) -> None:
    infra, boot = world.infra.outputs, world.boot.outputs
    # Every registration answered by moto and still there.
    for rec in (world.infra, world.boot, *world.lanes.values()):
        described = world.emulator.probe(rec)
        assert set(described) == {r.urn for r in rec.resources}
        assert rec.resources, rec.stack
    ec2, elbv2 = world.client("ec2"), world.client("elbv2")
    # boot sits in infra's VPC and public subnets.
    (lb,) = elbv2.describe_load_balancers(LoadBalancerArns=[boot["LoadBalancerArn"]])["LoadBalancers"]
    assert lb["VpcId"] == infra["VpcId"]
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(infra["PublicSubnetIds"])
    assert lb["DNSName"] == boot["LoadBalancerDnsName"]
    (listener,) = elbv2.describe_listeners(ListenerArns=[boot["HttpListenerArn"]])["Listeners"]
    assert listener["LoadBalancerArn"] == boot["LoadBalancerArn"]
    # Tasks accept traffic from the ALB's security group only.
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [boot["ServiceSecurityGroupId"]]}]
    )["SecurityGroupRules"]
    ingress = [r for r in rules if not r["IsEgress"]]
    assert ingress and all(r["ReferencedGroupInfo"]["GroupId"] == boot["AlbSecurityGroupId"] for r in ingress)

    for lane, rec in world.lanes.items():
        out = rec.outputs
        svc = _service(world, lane)
        net = svc["networkConfiguration"]["awsvpcConfiguration"]
        assert sorted(net["subnets"]) == sorted(infra["PrivateSubnetIds"])
        assert net["securityGroups"] == [boot["ServiceSecurityGroupId"]]
        assert net["assignPublicIp"] == "DISABLED"
        assert svc["taskDefinition"] == out["TaskDefinitionArn"]
        assert [lb["targetGroupArn"] for lb in svc["loadBalancers"]] == [out["TargetGroupArn"]]
        assert _image_of(world, out["TaskDefinitionArn"]) == out["ImageUri"]
        (tg,) = elbv2.describe_target_groups(TargetGroupArns=[out["TargetGroupArn"]])["TargetGroups"]
        assert tg["VpcId"] == infra["VpcId"]

    # The default lane serves the boot stack's default target group and Cloud Map service.
    default = world.lanes["default"].outputs
    assert default["TargetGroupArn"] == boot["DefaultTargetGroupArn"]
    assert _service(world, "default")["serviceRegistries"][0]["registryArn"] == boot["ServiceDiscoveryServiceArn"]
    assert default["ListenerRuleArns"] == []
    assert world.lanes["gray"].outputs["ImageUri"] == image(world.boot, "sha-gray001")


# W3C tracestate: list members, vendors on the left, optional spaces/tabs, split lines.
CASES = [
    ({"tracestate": "ctx=lane:gray"}, "gray"),
    ({"tracestate": "congo=t61rcWkgMzE,ctx=lane:gray"}, "gray"),
    ({"tracestate": "rojo=00f067aa0ba902b7, ctx=lane:blue ,congo=t61rcWkgMzE"}, "blue"),
    ({"tracestate": "a=1,\tctx=lane:blue"}, "blue"),
    ([("tracestate", "congo=t61rcWkgMzE"), ("tracestate", "ctx=lane:gray")], "gray"),
    ({"tracestate": "ctx=lane:gray2"}, "default"),
    ({"tracestate": "ctx=lane:gra"}, "default"),
    ({"tracestate": "xctx=lane:gray"}, "default"),
    ({"tracestate": "ctx=lane:default"}, "default"),
    ({"TraceState": "ctx=lane:blue"}, "blue"),
    ({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "default"),
    ({}, "default"),
]


@pytest.mark.parametrize(("headers", "lane"), CASES)
def test_rules_read_back_from_moto_route_each_lane_to_its_own_target_group(world: World, headers, lane) -> None:
    assert _reaches(world, headers) == {world.lanes[lane].outputs["TargetGroupArn"]}


def test_the_listener_holds_exactly_the_lanes_rules(world: World) -> None:
    rules, default = _routes(world)
    assert default == world.boot.outputs["DefaultTargetGroupArn"]
    by_priority = {r.priority: r.target for r in rules}
    expected = {
        world.lanes[lane].outputs["RulePriority"]: world.lanes[lane].outputs["TargetGroupArn"]
        for lane in ("gray", "blue")
    }
    assert by_priority == expected
    stored_arns = {r["RuleArn"] for r in _describe_rules(world)["Rules"] if not r["IsDefault"]}
    assert stored_arns == {arn for lane in ("gray", "blue") for arn in world.lanes[lane].outputs["ListenerRuleArns"]}


def _live_rules(world: World) -> list[priority.LiveRule]:
    return priority.live_rules([_describe_rules(world)], {})


def _gone(probe) -> bool:
    try:
        probe()
    except Exception:  # moto's NotFound of each service, or the emulator's "is gone"
        return True
    return False


def test_lifecycle_destroy_recreate_and_promote_gray(world: World) -> None:
    emu = world.emulator
    lower = [world.infra, world.boot, world.lanes["default"], world.lanes["blue"]]
    before = {rec.stack: emu.probe(rec) for rec in lower}
    blue_tg = world.lanes["blue"].outputs["TargetGroupArn"]
    default_tg = world.boot.outputs["DefaultTargetGroupArn"]
    gray = world.lanes.pop("gray")
    probes = {reg.urn: emu.ledger.get(reg).probe for reg in gray.resources}

    # 1. Destroy gray, driven by its recorded registrations: dependents first.
    deleted = emu.destroy(gray)
    assert len(deleted) == len(gray.resources)
    gone_at = {reg.urn: i for i, reg in enumerate(reversed(gray.resources))}
    for reg in gray.resources:
        for dep in reg.depends_on:
            if dep in gone_at:
                assert gone_at[reg.urn] < gone_at[dep], f"{reg.name} must be deleted before its dependency {dep}"
    assert deleted.index("aws:lb/listenerRule:ListenerRule") < deleted.index("aws:lb/targetGroup:TargetGroup")
    assert deleted.index("aws:ecs/service:Service") < deleted.index("aws:lb/targetGroup:TargetGroup")
    still_there = [urn for urn, probe in probes.items() if not _gone(probe)]
    assert still_there == []
    # Every boot, infra, default and blue resource is exactly as it was.
    assert {rec.stack: emu.probe(rec) for rec in lower} == before
    assert _reaches(world, {"tracestate": "ctx=lane:blue"}) == {blue_tg}
    assert _reaches(world, {"tracestate": "ctx=lane:gray"}) == {default_tg}

    # 2. Re-create gray the way the runner does: read the live rules, plan, pin if needed.
    plan = priority.plan(routing.priorities.allocate_priorities, SERVICE, "gray", 1, _live_rules(world), None)
    config = {"imageUri": image(world.boot, "sha-gray002")}
    if plan.pin is not None:
        config["priority"] = plan.pin
    regray = world.run_lane("gray", config=config)
    taken = {r.priority for r in _live_rules(world)}
    assert regray.outputs["RulePriority"] == plan.live[0]
    assert 1 <= regray.outputs["RulePriority"] <= 50000
    assert regray.outputs["RulePriority"] != world.lanes["blue"].outputs["RulePriority"]
    assert len(taken) == 2
    assert _reaches(world, {"tracestate": "ctx=lane:gray"}) == {regray.outputs["TargetGroupArn"]}

    # 3. Promote gray: the default lane takes gray's image (an update of the
    #    default stack: new task definition revision, service updated in
    #    place), then gray is removed.
    old_default = world.lanes["default"]
    old_service = _service(world, "default")
    promoted = world.run_lane("default", config={"imageUri": regray.outputs["ImageUri"]}, previous=old_default)
    emu.destroy(world.lanes.pop("gray"))
    svc = _service(world, "default")
    assert svc["serviceArn"] == old_service["serviceArn"], "the default service is updated, not replaced"
    assert svc["taskDefinition"] == promoted.outputs["TaskDefinitionArn"] != old_default.outputs["TaskDefinitionArn"]
    assert _image_of(world, svc["taskDefinition"]) == image(world.boot, "sha-gray002")
    assert [lb["targetGroupArn"] for lb in svc["loadBalancers"]] == [default_tg]
    old_td = world.client("ecs").describe_task_definition(taskDefinition=old_default.outputs["TaskDefinitionArn"])
    assert old_td["taskDefinition"]["status"] == "INACTIVE"
    # gray's requests now reach the default target group, which serves the promoted image.
    assert _reaches(world, {"tracestate": "ctx=lane:gray"}) == {default_tg}
    assert _reaches(world, {"tracestate": "ctx=lane:blue"}) == {blue_tg}
    assert [r.target for r in _routes(world)[0]] == [blue_tg]
    for rec in (world.infra, world.boot, world.lanes["blue"]):
        assert emu.probe(rec) == before[rec.stack], f"{rec.stack} changed"

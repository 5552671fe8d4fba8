"""The weighted catch-all rule in the lane plan (issue #15), replayed through the
ALB evaluator, and the policy pack's view of it."""

from __future__ import annotations

import random

import pulumi
import pulumi_aws as aws
import pytest

from components import naming, params, routing
from components.errors import MultilaneError
from harness import alb_eval
from harness.offline import Recording, run_stack
from policy.adapter import run_policies
from policy.pack import policies
from tests.test_lane import BOOT_REF, INFRA_REF, RULE, TG, assert_nothing_registered, reads  # noqa: F401

PACK = policies()
GRAY = naming.tags("dev", "lane", "user-api", "gray")


@pytest.fixture(scope="module")
def lower() -> dict[str, dict]:
    infra = run_stack("infra-dev")
    boot = run_stack("boot-user-api-dev", references={INFRA_REF: infra.outputs})
    return {INFRA_REF: infra.outputs, BOOT_REF: boot.outputs}


def lane(name: str, lower: dict, **kw) -> Recording:
    return run_stack(f"user-api-dev-{name}", references=dict(lower), **kw)


@pytest.fixture(scope="module")
def gray10(lower) -> Recording:
    return lane("gray", lower, config={"weight": "10"})


def weighted_rule(rec: Recording):
    return [r for r in rec.of_type(RULE) if r.name == "weighted"]


def test_weighted_rule_in_the_plan(gray10, lower):
    [rule] = weighted_rule(gray10)
    tg = gray10.one(TG)
    stickiness = params.load_service("user-api", "dev").promotion.stickiness_seconds
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["*"]}}]
    assert rule.inputs["actions"] == [
        {
            "type": "forward",
            "forward": {
                "targetGroups": [
                    {"arn": lower[BOOT_REF]["DefaultTargetGroupArn"], "weight": 90},
                    {"arn": tg.state["arn"], "weight": 10},
                ],
                "stickiness": {"enabled": True, "duration": stickiness},
            },
        }
    ]
    assert rule.inputs["listenerArn"] == lower[BOOT_REF]["HttpListenerArn"]
    # Its own band, after every header rule of every lane and carrier.
    header_rules = [r for r in gray10.of_type(RULE) if r.name != "weighted"]
    last_header_band = routing.priorities.band(len(routing.carriers.CARRIERS) - 1)
    assert rule.inputs["priority"] in routing.weighted.WEIGHTED_BAND
    assert rule.inputs["priority"] > last_header_band.stop - 1 > max(r.inputs["priority"] for r in header_rules)
    assert rule.inputs["priority"] == routing.weighted.weighted_priority("user-api", "gray")
    assert rule.state["arn"] in gray10.outputs["ListenerRuleArns"]
    # The boot stack's listener (its default action) is not in the lane plan at all.
    assert gray10.of_type("aws:lb/listener:Listener") == []


def test_weight_0_or_unset_means_no_weighted_rule(lower):
    for config in ({}, {"weight": "0"}):
        rec = lane("gray", lower, config=config)
        assert weighted_rule(rec) == [] and len(rec.of_type(RULE)) == 1


def test_the_plan_routes_the_configured_share_and_headers_first(gray10, lower):
    rules = alb_eval.rules_from_registrations(gray10)
    default_tg = lower[BOOT_REF]["DefaultTargetGroupArn"]
    gray_tg = gray10.one(TG).state["arn"]
    rng = random.Random(1510)
    n = 10000
    hits = sum(alb_eval.route(rules, default_tg, {}, alb_eval.Client(rng)) == gray_tg for _ in range(n))
    assert abs(hits - 1000) <= 5 * (n * 0.1 * 0.9) ** 0.5
    user = alb_eval.Client(rng)
    assert len({alb_eval.route(rules, default_tg, {}, user, now=float(t)) for t in range(50)}) == 1
    assert alb_eval.route(rules, default_tg, {"tracestate": "ctx=lane:gray"}, user) == gray_tg


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("101", "multilane:weight 101 is outside 0..100"),
        ("ten", "multilane:weight 'ten' is not a whole number"),
        ("-5", "multilane:weight '-5' is not a whole number"),
    ],
)
def test_bad_weight_fails_before_anything_registers(value, says, reads):  # noqa: F811
    with pytest.raises(MultilaneError, match=says) as err:
        run_stack("user-api-dev-gray", config={"weight": value})
    assert str(err.value).startswith("stacks/Pulumi.user-api-dev-gray.yaml: multilane:weight")
    assert_nothing_registered(err, reads)


def test_weight_on_the_default_lane_is_refused(reads):  # noqa: F811
    with pytest.raises(MultilaneError, match="default lane already takes every request") as err:
        run_stack("user-api-dev-default", config={"weight": "10"})
    assert_nothing_registered(err, reads)


def test_a_misspelt_weight_key_is_refused():
    with pytest.raises(MultilaneError, match="did you mean 'weight'"):
        run_stack("user-api-dev-gray", config={"wieght": "10"})


# --- the policy pack --------------------------------------------------------------------


def test_pack_allows_the_weighted_rule(gray10):
    result = run_policies(gray10, PACK)
    assert result.violations == []


def _weighted_program(forward_to_other: bool):
    def program(_stack, _params):
        from components.layers.lane.args import BOOT_DEFAULT_TG_PROP

        default_tg = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-default/1"
        foreign = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-blue/9"

        class Lane(pulumi.ComponentResource):
            def __init__(self):
                super().__init__("multilane:lane:AppLane", "lane", {BOOT_DEFAULT_TG_PROP: default_tg})

        comp = Lane()
        tg = aws.lb.TargetGroup(
            "tg", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1", tags=GRAY,
            opts=pulumi.ResourceOptions(parent=comp),
        )  # fmt: skip
        aws.lb.ListenerRule(
            "weighted",
            listener_arn="arn:listener",
            priority=routing.weighted.weighted_priority("user-api", "gray"),
            conditions=routing.weighted.catch_all_conditions(),
            actions=[routing.weighted.weighted_forward(foreign if forward_to_other else default_tg, tg.arn, 10, 60)],
            tags=GRAY,
            opts=pulumi.ResourceOptions(parent=comp),
        )

    return program


def test_pack_refuses_a_weighted_rule_that_forwards_elsewhere():
    good = run_policies(run_stack("user-api-dev-gray", program=_weighted_program(False)), PACK)
    assert [v for v in good.violations if v.policy.startswith("lane-")] == []
    bad = run_policies(run_stack("user-api-dev-gray", program=_weighted_program(True)), PACK)
    found = [v.message for v in bad.violations if v.policy == "lane-rules-forward-to-own-target-group"]
    assert found == [
        "listener rule weighted of lane 'gray' is a weighted rule that forwards to "
        "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-blue/9, which is neither "
        "the lane's own target group nor the boot stack's default target group"
    ]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"conditions": [{"path_pattern": {"values": ["/api/*"]}}]}, "conditions are not exactly"),
        ({"priority": 30000}, "outside the weighted band 45000..49999"),
        ({"sticky": False}, "without target-group stickiness"),
        ({"weights": (50, 10)}, "do not add up to 100"),
    ],
)
def test_pack_refuses_a_malformed_weighted_rule(change, says):
    def program(_stack, _params):
        tg = aws.lb.TargetGroup("tg", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1", tags=GRAY)
        action = routing.weighted.weighted_forward("arn:default", tg.arn, 10, 60)
        if "weights" in change:
            action["forward"]["target_groups"][0]["weight"], action["forward"]["target_groups"][1]["weight"] = change[
                "weights"
            ]
        if change.get("sticky") is False:
            action["forward"]["stickiness"] = {"enabled": False, "duration": 60}
        aws.lb.ListenerRule(
            "weighted",
            listener_arn="arn:listener",
            priority=change.get("priority", routing.weighted.weighted_priority("user-api", "gray")),
            conditions=change.get("conditions", routing.weighted.catch_all_conditions()),
            actions=[action],
            tags=GRAY,
        )

    result = run_policies(run_stack("user-api-dev-gray", program=program), PACK)
    found = [v.message for v in result.violations if v.policy == "lane-weighted-rule-splits-default-and-own"]
    assert len(found) == 1 and says in found[0], [(v.policy, v.message) for v in result.violations]


# --- the cookie route (routing by a cookie value as well as by header) -------------------


@pytest.fixture(scope="module")
def gray_cookie(lower) -> Recording:
    return lane("gray", lower, config={"cookie": "beta=gray"})


def test_cookie_rule_in_the_plan_and_routed(gray_cookie, lower):
    [rule] = [r for r in gray_cookie.of_type(RULE) if r.name == "cookie"]
    [header] = [r for r in gray_cookie.of_type(RULE) if r.name == "rule-0"]
    tg = gray_cookie.one(TG).state["arn"]
    assert rule.inputs["conditions"] == [
        {"httpHeader": {"httpHeaderName": "cookie", "regexValues": ["^(.*;)?[ \\t]*beta=gray[ \\t]*(;.*)?$"]}}
    ]
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": tg}]
    assert rule.inputs["priority"] in routing.cookie.COOKIE_BAND
    assert rule.inputs["priority"] - 41000 == (header.inputs["priority"] - 1000) % 4000
    rules = alb_eval.rules_from_registrations(gray_cookie)
    default_tg = lower[BOOT_REF]["DefaultTargetGroupArn"]
    # An RFC 6265 Cookie header, the pair anywhere; HTTP/2 may split cookies over several lines.
    reach = {
        "beta=gray": tg,
        "sid=1; beta=gray": tg,
        "sid=1; beta=gray; theme=dark": tg,
        "sid=1;beta=gray": tg,
        "beta=gray2": default_tg,
        "xbeta=gray": default_tg,
        "beta=gra": default_tg,
        "beta=gray=1": default_tg,
        "": default_tg,
    }
    for value, expected in reach.items():
        for semantics in routing.rules.ALL_SEMANTICS:
            assert alb_eval.evaluate(rules, default_tg, {"cookie": value}, semantics) == expected, (value, semantics)
    split = [("cookie", "sid=1"), ("cookie", "beta=gray")]
    assert {alb_eval.evaluate(rules, default_tg, split, s) for s in routing.rules.ALL_SEMANTICS} == {tg}
    # The header still works, and the pack accepts the cookie rule.
    assert alb_eval.evaluate(rules, default_tg, {"tracestate": "ctx=lane:gray"}) == tg
    assert run_policies(gray_cookie, PACK).violations == []


def test_longest_cookie_pattern_fits_alb_limits():
    name, value = "n" * 40, "v" * 40
    [conds] = [routing.cookie.cookie_conditions(name, value)]
    [rule] = routing.rules.rules_from_conditions([conds], [41000], "tg")
    routing.rules.validate_rules([rule])
    assert len(routing.cookie.cookie_pattern(name, value)) == 7 + 6 + 81 + 6 + 7  # 107 <= 128


@pytest.mark.parametrize("value", ["beta", "Beta=gray", "beta=gr ay", "beta=", "=gray", "a=" + "b" * 41, "beta=gr.ay"])
def test_bad_cookie_fails_before_anything_registers(value, reads):  # noqa: F811
    with pytest.raises(MultilaneError, match="is not name=value") as err:
        run_stack("user-api-dev-gray", config={"cookie": value})
    assert_nothing_registered(err, reads)


def test_cookie_on_the_default_lane_is_refused(reads):  # noqa: F811
    with pytest.raises(MultilaneError, match="multilane:cookie is set but the default lane") as err:
        run_stack("user-api-dev-default", config={"cookie": "beta=x"})
    assert_nothing_registered(err, reads)


@pytest.mark.parametrize(
    ("conditions", "priority", "policy", "says"),
    [
        (
            [{"http_header": {"http_header_name": "cookie", "values": ["*beta=gray*"]}}],
            41500,
            "lane-rules-own-lane",
            "not one whole-pair pattern",
        ),
        (
            routing.cookie.cookie_conditions("beta", "gray"),
            30000,
            "lane-rule-priority-band",
            "cookie band 41000..44999",
        ),
    ],
)
def test_pack_refuses_a_loose_or_misplaced_cookie_rule(conditions, priority, policy, says):
    def program(_stack, _params):
        tg = aws.lb.TargetGroup("tg", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1", tags=GRAY)
        aws.lb.ListenerRule(
            "cookie",
            listener_arn="arn:listener",
            priority=priority,
            conditions=conditions,
            actions=[{"type": "forward", "target_group_arn": tg.arn}],
            tags=GRAY,
        )

    result = run_policies(run_stack("user-api-dev-gray", program=program), PACK)
    found = [v.message for v in result.violations if v.policy == policy]
    assert len(found) == 1 and says in found[0], [(v.policy, v.message) for v in result.violations]

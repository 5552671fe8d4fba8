"""The weighted rule and the cookie rule of issue #15 as moto stores them (module-scoped world)."""

from __future__ import annotations

import random

import pytest

from components import routing
from harness import alb_eval

from .conftest import World, image

pytestmark = pytest.mark.e2e


def test_weighted_and_cookie_rules_are_accepted_and_route(world: World) -> None:
    rec = world.run_lane(
        "green", config={"imageUri": image(world.boot, "sha-eeeeeee-b5"), "weight": "20", "cookie": "beta=green"}
    )
    green_tg = rec.outputs["TargetGroupArn"]
    stored = world.client("elbv2").describe_rules(ListenerArn=world.boot.outputs["HttpListenerArn"])
    rules = routing.rules.rules_from_describe_rules(stored)
    default_tg = routing.rules.default_target_from_describe_rules(stored)
    assert default_tg == world.boot.outputs["DefaultTargetGroupArn"]  # the default action is untouched
    [weighted] = [r for r in rules if r.forward]
    assert weighted.forward == ((default_tg, 80), (green_tg, 20)) and weighted.stickiness_seconds == 3600
    assert weighted.priority in routing.weighted.WEIGHTED_BAND
    assert weighted.priority > max(r.priority for r in rules if not r.forward)
    for s in routing.rules.ALL_SEMANTICS:
        assert (
            alb_eval.evaluate([r for r in rules if not r.forward], default_tg, {"cookie": "a=1; beta=green"}, s)
            == green_tg
        )
    rng = random.Random(20)
    n = 5000
    hits = sum(alb_eval.route(rules, default_tg, {}, alb_eval.Client(rng)) == green_tg for _ in range(n))
    assert abs(hits - 0.2 * n) <= 5 * (n * 0.2 * 0.8) ** 0.5
    # Other lanes' headers still win over the weighted rule.
    others = [lane for lane in world.lanes if lane not in ("default", "green")]
    for lane in others:
        target = world.lanes[lane].outputs["TargetGroupArn"]
        assert alb_eval.route(rules, default_tg, {"tracestate": f"ctx=lane:{lane}"}, alb_eval.Client(rng)) == target

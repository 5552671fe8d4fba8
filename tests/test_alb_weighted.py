"""The ALB evaluator (harness/alb_eval.py) with weighted, sticky forwards (issue #15): many simulated users.

Oracles: the binomial distribution (a weight-w split over N independent new
users lands within 5 standard deviations of N*w/100) and ALB's documented
target-group stickiness (a cookie pins the client to the group it got first,
for DurationSeconds).
"""

from __future__ import annotations

import math
import random

import pytest

from components import routing
from components.routing import weighted
from components.routing.rules import HeaderCondition, Rule, RuleError
from harness import alb_eval
from harness.alb_eval import Client

DEFAULT_TG = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-default/1"
GRAY_TG = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-gray/2"
BLUE_TG = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/user-api-dev-blue/3"
STICKY = 3600


def header_rule(lane: str, target: str) -> Rule:
    [conds] = routing.carriers.lane_rule_conditions(lane, ["tracestate"])
    [rule] = routing.rules.rules_from_conditions(
        [conds], [routing.priorities.allocate_priorities("user-api", lane, 1)[0]], target
    )
    return rule


def weighted_rule(weight: int, lane_tg: str = GRAY_TG, sticky: int = STICKY, lane: str = "gray") -> Rule:
    return Rule(
        weighted.weighted_priority("user-api", lane),
        (),
        DEFAULT_TG,
        paths=(weighted.CATCH_ALL_PATH,),
        forward=((DEFAULT_TG, 100 - weight), (lane_tg, weight)),
        stickiness_seconds=sticky,
    )


def within_binomial(hits: int, n: int, p: float) -> bool:
    sd = math.sqrt(n * p * (1 - p))
    return abs(hits - n * p) <= 5 * sd


@pytest.mark.parametrize("weight", [1, 10, 50, 90])
def test_new_users_get_the_configured_share(weight):
    rules = [header_rule("blue", BLUE_TG), weighted_rule(weight)]
    rng = random.Random(15 + weight)
    n = 20000
    hits = sum(alb_eval.route(rules, DEFAULT_TG, {}, Client(rng)) == GRAY_TG for _ in range(n))
    assert within_binomial(hits, n, weight / 100), (hits, n * weight / 100)


def test_weight_100_sends_every_unheadered_request_to_the_lane():
    rules = [weighted_rule(100)]
    rng = random.Random(1)
    assert {alb_eval.route(rules, DEFAULT_TG, {}, Client(rng), path=p) for p in ("/", "/a/b", "/x?y=1")} == {GRAY_TG}


def test_a_sticky_user_always_lands_on_the_same_side():
    rules = [weighted_rule(50)]
    rng = random.Random(7)
    sides = []
    for _ in range(2000):
        user = Client(rng)
        seen = {alb_eval.route(rules, DEFAULT_TG, {}, user, now=t * 60.0) for t in range(30)}  # 30 min of requests
        assert len(seen) == 1
        sides.append(seen.pop())
    # ... and the users still split by the weight.
    assert within_binomial(sides.count(GRAY_TG), 2000, 0.5)


def test_without_stickiness_one_user_sees_both_sides():
    rules = [weighted_rule(50, sticky=0)]
    rng = random.Random(8)
    both = 0
    for _ in range(500):
        user = Client(rng)
        both += len({alb_eval.route(rules, DEFAULT_TG, {}, user) for _ in range(20)}) == 2
    # P(20 requests all one side) = 2 * 0.5**20: practically every user sees both.
    assert both >= 495


def test_stickiness_ends_with_its_duration():
    rules = [weighted_rule(50, sticky=60)]
    rng = random.Random(9)
    moved = 0
    for _ in range(1000):
        user = Client(rng)
        first = alb_eval.route(rules, DEFAULT_TG, {}, user, now=0.0)
        assert alb_eval.route(rules, DEFAULT_TG, {}, user, now=59.0) == first
        moved += alb_eval.route(rules, DEFAULT_TG, {}, user, now=61.0) != first
    assert within_binomial(moved, 1000, 0.5)  # a fresh pick after expiry


def test_a_pull_back_removes_the_rule_so_sticky_users_return_to_default():
    rng = random.Random(10)
    users = [Client(rng) for _ in range(300)]
    on_lane = [u for u in users if alb_eval.route([weighted_rule(50)], DEFAULT_TG, {}, u) == GRAY_TG]
    assert on_lane and all(u.cookies for u in on_lane)
    # Weight 0 means no weighted rule at all: the cookie no longer matters.
    assert {alb_eval.route([], DEFAULT_TG, {}, u, now=1.0) for u in on_lane} == {DEFAULT_TG}


def test_header_rules_keep_precedence_over_the_weighted_rule():
    rules = [header_rule("blue", BLUE_TG), header_rule("gray", GRAY_TG), weighted_rule(100, lane_tg=GRAY_TG)]
    rng = random.Random(11)
    for _ in range(200):
        user = Client(rng)
        assert alb_eval.route(rules, DEFAULT_TG, {"tracestate": "ctx=lane:blue"}, user) == BLUE_TG
        assert alb_eval.route(rules, DEFAULT_TG, {"tracestate": "vendor=1,ctx=lane:gray"}, user) == GRAY_TG
    # The weighted band lies after both carrier bands.
    assert weighted.WEIGHTED_BAND.start > routing.priorities.band(len(routing.carriers.CARRIERS) - 1).stop - 1


def test_evaluate_refuses_a_weighted_rule_it_cannot_answer_alone():
    with pytest.raises(RuleError, match=r"route it with alb_eval\.route"):
        alb_eval.evaluate([weighted_rule(10)], DEFAULT_TG, {})


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        (Rule(45000, (), "t", paths=("*",), forward=tuple((f"tg{i}", 1) for i in range(6))), "6 target groups"),
        (Rule(45000, (), "t", paths=("*",), forward=(("a", 1000), ("b", 1))), "outside 0..999"),
        (Rule(45000, (), "t", paths=("*",), forward=(("a", 0), ("b", 0))), "weight 0"),
        (Rule(45000, (), "t", paths=("*",), forward=(("a", 1), ("b", 1)), stickiness_seconds=604801), "604800"),
        (Rule(45000, (), "t", paths=("*",), forward=(("a", 1), ("a", 1))), "appears twice"),
        (Rule(45000, (HeaderCondition("x", ("*", "*", "*")),), "t", paths=("*", "*", "*")), "6 match evaluations"),
    ],
)
def test_validate_refuses_what_alb_refuses(rule, says):
    with pytest.raises(RuleError, match=says):
        routing.rules.validate_rules([rule])


def test_describe_rules_adapter_reads_weighted_sticky_forwards():
    response = {
        "Rules": [
            {
                "Priority": "45123",
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["*"]}}],
                "Actions": [
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": DEFAULT_TG, "Weight": 90},
                                {"TargetGroupArn": GRAY_TG, "Weight": 10},
                            ],
                            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 3600},
                        },
                    }
                ],
            }
        ]
    }
    [rule] = routing.rules.rules_from_describe_rules(response)
    assert rule.paths == ("*",) and rule.forward == ((DEFAULT_TG, 90), (GRAY_TG, 10))
    assert rule.stickiness_seconds == 3600

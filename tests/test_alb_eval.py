"""components/routing/rules.py and harness/alb_eval.py: ALB rule semantics, validation and the two adapters."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from components import routing
from components.errors import MultilaneError
from components.routing.rules import HeaderCondition, Rule, RuleError, Semantics
from harness import alb_eval
from harness.offline import run_stack

DEFAULT = "tg-default"


def hv(header: str, *values: str) -> HeaderCondition:
    return HeaderCondition(header, values=values)


def hr(header: str, *regexes: str) -> HeaderCondition:
    return HeaderCondition(header, regex_values=regexes)


# --- semantics ----------------------------------------------------------------------


def test_lowest_priority_wins_whatever_the_list_order() -> None:
    rules = [Rule(20, (hv("x-a", "*"),), "tg-20"), Rule(10, (hv("x-a", "1"),), "tg-10")]
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "1"}) == "tg-10"
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "2"}) == "tg-20"
    assert alb_eval.evaluate(list(reversed(rules)), DEFAULT, {"x-a": "1"}) == "tg-10"


def test_fallback_to_default_action() -> None:
    rules = [Rule(1, (hv("x-a", "1"),), "tg-1")]
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "2"}) == DEFAULT
    assert alb_eval.evaluate(rules, DEFAULT, {}) == DEFAULT
    assert alb_eval.evaluate([], DEFAULT, {"x-a": "1"}) == DEFAULT


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        ("abc", "abc", True),
        ("abc", "xabc", False),  # whole value, not a substring
        ("abc", "abcx", False),
        ("abc", "ABC", True),  # case-insensitive
        ("A*C", "abbbc", True),
        ("a*c", "ac", True),  # * matches zero characters
        ("a?c", "abc", True),
        ("a?c", "ac", False),  # ? matches exactly one
        ("a?c", "abbc", False),
        ("*", "", True),
        ("a.c", "abc", False),  # only * and ? are special
        ("a[b]c", "a[b]c", True),
        ("*,ctx=lane:gray", "x, ctx=lane:gray", False),
    ],
)
def test_values_wildcard_semantics(pattern: str, value: str, hit: bool) -> None:
    assert routing.rules.wildcard_matches(pattern, value) is hit
    rules = [Rule(1, (hv("x-h", pattern),), "tg")]
    assert (alb_eval.evaluate(rules, DEFAULT, {"x-h": value}) == "tg") is hit


def test_strings_of_a_condition_are_ored_and_conditions_anded() -> None:
    rules = [Rule(1, (hv("x-a", "1", "2"), hv("x-b", "y")), "tg")]
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "2", "x-b": "y"}) == "tg"
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "2"}) == DEFAULT
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": "3", "x-b": "y"}) == DEFAULT


def test_header_names_are_case_insensitive() -> None:
    rules = [Rule(1, (hv("TraceState", "v"),), "tg")]
    assert alb_eval.evaluate(rules, DEFAULT, [("tracestate", "v")]) == "tg"
    assert alb_eval.evaluate(rules, DEFAULT, [("TRACESTATE", "v")]) == "tg"


def test_several_header_lines_are_searched_in_order() -> None:
    rules = [Rule(1, (hv("x-a", "two"),), "tg")]
    assert alb_eval.evaluate(rules, DEFAULT, [("x-a", "one"), ("x-a", "two")]) == "tg"
    assert alb_eval.evaluate(rules, DEFAULT, {"x-a": ["one", "two"]}) == "tg"
    # each line on its own: the joined value "one, two" is not "two"
    assert alb_eval.evaluate(rules, DEFAULT, [("x-a", "one"), ("x-a", "two")], Semantics(header_lines="joined")) == (
        DEFAULT
    )


def test_regex_semantics_switches() -> None:
    unanchored = [Rule(1, (hr("x-a", "gray"),), "tg")]
    assert alb_eval.evaluate(unanchored, DEFAULT, {"x-a": "xgray"}, Semantics(regex_match="search")) == "tg"
    assert alb_eval.evaluate(unanchored, DEFAULT, {"x-a": "xgray"}, Semantics(regex_match="whole")) == DEFAULT
    assert alb_eval.evaluate(unanchored, DEFAULT, {"x-a": "GRAY"}, Semantics(regex_ignore_case=False)) == DEFAULT
    assert alb_eval.evaluate(unanchored, DEFAULT, {"x-a": "GRAY"}, Semantics(regex_ignore_case=True)) == "tg"
    anchored = [Rule(1, (hr("x-a", "^gray$"),), "tg")]
    assert alb_eval.evaluate(anchored, DEFAULT, {"x-a": " gray "}, Semantics(strip_ows=True)) == "tg"
    assert alb_eval.evaluate(anchored, DEFAULT, {"x-a": " gray "}, Semantics(strip_ows=False)) == DEFAULT
    assert len(routing.rules.ALL_SEMANTICS) == 16 and len(set(routing.rules.ALL_SEMANTICS)) == 16


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ([Rule(0, (hv("x", "a"),), "t")], "outside 1..50000"),
        ([Rule(50001, (hv("x", "a"),), "t")], "outside 1..50000"),
        ([Rule(5, (hv("x", "a"),), "t"), Rule(5, (hv("x", "b"),), "u")], "PriorityInUse"),
        ([Rule(5, (), "t")], "at least one condition"),
        ([Rule(5, (hv("x", "a", "b", "c", "d"),), "t")], "4 strings in one condition"),
        ([Rule(5, (hv("x", "a", "b", "c"), hv("y", "d", "e", "f")), "t")], "6 match evaluations"),
        ([Rule(5, (hv("x", "*a*", "*b*"), hv("y", "??")), "t")], "6 wildcards"),
        ([Rule(5, (hv("x", "a" * 129),), "t")], "129-character"),
        ([Rule(5, (hv("x" * 41, "a"),), "t")], "over 40 characters"),
        ([Rule(5, (HeaderCondition("x", ("a",), ("b",)),), "t")], "not both or neither"),
        ([Rule(5, (HeaderCondition("x"),), "t")], "not both or neither"),
        ([Rule(5, (hr("x", "^a(?=b)"),), "t")], "feature ALB does not support"),
        ([Rule(5, (hr("x", "(?<!a)b"),), "t")], "feature ALB does not support"),
        ([Rule(5, (hr("x", r"(a)\1"),), "t")], "feature ALB does not support"),
        ([Rule(5, (hr("x", "a*+"),), "t")], "feature ALB does not support"),
        ([Rule(5, (hr("x", r"\p{L}"),), "t")], "feature ALB does not support"),
        ([Rule(5, (hv("x", "a\tb"),), "t")], "control or non-ASCII"),
    ],
)
def test_rules_alb_would_refuse_are_refused(rules: list[Rule], fragment: str) -> None:
    with pytest.raises(RuleError, match=fragment.replace(".", r"\.")):
        alb_eval.evaluate(rules, DEFAULT, {"x": "a"})


def test_same_priority_on_two_listeners_is_fine() -> None:
    rules = [Rule(5, (hv("x", "a"),), "t", listener="l1"), Rule(5, (hv("x", "a"),), "u", listener="l2")]
    routing.rules.validate_rules(rules)  # raises if refused
    # The listener is what makes them distinct: on one listener the same pair is PriorityInUse.
    same = [Rule(5, (hv("x", "a"),), "t", listener="l1"), Rule(5, (hv("x", "a"),), "u", listener="l1")]
    with pytest.raises(RuleError, match=r"^rule at priority 5: two rules share the priority on one listener"):
        routing.rules.validate_rules(same)


def test_routing_patterns_pass_validation() -> None:
    for lane in ("gray", "f" + "-x" * 19 + "z"):
        conds = routing.carriers.lane_rule_conditions(lane, ["tracestate", "baggage"])
        rules = routing.rules.rules_from_conditions(conds, routing.priorities.allocate_priorities("s", lane, 2), "tg")
        routing.rules.validate_rules(rules)
        assert all(routing.rules.regex_is_alb_safe(rx) for r in rules for c in r.conditions for rx in c.regex_values)


# --- adapters -----------------------------------------------------------------------


def _lane_rules_program(lanes: list[str], carriers: list[str]):
    """A tiny program registering lane rules the way the lane layer does."""

    def program(stack: str, params_dir) -> None:
        taken: dict[int, str] = {}
        for lane in lanes:
            tg = aws.lb.TargetGroup(f"tg-{lane}", name=f"tg-{lane}", port=8080, protocol="HTTP", target_type="ip")
            conditions = routing.carriers.lane_rule_conditions(lane, carriers)
            prios = routing.priorities.allocate_priorities("user-api", lane, len(conditions), taken=taken)
            taken.update(dict.fromkeys(prios, lane))
            for i, (conds, prio) in enumerate(zip(conditions, prios, strict=True)):
                aws.lb.ListenerRule(
                    f"rule-{lane}-{i}",
                    listener_arn="arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener/app/x/1/2",
                    priority=prio,
                    conditions=conds,
                    actions=[{"type": "forward", "target_group_arn": tg.arn}],
                )
        pulumi.export("ok", True)

    return program


def test_rules_from_offline_registrations() -> None:
    recording = run_stack(
        "user-api-dev-gray", program=_lane_rules_program(["gray", "gray2"], ["tracestate", "baggage"])
    )
    rules = alb_eval.rules_from_registrations(recording)
    assert len(rules) == 4
    reg = recording.of_type("aws:lb/listenerRule:ListenerRule")[0]
    assert "regexValues" in reg.inputs["conditions"][0]["httpHeader"]  # camelCase as the engine sees it
    tg = {r.name: r.state["arn"] for r in recording.of_type("aws:lb/targetGroup:TargetGroup")}
    assert alb_eval.evaluate(rules, DEFAULT, {"tracestate": "v=1, ctx=lane:gray2"}) == tg["tg-gray2"]
    assert alb_eval.evaluate(rules, DEFAULT, {"baggage": "lane=gray"}) == tg["tg-gray"]
    assert alb_eval.evaluate(rules, DEFAULT, {"tracestate": "ctx=lane:blue"}) == DEFAULT
    # the registrations list works as well as the recording
    assert alb_eval.rules_from_registrations(recording.registrations) == rules


def test_registration_adapter_refuses_what_it_does_not_model() -> None:
    def program(stack: str, params_dir) -> None:
        aws.lb.ListenerRule(
            "path",
            listener_arn="arn:l",
            priority=3,
            conditions=[{"path_pattern": {"values": ["/x"]}}],
            actions=[{"type": "forward", "target_group_arn": "arn:tg"}],
        )

    with pytest.raises(RuleError, match="pathPattern"):
        alb_eval.rules_from_registrations(run_stack("user-api-dev-gray", program=program))


# The shape boto3 returns (captured from moto 5.2.5, which also answers the e2e tier).
DESCRIBE_RULES = {
    "Rules": [
        {
            "RuleArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/x/1/2/3",
            "Priority": "1234",
            "Conditions": [
                {
                    "Field": "http-header",
                    "HttpHeaderConfig": {
                        "HttpHeaderName": "tracestate",
                        "Values": [],
                        "RegexValues": [routing.carriers.tracestate_pattern("gray")],
                    },
                }
            ],
            "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg-gray"}],
            "IsDefault": False,
        },
        {
            "RuleArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/x/1/2/4",
            "Priority": "7",
            "Conditions": [
                {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-canary", "Values": ["on"]}}
            ],
            "Actions": [
                {
                    "Type": "forward",
                    "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "arn:tg-canary", "Weight": 1}]},
                }
            ],
            "IsDefault": False,
        },
        {
            "RuleArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/x/1/2/5",
            "Priority": "default",
            "Conditions": [],
            "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg-default"}],
            "IsDefault": True,
        },
    ]
}


def test_rules_from_describe_rules() -> None:
    rules = routing.rules.rules_from_describe_rules(DESCRIBE_RULES)
    assert [r.priority for r in rules] == [1234, 7]
    default = routing.rules.default_target_from_describe_rules(DESCRIBE_RULES)
    assert default == "arn:tg-default"
    assert alb_eval.evaluate(rules, default, {"tracestate": "a=b,ctx=lane:gray"}) == "arn:tg-gray"
    assert alb_eval.evaluate(rules, default, {"tracestate": "ctx=lane:gray", "x-canary": "ON"}) == "arn:tg-canary"
    assert alb_eval.evaluate(rules, default, {"tracestate": "ctx=lane:gray2"}) == default


def test_describe_rules_adapter_refuses_unmodelled_conditions() -> None:
    response = {
        "Rules": [
            {
                "Priority": "1",
                "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}],
                "Actions": [{"Type": "forward", "TargetGroupArn": "t"}],
            }
        ]
    }
    with pytest.raises(RuleError, match="path-pattern"):
        routing.rules.rules_from_describe_rules(response)
    with pytest.raises(RuleError, match="no default rule"):
        routing.rules.default_target_from_describe_rules(response)


@pytest.mark.e2e
def test_describe_rules_against_moto() -> None:
    """The real boto3 shape from moto's listener, built by routing's functions."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in ((1, "a"), (2, "b"))
        ]
        elb = boto3.client("elbv2", region_name="us-east-1")
        lb = elb.create_load_balancer(Name="user-api-dev", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]

        def tg(name: str) -> str:
            made = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
            return made["TargetGroups"][0]["TargetGroupArn"]

        default_tg = tg("default")
        listener = elb.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": default_tg}],
        )["Listeners"][0]["ListenerArn"]
        lane_tgs = {}
        taken: dict[int, str] = {}
        for lane in ("gray", "gray2", "blue"):
            lane_tgs[lane] = tg(lane)
            (conds,) = routing.carriers.lane_rule_conditions(lane, ["tracestate"])
            (prio,) = routing.priorities.allocate_priorities("user-api", lane, 1, taken=taken)
            taken[prio] = lane
            header = conds[0]["http_header"]
            elb.create_rule(
                ListenerArn=listener,
                Priority=prio,
                # moto 5.2.5 reads HttpHeaderConfig["Values"] unconditionally; an empty list satisfies it.
                Conditions=[
                    {
                        "Field": "http-header",
                        "HttpHeaderConfig": {
                            "HttpHeaderName": header["http_header_name"],
                            "Values": [],
                            "RegexValues": header["regex_values"],
                        },
                    }
                ],
                Actions=[{"Type": "forward", "TargetGroupArn": lane_tgs[lane]}],
            )
        response = elb.describe_rules(ListenerArn=listener)
    rules = routing.rules.rules_from_describe_rules(response, listener)
    default = routing.rules.default_target_from_describe_rules(response)
    assert default == default_tg
    assert alb_eval.evaluate(rules, default, {"tracestate": "rojo=1, ctx=lane:gray2"}) == lane_tgs["gray2"]
    assert alb_eval.evaluate(rules, default, {"tracestate": "ctx=lane:blue\t,congo=2"}) == lane_tgs["blue"]
    assert alb_eval.evaluate(rules, default, {"tracestate": "xctx=lane:gray"}) == default_tg


def test_taken_from_describe_rules_feeds_allocate_priorities() -> None:
    """What the runner's live check does: read the listener, then allocate."""
    rules = routing.rules.rules_from_describe_rules(DESCRIBE_RULES)
    taken = routing.rules.taken_from_rules(rules)
    assert taken == {1234: "gray", 7: ""}
    assert routing.priorities.allocate_priorities("user-api", "gray", 1, taken=taken, pinned=1234) == [1234]
    with pytest.raises(MultilaneError, match="collides with lane 'gray'"):
        routing.priorities.allocate_priorities("user-api", "blue", 1, taken=taken, pinned=1234)
    with pytest.raises(MultilaneError, match="a rule no lane owns"):
        routing.priorities.allocate_priorities("user-api", "blue", 1, taken=taken, pinned=7)


def test_lane_of_rule_needs_every_condition_to_be_ours() -> None:
    ours = hr("tracestate", routing.carriers.tracestate_pattern("gray"))
    assert routing.rules.lane_of_rule(Rule(1, (ours,), "t")) == "gray"
    assert routing.rules.lane_of_rule(Rule(1, (ours, hv("x-a", "1")), "t")) == ""
    assert (
        routing.rules.lane_of_rule(Rule(1, (ours, hr("baggage", routing.carriers.baggage_pattern("blue"))), "t")) == ""
    )
    assert routing.rules.lane_of_rule(Rule(1, (hr("tracestate", "^ctx=lane:gray$"),), "t")) == ""


def test_rules_the_lane_program_registers_route_by_tracestate() -> None:
    """The real lane stacks of one listener, replayed: gray, gray2, a long feature lane."""
    image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc123"
    long_lane = "feature-" + "x" * 31 + "z"
    rules: list[Rule] = []
    targets: dict[str, str] = {}
    for lane in ("gray", "gray2", long_lane):
        recording = run_stack(f"user-api-dev-{lane}", config={"imageUri": image})
        mine = alb_eval.rules_from_registrations(recording)
        assert len(mine) == 1 and mine[0].priority == recording.outputs["RulePriority"]
        targets[lane] = recording.outputs["TargetGroupArn"]
        assert mine[0].target == targets[lane]
        rules += mine
    default = run_stack("user-api-dev-default", config={"imageUri": image})
    assert alb_eval.rules_from_registrations(default) == []
    routing.rules.validate_rules(rules)  # one listener: priorities unique
    for semantics in routing.rules.ALL_SEMANTICS:
        assert (
            alb_eval.evaluate(rules, DEFAULT, {"tracestate": "rojo=1,\tctx=lane:gray2"}, semantics) == targets["gray2"]
        )
        assert alb_eval.evaluate(rules, DEFAULT, [("tracestate", "ctx=lane:gray ")], semantics) == targets["gray"]
        assert (
            alb_eval.evaluate(rules, DEFAULT, {"tracestate": f"ctx=lane:{long_lane}"}, semantics) == targets[long_lane]
        )
        assert alb_eval.evaluate(rules, DEFAULT, {"tracestate": "xctx=lane:gray"}, semantics) == DEFAULT

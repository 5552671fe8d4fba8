"""Carriers are data (issue 13, item 4): a third carrier is one entry of
``components.routing.carriers.CARRIERS``, its rules get their own band inside
1..50000, and no existing lane's priority moves.

The priorities below are written out: they are what main computed at commit
9def1ab, before carriers became a table (``allocate_priorities(service, lane,
2)`` there).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components import params, routing
from components.errors import MultilaneError
from components.routing.carriers import Carrier
from harness import alb_eval
from harness.offline import run_stack
from policy import lanes as lane_policy
from tests.conftest import edit_json

# (service, lane) -> [tracestate priority, baggage priority], from main at 9def1ab.
BEFORE = {
    ("user-api", "gray"): [7912, 27912],
    ("user-api", "blue"): [18622, 38622],
    ("order-api", "gray"): [15121, 35121],
    ("order-api", "feature-login-2"): [19283, 39283],
    ("user-dev-tools", "x1"): [19663, 39663],
}


def _x_lane_pattern(lane: str) -> str:
    return f"^[ \\t]*{lane}[ \\t]*$"


# A hypothetical third carrier: the whole value of header x-lane names the lane.
X_LANE = Carrier("x-lane", lambda lane: lane, _x_lane_pattern, range(41000, 50000))
THREE = ["tracestate", "baggage", "x-lane"]


@pytest.fixture
def third_carrier(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register X_LANE: one entry appended to the table, nothing else."""
    monkeypatch.setattr(routing.carriers, "CARRIERS", (*routing.carriers.CARRIERS, X_LANE))


def test_the_shipped_table() -> None:
    table = routing.carriers.CARRIERS
    assert [(c.header, c.band, c.required) for c in table] == [
        ("tracestate", range(1000, 21000), True),
        ("baggage", range(21000, 41000), False),
    ]
    routing.priorities.check_layout(table)


@pytest.mark.parametrize(("service", "lane"), sorted(BEFORE))
def test_existing_lanes_keep_their_priorities(service: str, lane: str) -> None:
    assert routing.priorities.allocate_priorities(service, lane, ["tracestate", "baggage"]) == BEFORE[service, lane]
    assert routing.priorities.allocate_priorities(service, lane, ["tracestate"]) == BEFORE[service, lane][:1]
    assert routing.priorities.allocate_priorities(service, lane, 2) == BEFORE[service, lane]


@pytest.mark.parametrize(("service", "lane"), sorted(BEFORE))
def test_a_third_carrier_moves_no_existing_priority(third_carrier: None, service: str, lane: str) -> None:
    assert routing.priorities.allocate_priorities(service, lane, ["tracestate", "baggage"]) == BEFORE[service, lane]
    assert routing.priorities.allocate_priorities(service, lane, ["tracestate"]) == BEFORE[service, lane][:1]


def test_a_third_carrier_gets_rules_in_its_own_band(third_carrier: None) -> None:
    routing.priorities.check_layout(routing.carriers.CARRIERS)
    # slot 6912 (7912 - 1000) -> 41000 + 6912; slot 17622 wraps the 9000-slot band: 41000 + 8622.
    assert routing.priorities.allocate_priorities("user-api", "gray", THREE) == [7912, 27912, 47912]
    assert routing.priorities.allocate_priorities("user-api", "blue", THREE) == [18622, 38622, 49622]
    assert routing.priorities.allocate_priorities("user-api", "gray", ["tracestate", "x-lane"]) == [7912, 47912]
    # a slot is free only when every band is: the x-lane position moves the whole lane on
    moved = routing.priorities.allocate_priorities("user-api", "gray", THREE, taken={47912: "blue"})
    assert moved == [7913, 27913, 47913]
    # a pinned first priority gives the slot in every band (18999 mod 9000 = 999)
    assert routing.priorities.allocate_priorities("user-api", "gray", THREE, pinned=19999) == [19999, 39999, 41999]

    rules = routing.carriers.lane_rule_conditions("gray", ["x-lane", "tracestate"])
    assert rules == [
        [
            {
                "http_header": {
                    "http_header_name": "tracestate",
                    "regex_values": ["^(.*,)?[ \\t]*ctx=lane:gray[ \\t]*(,.*)?$"],
                }
            }
        ],
        [{"http_header": {"http_header_name": "x-lane", "regex_values": ["^[ \\t]*gray[ \\t]*$"]}}],
    ]
    assert routing.carriers.lane_of_pattern("X-Lane", "^[ \\t]*gray[ \\t]*$") == "gray"
    assert routing.carriers.carrier_header("x-lane", "gray") == "x-lane: gray"


def test_a_third_carrier_routes_through_the_alb_evaluator(third_carrier: None) -> None:
    listener = [
        rule
        for lane in ("gray", "blue")
        for rule in routing.rules.rules_from_conditions(
            routing.carriers.lane_rule_conditions(lane, THREE),
            routing.priorities.allocate_priorities("user-api", lane, THREE),
            f"tg-{lane}",
        )
    ]
    routing.rules.validate_rules(listener)
    assert alb_eval.evaluate(listener, "default", {"x-lane": "gray"}) == "tg-gray"
    assert alb_eval.evaluate(listener, "default", {"x-lane": "gray2"}) == "default"
    # a lower band wins: tracestate names blue, x-lane names gray
    assert alb_eval.evaluate(listener, "default", {"x-lane": "gray", "tracestate": "ctx=lane:blue"}) == "tg-blue"


def test_capacity_and_messages_follow_the_table(third_carrier: None) -> None:
    assert routing.priorities.max_lanes(THREE) == 33  # 100 rules / 3 per lane
    assert routing.priorities.max_lanes(THREE, rules_per_alb=1000) == 99  # target groups
    with pytest.raises(MultilaneError) as err:
        routing.priorities.check_capacity([f"l{i}" for i in range(33)], THREE, lane="new")
    assert str(err.value) == (
        "lane 'new' does not fit: the service already has 33 lanes besides default and holds at most 33 because "
        "carriers tracestate+baggage+x-lane cost 3 listener rules per lane and the ALB allows 100 rules; delete a "
        "lane you no longer need, drop 'baggage' and 'x-lane' from laneCarriers, or raise the 'Rules per "
        "Application Load Balancer' quota"
    )
    with pytest.raises(
        MultilaneError, match="laneCarriers holds 'b3'; use 'tracestate', optionally followed by 'baggage' or 'x-lane'"
    ):
        routing.carriers.canonical_carriers(["tracestate", "b3"])
    assert lane_policy.check_priority(47912, [{"httpHeader": {"httpHeaderName": "x-lane"}}]) is None
    assert lane_policy.check_priority(7912, [{"httpHeader": {"httpHeaderName": "x-lane"}}]) == (
        "has priority 7912, outside the x-lane lane band 41000..49999"
    )


def test_a_third_carrier_deploys_through_params_and_the_lane_program(third_carrier: None, params_dir: Path) -> None:
    edit_json(params.service_path("user-api", "dev", params_dir), lambda d: d.update(laneCarriers=THREE))
    infra = run_stack("infra-dev", params_dir=params_dir)
    boot_ref = "organization/multilane/boot-user-api-dev"
    infra_ref = "organization/multilane/infra-dev"
    boot = run_stack("boot-user-api-dev", references={infra_ref: infra.outputs}, params_dir=params_dir)
    rec = run_stack(
        "user-api-dev-gray", references={infra_ref: infra.outputs, boot_ref: boot.outputs}, params_dir=params_dir
    )
    rules = sorted(rec.of_type("aws:lb/listenerRule:ListenerRule"), key=lambda r: r.inputs["priority"])
    assert [(r.inputs["conditions"][0]["httpHeader"]["httpHeaderName"], r.inputs["priority"]) for r in rules] == [
        ("tracestate", 7912),
        ("baggage", 27912),
        ("x-lane", 47912),
    ]


@pytest.mark.parametrize(
    ("band", "fragment"),
    [
        (range(41000, 60000), "band 41000..59999 must hold 1..20000 consecutive priorities inside 1..50000"),
        (range(40000, 45000), "band 40000..44999 must start above 'baggage''s band, which ends at 40999"),
        (range(41000, 41000), "must hold 1..20000"),
    ],
)
def test_a_bad_band_is_refused(band: range, fragment: str) -> None:
    bad = dataclasses.replace(X_LANE, band=band)
    with pytest.raises(ValueError) as err:
        routing.priorities.check_layout((*routing.carriers.CARRIERS, bad))
    assert fragment in str(err.value)

"""components/routing/: conditions, priorities and capacity within the ALB budget."""

from __future__ import annotations

import random
import re

import pytest

from components import naming, routing
from components.errors import MultilaneError
from harness import alb_eval

SERVICE = "user-api"
LONGEST_LANE = "f" + "-x" * 19 + "z"  # 40 characters, hyphens everywhere
assert len(LONGEST_LANE) == naming.MAX_LANE_LEN


def random_lanes(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct valid lane names of every length 2..40 (fixed seed)."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"
    out: set[str] = set()
    while len(out) < n:
        length = rng.randint(2, naming.MAX_LANE_LEN)
        body = "".join(rng.choice(alphabet) for _ in range(length - 2))
        name = rng.choice("abcdefghijklmnopqrstuvwxyz") + body + rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
        if name != naming.DEFAULT_LANE:
            out.add(name)
    return sorted(out)


# --- route header and conditions ------------------------------------------------


def test_route_header_is_what_the_readme_tells_testers_to_send() -> None:
    assert routing.carriers.route_header("gray") == "tracestate: ctx=lane:gray"
    assert routing.carriers.route_header("default") == ""
    assert routing.carriers.baggage_header("gray") == "baggage: lane=gray"


def test_one_rule_per_carrier_in_canonical_order() -> None:
    rules = routing.carriers.lane_rule_conditions("gray", ["tracestate"])
    assert rules == [
        [
            {
                "http_header": {
                    "http_header_name": "tracestate",
                    "regex_values": [routing.carriers.tracestate_pattern("gray")],
                }
            }
        ]
    ]
    both = routing.carriers.lane_rule_conditions("gray", ["baggage", "tracestate"])
    assert [r[0]["http_header"]["http_header_name"] for r in both] == ["tracestate", "baggage"]


def test_default_lane_needs_no_rule() -> None:
    assert routing.carriers.lane_rule_conditions("default", ["tracestate", "baggage"]) == []


@pytest.mark.parametrize(
    ("carriers", "fragment"),
    [(["baggage"], "must include 'tracestate'"), (["tracestate", "b3"], "'b3'"), ([], "must include")],
)
def test_bad_carriers_are_one_clear_sentence(carriers: list[str], fragment: str) -> None:
    with pytest.raises(MultilaneError, match=re.escape(fragment)):
        routing.carriers.lane_rule_conditions("gray", carriers)


@pytest.mark.parametrize("lane", ["", "Gray", "9lives", "gray-", "g", "a" * 41, "gr_ay"])
def test_bad_lane_names_are_rejected(lane: str) -> None:
    with pytest.raises(MultilaneError):
        routing.carriers.lane_rule_conditions(lane, ["tracestate"])
    with pytest.raises(MultilaneError):
        routing.priorities.allocate_priorities(SERVICE, lane, 1)


@pytest.mark.parametrize("lane", ["gray", "ab", LONGEST_LANE, *random_lanes(30, seed=11)])
def test_every_pattern_fits_the_alb_budget(lane: str) -> None:
    rules = routing.carriers.lane_rule_conditions(lane, ["tracestate", "baggage"])
    for conditions in rules:
        evaluations = 0
        for cond in conditions:
            header = cond["http_header"]
            assert len(header["http_header_name"]) <= routing.limits.ALB_MAX_HEADER_NAME_LEN
            assert not ("values" in header and "regex_values" in header)  # pulumi-aws: they conflict
            values = header.get("regex_values") or header.get("values")
            assert 1 <= len(values) <= routing.limits.ALB_MAX_VALUES_PER_CONDITION
            evaluations += len(values)
            for v in values:
                assert len(v) <= routing.limits.ALB_MAX_VALUE_LEN
                assert v.startswith("^") and v.endswith("$")  # same result for whole-value and search matching
                assert not re.search(r"\(\?[=!<>]|\\[1-9]|\\k<|\\p\{|[*+?][+]", v)  # no feature ALB rejects
                assert all(0x20 <= ord(ch) < 0x7F for ch in v)  # visible ASCII and space only
        assert evaluations <= routing.limits.ALB_MAX_MATCH_EVALUATIONS_PER_RULE


def test_longest_lane_pattern_length() -> None:
    assert len(routing.carriers.tracestate_pattern(LONGEST_LANE)) == 75
    assert len(routing.carriers.baggage_pattern(LONGEST_LANE)) == 86


@pytest.mark.parametrize(
    ("value", "hit"),
    [
        ("ctx=lane:gray", True),
        ("a=1,ctx=lane:gray", True),
        ("a=1 ,\t ctx=lane:gray \t, b=2", True),
        ("ctx=lane:gray2", False),
        ("ctx=lane:gray-2", False),
        ("xctx=lane:gray", False),
        ("a=1,xctx=lane:gray", False),
        ("ctx=lane:gray;x", False),  # ';' is part of a tracestate value: lane "gray;x" is not gray
        ("ctx=lane:grayx,ctx=lane:gra", False),
    ],
)
def test_tracestate_pattern_same_under_fullmatch_and_search(value: str, hit: bool) -> None:
    pattern = re.compile(routing.carriers.tracestate_pattern("gray"))
    assert bool(pattern.fullmatch(value)) is hit
    assert bool(pattern.search(value)) is hit


@pytest.mark.parametrize(
    ("value", "hit"),
    [
        ("lane=gray", True),
        ("lane = gray", True),
        ("userId=alice, lane=gray;ttl=30, x=y", True),
        ("lane=gray ;prop", True),
        ("lane=gray2", False),
        ("plane=gray", False),
        ("other=lane=gray", False),
        ("lane=gray-x;p", False),
    ],
)
def test_baggage_pattern(value: str, hit: bool) -> None:
    pattern = re.compile(routing.carriers.baggage_pattern("gray"))
    assert bool(pattern.fullmatch(value)) is hit
    assert bool(pattern.search(value)) is hit


# --- priorities -------------------------------------------------------------------


def test_priority_is_deterministic_and_in_the_band() -> None:
    first = routing.priorities.allocate_priorities(SERVICE, "gray", 1)
    assert first == routing.priorities.allocate_priorities(SERVICE, "gray", 1)  # a redeploy keeps it
    assert first[0] in routing.priorities.band(0)
    assert routing.priorities.allocate_priorities(SERVICE, "blue", 1) != first
    assert routing.priorities.allocate_priorities("order-api", "gray", 1) != first  # the service is part of the hash


def test_carrier_rules_get_distinct_priorities_in_their_bands() -> None:
    ts, bg = routing.priorities.allocate_priorities(SERVICE, "gray", 2)
    assert ts in routing.priorities.band(0) and bg in routing.priorities.band(1)
    assert bg - ts == routing.priorities.SLOTS
    # every tracestate rule is evaluated before every baggage rule
    assert max(routing.priorities.band(0)) < min(routing.priorities.band(1))
    assert routing.priorities.band(1).stop - 1 <= routing.limits.PRIORITY_MAX and routing.priorities.band(0).start > 1


def test_collision_moves_along_the_probe_sequence() -> None:
    home = routing.priorities.allocate_priorities(SERVICE, "gray", 1)[0]
    moved = routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken={home: "blue"})
    assert moved == [home + 1]
    assert routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken={home: "blue", home + 1: ""}) == [home + 2]


def test_own_priorities_are_not_collisions() -> None:
    home = routing.priorities.allocate_priorities(SERVICE, "gray", 2)
    taken = dict.fromkeys(home, "gray")
    assert routing.priorities.allocate_priorities(SERVICE, "gray", 2, taken=taken) == home
    # a lane pinned one step further earlier finds its own slot again
    taken = {home[0]: "blue", home[0] + 1: "gray"}
    assert routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken=taken) == [home[0] + 1]


def test_a_slot_is_free_only_when_every_carrier_band_is_free() -> None:
    ts, bg = routing.priorities.allocate_priorities(SERVICE, "gray", 2)
    moved = routing.priorities.allocate_priorities(SERVICE, "gray", 2, taken={bg: "blue"})
    assert moved == [ts + 1, bg + 1]


def test_probe_wraps_around_the_band() -> None:
    lane = next(
        x
        for x in random_lanes(20000, seed=3)
        if routing.priorities.home_slot(SERVICE, x) == routing.priorities.SLOTS - 1
    )
    last = routing.priorities.band(0).stop - 1
    assert routing.priorities.allocate_priorities(SERVICE, lane, 1, taken={last: "other"}) == [
        routing.priorities.band(0).start
    ]


def test_concurrent_creation_resolved_by_re_reading_taken() -> None:
    """Two new lanes that hash to one slot: both pick it, AWS accepts one,
    the runner's retry re-reads the listener and the loser moves on."""
    lanes = random_lanes(3000, seed=5)
    by_slot: dict[int, str] = {}
    pair = None
    for lane in lanes:
        slot = routing.priorities.home_slot(SERVICE, lane)
        if slot in by_slot:
            pair = (by_slot[slot], lane)
            break
        by_slot[slot] = lane
    assert pair is not None, "birthday bound: 3000 lanes in 20000 slots must collide"
    a, b = pair
    pa = routing.priorities.allocate_priorities(SERVICE, a, 1, taken={})
    pb = routing.priorities.allocate_priorities(SERVICE, b, 1, taken={})
    assert pa == pb  # both stacks would ask for the same priority at once
    listener = dict.fromkeys(pa, a)  # a's CreateRule won; b got PriorityInUse
    retry = routing.priorities.allocate_priorities(SERVICE, b, 1, taken=listener)
    assert retry != pa and not set(retry) & set(listener)


def test_pinned_priority_is_used_and_checked() -> None:
    assert routing.priorities.allocate_priorities(SERVICE, "gray", 2, pinned=1234) == [
        1234,
        1234 + routing.priorities.SLOTS,
    ]
    assert routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken={1234: "gray"}, pinned=1234) == [1234]
    with pytest.raises(MultilaneError, match=r"multilane:priority 1234 for lane 'gray' .*collides with lane 'blue'"):
        routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken={1234: "blue"}, pinned=1234)
    with pytest.raises(MultilaneError, match="collides with a rule no lane owns at priority 21234"):
        routing.priorities.allocate_priorities(SERVICE, "gray", 2, taken={21234: ""}, pinned=1234)
    with pytest.raises(MultilaneError, match=r"outside 1\.\.50000"):
        routing.priorities.allocate_priorities(SERVICE, "gray", 2, pinned=40000)
    with pytest.raises(MultilaneError, match=r"outside 1\.\.50000"):
        routing.priorities.allocate_priorities(SERVICE, "gray", 1, pinned=0)


def test_no_free_slot_is_a_clear_error() -> None:
    full = {p: "other" for p in routing.priorities.band(0)}
    with pytest.raises(MultilaneError, match="no free listener-rule priority left for lane 'gray'"):
        routing.priorities.allocate_priorities(SERVICE, "gray", 1, taken=full)


@pytest.mark.parametrize("count", [0, 3])
def test_count_is_one_rule_per_carrier(count: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.2 rules"):
        routing.priorities.allocate_priorities(SERVICE, "gray", count)


# --- 99 lanes of one service -------------------------------------------------------

NINETY_NINE = [LONGEST_LANE, "gray", "gray2", "gray-2", *random_lanes(95, seed=99)]


def test_99_lanes_sequential_allocation_unique_priorities() -> None:
    assert len(set(NINETY_NINE)) == 99
    for carriers in (["tracestate"], ["tracestate", "baggage"]):
        count = len(carriers)
        lanes = NINETY_NINE if count == 1 else NINETY_NINE[: routing.priorities.max_lanes(carriers)]
        taken: dict[int, str] = {}
        for lane in lanes:
            routing.priorities.check_capacity(set(taken.values()), carriers, lane=lane)
            got = routing.priorities.allocate_priorities(SERVICE, lane, count, taken=taken)
            assert not set(got) & set(taken)
            taken.update(dict.fromkeys(got, lane))
        assert len(taken) == len(lanes) * count <= routing.limits.ALB_RULES_PER_ALB
        assert all(routing.limits.PRIORITY_MIN <= p <= routing.limits.PRIORITY_MAX for p in taken)


def test_99_lanes_have_valid_unique_aws_names() -> None:
    tg_re = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
    role_re = re.compile(r"^[\w+=,.@-]+$")
    ecs_re = re.compile(r"^[A-Za-z0-9_-]+$")
    for service, env in ((SERVICE, "dev"), ("s" + "x" * 39, "e" * 16)):
        tgs, services, roles, families = set(), set(), set(), set()
        for lane in NINETY_NINE:
            tg = naming.target_group_name(service, env, lane, port=8080, protocol="HTTP", target_type="ip")
            assert len(tg) <= naming.LIMIT_TARGET_GROUP_NAME and tg_re.match(tg), tg
            assert not tg.lower().startswith("internal-")
            tgs.add(tg)
            svc = naming.ecs_service_name(service, lane)
            assert len(svc) <= naming.LIMIT_ECS_SERVICE_NAME and ecs_re.match(svc)
            services.add(svc)
            fam = naming.task_family(service, env, lane)
            assert len(fam) <= naming.LIMIT_TASK_FAMILY and ecs_re.match(fam)
            families.add(fam)
            for role in ("exec", "task"):
                name = naming.lane_role_name(service, env, lane, role)
                assert len(name) <= naming.LIMIT_IAM_ROLE_NAME and role_re.match(name)
                roles.add(name)
        default_tg = naming.target_group_name(service, env, "default", port=8080, protocol="HTTP", target_type="ip")
        assert default_tg not in tgs
        assert len(tgs) == len(services) == len(families) == 99 and len(roles) == 198


# --- capacity ----------------------------------------------------------------------


def test_documented_capacity() -> None:
    assert routing.priorities.max_lanes(["tracestate"]) == 99  # 100 target groups - the default one
    assert routing.priorities.max_lanes(["tracestate", "baggage"]) == 50  # 100 rules / 2 per lane
    assert routing.priorities.max_lanes(["tracestate", "baggage"], rules_per_alb=300) == 99


def test_lane_100_is_refused_with_the_reason() -> None:
    existing = {"default", *NINETY_NINE}
    routing.priorities.check_capacity(existing, ["tracestate"], lane="gray")  # a redeploy always fits
    routing.priorities.check_capacity(existing, ["tracestate"], lane="default")
    with pytest.raises(MultilaneError) as err:
        routing.priorities.check_capacity(existing, ["tracestate"], lane="lane-100")
    msg = str(err.value)
    assert msg == (
        "lane 'lane-100' does not fit: the service already has 99 lanes besides default and holds at most 99 "
        "because an ALB holds 100 target groups (a fixed AWS limit) and one is the default lane's; "
        "delete a lane you no longer need"
    )
    assert "\n" not in msg


def test_baggage_capacity_is_50() -> None:
    fifty = set(NINETY_NINE[:50])
    routing.priorities.check_capacity(set(NINETY_NINE[:49]), ["tracestate", "baggage"], lane="new")
    with pytest.raises(MultilaneError, match=r"holds at most 50 because carriers tracestate\+baggage cost 2"):
        routing.priorities.check_capacity(fifty, ["tracestate", "baggage"], lane="new")
    with pytest.raises(MultilaneError, match=r"^another lane does not fit"):
        routing.priorities.check_capacity(fifty, ["tracestate", "baggage"])


# --- the W3C routing table, through the ALB evaluator --------------------------------
#
# Every case runs under every reading of what AWS leaves undocumented
# (routing.rules.ALL_SEMANTICS: regex whole-value vs search, regex case, header lines
# as sent vs joined by a proxy, OWS stripped or not): the routing must not depend
# on any of them.

TABLE_LANES = ["gray", "gray2", "gray-2", "blue", "gra", LONGEST_LANE]


def listener(lanes: list[str], carriers: list[str]) -> list[routing.rules.Rule]:
    rules: list[routing.rules.Rule] = []
    taken: dict[int, str] = {}
    for lane in lanes:
        conditions = routing.carriers.lane_rule_conditions(lane, carriers)
        prios = routing.priorities.allocate_priorities(SERVICE, lane, len(conditions), taken=taken)
        taken.update(dict.fromkeys(prios, lane))
        rules += routing.rules.rules_from_conditions(conditions, prios, target=lane)
    return rules


TRACESTATE_ONLY = listener(TABLE_LANES, ["tracestate"])
WITH_BAGGAGE = listener(TABLE_LANES, ["tracestate", "baggage"])
VENDORS = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
T = "tracestate"

TRACESTATE_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    ("alone", [(T, "ctx=lane:gray")], "gray"),
    ("last after vendors", [(T, f"{VENDORS},ctx=lane:gray")], "gray"),
    ("first", [(T, f"ctx=lane:gray,{VENDORS}")], "gray"),
    ("middle", [(T, "rojo=1,ctx=lane:gray,congo=2")], "gray"),
    ("spaces around commas", [(T, "rojo=1 , ctx=lane:gray , congo=2")], "gray"),
    ("tabs around commas", [(T, "rojo=1\t,\tctx=lane:gray\t,\tcongo=2")], "gray"),
    ("mixed OWS runs", [(T, "rojo=1 \t ,  \t ctx=lane:gray\t \t,congo=2")], "gray"),
    ("OWS around the whole value", [(T, " \tctx=lane:gray \t")], "gray"),
    ("empty list members", [(T, "rojo=1,,ctx=lane:gray,")], "gray"),
    ("leading comma", [(T, ",ctx=lane:gray")], "gray"),
    ("multi-tenant vendor keys", [(T, "t61rcwkgmze@rojo=1,fw529a3039@dt=2,ctx=lane:blue")], "blue"),
    (
        "32 members, lane in the middle",
        [(T, ",".join([f"v{i}=x" for i in range(16)] + ["ctx=lane:blue"] + [f"w{i}=y" for i in range(15)]))],
        "blue",
    ),
    ("another member's value says lane:gray", [(T, "rojo=lane:gray,ctx=lane:blue")], "blue"),
    ("longest lane last", [(T, f"{VENDORS}, ctx=lane:{LONGEST_LANE}")], LONGEST_LANE),
    ("gray2 is not gray", [(T, "ctx=lane:gray2")], "gray2"),
    ("gray2 last is not gray", [(T, f"{VENDORS},ctx=lane:gray2")], "gray2"),
    ("gray2 middle is not gray", [(T, "rojo=1, ctx=lane:gray2 ,congo=2")], "gray2"),
    ("gray-2 is not gray", [(T, "rojo=1,ctx=lane:gray-2")], "gray-2"),
    ("gra is not gray", [(T, "ctx=lane:gra,rojo=1")], "gra"),
    ("unknown lane grayish", [(T, "ctx=lane:grayish")], "default"),
    ("prefix of an unknown lane", [(T, "ctx=lane:gr")], "default"),
    ("key ending in ctx", [(T, "xctx=lane:gray")], "default"),
    ("key ending in ctx after vendors", [(T, f"{VENDORS},xctx=lane:gray")], "default"),
    ("tenant key ending in ctx", [(T, "rojo=1, acme@ctx=lane:gray")], "default"),
    ("key starting with ctx", [(T, "ctxx=lane:gray")], "default"),
    ("value prefix differs", [(T, "ctx=xlane:gray")], "default"),
    ("value with a suffix", [(T, "ctx=lane:gray;v=2")], "default"),
    ("value with a colon suffix", [(T, "ctx=lane:gray:x")], "default"),
    ("space inside the member", [(T, "ctx = lane:gray")], "default"),
    ("member split by space", [(T, "ctx=lane: gray")], "default"),
    ("header name in capitals", [("TraceState", "ctx=lane:gray")], "gray"),
    ("lines: lane on the second", [(T, VENDORS), (T, "ctx=lane:gray")], "gray"),
    ("lines: lane on the first", [(T, "ctx=lane:gray "), (T, "rojo=1")], "gray"),
    ("lines: trailing comma, OWS", [(T, "rojo=1,"), (T, " ctx=lane:blue,congo=2")], "blue"),
    ("lines: gray2 then vendors", [(T, "ctx=lane:gray2"), (T, "rojo=1")], "gray2"),
    ("lines: xctx then vendors", [(T, "xctx=lane:gray"), (T, "rojo=1")], "default"),
    ("empty header", [(T, "")], "default"),
    ("whitespace header", [(T, " \t ")], "default"),
    ("no header", [], "default"),
    ("only traceparent", [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")], "default"),
    ("another header name", [("x-tracestate", "ctx=lane:gray")], "default"),
    ("baggage ignored without the carrier", [("baggage", "lane=gray")], "default"),
    ("ctx in baggage is not tracestate", [("baggage", "ctx=lane:gray")], "default"),
]


@pytest.mark.parametrize(
    ("headers", "expected"), [c[1:] for c in TRACESTATE_CASES], ids=[c[0] for c in TRACESTATE_CASES]
)
def test_tracestate_routing_table(headers: list[tuple[str, str]], expected: str) -> None:
    for semantics in routing.rules.ALL_SEMANTICS:
        assert alb_eval.evaluate(TRACESTATE_ONLY, "default", headers, semantics) == expected, semantics


UPPER_CASE = [
    [(T, "CTX=LANE:GRAY")],
    [(T, "ctx=lane:GRAY")],
    [(T, f"{VENDORS},Ctx=Lane:Gray")],
]


@pytest.mark.parametrize("headers", UPPER_CASE)
def test_upper_case_variants_reach_gray_or_default_never_another_lane(headers: list[tuple[str, str]]) -> None:
    """W3C keys and lane names are lower case; ALB's regex case rule is undocumented."""
    for semantics in routing.rules.ALL_SEMANTICS:
        got = alb_eval.evaluate(TRACESTATE_ONLY, "default", headers, semantics)
        assert got == ("gray" if semantics.regex_ignore_case else "default"), semantics


B = "baggage"
BAGGAGE_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    ("baggage alone", [(B, "lane=gray")], "gray"),
    ("baggage with OWS and properties", [(B, "userId=alice , lane = gray ;ttl=30, x=y")], "gray"),
    ("baggage gray2", [(B, "a=1,lane=gray2")], "gray2"),
    ("baggage key ending in lane", [(B, "plane=gray")], "default"),
    ("baggage lane=gray inside a value", [(B, "other=lane=gray")], "default"),
    ("baggage on a second line", [(B, "a=1"), (B, "lane=blue;p")], "blue"),
    ("tracestate wins over baggage", [(B, "lane=blue"), (T, "ctx=lane:gray")], "gray"),
    ("tracestate still works", [(T, "rojo=1, ctx=lane:gray2")], "gray2"),
    ("neither", [(B, "lane=nope"), (T, "rojo=1")], "default"),
]


@pytest.mark.parametrize(("headers", "expected"), [c[1:] for c in BAGGAGE_CASES], ids=[c[0] for c in BAGGAGE_CASES])
def test_baggage_carrier_table(headers: list[tuple[str, str]], expected: str) -> None:
    for semantics in routing.rules.ALL_SEMANTICS:
        assert alb_eval.evaluate(WITH_BAGGAGE, "default", headers, semantics) == expected, semantics


def reference_lane(lines: list[str], lanes: set[str]) -> str:
    """The W3C reading, written without regexes: split members, trim OWS, look up ctx."""
    for line in lines:
        for member in line.split(","):
            key, sep, value = member.strip(" \t").partition("=")
            if sep and key == "ctx" and value.startswith("lane:") and value[5:] in lanes:
                return value[5:]
    return "default"


def test_random_tracestate_headers_route_like_the_w3c_reading() -> None:
    rng = random.Random(20240601)
    lanes = [*random_lanes(40, seed=1), "gray", "gray2", "gray-2"]
    rules = listener(lanes, ["tracestate"])
    lane_set = set(lanes)
    ows = ["", " ", "\t", "  ", " \t "]
    near = ["x{l}", "{l}x", "{l}-1", "{l}2", "{l}0"]
    for _ in range(600):
        members = [
            f"v{rng.randint(0, 99)}@vendor{rng.randint(0, 9)}=opaque{rng.randint(0, 999)}"
            for _ in range(rng.randint(0, 6))
        ]
        lane = rng.choice(lanes)
        kind = rng.random()
        if kind < 0.5:
            member = f"ctx=lane:{lane}"
        elif kind < 0.75:
            member = f"ctx=lane:{rng.choice(near).format(l=lane)}"
        else:
            member = f"{rng.choice(['x', 'a@', 'my'])}ctx=lane:{lane}"
        members.insert(rng.randint(0, len(members)), member)
        text = "".join(f"{rng.choice(ows)},{rng.choice(ows)}{m}" if i else m for i, m in enumerate(members))
        # sometimes split the list over several lines at member boundaries
        cut = rng.randint(1, len(members)) if rng.random() < 0.3 else len(members)
        parts = text.split(",")
        lines = [",".join(parts[:cut]), ",".join(parts[cut:])] if cut < len(members) else [text]
        lines = [x for x in lines if x]
        headers = [("tracestate", x) for x in lines]
        expected = reference_lane(lines, lane_set)
        for semantics in (routing.rules.ALL_SEMANTICS[0], routing.rules.ALL_SEMANTICS[-1]):
            assert alb_eval.evaluate(rules, "default", headers, semantics) == expected, (lines, semantics)


@pytest.mark.parametrize("lane", ["gray", "gray-2", LONGEST_LANE, *random_lanes(20, seed=13)])
def test_lane_of_pattern_reads_back_every_carrier(lane: str) -> None:
    for conditions in routing.carriers.lane_rule_conditions(lane, ["tracestate", "baggage"]):
        header = conditions[0]["http_header"]
        assert routing.carriers.lane_of_pattern(header["http_header_name"], header["regex_values"][0]) == lane
    assert routing.carriers.lane_of_pattern("baggage", routing.carriers.tracestate_pattern(lane)) is None
    assert routing.carriers.lane_of_pattern("tracestate", routing.carriers.tracestate_pattern(lane) + "x") is None

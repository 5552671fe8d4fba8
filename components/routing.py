"""Header routing for lanes: ALB listener-rule conditions, priorities, capacity.

Pure functions (no Pulumi): the lane component turns their results into
``aws.lb.ListenerRule`` resources, the runner calls :func:`allocate_priorities`
against the live listener, and the tests replay the rules through
``components.alb_eval``.

The routing rule (docs/contract.md, "Lanes and routing"): a request reaches
lane X exactly when its W3C ``tracestate`` holds the list member ``ctx=lane:X``
at any position. Not when X is only a prefix of the member's lane
(``ctx=lane:gray2`` for gray), not when the key only ends in ``ctx``
(``xctx=lane:gray``). Everything unmatched falls through to the listener's
default action, the default lane.

Why a regex and not ALB wildcards: ``values`` match the WHOLE header value with
``*`` and ``?`` only. ``*ctx=lane:gray*`` also matches ``gray2`` and ``xctx``;
the exact forms (``ctx=lane:gray``, ``ctx=lane:gray,*``, ``*,ctx=lane:gray``,
``*,ctx=lane:gray,*``) miss the optional spaces and tabs W3C allows around
commas (``*, ctx=...`` would need one pattern per whitespace run, and ``?``
would accept ``xctx``). A rule takes at most 3 values per condition, 5 per rule
and 5 wildcards, so wildcards cannot express the rule at all. One
``regex_values`` entry can:

    ^(.*,)?[ \\t]*ctx=lane:gray[ \\t]*(,.*)?$

The member is preceded by the start of the value or a comma (plus optional
whitespace) and followed by optional whitespace and then a comma or the end.
The pattern is anchored at both ends, so it routes the same whether ALB
matches a regex against the whole value or searches for it inside the value
(AWS documents neither). It uses no lookaround, backreference or other
feature ALB rejects, and at most 35 + len(lane) <= 75 characters (limit 128).

Several header lines: AWS documents for http-header conditions that "if the
same header appears multiple times in the request, we search them in order
until a match is found", i.e. each line is matched on its own. W3C lets a
sender split tracestate over several lines only at member boundaries, so a
member is always whole within one line; the pattern matches the line holding
it, and also matches the lines joined with commas (what a proxy in front of
the ALB may do). We assume regex_values follow the same per-line search as
values. ``alb_eval`` replays both readings.

Case: W3C tracestate keys are lower case and lane names are lower case.
ALB compares ``values`` case-insensitively but does not document the case
rule for regexes, so an upper-case variant (``CTX=LANE:GRAY``) reaches gray
or the default lane depending on that undocumented rule, never another lane.
Send lower case.

Carriers. ``tracestate`` always; ``baggage`` (W3C Baggage, member
``lane=X`` with optional ``;properties``) optionally per service
(``laneCarriers`` in ``params/{service}-{env}.json``). Two http-header
conditions in one rule are ANDed, so each carrier needs its own rule: a lane
costs one listener rule per carrier. Capacity per service (one ALB each):
target groups are capped at 100 per ALB (fixed), one is the default lane's,
so at most 99 other lanes; rules are capped at 100 per ALB (adjustable), so
tracestate alone allows 99 lanes and tracestate + baggage allows 50.

Priorities. Carrier i uses band i: tracestate rules live in 1000..20999,
baggage rules in 21000..40999, at the same offset (the lane's slot). So every
tracestate rule is evaluated before every baggage rule: a request whose two
headers name different lanes goes where tracestate says. 1..999 and
41000..50000 are never allocated (room for operators' own rules). A lane's
home slot is a hash of service and lane, so a redeploy gets the same
priority with no state. When the home slot is held by another lane (a hash
collision, or a hand-made rule), the probe sequence home, home+1, home+2, ...
(mod the band) finds the first free slot; the runner computes that from the
listener's live rules (``taken``) and pins it as ``multilane:priority`` in the
lane's stack config, so later deploys keep it. Two lanes created at the same
moment may both pick one free slot: one ``CreateRule`` fails with
PriorityInUse, and the runner re-reads ``taken`` and allocates again (the
winner's slot is now taken, the loser moves on along its own probe
sequence). No lock between lane stacks is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

from . import naming
from .errors import MultilaneError
from .stackname import check_lane

# --- carriers ----------------------------------------------------------------

TRACESTATE = "tracestate"
BAGGAGE = "baggage"
# Canonical order: rule i of a lane carries CARRIERS[i] and gets band i.
CARRIERS: tuple[str, ...] = (TRACESTATE, BAGGAGE)

TRACESTATE_KEY = "ctx"
TRACESTATE_VALUE_PREFIX = "lane:"
BAGGAGE_KEY = "lane"

# Optional whitespace (W3C OWS: spaces and tabs). Written as an escape so the
# pattern holds only visible ASCII (ALB rule strings exclude control characters).
_OWS = r"[ \t]*"

# --- ALB budget (documented quotas) -------------------------------------------

ALB_MAX_VALUES_PER_CONDITION = 3
ALB_MAX_MATCH_EVALUATIONS_PER_RULE = 5
ALB_MAX_WILDCARDS_PER_RULE = 5
ALB_MAX_VALUE_LEN = 128
ALB_MAX_HEADER_NAME_LEN = 40
ALB_RULES_PER_ALB = 100  # default quota, adjustable; the default rules do not count
ALB_TARGET_GROUPS_PER_ALB = 100  # fixed
PRIORITY_MIN = 1
PRIORITY_MAX = 50000

# --- priority layout ----------------------------------------------------------

LANE_BAND_START = 1000
BAND_SIZE = 20000  # slots per carrier band
# Band i covers LANE_BAND_START + i*BAND_SIZE .. + BAND_SIZE - 1.


def band(carrier_index: int) -> range:
    """Priorities of the rules that carry ``CARRIERS[carrier_index]``."""
    start = LANE_BAND_START + carrier_index * BAND_SIZE
    return range(start, start + BAND_SIZE)


# --- headers and conditions ---------------------------------------------------


def route_header(lane: str) -> str:
    """What a caller sends to reach ``lane`` (the lane's RouteHeader output).

    The default lane needs no header (unmatched requests reach it), so its
    route header is the empty string.
    """
    check_lane(lane)
    if lane == naming.DEFAULT_LANE:
        return ""
    return f"{TRACESTATE}: {TRACESTATE_KEY}={TRACESTATE_VALUE_PREFIX}{lane}"


def baggage_header(lane: str) -> str:
    """The optional second carrier's header, e.g. ``baggage: lane=gray``."""
    check_lane(lane)
    return f"{BAGGAGE}: {BAGGAGE_KEY}={lane}"


def tracestate_pattern(lane: str) -> str:
    """Anchored regex matching a tracestate line that holds ``ctx=lane:{lane}``.

    Before the member: the start, or anything up to a comma, then OWS.
    After it: OWS, then a comma and anything, or the end. A lane name is
    ``[a-z0-9-]`` only, so it needs no escaping.
    """
    check_lane(lane)
    member = f"{TRACESTATE_KEY}={TRACESTATE_VALUE_PREFIX}{lane}"
    return f"^(.*,)?{_OWS}{member}{_OWS}(,.*)?$"


def baggage_pattern(lane: str) -> str:
    """Anchored regex matching a baggage line that holds the member ``lane={lane}``.

    W3C Baggage: ``key OWS "=" OWS value *(OWS ";" OWS property)``, members
    separated by OWS "," OWS. After the value: OWS, then ``;`` (properties)
    or ``,`` (next member) and anything, or the end.
    """
    check_lane(lane)
    return f"^(.*,)?{_OWS}{BAGGAGE_KEY}{_OWS}={_OWS}{lane}{_OWS}([;,].*)?$"


_PATTERNS = {TRACESTATE: tracestate_pattern, BAGGAGE: baggage_pattern}


def lane_of_pattern(header: str, pattern: str) -> str | None:
    """The lane a rule built by :func:`lane_rule_conditions` routes to, read back
    from its header name and regex (None for any other rule). Lets the runner
    build ``taken`` from ``describe_rules`` alone."""
    make = _PATTERNS.get(header.lower())
    if make is None:
        return None
    probe = make("xx")
    head, tail = probe.split("xx")
    if not (pattern.startswith(head) and pattern.endswith(tail)):
        return None
    lane = pattern[len(head) : len(pattern) - len(tail)]
    if not naming.LABEL_RE.match(lane) or len(lane) > naming.MAX_LANE_LEN or make(lane) != pattern:
        return None
    return lane


def canonical_carriers(carriers: Sequence[str]) -> list[str]:
    """Carriers in rule order (tracestate first); rejects unknown or missing ones."""
    unknown = [c for c in carriers if c not in CARRIERS]
    if unknown:
        raise MultilaneError(f"laneCarriers holds {unknown[0]!r}; use 'tracestate', optionally followed by 'baggage'")
    if TRACESTATE not in carriers:
        raise MultilaneError("laneCarriers must include 'tracestate' (the header the README tells testers to send)")
    return [c for c in CARRIERS if c in carriers]


def lane_rule_conditions(lane: str, carriers: Sequence[str], source_cidrs: Sequence[str] = ()) -> list[list[dict]]:
    """The ``conditions`` of every listener rule ``lane`` needs, in rule order.

    One rule per carrier (conditions within a rule are ANDed, so two carriers
    cannot share a rule). Each entry is a list with one http-header condition
    in the pulumi-aws Python input shape, plus a source-ip condition when the
    service accepts lane headers only from ``source_cidrs``. The default lane
    needs no rule.
    """
    check_lane(lane)
    ordered = canonical_carriers(carriers)
    if lane == naming.DEFAULT_LANE:
        return []
    rules = []
    for carrier in ordered:
        pattern = _PATTERNS[carrier](lane)
        if len(pattern) > ALB_MAX_VALUE_LEN:  # cannot happen for lanes <= MAX_LANE_LEN; guards edits
            raise MultilaneError(f"lane {lane!r} makes a {carrier} pattern longer than {ALB_MAX_VALUE_LEN} characters")
        conditions: list[dict] = [{"http_header": {"http_header_name": carrier, "regex_values": [pattern]}}]
        if source_cidrs:
            conditions.append({"source_ip": {"values": list(source_cidrs)}})
        rules.append(conditions)
    return rules


# --- priorities ---------------------------------------------------------------


def home_slot(service: str, lane: str) -> int:
    """The lane's deterministic slot (0..BAND_SIZE-1): sha256, never Python's hash."""
    digest = hashlib.sha256(f"{service}\x1f{lane}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BAND_SIZE


def priorities_for_slot(slot: int, count: int) -> list[int]:
    return [band(i)[slot] for i in range(count)]


def slot_of(priority: int) -> int | None:
    """The slot a band priority belongs to, or None outside every band."""
    for i in range(len(CARRIERS)):
        b = band(i)
        if priority in b:
            return priority - b.start
    return None


def _check_count(count: int) -> None:
    if not 1 <= count <= len(CARRIERS):
        raise ValueError(f"a lane has 1..{len(CARRIERS)} rules (one per carrier), not {count}")


def allocate_priorities(
    service: str,
    lane: str,
    count: int,
    taken: Mapping[int, str] | None = None,
    pinned: int | None = None,
) -> list[int]:
    """Priorities of the ``count`` rules of ``lane`` (rule i carries CARRIERS[i]).

    ``taken`` maps priorities already on the listener to the lane that owns
    them (use any non-lane string such as "" for rules no lane owns); the
    lane's own priorities are free for it. With ``pinned`` (stack config
    ``multilane:priority``) the first rule gets ``pinned`` and rule i gets
    ``pinned + i*BAND_SIZE``; a collision is an error, never silently moved.
    Without it: the first slot on the probe sequence from :func:`home_slot`
    whose priorities are all free.
    """
    check_lane(lane)
    _check_count(count)
    taken = taken or {}
    if pinned is not None:
        wanted = [pinned + i * BAND_SIZE for i in range(count)]
        for p in wanted:
            if not PRIORITY_MIN <= p <= PRIORITY_MAX:
                raise MultilaneError(
                    f"multilane:priority {pinned} for lane {lane!r} puts a rule at {p}, outside "
                    f"{PRIORITY_MIN}..{PRIORITY_MAX}; pick a priority in {band(0).start}..{band(0).stop - 1}"
                )
            owner = taken.get(p)
            if owner is not None and owner != lane:
                who = f"lane {owner!r}" if owner else "a rule no lane owns"
                raise MultilaneError(
                    f"multilane:priority {pinned} for lane {lane!r} of {service} collides with {who} at priority {p} "
                    "on the listener; pin another priority or remove the setting to let multilane allocate one"
                )
        return wanted
    home = home_slot(service, lane)
    for step in range(BAND_SIZE):
        slot = (home + step) % BAND_SIZE
        wanted = priorities_for_slot(slot, count)
        if all(taken.get(p) in (None, lane) for p in wanted):
            return wanted
    raise MultilaneError(
        f"no free listener-rule priority left for lane {lane!r} of {service}: all {BAND_SIZE} slots are taken; "
        "delete unused lanes"
    )


# --- capacity -----------------------------------------------------------------


def max_lanes(carriers: Sequence[str], *, rules_per_alb: int = ALB_RULES_PER_ALB) -> int:
    """Lanes besides ``default`` one service's ALB can hold with these carriers.

    Each such lane has one target group (100 per ALB, fixed, one of them the
    default lane's) and one rule per carrier (``rules_per_alb`` per ALB,
    default quota 100, adjustable).
    """
    per_lane = len(canonical_carriers(carriers))
    return min(ALB_TARGET_GROUPS_PER_ALB - 1, rules_per_alb // per_lane)


def check_capacity(
    existing_lanes: Collection[str],
    carriers: Sequence[str],
    *,
    lane: str | None = None,
    rules_per_alb: int = ALB_RULES_PER_ALB,
) -> None:
    """Raise when one more lane would not fit the service's ALB budget.

    ``existing_lanes`` are the service's lanes in this env (``default`` is
    ignored: it uses the boot stack's target group and no rule). When
    ``lane`` is given and already exists, it is a redeploy and always fits.
    """
    ordered = canonical_carriers(carriers)
    others = {x for x in existing_lanes if x != naming.DEFAULT_LANE}
    if lane is not None and (lane == naming.DEFAULT_LANE or lane in others):
        return
    limit = max_lanes(ordered, rules_per_alb=rules_per_alb)
    if len(others) + 1 <= limit:
        return
    per_lane = len(ordered)
    if limit == ALB_TARGET_GROUPS_PER_ALB - 1:
        why = (
            f"an ALB holds {ALB_TARGET_GROUPS_PER_ALB} target groups (a fixed AWS limit) and one is the default lane's"
        )
        fix = "delete a lane you no longer need"
    else:
        why = (
            f"carriers {'+'.join(ordered)} cost {per_lane} listener rules per lane "
            f"and the ALB allows {rules_per_alb} rules"
        )
        fix = (
            "delete a lane you no longer need, drop 'baggage' from laneCarriers, "
            "or raise the 'Rules per Application Load Balancer' quota"
        )
    name = f"lane {lane!r}" if lane else "another lane"
    raise MultilaneError(
        f"{name} does not fit: the service already has {len(others)} lanes besides default and holds at most {limit} "
        f"because {why}; {fix}"
    )

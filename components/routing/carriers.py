"""Lane carriers: the headers that name a lane, their ALB rule conditions.

A carrier is one entry of :data:`CARRIERS`: its header name (the spelling in
``laneCarriers``), the header member that names a lane, the anchored regex
its listener rule matches, and its band of rule priorities. Everything else
reads the table: params validation of ``laneCarriers``, the rule conditions,
reading a rule back from ``describe_rules``, priorities and capacity
(``priorities.py``) and the policy pack. Adding a carrier is one entry here
(docs/architecture.md, "Add a carrier").

The routing rule and why it is a regex: see the package docstring
(``components/routing/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from components import naming
from components.errors import MultilaneError
from components.stackname import check_lane

from .limits import ALB_MAX_VALUE_LEN

# Optional whitespace (W3C OWS: spaces and tabs). Written as an escape so the
# pattern holds only visible ASCII (ALB rule strings exclude control characters).
_OWS = r"[ \t]*"


@dataclass(frozen=True)
class Carrier:
    """One header that can name a lane.

    ``header``: the HTTP header name, lower case (also its ``laneCarriers``
    spelling). ``member``: the list member naming a lane (``ctx=lane:gray``).
    ``pattern``: the anchored regex of the carrier's listener rule for a lane.
    ``band``: the priorities of the carrier's rules; bands follow table order
    (a lower band is evaluated first) and lie in 1..50000
    (``priorities.check_layout``). ``required``: every service routes on it.
    ``lane_of``: reads the lane back from a regex, None for a regex this
    carrier did not build; by default derived from ``pattern``.
    """

    header: str
    member: Callable[[str], str]
    pattern: Callable[[str], str]
    band: range
    required: bool = False
    lane_of: Callable[[str], str | None] | None = None

    def lane_of_pattern(self, regex: str) -> str | None:
        if self.lane_of is not None:
            return self.lane_of(regex)
        return _lane_by_probe(self.pattern, regex)


def _lane_by_probe(make: Callable[[str], str], regex: str) -> str | None:
    """The lane ``make`` was called with to give ``regex``, or None: split a
    probe pattern around its lane and check the middle rebuilds ``regex``."""
    head, tail = make("xx").split("xx")
    if not (regex.startswith(head) and regex.endswith(tail)):
        return None
    lane = regex[len(head) : len(regex) - len(tail)]
    if not naming.LABEL_RE.match(lane) or len(lane) > naming.MAX_LANE_LEN or make(lane) != regex:
        return None
    return lane


def tracestate_pattern(lane: str) -> str:
    """Anchored regex matching a tracestate line that holds ``ctx=lane:{lane}``.

    Before the member: the start, or anything up to a comma, then OWS.
    After it: OWS, then a comma and anything, or the end. A lane name is
    ``[a-z0-9-]`` only, so it needs no escaping.
    """
    check_lane(lane)
    return f"^(.*,)?{_OWS}{_tracestate_member(lane)}{_OWS}(,.*)?$"


def baggage_pattern(lane: str) -> str:
    """Anchored regex matching a baggage line that holds the member ``lane={lane}``.

    W3C Baggage: ``key OWS "=" OWS value *(OWS ";" OWS property)``, members
    separated by OWS "," OWS. After the value: OWS, then ``;`` (properties)
    or ``,`` (next member) and anything, or the end.
    """
    check_lane(lane)
    return f"^(.*,)?{_OWS}lane{_OWS}={_OWS}{lane}{_OWS}([;,].*)?$"


def _tracestate_member(lane: str) -> str:
    return f"ctx=lane:{lane}"


def _baggage_member(lane: str) -> str:
    return f"lane={lane}"


# The carriers, in rule order: a lane's rule for CARRIERS[i] lives in
# CARRIERS[i].band. 1..999 and 41000..50000 are left to operators (and to a
# third carrier's band). Existing bands never change: a lane's priority is
# its band's start plus its slot.
CARRIERS: tuple[Carrier, ...] = (
    Carrier("tracestate", _tracestate_member, tracestate_pattern, range(1000, 21000), required=True),
    Carrier("baggage", _baggage_member, baggage_pattern, range(21000, 41000)),
)


def table() -> tuple[Carrier, ...]:
    """The carrier table, read at call time (a test may register another)."""
    return CARRIERS


def names() -> list[str]:
    return [c.header for c in table()]


def carrier(header: str) -> Carrier | None:
    """The carrier of an HTTP header name (any case), or None."""
    return next((c for c in table() if c.header == header.lower()), None)


def usage(*, once: bool = False) -> str:
    """How to spell ``laneCarriers``, for error messages."""
    required = " and ".join(repr(c.header) for c in table() if c.required) + (" once" if once else "")
    optional = " or ".join(repr(c.header) for c in table() if not c.required)
    return f"{required}, optionally followed by {optional}" if optional else required


def route_header(lane: str) -> str:
    """What a caller sends to reach ``lane`` (the lane's RouteHeader output):
    the first carrier's header.

    The default lane needs no header (unmatched requests reach it), so its
    route header is the empty string.
    """
    check_lane(lane)
    if lane == naming.DEFAULT_LANE:
        return ""
    return carrier_header(table()[0].header, lane)


def carrier_header(header: str, lane: str) -> str:
    """The header line naming ``lane`` on one carrier, e.g. ``baggage: lane=gray``."""
    check_lane(lane)
    found = carrier(header)
    if found is None:
        raise MultilaneError(f"{header!r} is not a lane carrier; use {usage()}")
    return f"{found.header}: {found.member(lane)}"


def baggage_header(lane: str) -> str:
    """The optional second carrier's header, e.g. ``baggage: lane=gray``."""
    return carrier_header("baggage", lane)


def lane_of_pattern(header: str, pattern: str) -> str | None:
    """The lane a rule built by :func:`lane_rule_conditions` routes to, read back
    from its header name and regex (None for any other rule). Lets the runner
    build ``taken`` from ``describe_rules`` alone."""
    found = carrier(header)
    return None if found is None else found.lane_of_pattern(pattern)


def carrier_problem(carriers: Sequence[str]) -> str | None:
    """What is wrong with a ``laneCarriers`` list, or None."""
    known = names()
    unknown = [c for c in carriers if c not in known]
    if unknown:
        return f"holds {unknown[0]!r}; use {usage()}"
    missing = [c.header for c in table() if c.required and c.header not in carriers]
    if missing:
        return f"must include {missing[0]!r} (the header the README tells testers to send)"
    if len(set(carriers)) != len(carriers):
        return f"lists a carrier twice; use {usage()}"
    return None


def canonical(carriers: Sequence[str]) -> list[Carrier]:
    """The carriers named, in rule order; rejects unknown or missing ones."""
    problem = carrier_problem(list(dict.fromkeys(carriers)))
    if problem:
        raise MultilaneError(f"laneCarriers {problem}")
    return [c for c in table() if c.header in carriers]


def canonical_carriers(carriers: Sequence[str]) -> list[str]:
    """Carrier names in rule order (tracestate first); rejects unknown or missing ones."""
    return [c.header for c in canonical(carriers)]


# One listener-rule condition in the pulumi-aws Python input shape
# (snake_case keys; the lane layer turns it into ListenerRuleConditionArgs).
Condition = dict[str, Any]


def lane_rule_conditions(lane: str, carriers: Sequence[str], source_cidrs: Sequence[str] = ()) -> list[list[Condition]]:
    """The ``conditions`` of every listener rule ``lane`` needs, in rule order.

    One rule per carrier (conditions within a rule are ANDed, so two carriers
    cannot share a rule). Each entry is a list with one http-header condition
    in the pulumi-aws Python input shape, plus a source-ip condition when the
    service accepts lane headers only from ``source_cidrs``. The default lane
    needs no rule.
    """
    check_lane(lane)
    ordered = canonical(carriers)
    if lane == naming.DEFAULT_LANE:
        return []
    rules = []
    for c in ordered:
        pattern = c.pattern(lane)
        if len(pattern) > ALB_MAX_VALUE_LEN:  # cannot happen for lanes <= MAX_LANE_LEN; guards edits
            raise MultilaneError(f"lane {lane!r} makes a {c.header} pattern longer than {ALB_MAX_VALUE_LEN} characters")
        conditions: list[Condition] = [{"http_header": {"http_header_name": c.header, "regex_values": [pattern]}}]
        if source_cidrs:
            conditions.append({"source_ip": {"values": list(source_cidrs)}})
        rules.append(conditions)
    return rules

"""Lane carriers: the headers that name a lane, their ALB rule conditions.

The routing rule and why it is a regex: see the package docstring
(``components/routing/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from components import naming
from components.errors import MultilaneError
from components.stackname import check_lane

from .limits import ALB_MAX_VALUE_LEN

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

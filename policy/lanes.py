"""Lane rules route only their own lane, at a priority in the lane band.

A lane stack ``{service}-{env}-{lane}`` may add listener rules to its
service's shared listener. Each must carry exactly the conditions
``components.routing.carriers.lane_rule_conditions`` gives for that lane and the
service's carriers (so it names this lane and no other, with the exact
W3C-member pattern rather than a prefix match), and its priority must lie in
the band of its carrier (``components.routing.carriers.CARRIERS``), away from the
operators' own ranges and from other carriers. The lane ``default`` is the
listener's default action and has no rule at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import naming, routing
from components.contract import LISTENER_RULE, TARGET_GROUP
from components.errors import MultilaneError
from components.layers.lane.args import BOOT_DEFAULT_TG_PROP
from components.stackname import LaneTarget

from .facts import PackContext, as_list, get
from .network import LANE_COMPONENT

NAME = "lane-rules-own-lane"
DESCRIPTION = (
    "Lane rules route only their own lane: a listener rule in stack {service}-{env}-{lane} must match exactly "
    "the header member of that lane (components.routing.carriers.lane_rule_conditions) so it never captures another "
    "lane's or the default lane's traffic; the default lane has no rule. Fix: build the rule's conditions with "
    "routing.carriers.lane_rule_conditions(lane, carriers) for the stack's own lane."
)
BAND_NAME = "lane-rule-priority-band"
DESCRIPTION_BAND = (
    "Lane rule priorities stay in the lane band: the rule carrying a carrier takes a priority in that carrier's "
    "band (components.routing.carriers.CARRIERS: "
    + ", ".join(f"{c.header} {c.band.start}-{c.band.stop - 1}" for c in routing.carriers.CARRIERS)
    + "), cookie rules in 41000-44999 and progressive promotion's weighted rule in 45000-49999, leaving the "
    "rest of 1-50000 to operators and evaluating every rule of one carrier before any rule of "
    "the next. Fix: drop the pinned multilane:priority or pin one inside the band "
    "(routing.priorities.allocate_priorities)."
)

FORWARD_NAME = "lane-rules-forward-to-own-target-group"
FORWARD_DESCRIPTION = (
    "Lane rules forward only to the lane's own target group: a rule that matches lane X's header but forwards "
    "to another lane's (or the default) target group would send X's requests to a different version. Fix: "
    "forward to the target group created in the same lane stack (actions=[{type: forward, target_group_arn: "
    "tg.arn}])."
)

WEIGHTED_NAME = "lane-weighted-rule-splits-default-and-own"
WEIGHTED_DESCRIPTION = (
    "A lane's weighted rule (progressive promotion, multilane:weight) matches every request with path-pattern '*', "
    "sits in the weighted band after every header rule (components.routing.weighted.WEIGHTED_BAND) and forwards, "
    "sticky, to exactly two target groups: the boot stack's default target group and the lane's own. Anything "
    "else would hand ordinary traffic to another lane or a foreign group. Fix: build it with "
    "routing.weighted.catch_all_conditions() and routing.weighted.weighted_forward(default_tg, own_tg, weight, s)."
)

_OWS_TEXT = r"(?:\[ \\t\]\*)?"  # the text "[ \t]*" a regex value may hold around "="


def _named_lane_re() -> re.Pattern[str]:
    """Finds the lane a header value or pattern text names, on any carrier:
    each carrier's member with the lane cut out (``ctx=lane:``, ``lane=``)."""
    heads = {c.member("\0").split("\0")[0] for c in routing.carriers.table()}
    alternatives = [re.escape(h).replace("=", f"{_OWS_TEXT}={_OWS_TEXT}") for h in sorted(heads)]
    return re.compile(f"(?:{'|'.join(alternatives)})([a-z0-9-]*[a-z0-9])")


def camel_conditions(conditions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """routing's snake_case input shape -> the engine's camelCase shape."""

    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(p.title() for p in rest)

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {camel(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return [convert(c) for c in conditions]


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value if value[k] is not None}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    return value


def named_lanes(conditions: Any) -> list[str]:
    """Lane names the header values or patterns of ``conditions`` mention."""
    found: set[str] = set()
    for cond in as_list(conditions):
        header = get(cond, "httpHeader") or {}
        for text in [*as_list(get(header, "values")), *as_list(get(header, "regexValues"))]:
            for m in _named_lane_re().finditer(str(text)):
                found.add(m.group(1))
    return sorted(found)


def probes(lane: str) -> list[tuple[str, dict[str, str]]]:
    """(whose request, headers) that a rule of ``lane`` must NOT capture:
    a lane the name is a prefix of, a key that merely ends in the carrier's
    key, the default lane, and an unrelated lane, on every carrier."""
    table = routing.carriers.table()
    others = [f"{lane}2", f"{lane}-x", "default" if lane != "default" else "other", "zz-other"]
    out: list[tuple[str, dict[str, str]]] = []
    for other in others:
        out.append((other, {c.header: f"vendor=1,{c.member(other)}" for c in table}))
    out.append((f"a look-alike key for {lane}", {c.header: f"x{c.member(lane)}" for c in table}))
    return out


def own_headers(lane: str) -> dict[str, str]:
    return {c.header: f"vendor=1, {c.member(lane)}" for c in routing.carriers.table()}


def semantic_problem(lane: str, conditions: Any) -> str | None:
    """Replay the rule through the ALB evaluator under every undocumented
    ALB reading: it must capture its own lane and nobody else."""
    header_conditions = []
    for cond in as_list(conditions):
        hh = get(cond, "httpHeader")
        if hh is None:
            continue  # a path or host condition only narrows the rule further
        header_conditions.append(
            routing.rules.HeaderCondition(
                str(get(hh, "httpHeaderName", default="")),
                tuple(str(v) for v in as_list(get(hh, "values"))),
                tuple(str(v) for v in as_list(get(hh, "regexValues"))),
            )
        )
    try:
        for semantics in routing.rules.ALL_SEMANTICS:
            for whose, headers in probes(lane):
                if all(routing.rules.condition_holds(c, headers, semantics) for c in header_conditions):
                    sample = "; ".join(f"{k}: {v}" for k, v in headers.items())
                    return f"also captures requests for {whose} ({sample}), so it does not route only lane {lane!r}"
            if not all(routing.rules.condition_holds(c, own_headers(lane), semantics) for c in header_conditions):
                return f"does not match its own lane's header member ctx=lane:{lane} / lane={lane}"
    except re.error as err:
        return f"has a pattern ALB cannot evaluate: {err}"
    return None


def check_rule(lane: str, carriers: Sequence[str], conditions: Any, source_cidrs: Sequence[str] = ()) -> str | None:
    """Why a rule with ``conditions`` does not route exactly ``lane`` (or None)."""
    if lane == naming.DEFAULT_LANE:
        return "the default lane is the listener's default action and must not add a listener rule"
    actual = plain(conditions)
    expected = [camel_conditions(c) for c in routing.carriers.lane_rule_conditions(lane, carriers, source_cidrs)]
    if actual in expected:
        # routing's own output; replayed anyway, so a regression in routing
        # that loosened the pattern is caught here too.
        return semantic_problem(lane, actual)
    if not any(get(c, "httpHeader") for c in as_list(actual)):
        return "has no http-header condition, so it captures requests of every lane"
    others = [x for x in named_lanes(actual) if x != lane]
    if others:
        return f"routes lane(s) {', '.join(others)}, not this stack's lane {lane!r}"
    problem = semantic_problem(lane, actual)
    if problem:
        return problem
    return (
        f"does not carry the exact conditions of lane {lane!r}: expected one of {expected}, got {actual}; "
        "a looser pattern (a prefix or substring match) also captures other lanes"
    )


def weighted_groups(actions: Any) -> list[tuple[Any, Any]] | None:
    """(arn, weight) of a forward action to several target groups, or None for
    any other rule (a plain forward to one group)."""
    acts = as_list(actions)
    if len(acts) != 1:
        return None
    groups = as_list(get(acts[0], "forward", "targetGroups"))
    if len(groups) < 2:
        return None
    return [(get(g, "arn"), get(g, "weight")) for g in groups]


def is_weighted(props: Any) -> bool:
    """A rule that forwards to several target groups (progressive promotion's
    weighted rule, or something posing as one)."""
    return weighted_groups(get(props, "actions")) is not None


def check_weighted(lane: str, props: Any) -> str | None:
    """Why a weighted rule is not progressive promotion's rule (or None)."""
    if lane == naming.DEFAULT_LANE:
        return "is a weighted rule in the default lane's stack; only a lane being promoted may carry one"
    expected = camel_conditions(routing.weighted.catch_all_conditions())
    if plain(get(props, "conditions")) != expected:
        return f"is a weighted rule whose conditions are not exactly {expected}"
    groups = weighted_groups(get(props, "actions"))
    if groups is None or len(groups) != 2:
        return "is a weighted rule that does not forward to exactly two target groups"
    weights = [w for _, w in groups]
    if all(isinstance(w, int | float) for w in weights) and sum(weights) != routing.weighted.WEIGHT_MAX:
        return f"is a weighted rule whose weights {weights} do not add up to 100"
    enabled = get(as_list(get(props, "actions"))[0], "forward", "stickiness", "enabled")
    if enabled is not True:
        return "is a weighted rule without target-group stickiness, so a user would flip between versions"
    priority = get(props, "priority")
    if priority is None or int(priority) not in routing.weighted.WEIGHTED_BAND:
        band = routing.weighted.WEIGHTED_BAND
        return f"is a weighted rule at priority {priority}, outside the weighted band {band.start}..{band.stop - 1}"
    return None


def is_cookie_rule(conditions: Any) -> bool:
    names = [str(get(c, "httpHeader", "httpHeaderName", default="")).lower() for c in as_list(conditions)]
    return routing.cookie.COOKIE_HEADER in names


def check_cookie_rule(lane: str, conditions: Any, source_cidrs: Sequence[str] = ()) -> str | None:
    """Why a cookie rule is not exactly routing.cookie.cookie_conditions(name, value) (or None)."""
    if lane == naming.DEFAULT_LANE:
        return "the default lane is the listener's default action and must not add a listener rule"
    headers = [get(c, "httpHeader") for c in as_list(conditions) if get(c, "httpHeader") is not None]
    regexes = [str(r) for h in headers for r in as_list(get(h, "regexValues"))]
    pair = routing.cookie.cookie_of_pattern(regexes[0]) if len(headers) == 1 and len(regexes) == 1 else None
    if pair is None:
        return (
            "is a cookie rule whose condition is not one whole-pair pattern of routing.cookie.cookie_pattern "
            "(a looser match would also capture other cookies)"
        )
    expected = camel_conditions(routing.cookie.cookie_conditions(*pair, source_cidrs))
    if plain(conditions) != expected:
        return f"is a cookie rule whose conditions are not exactly {expected} (laneHeaderSourceCidrs apply to it too)"
    return None


def check_priority(priority: Any, conditions: Any) -> str | None:
    if priority is None:
        return "has no priority: AWS would pick the lowest free one, outside the lane band"
    if is_cookie_rule(conditions):
        band = routing.cookie.COOKIE_BAND
        if int(priority) not in band:
            return f"has priority {int(priority)}, outside the cookie band {band.start}..{band.stop - 1}"
        return None
    names = [str(get(c, "httpHeader", "httpHeaderName", default="")) for c in as_list(conditions)]
    found = [c for c in map(routing.carriers.carrier, names) if c is not None]
    carrier = found[0] if found else routing.carriers.table()[0]
    band = carrier.band
    if int(priority) not in band:
        return f"has priority {int(priority)}, outside the {carrier.header} lane band {band.start}..{band.stop - 1}"
    return None


def policies(ctx: PackContext) -> list[Policy]:
    def lane_target(args: ResourceValidationArgs) -> LaneTarget | None:
        if args.resource_type != LISTENER_RULE:
            return None
        target = ctx.target(args.urn)
        return target if isinstance(target, LaneTarget) else None

    def own_lane(args: ResourceValidationArgs, report: ReportViolation) -> None:
        target = lane_target(args)
        if target is None:
            return  # a rule outside a lane stack is the layer policy's business
        if is_weighted(args.props):
            return  # the weighted rule's own policy checks it
        svc = ctx.service(target.service, target.env)
        carriers = svc.lane_carriers if svc else routing.carriers.names()[:1]
        try:
            sources = svc.lane_header_source_cidrs if svc else []
            if is_cookie_rule(args.props.get("conditions")):
                problem = check_cookie_rule(target.lane, args.props.get("conditions"), sources)
            else:
                problem = check_rule(target.lane, carriers, args.props.get("conditions"), sources)
        except MultilaneError as err:
            problem = f"cannot be checked: {err}"
        if problem:
            report(f"listener rule {args.name} of lane {target.lane!r} {problem}", None)

    def priority_band(args: ResourceValidationArgs, report: ReportViolation) -> None:
        target = lane_target(args)
        if target is None or is_weighted(args.props):
            return
        problem = check_priority(args.props.get("priority"), args.props.get("conditions"))
        if problem:
            report(f"listener rule {args.name} of lane {target.lane!r} {problem}", None)

    def forward(args: StackValidationArgs, report: ReportViolation) -> None:
        for rule in args.resources:
            if rule.resource_type != LISTENER_RULE:
                continue
            target = ctx.target(rule.urn)
            if not isinstance(target, LaneTarget):
                continue
            # The forward target is an input the engine joins to the resource it
            # came from: it must be a target group of this very stack.
            sources = rule.property_dependencies.get("actions", [])
            own = [d for d in sources if d.resource_type == TARGET_GROUP]
            if is_weighted(rule.props):
                problem = weighted_forward_problem(rule, own, args.resources)
                if problem:
                    report(f"listener rule {rule.name} of lane {target.lane!r} {problem}", rule.urn)
                continue
            if len(own) != 1 or len(sources) != 1 or len(as_list(get(rule.props, "actions"))) != 1:
                report(
                    f"listener rule {rule.name} of lane {target.lane!r} does not forward to exactly one target "
                    "group of its own stack",
                    rule.urn,
                )

    def weighted_rule(args: ResourceValidationArgs, report: ReportViolation) -> None:
        target = lane_target(args)
        if target is None or not is_weighted(args.props):
            return
        problem = check_weighted(target.lane, args.props)
        if problem:
            report(f"listener rule {args.name} of lane {target.lane!r} {problem}", None)

    return [
        ResourceValidationPolicy(NAME, DESCRIPTION, own_lane, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(WEIGHTED_NAME, WEIGHTED_DESCRIPTION, weighted_rule, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(BAND_NAME, DESCRIPTION_BAND, priority_band, EnforcementLevel.MANDATORY),
        StackValidationPolicy(FORWARD_NAME, FORWARD_DESCRIPTION, forward, EnforcementLevel.MANDATORY),
    ]


def weighted_forward_problem(rule: Any, own: list[Any], resources: Sequence[Any]) -> str | None:
    """A weighted rule forwards to the lane's own target group (a dependency
    on a target group of this stack) and to the boot default target group
    (the lane component's ``bootDefaultTargetGroupArn`` input), nothing else.
    Unknown values (a preview before the target group exists) are not judged."""
    groups = weighted_groups(get(rule.props, "actions")) or []
    if len(own) != 1:
        return "is a weighted rule that does not forward to exactly one target group of its own stack"
    own_arn = get(own[0].props, "arn")
    boot_default = next(
        (
            get(r.props, BOOT_DEFAULT_TG_PROP)
            for r in resources
            if r.resource_type == LANE_COMPONENT and get(r.props, BOOT_DEFAULT_TG_PROP) is not None
        ),
        None,
    )
    arns = [a for a, _ in groups]
    known = [a for a in arns if isinstance(a, str) and a]
    allowed = {a for a in (own_arn, boot_default) if isinstance(a, str) and a}
    strangers = [a for a in known if a not in allowed]
    if boot_default is not None and own_arn and strangers:
        return (
            f"is a weighted rule that forwards to {strangers[0]}, which is neither the lane's own target group nor "
            "the boot stack's default target group"
        )
    if isinstance(boot_default, str) and boot_default and len(known) == len(arns) and boot_default not in known:
        return "is a weighted rule that does not forward to the boot stack's default target group"
    if boot_default is None:
        return "is a weighted rule in a lane whose component does not name the boot default target group"
    return None

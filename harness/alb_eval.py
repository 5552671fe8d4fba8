"""An ALB listener evaluator: which target group does a request reach?

Replays the rules the program registers (offline harness) or a listener
reports (``describe_rules``, e.g. against moto) against request headers,
with the rule model and matching of ``components/routing/rules.py``:
rules are evaluated in ascending priority; the first whose conditions all
hold wins; with none, the listener's default action applies.
:func:`evaluate` validates the rules first, so a rule set that routes here
cannot rely on something AWS refuses.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from components.routing.rules import (
    LISTENER_RULE_TYPES,
    HeaderCondition,
    Headers,
    Rule,
    RuleError,
    Semantics,
    condition_holds,
    forward,
    path_holds,
    validate_rules,
)

DEFAULT_SEMANTICS = Semantics()


def source_holds(rule: Rule, source_ip: str | None) -> bool:
    """A rule's source-ip condition; ``None`` (source not given) is any
    source the rule allows, so header-only questions stay as they were."""
    if not rule.source_cidrs or source_ip is None:
        return True
    address = ipaddress.ip_address(source_ip)
    return any(address in ipaddress.ip_network(c) for c in rule.source_cidrs)


def matching_rule(
    rules: Sequence[Rule],
    headers: Headers,
    semantics: Semantics = DEFAULT_SEMANTICS,
    source_ip: str | None = None,
    path: str = "/",
) -> Rule | None:
    """The rule that wins (lowest priority whose conditions all hold), if any."""
    validate_rules(rules)
    for rule in sorted(rules, key=lambda r: r.priority):
        if (
            all(condition_holds(c, headers, semantics) for c in rule.conditions)
            and source_holds(rule, source_ip)
            and path_holds(rule, path)
        ):
            return rule
    return None


def evaluate(
    rules: Sequence[Rule],
    default_target: str,
    headers: Headers,
    semantics: Semantics = DEFAULT_SEMANTICS,
    source_ip: str | None = None,
) -> str:
    """The target group a request with ``headers`` (from ``source_ip``) reaches.

    A weighted rule picks by chance: use :func:`route` with a :class:`Client`."""
    rule = matching_rule(rules, headers, semantics, source_ip)
    if rule is not None and rule.forward:
        raise RuleError(
            f"rule at priority {rule.priority} forwards weighted; route it with alb_eval.route and a Client"
        )
    return rule.target if rule else default_target


@dataclass
class Client:
    """One user agent: it keeps the cookie ALB sets for target-group stickiness
    (``AWSALBTG``) and sends it back, so within the duration a sticky weighted
    rule sends it to the target group it got the first time."""

    rng: random.Random
    # (listener, priority) of the rule -> (target group, expiry time)
    cookies: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)


def pick_weighted(groups: Sequence[tuple[str, int]], rng: random.Random) -> str:
    """ALB's weighted choice: each target group with probability weight / sum."""
    total = sum(w for _, w in groups)
    point = rng.random() * total
    for arn, weight in groups:
        if point < weight:
            return arn
        point -= weight
    return next(arn for arn, w in reversed(groups) if w)


def route(
    rules: Sequence[Rule],
    default_target: str,
    headers: Headers,
    client: Client,
    *,
    now: float = 0.0,
    semantics: Semantics = DEFAULT_SEMANTICS,
    source_ip: str | None = None,
    path: str = "/",
) -> str:
    """Like :func:`evaluate`, with weighted forwards: the client's stickiness
    cookie wins while it is valid and names a group of the rule; otherwise a
    weighted pick, remembered when the rule is sticky."""
    rule = matching_rule(rules, headers, semantics, source_ip, path)
    if rule is None:
        return default_target
    if not rule.forward:
        return rule.target
    key = (rule.listener, rule.priority)
    kept = client.cookies.get(key)
    if rule.stickiness_seconds and kept and kept[1] > now and kept[0] in {arn for arn, _ in rule.forward}:
        return kept[0]
    chosen = pick_weighted(rule.forward, client.rng)
    if rule.stickiness_seconds:
        client.cookies[key] = (chosen, now + rule.stickiness_seconds)
    return chosen


def rules_from_registrations(recording_or_registrations: Any) -> list[Rule]:
    """Rules from the offline harness (``harness.offline.Recording`` or its
    registrations): ``aws:lb/listenerRule:ListenerRule`` inputs, camelCase."""
    regs = getattr(recording_or_registrations, "registrations", recording_or_registrations)
    out: list[Rule] = []
    for reg in regs:
        if reg.type not in LISTENER_RULE_TYPES:
            continue
        inputs = reg.inputs
        conditions = []
        sources: tuple[str, ...] = ()
        paths: tuple[str, ...] = ()
        for cond in inputs.get("conditions") or []:
            unsupported = set(cond) - {"httpHeader", "sourceIp", "pathPattern"}
            if unsupported:
                raise RuleError(f"{reg.name}: condition {sorted(unsupported)} is not modelled")
            if "sourceIp" in cond:
                sources += tuple(cond["sourceIp"]["values"])
                continue
            if "pathPattern" in cond:
                paths += tuple(cond["pathPattern"]["values"])
                continue
            hh = cond["httpHeader"]
            conditions.append(
                HeaderCondition(
                    header=hh["httpHeaderName"],
                    values=tuple(hh.get("values") or ()),
                    regex_values=tuple(hh.get("regexValues") or ()),
                )
            )
        if "priority" not in inputs:
            raise RuleError(f"{reg.name}: no priority (ALB would pick the next free one; multilane always sets it)")
        target, groups, sticky = forward(
            inputs.get("actions") or [], type_key="type", arn_key="targetGroupArn", fwd_key="forward"
        )
        out.append(
            Rule(
                int(inputs["priority"]),
                tuple(conditions),
                target,
                str(inputs.get("listenerArn", "")),
                sources,
                paths,
                groups,
                sticky,
            )
        )
    return out

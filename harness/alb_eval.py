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
from collections.abc import Sequence
from typing import Any

from components.routing.rules import (
    LISTENER_RULE_TYPES,
    HeaderCondition,
    Headers,
    Rule,
    RuleError,
    Semantics,
    condition_holds,
    forward_target,
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
    rules: Sequence[Rule], headers: Headers, semantics: Semantics = DEFAULT_SEMANTICS, source_ip: str | None = None
) -> Rule | None:
    """The rule that wins (lowest priority whose conditions all hold), if any."""
    validate_rules(rules)
    for rule in sorted(rules, key=lambda r: r.priority):
        if all(condition_holds(c, headers, semantics) for c in rule.conditions) and source_holds(rule, source_ip):
            return rule
    return None


def evaluate(
    rules: Sequence[Rule],
    default_target: str,
    headers: Headers,
    semantics: Semantics = DEFAULT_SEMANTICS,
    source_ip: str | None = None,
) -> str:
    """The target group a request with ``headers`` (from ``source_ip``) reaches."""
    rule = matching_rule(rules, headers, semantics, source_ip)
    return rule.target if rule else default_target


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
        for cond in inputs.get("conditions") or []:
            unsupported = set(cond) - {"httpHeader", "sourceIp"}
            if unsupported:
                raise RuleError(f"{reg.name}: condition {sorted(unsupported)} is not modelled")
            if "sourceIp" in cond:
                sources += tuple(cond["sourceIp"]["values"])
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
        target = forward_target(
            inputs.get("actions") or [], type_key="type", arn_key="targetGroupArn", fwd_key="forward"
        )
        out.append(
            Rule(int(inputs["priority"]), tuple(conditions), target, str(inputs.get("listenerArn", "")), sources)
        )
    return out

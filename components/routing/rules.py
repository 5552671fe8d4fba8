"""What an ALB listener rule is, when its conditions hold, and reading rules back.

A neutral rule shape (:class:`Rule`) that the program's conditions
(:func:`rules_from_conditions`), a listener's ``describe_rules`` response
(:func:`rules_from_describe_rules`) and the policy pack all share, with ALB's
documented matching (:func:`condition_holds`) and limits
(:func:`validate_rules`). Which target a whole request reaches is the
harness's evaluator (``harness/alb_eval.py``).

Documented ALB behaviour modelled here:
- conditions of a rule are ANDed; the strings of one condition are ORed;
- ``values``: the whole header value must match, case-insensitively, with
  ``*`` (zero or more characters) and ``?`` (exactly one);
- header names compare case-insensitively;
- "if the same header appears multiple times in the request, we search them
  in order until a match is found": each header line is tried on its own.

What AWS does not document is a :class:`Semantics` switch, so a test can show
that routing is the same under every reading (:data:`ALL_SEMANTICS`):
- whether a regex must match the whole value or may match part of it;
- whether regex matching ignores case;
- whether the header lines arrive as sent or already joined with ", " by a
  proxy in front of the ALB;
- whether leading and trailing whitespace of a field value is stripped
  (RFC 9110 parsers do) before matching.

:func:`validate_rules` rejects what ALB would reject (limits, regex
features), so a rule set that passes here cannot rely on something AWS refuses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import carriers, limits

LISTENER_RULE_TYPES = frozenset({"aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"})


@dataclass(frozen=True)
class HeaderCondition:
    """An http-header condition: ``values`` (wildcards) or ``regex_values``."""

    header: str
    values: tuple[str, ...] = ()
    regex_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    priority: int
    conditions: tuple[HeaderCondition, ...]
    target: str  # the target group ARN of the forward action
    listener: str = ""
    # A source-ip condition (laneHeaderSourceCidrs): the rule matches only
    # requests from these CIDRs. Evaluated when a request names its source.
    source_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Semantics:
    regex_match: Literal["search", "whole"] = "search"
    regex_ignore_case: bool = False
    header_lines: Literal["each", "joined"] = "each"
    strip_ows: bool = True


_MATCHES: tuple[Literal["search", "whole"], ...] = ("search", "whole")
_LINES: tuple[Literal["each", "joined"], ...] = ("each", "joined")
ALL_SEMANTICS: tuple[Semantics, ...] = tuple(
    Semantics(m, i, h, s) for m, i, h, s in itertools.product(_MATCHES, (False, True), _LINES, (True, False))
)

Headers = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


# --- validation -----------------------------------------------------------------

_REGEX_UNSUPPORTED = re.compile(
    r"\(\?[=!]"  # lookahead
    r"|\(\?<[=!]"  # lookbehind
    r"|\(\?>"  # atomic group
    r"|\\[1-9]|\\k[<{']"  # backreferences
    r"|(?<!\\)[*+?}]\+"  # possessive quantifiers
    r"|\(\?R\)|\(\?[0-9+-]|\(\?&"  # recursion, subroutines
    r"|\\[pP]\{?"  # Unicode classes
)


def regex_is_alb_safe(pattern: str) -> bool:
    """False when ``pattern`` uses a feature ALB regexes do not support."""
    return _REGEX_UNSUPPORTED.search(pattern) is None


class RuleError(ValueError):
    """A rule ALB would refuse (a bug in the program that built it)."""


def validate_rules(rules: Sequence[Rule]) -> None:
    seen: dict[tuple[str, int], Rule] = {}
    for rule in rules:
        where = f"rule at priority {rule.priority}"
        if not limits.PRIORITY_MIN <= rule.priority <= limits.PRIORITY_MAX:
            raise RuleError(f"{where}: priority outside {limits.PRIORITY_MIN}..{limits.PRIORITY_MAX}")
        key = (rule.listener, rule.priority)
        if key in seen:
            raise RuleError(f"{where}: two rules share the priority on one listener (PriorityInUse)")
        seen[key] = rule
        if not rule.conditions:
            raise RuleError(f"{where}: a non-default rule needs at least one condition")
        evaluations = wildcards = 0
        for cond in rule.conditions:
            if len(cond.header) > limits.ALB_MAX_HEADER_NAME_LEN or not cond.header:
                raise RuleError(f"{where}: header name {cond.header!r} is empty or over 40 characters")
            if bool(cond.values) == bool(cond.regex_values):
                raise RuleError(f"{where}: a condition needs values or regex_values, not both or neither")
            strings = cond.values or cond.regex_values
            if len(strings) > limits.ALB_MAX_VALUES_PER_CONDITION:
                raise RuleError(f"{where}: {len(strings)} strings in one condition (limit 3)")
            evaluations += len(strings)
            for s in strings:
                if len(s) > limits.ALB_MAX_VALUE_LEN:
                    raise RuleError(f"{where}: {len(s)}-character string (limit 128)")
                if any(ord(ch) < 0x20 or ord(ch) > 0x7E for ch in s):
                    raise RuleError(f"{where}: {s!r} holds a control or non-ASCII character")
            wildcards += sum(v.count("*") + v.count("?") for v in cond.values)
            for rx in cond.regex_values:
                if not regex_is_alb_safe(rx):
                    raise RuleError(f"{where}: regex {rx!r} uses a feature ALB does not support")
                re.compile(rx)
        evaluations += len(rule.source_cidrs)
        if evaluations > limits.ALB_MAX_MATCH_EVALUATIONS_PER_RULE:
            raise RuleError(f"{where}: {evaluations} match evaluations (limit 5 per rule)")
        if wildcards > limits.ALB_MAX_WILDCARDS_PER_RULE:
            raise RuleError(f"{where}: {wildcards} wildcards (limit 5 per rule)")


# --- matching --------------------------------------------------------------------


def wildcard_matches(pattern: str, value: str) -> bool:
    """ALB ``values`` semantics: whole value, case-insensitive, ``*`` and ``?``."""
    rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL) is not None


def regex_matches(pattern: str, value: str, semantics: Semantics = Semantics()) -> bool:
    flags = re.IGNORECASE if semantics.regex_ignore_case else 0
    compiled = re.compile(pattern, flags)
    found = compiled.fullmatch(value) if semantics.regex_match == "whole" else compiled.search(value)
    return found is not None


def header_lines(headers: Headers, name: str, semantics: Semantics = Semantics()) -> list[str]:
    """The request's lines of header ``name`` (case-insensitive), in order."""
    items: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    lines: list[str] = []
    for key, value in items:
        if key.lower() != name.lower():
            continue
        lines.extend([value] if isinstance(value, str) else list(value))
    if semantics.strip_ows:
        lines = [line.strip(" \t") for line in lines]
    if semantics.header_lines == "joined" and lines:
        lines = [", ".join(lines)]
    return lines


def condition_holds(cond: HeaderCondition, headers: Headers, semantics: Semantics = Semantics()) -> bool:
    for line in header_lines(headers, cond.header, semantics):
        if any(wildcard_matches(v, line) for v in cond.values):
            return True
        if any(regex_matches(rx, line, semantics) for rx in cond.regex_values):
            return True
    return False


# --- adapters ---------------------------------------------------------------------


def forward_target(actions: Sequence[Mapping[str, Any]], *, type_key: str, arn_key: str, fwd_key: str) -> str:
    """The target group of the single forward action (weighted forwards to one group too)."""
    forwards = [a for a in actions if str(a.get(type_key, "")).lower() == "forward"]
    if len(actions) != 1 or len(forwards) != 1:
        raise RuleError(f"expected exactly one forward action, got {list(actions)!r}")
    action = forwards[0]
    if action.get(arn_key):
        return str(action[arn_key])
    groups = (action.get(fwd_key) or {}).get("targetGroups" if fwd_key == "forward" else "TargetGroups") or []
    if len(groups) == 1:
        group = groups[0]
        return str(group.get("arn") or group.get("TargetGroupArn"))
    raise RuleError(f"forward action to {len(groups)} target groups is not modelled: {action!r}")


def rules_from_describe_rules(response: Mapping[str, Any], listener: str = "") -> list[Rule]:
    """Rules from boto3 ``elbv2.describe_rules`` output (the default rule is skipped;
    see :func:`default_target_from_describe_rules`)."""
    out: list[Rule] = []
    for raw in response.get("Rules", []):
        if raw.get("IsDefault") or raw.get("Priority") == "default":
            continue
        conditions = []
        sources: tuple[str, ...] = ()
        for cond in raw.get("Conditions", []):
            if cond.get("Field") == "source-ip":
                sources += tuple(cond["SourceIpConfig"]["Values"])
                continue
            if cond.get("Field") != "http-header":
                raise RuleError(f"rule {raw.get('RuleArn')}: condition {cond.get('Field')!r} is not modelled")
            hh = cond["HttpHeaderConfig"]
            conditions.append(
                HeaderCondition(
                    header=hh["HttpHeaderName"],
                    values=tuple(hh.get("Values") or ()),
                    regex_values=tuple(hh.get("RegexValues") or ()),
                )
            )
        target = forward_target(
            raw.get("Actions", []), type_key="Type", arn_key="TargetGroupArn", fwd_key="ForwardConfig"
        )
        out.append(Rule(int(raw["Priority"]), tuple(conditions), target, listener, sources))
    return out


def default_target_from_describe_rules(response: Mapping[str, Any]) -> str:
    """The forward target of the listener's default rule."""
    for raw in response.get("Rules", []):
        if raw.get("IsDefault") or raw.get("Priority") == "default":
            return forward_target(
                raw.get("Actions", []), type_key="Type", arn_key="TargetGroupArn", fwd_key="ForwardConfig"
            )
    raise RuleError("describe_rules response has no default rule")


def lane_of_rule(rule: Rule) -> str:
    """The lane a multilane rule routes to, or "" for a rule no lane owns."""
    lanes = {carriers.lane_of_pattern(c.header, rx) for c in rule.conditions for rx in c.regex_values} | (
        {None} if any(c.values for c in rule.conditions) else set()
    )
    named = {lane for lane in lanes if lane is not None}
    return named.pop() if len(lanes) == 1 and len(named) == 1 else ""


def taken_from_rules(rules: Sequence[Rule]) -> dict[int, str]:
    """``taken`` for :func:`components.routing.priorities.allocate_priorities`: priority -> owning lane."""
    return {rule.priority: lane_of_rule(rule) for rule in rules}


def rules_from_conditions(
    conditions_per_rule: Sequence[Sequence[Mapping[str, Any]]],
    priorities: Sequence[int],
    target: str,
    listener: str = "",
) -> list[Rule]:
    """Rules from :func:`components.carriers.lane_rule_conditions` output
    (pulumi-aws Python input shape, snake_case), one per priority."""
    if len(conditions_per_rule) != len(priorities):
        raise RuleError(f"{len(conditions_per_rule)} rules but {len(priorities)} priorities")
    out = []
    for conditions, priority in zip(conditions_per_rule, priorities, strict=True):
        conds = []
        sources: tuple[str, ...] = ()
        for cond in conditions:
            if "source_ip" in cond:
                sources += tuple(cond["source_ip"]["values"])
                continue
            hh = cond["http_header"]
            conds.append(
                HeaderCondition(
                    hh["http_header_name"], tuple(hh.get("values") or ()), tuple(hh.get("regex_values") or ())
                )
            )
        out.append(Rule(priority, tuple(conds), target, listener, sources))
    return out

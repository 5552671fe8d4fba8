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

from . import carriers, limits, weighted

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
    # A path-pattern condition (the weighted catch-all rule uses ``*``):
    # case-sensitive wildcards against the request path.
    paths: tuple[str, ...] = ()
    # A weighted forward (progressive promotion): (target group, weight) pairs
    # and the target-group stickiness duration (0: not sticky). Empty: the rule
    # forwards to ``target`` alone.
    forward: tuple[tuple[str, int], ...] = ()
    stickiness_seconds: int = 0


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
        if not rule.conditions and not rule.paths:
            raise RuleError(f"{where}: a non-default rule needs at least one condition")
        _validate_forward(rule, where)
        evaluations = len(rule.paths)
        wildcards = sum(p.count("*") + p.count("?") for p in rule.paths)
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


def _validate_forward(rule: Rule, where: str) -> None:
    """A weighted forward within ALB's limits (ELB quotas and API reference):
    at most 5 target groups per action (fixed), weights 0..999 and not all 0,
    stickiness 1..604800 s when enabled."""
    if not rule.forward:
        return
    if len(rule.forward) > weighted.ALB_TARGET_GROUPS_PER_ACTION:
        raise RuleError(f"{where}: {len(rule.forward)} target groups in one forward action (limit 5)")
    if len({arn for arn, _ in rule.forward}) != len(rule.forward):
        raise RuleError(f"{where}: a target group appears twice in one forward action")
    for arn, weight in rule.forward:
        if not 0 <= weight <= weighted.ALB_TUPLE_WEIGHT_MAX:
            raise RuleError(f"{where}: weight {weight} of {arn} outside 0..999")
    if not any(w for _, w in rule.forward):
        raise RuleError(f"{where}: every target group of the forward action has weight 0")
    if rule.stickiness_seconds and not (
        weighted.STICKINESS_MIN_SECONDS <= rule.stickiness_seconds <= weighted.STICKINESS_MAX_SECONDS
    ):
        raise RuleError(f"{where}: stickiness {rule.stickiness_seconds} s outside 1..604800")


# --- matching --------------------------------------------------------------------


def path_holds(rule: Rule, path: str) -> bool:
    """A path-pattern condition: case-sensitive ``*``/``?`` against the whole path."""
    if not rule.paths:
        return True
    for pattern in rule.paths:
        rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
        if re.fullmatch(rx, path, re.DOTALL):
            return True
    return False


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
        # RFC 9113 8.2.3: split cookie fields are joined with "; ", other fields with ", ".
        lines = [("; " if name.lower() == "cookie" else ", ").join(lines)]
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
    target, groups, _ = forward(actions, type_key=type_key, arn_key=arn_key, fwd_key=fwd_key)
    if groups:
        raise RuleError(f"forward action to {len(groups)} target groups: {list(actions)!r}")
    return target


def forward(
    actions: Sequence[Mapping[str, Any]], *, type_key: str, arn_key: str, fwd_key: str
) -> tuple[str, tuple[tuple[str, int], ...], int]:
    """(single target, weighted groups, stickiness seconds) of the single forward action.

    One group (a plain ``targetGroupArn`` or a forward config with one group)
    gives the target and no weighted groups; several give the weighted groups
    (target: the first) and their stickiness (0 when off)."""
    forwards = [a for a in actions if str(a.get(type_key, "")).lower() == "forward"]
    if len(actions) != 1 or len(forwards) != 1:
        raise RuleError(f"expected exactly one forward action, got {list(actions)!r}")
    action = forwards[0]
    if action.get(arn_key):
        return str(action[arn_key]), (), 0
    groups = weighted.forward_groups(action)
    if len(groups) == 1:
        return groups[0][0], (), 0
    if not groups:
        raise RuleError(f"forward action without target groups: {action!r}")
    enabled, duration = weighted.stickiness(action)
    return groups[0][0], tuple(groups), duration if enabled else 0


def rules_from_describe_rules(response: Mapping[str, Any], listener: str = "") -> list[Rule]:
    """Rules from boto3 ``elbv2.describe_rules`` output (the default rule is skipped;
    see :func:`default_target_from_describe_rules`)."""
    out: list[Rule] = []
    for raw in response.get("Rules", []):
        if raw.get("IsDefault") or raw.get("Priority") == "default":
            continue
        conditions = []
        sources: tuple[str, ...] = ()
        paths: tuple[str, ...] = ()
        for cond in raw.get("Conditions", []):
            if cond.get("Field") == "source-ip":
                sources += tuple(cond["SourceIpConfig"]["Values"])
                continue
            if cond.get("Field") == "path-pattern":
                paths += tuple((cond.get("PathPatternConfig") or {}).get("Values") or cond.get("Values") or ())
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
        target, groups, sticky = forward(
            raw.get("Actions", []), type_key="Type", arn_key="TargetGroupArn", fwd_key="ForwardConfig"
        )
        out.append(Rule(int(raw["Priority"]), tuple(conditions), target, listener, sources, paths, groups, sticky))
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

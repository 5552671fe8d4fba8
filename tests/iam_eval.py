"""A small IAM policy evaluator for identity policies, for tests.

It implements the parts of AWS's evaluation logic our policies use:
- Effect Allow/Deny; an explicit Deny in any policy wins, then any Allow,
  else the request is implicitly denied.
- Action / NotAction with ``*`` and ``?`` wildcards, case-insensitive.
- Resource / NotResource with ``*`` and ``?`` wildcards (``*`` crosses ``/``
  and ``:``, as in IAM), case-sensitive.
- Condition operators StringEquals, StringNotEquals, StringLike,
  StringNotLike, ArnEquals, ArnNotEquals, ArnLike, Bool, Null and the ForAnyValue: and
  ForAllValues: set prefixes on the string operators, with AWS's rules:
  values of one key are ORed, keys and operators are ANDed, a missing key
  makes a positive operator false and a negated one true (and ForAllValues
  true: every one of no values matches). Condition keys match
  case-insensitively.
- Permissions boundaries (:func:`evaluate_bounded`): an action is allowed
  only when both the identity policies and the boundary allow it, and an
  explicit Deny in either wins.

Not modelled (and not used by multilane's documents): policy variables,
IfExists suffixes, numeric/date/IP operators, resource-based and session
policies and SCPs. An operator the
evaluator does not know raises instead of being ignored, so a test can never
pass because a condition was silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit-deny", "implicit-deny"


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return bool(_glob(pattern, case_sensitive).match(value))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        for k, v in self.context.items():
            if k.lower() == key.lower():
                return [str(x).lower() if isinstance(x, bool) else str(x) for x in _list(v)]
        return None


def _string_op(op: str) -> tuple[bool, bool, bool]:
    """(negated, wildcard, case_sensitive) of a string-like operator."""
    table = {
        "StringEquals": (False, False, True),
        "StringNotEquals": (True, False, True),
        "StringLike": (False, True, True),
        "StringNotLike": (True, True, True),
        "ArnEquals": (False, False, True),
        "ArnNotEquals": (True, False, True),
        "ArnLike": (False, True, True),
        "Bool": (False, False, False),
    }
    if op not in table:
        raise NotImplementedError(f"condition operator {op!r} is not modelled by tests/iam_eval.py")
    return table[op]


def _value_matches(actual: str, wanted: list[str], wildcard: bool, case_sensitive: bool) -> bool:
    if wildcard:
        return any(glob_match(w, actual, case_sensitive=case_sensitive) for w in wanted)
    if case_sensitive:
        return actual in wanted
    return actual.lower() in [w.lower() for w in wanted]


def condition_holds(condition: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    for raw_op, block in condition.items():
        if raw_op == "Null":
            # AWS: "true" holds when the key is absent, "false" when it is present.
            for key, expected in block.items():
                absent = request.value(key) is None
                if absent != (str(expected).lower() == "true"):
                    return False
            continue
        prefix, _, op = raw_op.rpartition(":")
        if prefix not in ("", "ForAnyValue", "ForAllValues"):
            raise NotImplementedError(f"condition set operator {prefix!r} is not modelled")
        negated, wildcard, case_sensitive = _string_op(op)
        if prefix == "ForAllValues" and negated:
            raise NotImplementedError(f"{raw_op} is not modelled")
        for key, expected in block.items():
            present = request.value(key)
            if present is None:
                if not negated and prefix != "ForAllValues":
                    return False
                continue
            wanted = [str(e).lower() if isinstance(e, bool) else str(e) for e in _list(expected)]
            if prefix == "ForAllValues":
                if not all(_value_matches(a, wanted, wildcard, case_sensitive) for a in present):
                    return False
                continue
            hit = any(_value_matches(a, wanted, wildcard, case_sensitive) for a in present)
            if hit == negated:
                return False
    return True


def statement_matches(stmt: Mapping[str, Any], request: Request) -> bool:
    if "Action" in stmt:
        ok = any(glob_match(a, request.action, case_sensitive=False) for a in _list(stmt["Action"]))
    else:
        ok = not any(glob_match(a, request.action, case_sensitive=False) for a in _list(stmt["NotAction"]))
    if not ok:
        return False
    if "Resource" in stmt:
        ok = any(glob_match(r, request.resource) for r in _list(stmt["Resource"]))
    else:
        ok = not any(glob_match(r, request.resource) for r in _list(stmt["NotResource"]))
    if not ok:
        return False
    return condition_holds(stmt.get("Condition", {}), request)


def evaluate(
    policies: Iterable[Mapping[str, Any]], action: str, resource: str, context: Mapping[str, Any] | None = None
) -> str:
    request = Request(action, resource, context or {})
    allowed = False
    for policy in policies:
        for stmt in _list(policy["Statement"]):
            if not statement_matches(stmt, request):
                continue
            if stmt["Effect"] == "Deny":
                return EXPLICIT_DENY
            if stmt["Effect"] == "Allow":
                allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


def evaluate_bounded(
    policies: Iterable[Mapping[str, Any]],
    boundary: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
) -> str:
    """A role's effective decision under a permissions boundary: the
    intersection of what its policies and the boundary allow."""
    own = evaluate(policies, action, resource, context)
    limit = evaluate([boundary], action, resource, context)
    if EXPLICIT_DENY in (own, limit):
        return EXPLICIT_DENY
    return ALLOW if own == limit == ALLOW else IMPLICIT_DENY


def matching_sids(
    policies: Sequence[Mapping[str, Any]], action: str, resource: str, context: Mapping[str, Any] | None = None
) -> list[str]:
    """Which statements matched: the explanation a failing test prints."""
    request = Request(action, resource, context or {})
    return [
        f"{s['Effect']}:{s.get('Sid', '?')}"
        for p in policies
        for s in _list(p["Statement"])
        if statement_matches(s, request)
    ]

"""The weighted catch-all rule of progressive promotion (issue #15), as plain data.

A lane stack with ``multilane:weight`` w (1..100) adds ONE listener rule that
matches every request (a ``path-pattern`` of ``*``) and forwards it with
weights (100 - w, w) to the boot stack's default target group and the lane's
own target group, with target-group stickiness on the forward action, so a
client that got one side keeps it for ``stickinessSeconds``. Weight 0 (the
default) means no such rule.

It lives in its own priority band after every header rule, so a request that
names a lane by header still reaches that lane; it only splits the requests
that no header rule took, which would otherwise fall through to the boot
listener's default action. The default action itself is never touched.

ALB limits this respects (Elastic Load Balancing docs, "Quotas for your
Application Load Balancers" and the API reference):
- target groups per forward action: 5, fixed (we use 2);
- TargetGroupTuple weight: 0..999 (we use 0..100, summing to 100);
- TargetGroupStickinessConfig DurationSeconds: 1..604800 (7 days);
- a rule needs at least one condition: one path-pattern value ``*``
  (1 match evaluation, 1 wildcard of the 5 per rule);
- priorities 1..50000, unique per listener.

Pure functions only: the lane component turns them into a
``aws.lb.ListenerRule``, the policy pack and ``harness/alb_eval.py`` read them back.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from typing import Any

from components.errors import MultilaneError

WEIGHT_KEY = "weight"  # stack config multilane:weight
WEIGHT_MIN = 0
WEIGHT_MAX = 100
STICKINESS_MIN_SECONDS = 1
STICKINESS_MAX_SECONDS = 604800  # 7 days
ALB_TARGET_GROUPS_PER_ACTION = 5  # fixed quota
ALB_TUPLE_WEIGHT_MAX = 999
CATCH_ALL_PATH = "*"

# The band after every header rule (tracestate 1000..20999, baggage
# 21000..40999, cookie 41000..44999).
WEIGHTED_BAND = range(45000, 50000)


def parse_weight(text: str | None, *, where: str) -> int:
    """``multilane:weight`` as an int 0..100; ``where`` names the file and key in the message."""
    if text in (None, ""):
        return 0
    raw = str(text).strip()
    if not raw.isdigit() or len(raw) > 3:
        raise MultilaneError(f"{where} {str(text)[:20]!r} is not a whole number; set 0..100 (percent of traffic)")
    weight = int(raw)
    if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
        raise MultilaneError(f"{where} {weight} is outside {WEIGHT_MIN}..{WEIGHT_MAX}; it is a percent of traffic")
    return weight


def steps_problem(steps: list[int]) -> str | None:
    """Why a promotion's weights are not usable, or None: whole percents
    1..100, rising step by step, ending at 100 (so the full share is baked
    before the cutover). One rule for params and ``promote --steps``."""
    bad = [s for s in steps if not 1 <= s <= WEIGHT_MAX]
    if bad:
        return f"holds {bad[0]}, outside 1..100; each step is a percent of traffic"
    if any(b <= a for a, b in itertools.pairwise(steps)):
        return "does not rise step by step; list each weight once, smallest first"
    if steps[-1] != WEIGHT_MAX:
        return f"ends at {steps[-1]}; end at 100, so the full share is baked before the cutover"
    return None


def weighted_priority(service: str, lane: str) -> int:
    """The lane's weighted rule priority: a sha256 slot in :data:`WEIGHTED_BAND`
    (deterministic, no stored state; only one lane of a service may hold a
    weighted rule at a time, the runner refuses a second)."""
    digest = hashlib.sha256(f"{service}\x1f{lane}\x1fweighted".encode()).digest()
    return WEIGHTED_BAND.start + int.from_bytes(digest[:8], "big") % len(WEIGHTED_BAND)


def catch_all_conditions() -> list[dict[str, Any]]:
    """The rule's one condition (pulumi-aws input shape): every path."""
    return [{"path_pattern": {"values": [CATCH_ALL_PATH]}}]


def weighted_forward(default_tg: Any, lane_tg: Any, weight: int, stickiness_seconds: int) -> dict[str, Any]:
    """The rule's forward action (pulumi-aws ``ListenerRuleAction`` input shape).

    ``default_tg`` and ``lane_tg`` may be Pulumi Outputs; no apply is needed.
    """
    if not 1 <= weight <= WEIGHT_MAX:
        raise ValueError(f"a weighted rule needs weight 1..{WEIGHT_MAX}, not {weight}")
    if not STICKINESS_MIN_SECONDS <= stickiness_seconds <= STICKINESS_MAX_SECONDS:
        raise ValueError(f"stickiness {stickiness_seconds} s is outside 1..604800")
    return {
        "type": "forward",
        "forward": {
            "target_groups": [
                {"arn": default_tg, "weight": WEIGHT_MAX - weight},
                {"arn": lane_tg, "weight": weight},
            ],
            "stickiness": {"enabled": True, "duration": stickiness_seconds},
        },
    }


def forward_groups(action: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(target group ARN, weight) of a forward action in any of the three shapes
    (pulumi-aws snake_case, registered camelCase, boto3 describe_rules)."""
    if action.get("target_group_arn") or action.get("targetGroupArn") or action.get("TargetGroupArn"):
        arn = action.get("target_group_arn") or action.get("targetGroupArn") or action.get("TargetGroupArn")
        return [(str(arn), 1)]
    fwd = action.get("forward") or action.get("ForwardConfig") or {}
    groups = fwd.get("target_groups") or fwd.get("targetGroups") or fwd.get("TargetGroups") or []
    out = []
    for g in groups:
        arn = g.get("arn") or g.get("TargetGroupArn") or ""
        weight = g.get("weight", g.get("Weight", 1))
        out.append((str(arn), int(weight if weight is not None else 1)))
    return out


def stickiness(action: Mapping[str, Any]) -> tuple[bool, int]:
    """(enabled, duration seconds) of a forward action's target-group stickiness."""
    fwd = action.get("forward") or action.get("ForwardConfig") or {}
    st = fwd.get("stickiness") or fwd.get("TargetGroupStickinessConfig") or {}
    enabled = bool(st.get("enabled", st.get("Enabled", False)))
    duration = int(st.get("duration", st.get("DurationSeconds", 0)) or 0)
    return enabled, duration

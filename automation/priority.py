"""Listener-rule priority check before a lane's ``up`` (the article's defect 1).

The lane program picks ``allocate_priorities(service, lane, carriers, taken={},
pinned=config.priority)``: deterministic, with no view of the listener. Before
``up`` the runner reads the listener's live rules, computes the real ``taken``
(priority -> owning lane, read back from each rule's header pattern with
components.routing.rules, else from its ``Lane`` tag) and, when the
program's slot is held by another lane, pins ``multilane:priority`` to a free
slot. A lane whose rules are already on the listener keeps its priority.

``RulesSource`` is injectable: tests pass a function (or moto); the default
reads AWS with boto3 when credentials exist and otherwise says the check was
skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.errors import MultilaneError


@dataclass(frozen=True)
class LiveRule:
    arn: str
    priority: int
    lane: str | None  # the lane it routes to (its header pattern, else its Lane tag); None: no lane's


# listener ARN -> its rules (default rule excluded), or None when AWS is not reachable.
RulesSource = Callable[[str], "list[LiveRule] | None"]
Allocate = Callable[..., list[int]]


def taken_map(rules: list[LiveRule]) -> dict[int, str]:
    # An untagged rule belongs to nobody we know: it still blocks its slot.
    return {r.priority: r.lane or "(untagged rule)" for r in rules}


@dataclass(frozen=True)
class PriorityPlan:
    desired: list[int]  # what the program would pick on its own
    live: list[int]  # a collision-free choice given the listener's rules
    pin: int | None  # the value to set as multilane:priority, or None
    reason: str


def plan(
    allocate: Allocate,
    service: str,
    lane: str,
    carriers: Sequence[str] | int,
    rules: list[LiveRule],
    pinned: int | None,
    *,
    avoid: Mapping[int, str] | None = None,
) -> PriorityPlan:
    """Decide whether the lane needs a pinned priority.

    ``avoid`` adds slots to treat as taken (after a PriorityInUse failure the
    slot the engine tried is added even if the rule list does not show it yet).
    """
    taken = taken_map(rules)
    taken.update(avoid or {})
    desired = allocate(service, lane, carriers, taken={}, pinned=pinned)
    if pinned is not None:
        # A pin the user (or an earlier run) chose must not collide; the
        # allocator raises a MultilaneError naming the owner when it does.
        checked = allocate(service, lane, carriers, taken=taken, pinned=pinned)
        return PriorityPlan(desired, checked, None, f"pinned priority {pinned} is free on the listener")
    own = sorted(p for p, owner in taken.items() if owner == lane)
    live: list[int] | None = None
    if own:
        try:
            live = allocate(service, lane, carriers, taken=taken, pinned=own[0])
        except MultilaneError:
            live = None
    if live is None:
        live = allocate(service, lane, carriers, taken=taken, pinned=None)
    if live == desired:
        return PriorityPlan(desired, live, None, f"priority {desired[0]} is free on the listener")
    holder = taken.get(desired[0])
    why = f"priority {desired[0]} is held by {holder}" if holder and holder != lane else "keeping the live priority"
    return PriorityPlan(desired, live, live[0], f"{why}; pinning multilane:priority={live[0]}")


def lane_of_raw_rule(raw: Mapping[str, Any]) -> str | None:
    """The lane a describe_rules entry routes to, read back from its header
    pattern (components.routing.rules); None for rules multilane did not build."""
    from components import routing

    try:
        (rule,) = routing.rules.rules_from_describe_rules({"Rules": [raw]})
    except (routing.rules.RuleError, KeyError, ValueError):
        return None  # e.g. an operator's path-pattern rule
    return routing.rules.lane_of_rule(rule) or None


def live_rules(pages: list[Mapping[str, Any]], tags: Mapping[str, str]) -> list[LiveRule]:
    """LiveRules from describe_rules pages; ``tags`` maps rule ARN -> Lane tag
    (used when the pattern does not name a lane)."""
    out = []
    for page in pages:
        for raw in page.get("Rules", []):
            if raw.get("IsDefault") or raw.get("Priority") == "default":
                continue
            lane = lane_of_raw_rule(raw) or tags.get(raw["RuleArn"])
            out.append(LiveRule(raw["RuleArn"], int(raw["Priority"]), lane))
    return out


def boto3_rules_source(listener_arn: str) -> list[LiveRule] | None:
    """The listener's rules and their lanes, or None without AWS credentials."""
    import boto3

    session = boto3.session.Session()
    if session.get_credentials() is None:
        return None
    region = listener_arn.split(":")[3] or session.region_name
    return rules_of_listener(session.client("elbv2", region_name=region), listener_arn)


def rules_of_listener(elbv2: Any, listener_arn: str) -> list[LiveRule]:
    """describe_rules plus the rules' Lane tags, through an elbv2 client."""
    pages = list(elbv2.get_paginator("describe_rules").paginate(ListenerArn=listener_arn))
    arns = [r["RuleArn"] for p in pages for r in p["Rules"] if not r.get("IsDefault")]
    tags: dict[str, str] = {}
    for i in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
        for desc in elbv2.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            for tag in desc.get("Tags", []):
                if tag["Key"] == "Lane":
                    tags[desc["ResourceArn"]] = tag["Value"]
    return live_rules(pages, tags)

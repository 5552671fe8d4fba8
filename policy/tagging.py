"""Tags: every taggable resource carries the stack's identity.

Env, Layer and ManagedBy always; Service in boot and lane stacks; Lane in
lane stacks; with the values the stack name resolves to
(``components.naming.tags``). Tags are checked on the resource's own inputs:
a provider's ``default_tags`` would not show here, and cost reports, IAM
conditions and the lane listing all read the resource's tags.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from components import naming
from components.stackname import BootTarget, LaneTarget, Target

from .facts import PackContext, taggable

NAME = "required-tags"
DESCRIPTION = (
    "Tags: every taggable resource carries Env, Layer and ManagedBy, plus Service (boot and lane stacks) and "
    "Lane (lane stacks), with the values the stack name resolves to. Cost reports, the lane listing and "
    "IAM tag conditions depend on them. Fix: pass tags=naming.tags(env, layer, service, lane) to the "
    "resource (provider default_tags do not count)."
)


def expected_tags(target: Target) -> dict[str, str]:
    # Pipelines serve every service of an env: Service is per resource there.
    service = target.service if isinstance(target, BootTarget | LaneTarget) else None
    lane = target.lane if isinstance(target, LaneTarget) else None
    return naming.tags(target.env, target.layer, service, lane)


def tag_problems(expected: Mapping[str, str], tags: Mapping[str, object] | None) -> str | None:
    tags = tags or {}
    missing = [k for k in expected if k not in tags]
    wrong = [f"{k}={tags[k]!r} (expected {v!r})" for k, v in expected.items() if k in tags and tags[k] != v]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if wrong:
        parts.append("wrong " + ", ".join(wrong))
    return "; ".join(parts) or None


def policies(ctx: PackContext) -> list[Policy]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not taggable(args.resource_type):
            return
        target = ctx.target(args.urn)
        if target is None:
            return  # layer-boundaries reports the unresolvable stack
        tags = args.props.get("tags")
        problem = tag_problems(expected_tags(target), tags if isinstance(tags, Mapping) else None)
        if problem:
            report(f"{args.resource_type} {args.name}: {problem}", None)

    return [ResourceValidationPolicy(NAME, DESCRIPTION, validate, EnforcementLevel.MANDATORY)]

"""Pipeline roles carry the explicit cross-layer Deny (the article's
``Deny boot-*, infra-environment-*``).

A role's layer is read from what it is allowed to do, not from its name: a
role whose documents allow writing the Pulumi state of a layer's stack
(``s3:PutObject`` on ``.pulumi/stacks/multilane/<stack>.json`` in the state
bucket of ``params/pipelines-{env}.json``) deploys that layer. Then:

- a deploy role must carry unconditional Deny statements on writing every
  other layer's state, and on the crown-jewel actions of every other
  deployable layer (:data:`CROWN_JEWELS`);
- a role that deploys nothing (CodePipeline's role, an app build role that
  runs the app repository's Dockerfile) must be denied writing any state.

Explicit Deny wins over any Allow, including one attached by hand later, so
a compromised app pipeline cannot rewrite the ALB, the network or another
layer's state however its Allows drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import naming, params

from .facts import PackContext, denies, statement_covers, statements
from .iam import attached_documents

ROLE = "aws:iam/role:Role"
STATE_WRITE = "s3:PutObject"

# What each deployable layer alone may change: every other layer's deploy
# role must be denied these outright.
CROWN_JEWELS: dict[str, tuple[str, ...]] = {
    "infra": ("ec2:DeleteVpc", "ec2:DeleteSubnet", "ec2:DeleteRoute", "ecs:DeleteCluster"),
    "boot": (
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:ModifyListener",
    ),
    "lane": ("elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule", "ecs:DeleteService"),
}

NAME = "pipeline-role-cross-layer-deny"
DESCRIPTION = (
    "Pipeline roles carry the explicit cross-layer Deny: a role that deploys one layer (it may write that "
    "layer's Pulumi state) is explicitly denied writing the other layers' state and their key resources "
    "(network and cluster, ALB and listeners, lane rules and services), and a role that deploys nothing "
    "(CodePipeline, app build) is denied writing any state, so a compromised or misconfigured pipeline "
    "cannot cross a layer boundary. Fix: add the Deny statements of components/iam/ to the role's policy."
)


def sample_stacks(env: str, params_dir: Any) -> dict[str, list[str]]:
    """One stack name per layer instance the env can have (every service)."""
    services = params.services(env, params_dir) or ["service"]
    return {
        "infra": [naming.infra_stack(env)],
        "boot": [naming.boot_stack(s, env) for s in services],
        "lane": [naming.lane_stack(s, env, "gray") for s in services],
        "pipelines": [naming.pipelines_stack(env)],
    }


def state_arn(bucket: str, stack: str) -> str:
    return f"arn:aws:s3:::{bucket}/{naming.STATE_ROOT}/stacks/{naming.PROJECT}/{stack}.json"


def _allows(docs: Iterable[dict[str, Any]], action: str, resource: str) -> bool:
    return any(
        st.get("Effect") == "Allow" and statement_covers(st, action, resource) for d in docs for st in statements(d)
    )


def role_problems(docs: list[dict[str, Any]], bucket: str, samples: dict[str, list[str]]) -> list[str]:
    all_statements = [st for d in docs for st in statements(d)]
    deploys = sorted(
        layer
        for layer, stacks in samples.items()
        if any(_allows(docs, STATE_WRITE, state_arn(bucket, s)) for s in stacks)
    )
    problems: list[str] = []
    for layer, stacks in samples.items():
        if layer in deploys:
            continue
        open_ = [s for s in stacks if not denies(all_statements, STATE_WRITE, state_arn(bucket, s))]
        if open_:
            who = f"deploys {', '.join(deploys)} but" if deploys else "deploys no layer but"
            problems.append(f"{who} is not explicitly denied writing the state of {', '.join(open_)}")
    if deploys:
        for layer, actions in CROWN_JEWELS.items():
            if layer in deploys:
                continue
            missing = [a for a in actions if not denies(all_statements, a)]
            if missing:
                problems.append(
                    f"deploys {', '.join(deploys)} but is not explicitly denied {layer}-layer actions {', '.join(missing)}"
                )
    return problems


def policies(ctx: PackContext) -> list[Policy]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        roles: list[PolicyResource] = [r for r in args.resources if r.resource_type == ROLE]
        if not roles:
            return
        target = ctx.target(roles[0].urn)
        if target is None or target.layer != "pipelines":
            return
        try:
            bucket = params.load_pipelines(target.env, ctx.params_dir).state_bucket
        except Exception as err:  # the program fails on the same file first
            report(f"cannot read the state bucket of {target.env}: {err}", None)
            return
        samples = sample_stacks(target.env, ctx.params_dir)
        for role in roles:
            docs = attached_documents(role, args.resources)
            for problem in role_problems(docs, bucket, samples):
                report(f"role {role.name} {problem}", role.urn)

    return [StackValidationPolicy(NAME, DESCRIPTION, validate, EnforcementLevel.MANDATORY)]

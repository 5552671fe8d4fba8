"""IAM: no administrator grants; pipeline roles carry the cross-layer Deny.

``no-admin-statement`` reads every permissions document a resource carries
(role inline policies, role/user/group policies, managed policies, bucket,
repository, key, queue and topic policies) and rejects an Allow of every
action (``*``, or ``NotAction``) on every resource (``*``, or
``NotResource``).

``pipeline-role-cross-layer-deny`` (stack policy, pipelines stacks) joins
each pipeline role to the documents attached to it and requires explicit,
unconditional Deny statements at its layer boundary: a deploy role must be
denied writing the other layers' state objects and the other layers'
crown-jewel resources; build and CodePipeline roles must be denied the state
bucket. An Allow can be widened later (a managed policy attached by hand);
an explicit Deny still wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from components import iam as iam_docs
from components import naming
from components.stackname import LaneTarget

from .facts import PackContext, action_matches, as_list, documents, get, parse_document, statements

ADMIN_NAME = "iam-no-admin-statement"
ADMIN_DESCRIPTION = (
    "IAM: no statement allows every action on every resource ('*' on '*', or NotAction/NotResource that amount "
    "to it); a leaked pipeline or task credential must not own the account. Fix: list the actions the role "
    "needs and scope Resource to the ARNs it owns (components/iam/)."
)


def admin_statements(doc: Mapping[str, Any]) -> list[str]:
    """Labels of the statements of ``doc`` that allow everything on everything."""
    found = []
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
        every_action = any(a in ("*", "*:*") for a in actions) or ("NotAction" in st and not actions)
        resources = [r for r in as_list(st.get("Resource")) if isinstance(r, str)]
        every_resource = "*" in resources or ("NotResource" in st and not resources)
        if every_action and every_resource:
            found.append(str(st.get("Sid") or f"Statement[{i}]"))
    return found


def check_documents(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for where, raw in documents(type_, props):
        doc = parse_document(raw)
        if doc is None:
            yield f"{where} is not a JSON policy document"
            continue
        for label in admin_statements(doc):
            yield f"{where} statement {label} allows every action on every resource"


SECRETS_NAME = "iam-no-wildcard-secrets"
SECRETS_DESCRIPTION = (
    "IAM: no statement lets a role read secrets by wildcard (secretsmanager:GetSecretValue or ssm:GetParameter(s) "
    "on '*' or on an ARN with '*' or '?'); an execution role so granted hands every lane every secret of the "
    "account. Fix: list each secret's full ARN in params/{service}-{env}.json `secrets` (components/params.py "
    "refuses wildcards) and let components/iam.lane_roles.lane_execution_policy grant exactly those."
)
SECRET_READ_ACTIONS = (
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)


def _wildcard_secret_resource(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[2] not in ("secretsmanager", "ssm"):
        return False
    return any(c in ":".join(parts[2:]) for c in "*?")


def wildcard_secret_statements(doc: Mapping[str, Any]) -> list[str]:
    """Labels of the Allow statements of ``doc`` that read secrets by wildcard."""
    found = []
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow" or "NotAction" in st or "NotResource" in st:
            continue
        actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
        reads = sorted({a for a in SECRET_READ_ACTIONS if any(action_matches(p, a) for p in actions)})
        wild = [r for r in as_list(st.get("Resource")) if isinstance(r, str) and _wildcard_secret_resource(r)]
        if reads and wild:
            found.append(f"{st.get('Sid') or f'Statement[{i}]'} ({', '.join(reads)} on {', '.join(wild)})")
    return found


BOUNDED_NAME = "lane-roles-bounded"
BOUNDED_DESCRIPTION = (
    "Lane roles carry the service's permissions boundary and trust only ECS tasks: the app deploy role may create "
    "lane roles only under that boundary (components/iam/), and a lane role trusting anything else would hand "
    "the service's secrets to it. Fix: create lane roles as components/layers/lane/ does (permissions_boundary="
    "iam.pipeline_roles.lane_boundary_arn(...), assume_role_policy=iam.lane_roles.ecs_tasks_assume_role_policy(...))."
)


def lane_role_problems(service: str, env: str, props: Any) -> list[str]:
    problems = []
    boundary = get(props, "permissionsBoundary")
    path = naming.lane_boundary_policy_path(service, env)
    suffix = f":policy{path}{naming.lane_boundary_policy_name(service, env)}"
    if not (isinstance(boundary, str) and boundary.startswith("arn:") and boundary.endswith(suffix)):
        problems.append(f"has permissions boundary {boundary!r}, not the service's ...{suffix}")
    trust = parse_document(get(props, "assumeRolePolicy"))
    principals = [get(st, "Principal") for st in statements(trust or {})]
    if not principals or any(p != {"Service": iam_docs.lane_roles.ECS_TASKS_PRINCIPAL} for p in principals):
        problems.append(f"trusts {principals!r}, not only {iam_docs.lane_roles.ECS_TASKS_PRINCIPAL}")
    return problems


def attached_documents(role: PolicyResource, resources: Iterable[PolicyResource]) -> list[dict[str, Any]]:
    """Every permissions document that applies to ``role``: inline policies,
    RolePolicy resources naming it and managed Policies attached to it."""
    resources = list(resources)
    docs: list[Any] = [raw for _, raw in documents(role.resource_type, role.props)]
    attached_policies: set[str] = set()
    for r in resources:
        if not any(d.urn == role.urn for d in r.property_dependencies.get("role", [])):
            continue
        if r.resource_type == "aws:iam/rolePolicy:RolePolicy":
            docs.append(r.props.get("policy"))
        elif r.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            attached_policies.update(d.urn for d in r.property_dependencies.get("policyArn", []))
    for r in resources:
        if r.urn in attached_policies and r.resource_type == "aws:iam/policy:Policy":
            docs.append(r.props.get("policy"))
    return [d for d in (parse_document(raw) for raw in docs) if d is not None]


def policies(ctx: PackContext) -> list[Policy]:
    def admin(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for problem in check_documents(args.resource_type, args.props):
            report(f"{args.resource_type} {args.name}: {problem}", None)

    def secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for where, raw in documents(args.resource_type, args.props):
            doc = parse_document(raw)
            for label in wildcard_secret_statements(doc) if doc is not None else []:
                report(f"{args.resource_type} {args.name}: {where} statement {label} reads secrets by wildcard", None)

    def bounded(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != "aws:iam/role:Role":
            return
        target = ctx.target(args.urn)
        if not isinstance(target, LaneTarget):
            return
        for problem in lane_role_problems(target.service, target.env, args.props):
            report(f"lane role {args.name} {problem}", None)

    return [
        ResourceValidationPolicy(ADMIN_NAME, ADMIN_DESCRIPTION, admin, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(SECRETS_NAME, SECRETS_DESCRIPTION, secrets, EnforcementLevel.MANDATORY),
        ResourceValidationPolicy(BOUNDED_NAME, BOUNDED_DESCRIPTION, bounded, EnforcementLevel.MANDATORY),
    ]

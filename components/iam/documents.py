"""IAM policy documents as plain dicts (pure: testable without Pulumi).

The shape every other module of ``components/iam`` builds: a document of
statements, a service trust policy, one statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Document = dict[str, Any]
Policy = Document
Statement = dict[str, Any]
VERSION = "2012-10-17"


def document(statements: Iterable[Statement]) -> Policy:
    return {"Version": VERSION, "Statement": list(statements)}


def trust(service: str, *, account: str | None = None, source_arns: Sequence[str] = ()) -> Policy:
    """Trust policy letting one AWS service principal assume the role.

    With ``account`` and ``source_arns`` (what the pipelines layer always
    passes) the service may assume the role only on behalf of those resources
    of this account: aws:SourceAccount and aws:SourceArn close the confused
    deputy (another account's CodeBuild project naming our role).
    """
    stmt: Statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition: dict[str, Any] = {}
    if account:
        condition["StringEquals"] = {"aws:SourceAccount": account}
    if source_arns:
        condition["ArnLike"] = {"aws:SourceArn": sorted(source_arns)}
    if condition:
        stmt["Condition"] = condition
    return document([stmt])


def statement(sid: str, effect: str, actions: Sequence[str], resources: Sequence[str], **extra: Any) -> Statement:
    out: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(set(actions)), "Resource": list(resources)}
    out.update(extra)
    return out


def split_guard(doc: Policy) -> tuple[Policy, Policy]:
    """(Allow statements, Deny statements) of a role document: the first is
    the role's inline policy, the second its attached guard policy."""
    stmts = doc["Statement"]
    return (
        document(s for s in stmts if s["Effect"] == "Allow"),
        document(s for s in stmts if s["Effect"] == "Deny"),
    )


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """``arn:partition:service:region:account:resource`` -> its five fields."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[1], parts[2], parts[3], parts[4], parts[5]

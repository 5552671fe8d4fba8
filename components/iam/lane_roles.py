"""The lane task roles' documents: ECS tasks trust, the execution policy."""

from __future__ import annotations

from collections.abc import Iterable

from components import naming

from .documents import VERSION, Document, arn_parts

ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def repository_name_from_url(url: str) -> str:
    """``123.dkr.ecr.r.amazonaws.com/dev/user-api`` -> ``dev/user-api``."""
    host, sep, name = url.partition("/")
    if not sep or ".dkr.ecr." not in host or not name:
        raise ValueError(f"{url!r} is not an ECR repository URL")
    return name


def secret_resource(value_from: str) -> tuple[str, str]:
    """(IAM action, resource ARN) that lets ECS read one ``valueFrom``.

    A Secrets Manager ``valueFrom`` may end in ``:json-key:version-stage:
    version-id``; the permission is on the secret itself (first 7 fields).
    """
    _, service, _, _, _ = arn_parts(value_from)
    if service == "secretsmanager":
        return "secretsmanager:GetSecretValue", ":".join(value_from.split(":")[:7])
    if service == "ssm":
        return "ssm:GetParameters", value_from
    raise ValueError(f"{value_from!r} is neither an SSM parameter nor a Secrets Manager secret ARN")


def ecs_tasks_assume_role_policy(partition: str, region: str, account_id: str) -> Document:
    """Only ECS tasks of this account and region may assume a lane role
    (aws:SourceAccount / aws:SourceArn guard against the confused deputy)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ECS_TASKS_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": naming.arn(partition, "ecs", region, account_id, "*")},
                },
            }
        ],
    }


def lane_execution_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    repository_name: str,
    log_group_name: str,
    lane: str,
    secret_arns: Iterable[str],
    kms_key_arn: str | None = None,
) -> Document:
    """What ECS needs to start one lane's tasks, and nothing more.

    Pull from the service's repository, write the lane's own log streams
    (awslogs names them ``{lane}/{container}/{task-id}``) in the service's log
    group, and read exactly the secrets the service lists.
    """
    log_group_arn = naming.arn(partition, "logs", region, account_id, f"log-group:{log_group_name}")
    statements: list[Document] = [
        {
            "Sid": "EcrToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",  # AWS offers no resource-level scoping for this action
        },
        {
            "Sid": "PullServiceImages",
            "Effect": "Allow",
            "Action": ECR_PULL_ACTIONS,
            "Resource": naming.arn(partition, "ecr", region, account_id, f"repository/{repository_name}"),
        },
        {
            "Sid": "CreateLaneLogStreams",
            "Effect": "Allow",
            "Action": "logs:CreateLogStream",
            "Resource": f"{log_group_arn}:*",
        },
        {
            "Sid": "WriteLaneLogStreams",
            "Effect": "Allow",
            "Action": "logs:PutLogEvents",
            "Resource": f"{log_group_arn}:log-stream:{lane}/*",
        },
    ]
    by_action: dict[str, list[str]] = {}
    for value_from in secret_arns:
        action, resource = secret_resource(value_from)
        if resource not in by_action.setdefault(action, []):
            by_action[action].append(resource)
    sids = {"secretsmanager:GetSecretValue": "ReadListedSecrets", "ssm:GetParameters": "ReadListedParameters"}
    for action in sorted(by_action):
        statements.append(
            {"Sid": sids[action], "Effect": "Allow", "Action": action, "Resource": sorted(by_action[action])}
        )
    if kms_key_arn and by_action:
        # The secrets' customer-managed key: decrypt only, only that key, and
        # only when Secrets Manager or SSM asks on the task's behalf.
        via = {"secretsmanager:GetSecretValue": "secretsmanager", "ssm:GetParameters": "ssm"}
        statements.append(
            {
                "Sid": "DecryptListedSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": sorted(f"{via[a]}.{region}.amazonaws.com" for a in by_action)}
                },
            }
        )
    return {"Version": VERSION, "Statement": statements}

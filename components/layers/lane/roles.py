"""The lane's two IAM roles: the execution role starts the task, the task
role is the app's own identity (no permissions until the app needs some).

Both sit under the service's role path and permissions boundary (pipelines
layer): the app deploy role may create lane roles only with that boundary,
and it caps what they can do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam, naming

from .args import AppLaneArgs


@dataclass(frozen=True)
class LaneRoles:
    execution: aws.iam.Role
    task: aws.iam.Role


def lane_roles(args: AppLaneArgs, tags: dict[str, str], parent: pulumi.Resource) -> LaneRoles:
    service, env, lane, svc = args.service, args.env, args.lane, args.service_params
    child = pulumi.ResourceOptions(parent=parent)
    cluster_arn = pulumi.Output.from_input(args.infra.cluster_arn)
    arn_fields = cluster_arn.apply(iam.documents.arn_parts)  # partition, service, region, account, resource
    assume = arn_fields.apply(lambda f: json.dumps(iam.lane_roles.ecs_tasks_assume_role_policy(f[0], f[2], f[3])))
    boundary = arn_fields.apply(lambda f: iam.pipeline_roles.lane_boundary_arn(f[0], f[3], service, env))
    exec_role = aws.iam.Role(
        "execution-role",
        name=naming.lane_role_name(service, env, lane, "exec"),
        # The app pipeline may manage and pass only roles under this path.
        path=naming.lane_role_path(service, env),
        description=f"ECS starts {service} lane {lane} ({env}) tasks with this role",
        assume_role_policy=assume,
        permissions_boundary=boundary,
        tags=tags,
        opts=child,
    )
    secret_arns = list(svc.secrets.values())
    exec_policy = pulumi.Output.all(arn_fields, args.boot.repository_url, args.boot.log_group_name).apply(
        lambda a: json.dumps(
            iam.lane_roles.lane_execution_policy(
                partition=a[0][0],
                region=a[0][2],
                account_id=a[0][3],
                repository_name=iam.lane_roles.repository_name_from_url(a[1]),
                log_group_name=a[2],
                lane=lane,
                secret_arns=secret_arns,
                kms_key_arn=svc.secrets_kms_key_arn,
            )
        )
    )
    aws.iam.RolePolicy("execution-policy", role=exec_role.id, policy=exec_policy, opts=child)
    task_role = aws.iam.Role(
        "task-role",
        name=naming.lane_role_name(service, env, lane, "task"),
        path=naming.lane_role_path(service, env),
        description=f"identity of {service} lane {lane} ({env}) application code",
        assume_role_policy=assume,
        permissions_boundary=boundary,
        tags=tags,
        opts=child,
    )
    return LaneRoles(execution=exec_role, task=task_role)

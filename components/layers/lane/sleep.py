"""A lane's lifetime and idle-cost parts: its tags and its sleep schedule.

- Every lane resource carries the cost allocation tag ``CostLane`` (the lane
  stack's name, unique per service, env and lane) and, once the runner has
  deployed it, ``CreatedAt``. ECS propagates the service's tags to its tasks
  (``propagate_tags="SERVICE"``), so Fargate spend shows per lane.
- The ECS service also carries ``ExpiresAt``: it moves with every deploy
  (last deploy + TTL), so only the service is re-tagged, not every resource.
- With ``lanes.sleep`` in ``params/infra-{env}.json``, a non-default lane
  registers its ECS service as an Application Auto Scaling scalable target
  and two scheduled actions: scale to 0 tasks at ``sleepAt`` and back to its
  desired count at ``wakeAt`` (in ``timezone``). The default lane never sleeps.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import lifetime, naming

from .args import AppLaneArgs

ECS_NAMESPACE = "ecs"
ECS_DESIRED_COUNT = "ecs:service:DesiredCount"


def lane_tags(args: AppLaneArgs) -> dict[str, str]:
    out = {naming.COST_TAG: naming.lane_stack(args.service, args.env, args.lane)}
    if args.created_at and args.lane != naming.DEFAULT_LANE:
        out[naming.CREATED_AT_TAG] = args.created_at
    return out


def expiry_tags(args: AppLaneArgs) -> dict[str, str]:
    if args.expires_at and args.lane != naming.DEFAULT_LANE:
        return {naming.EXPIRES_AT_TAG: args.expires_at}
    return {}


def sleep_schedule(
    args: AppLaneArgs, ecs: aws.ecs.Service, tags: dict[str, str], parent: pulumi.Resource
) -> list[aws.appautoscaling.ScheduledAction]:
    if args.sleep is None or args.lane == naming.DEFAULT_LANE:
        return []
    service, env, lane, svc = args.service, args.env, args.lane, args.service_params
    desired = svc.desired_count.lane
    resource_id = pulumi.Output.all(args.infra.cluster_name, ecs.name).apply(
        lambda a: naming.ecs_scalable_resource_id(str(a[0]), str(a[1]))
    )
    target = aws.appautoscaling.Target(
        "scaling",
        service_namespace=ECS_NAMESPACE,
        scalable_dimension=ECS_DESIRED_COUNT,
        resource_id=resource_id,
        min_capacity=desired,
        max_capacity=desired,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    actions = []
    for step in lifetime.sleep_actions(args.sleep.sleep_at, args.sleep.wake_at, args.sleep.timezone, desired):
        actions.append(
            aws.appautoscaling.ScheduledAction(
                step.key,
                name=naming.sleep_action_name(service, env, lane, step.key),
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                schedule=step.schedule,
                timezone=step.timezone,
                scalable_target_action={"min_capacity": step.min_capacity, "max_capacity": step.max_capacity},
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return actions

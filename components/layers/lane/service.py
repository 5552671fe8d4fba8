"""The lane's running part: task definition, lane alarms and ECS service.

The ECS service rolls a deploy back on its circuit breaker and on the lane's
alarms (the article's defect 4), and never runs below the desired count
during a deploy (the cutover model in bench/cutover.py).
"""

from __future__ import annotations

from typing import cast

import pulumi
import pulumi_aws as aws

from components import alarms, naming

from .args import AppLaneArgs
from .container import container_definitions, task_volumes
from .roles import LaneRoles
from .traffic import LaneTraffic

# New tasks start and turn healthy before old ones stop: never below the
# desired count during a deploy.
MIN_HEALTHY_PERCENT = 100
MAX_PERCENT = 200


def task_definition(
    args: AppLaneArgs, roles: LaneRoles, tags: dict[str, str], parent: pulumi.Resource
) -> aws.ecs.TaskDefinition:
    service, env, lane, svc = args.service, args.env, args.lane, args.service_params
    child = pulumi.ResourceOptions(parent=parent)
    exec_role, task_role = roles.execution, roles.task
    containers = pulumi.Output.from_input(args.boot.log_group_name).apply(
        lambda group: container_definitions(
            service=service,
            lane=lane,
            image=args.image,
            svc=svc,
            log_group_name=group,
            region=args.region,
            production=args.production,
        )
    )
    return aws.ecs.TaskDefinition(
        "task",
        family=naming.task_family(service, env, lane),
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(svc.cpu),
        memory=str(svc.memory),
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture=svc.cpu_architecture
        ),
        execution_role_arn=exec_role.arn,
        task_role_arn=task_role.arn,
        container_definitions=containers,
        volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=v["name"]) for v in task_volumes(svc, args.production)] or None,
        tags=tags,
        opts=child,
    )


def _tagged(args: aws.cloudwatch.MetricAlarmArgs, extra: dict[str, str] | None) -> aws.cloudwatch.MetricAlarmArgs:
    """An alarm's args with the lane's lifetime and cost tags added."""
    if extra:
        # The alarm specs hold plain dicts of tags (components/alarms.py).
        args.tags = {**cast(dict[str, str], args.tags or {}), **extra}
    return args


def lane_alarms(
    args: AppLaneArgs, traffic: LaneTraffic, parent: pulumi.Resource, extra_tags: dict[str, str] | None = None
) -> list[aws.cloudwatch.MetricAlarm]:
    """Created before the ECS service: its deployment watches them by name.
    ``extra_tags`` (the lane's cost and lifetime tags) join the alarms' own."""
    service, env, lane, svc = args.service, args.env, args.lane, args.service_params
    child = pulumi.ResourceOptions(parent=parent)
    lb_suffix, tg_suffix = traffic.load_balancer_suffix, traffic.target_group_suffix
    ecs_name = naming.ecs_service_name(service, lane)
    return [
        aws.cloudwatch.MetricAlarm(spec.key, _tagged(spec.args, extra_tags), opts=child)
        for spec in alarms.lane_alarms(
            service,
            env,
            lane,
            load_balancer_suffix=lb_suffix,
            target_group_suffix=tg_suffix,
            cluster_name=args.infra.cluster_name,
            ecs_service_name=ecs_name,
            thresholds=svc.alarms,
            topic_arn=args.infra.alarm_topic_arn,
        )
    ]


def ecs_service(
    args: AppLaneArgs,
    task_def: aws.ecs.TaskDefinition,
    traffic: LaneTraffic,
    watched: list[aws.cloudwatch.MetricAlarm],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.ecs.Service:
    service, lane, svc = args.service, args.lane, args.service_params
    is_default = lane == naming.DEFAULT_LANE
    ecs_name = naming.ecs_service_name(service, lane)
    container = naming.container_name(service)
    tg_arn, rules = traffic.target_group_arn, traffic.rules
    desired = svc.desired_count.default if is_default else svc.desired_count.lane
    # A capacity provider strategy, not launchType: the cluster registers
    # FARGATE and FARGATE_SPOT, and launchType would ignore both.
    provider = svc.capacity_provider.default if is_default else svc.capacity_provider.lane
    # Only the default lane registers in Cloud Map (the service's plain name).
    registries = (
        aws.ecs.ServiceServiceRegistriesArgs(registry_arn=args.boot.service_discovery_service_arn)
        if is_default
        else None
    )
    return aws.ecs.Service(
        "service",
        name=ecs_name,
        cluster=args.infra.cluster_arn,
        task_definition=task_def.arn,
        desired_count=desired,
        capacity_provider_strategies=[
            aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider=provider, weight=1, base=0)
        ],
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=args.infra.private_subnet_ids,
            security_groups=[args.boot.service_security_group_id],
            assign_public_ip=False,
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=tg_arn, container_name=container, container_port=svc.container_port
            )
        ],
        health_check_grace_period_seconds=svc.health_check_grace_period_seconds,
        deployment_minimum_healthy_percent=MIN_HEALTHY_PERCENT,
        deployment_maximum_percent=MAX_PERCENT,
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        # The article's defect 4: alarms roll a deploy back too.
        alarms=aws.ecs.ServiceAlarmsArgs(alarm_names=[a.name for a in watched], enable=True, rollback=True),
        propagate_tags="SERVICE",
        enable_ecs_managed_tags=True,
        # `pulumi up` fails when ECS rolls the deploy back, so the
        # pipeline run shows the failure.
        wait_for_steady_state=True,
        tags=tags,
        service_registries=registries,
        # ECS rejects a target group no listener forwards to yet.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(rules)),
    )

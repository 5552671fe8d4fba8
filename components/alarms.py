"""The article's alarm table, as plain MetricAlarm arguments.

| category | metric                              | alarm when                     |
|----------|-------------------------------------|--------------------------------|
| ALB      | HTTPCode_Target_5XX_Count           | > threshold % of RequestCount  |
| ECS      | RunningTaskCount < DesiredTaskCount | N consecutive periods (3)      |
| TG       | HealthyHostCount                    | < healthyHostsMin (1)          |

The boot stack creates the service-level 5xx alarm (whole load balancer);
every lane stack creates the three lane alarms scoped to its own target group
(TargetGroup + LoadBalancer dimensions) and wires them into its ECS
deployment so a bad deploy rolls back. The article alarms on a raw 5xx count
("> 1%" cannot be a count): here the percentage is metric math,
100 * 5xx / requests. Functions return plain dicts (values may be Pulumi
Inputs such as an ``arn_suffix``): no resource is created here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from . import naming
from .params import AlarmThresholds

ALB_NAMESPACE = "AWS/ApplicationELB"
CONTAINER_INSIGHTS_NAMESPACE = "ECS/ContainerInsights"
# Missing data means "no requests" (5xx %) or "no datapoint yet" (new lane):
# neither is a failure, and an alarm stuck in ALARM before the first deploy
# would make ECS roll that deploy back.
MISSING = "notBreaching"

# Metric keys used in alarm names; the lane keys are what ECS watches.
SERVICE_5XX = "target-5xx-percent"
LANE_5XX = "target-5xx-percent"
LANE_RUNNING = "running-below-desired"
LANE_HEALTHY = "healthy-hosts-low"


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a logical name for Pulumi and the MetricAlarm arguments."""

    key: str
    args: aws.cloudwatch.MetricAlarmArgs


def arn_suffix(arn: str) -> str:
    """CloudWatch's dimension value for an ELB ARN.

    ``arn:aws:elasticloadbalancing:r:a:loadbalancer/app/n/id`` -> ``app/n/id``;
    ``...:targetgroup/n/id`` -> ``targetgroup/n/id``. Lanes only get ARNs from
    the boot stack, so they derive the suffix here instead of reading it.
    """
    resource = arn.split(":", 5)[-1]
    if resource.startswith("loadbalancer/"):
        return resource[len("loadbalancer/") :]
    if resource.startswith("targetgroup/"):
        return resource
    raise ValueError(f"{arn!r} is not a load balancer or target group ARN")


Dimensions = dict[str, pulumi.Input[str]]


def _metric(
    id_: str, name: str, dimensions: Dimensions, period: int, stat: str, namespace: str = ALB_NAMESPACE
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=id_,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace, metric_name=name, dimensions=dimensions, period=period, stat=stat
        ),
    )


def _expression(id_: str, expression: str, label: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(id=id_, expression=expression, label=label, return_data=True)


def target_5xx_percent_queries(dimensions: Dimensions, period: int) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """Metric math: percentage of requests answered 5xx by the targets.

    With no requests the RequestCount series is empty, the expression yields
    no datapoint and ``notBreaching`` keeps the alarm OK; FILL only pads the
    5xx series (ALB publishes it only when a 5xx happened).
    """
    return [
        _metric("errors", "HTTPCode_Target_5XX_Count", dimensions, period, "Sum"),
        _metric("requests", "RequestCount", dimensions, period, "Sum"),
        _expression("pct", "100 * FILL(errors, 0) / requests", "Target 5xx % of requests"),
    ]


def metric_period(thresholds: AlarmThresholds) -> int:
    """ALB and Container Insights publish once a minute: a shorter period
    would evaluate empty datapoints, so params' 10 or 30 s round up to 60."""
    return max(thresholds.period_seconds, 60)


def _tags(env: str, layer: str, service: str, lane: str | None) -> dict[str, str]:
    return naming.tags(env, layer, service, lane)


class _Notify(TypedDict):
    alarm_actions: list[pulumi.Input[str]]
    ok_actions: list[pulumi.Input[str]]


def _notify(topic_arn: pulumi.Input[str]) -> _Notify:
    """Every alarm tells the env's alarm topic (infra's AlarmTopicArn) when it
    fires and when it clears."""
    return {"alarm_actions": [topic_arn], "ok_actions": [topic_arn]}


def service_alarms(
    service: str,
    env: str,
    load_balancer_suffix: pulumi.Input[str],
    thresholds: AlarmThresholds,
    *,
    topic_arn: pulumi.Input[str],
) -> list[AlarmSpec]:
    """Boot's service-level alarm: 5xx % across every lane of the ALB."""
    return [
        AlarmSpec(
            key="service-5xx",
            args=aws.cloudwatch.MetricAlarmArgs(
                name=naming.alarm_name(service, env, None, SERVICE_5XX),
                alarm_description=(
                    f"{service} ({env}): targets answered more than {thresholds.target_5xx_percent}% "
                    "of requests with 5xx, all lanes together"
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=thresholds.target_5xx_percent,
                evaluation_periods=1,
                treat_missing_data=MISSING,
                metric_queries=target_5xx_percent_queries(
                    {"LoadBalancer": load_balancer_suffix}, metric_period(thresholds)
                ),
                **_notify(topic_arn),
                tags=_tags(env, "boot", service, None),
            ),
        )
    ]


def lane_alarms(
    service: str,
    env: str,
    lane: str,
    *,
    load_balancer_suffix: pulumi.Input[str],
    target_group_suffix: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    ecs_service_name: str,
    thresholds: AlarmThresholds,
    topic_arn: pulumi.Input[str],
) -> list[AlarmSpec]:
    """The three lane alarms ECS watches during the lane's deployments."""
    tg_dims = {"TargetGroup": target_group_suffix, "LoadBalancer": load_balancer_suffix}
    period = metric_period(thresholds)
    ecs_dims = {"ClusterName": cluster_name, "ServiceName": ecs_service_name}
    n = thresholds.running_below_desired_periods
    tags = _tags(env, "lane", service, lane)
    notify = _notify(topic_arn)
    return [
        AlarmSpec(
            key="lane-5xx",
            args=aws.cloudwatch.MetricAlarmArgs(
                name=naming.alarm_name(service, env, lane, LANE_5XX),
                alarm_description=(
                    f"{service} lane {lane} ({env}): more than {thresholds.target_5xx_percent}% "
                    "of the lane's requests answered 5xx by its targets"
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=thresholds.target_5xx_percent,
                evaluation_periods=1,
                treat_missing_data=MISSING,
                metric_queries=target_5xx_percent_queries(tg_dims, period),
                **notify,
                tags=tags,
            ),
        ),
        AlarmSpec(
            key="lane-running",
            args=aws.cloudwatch.MetricAlarmArgs(
                name=naming.alarm_name(service, env, lane, LANE_RUNNING),
                alarm_description=(
                    f"{service} lane {lane} ({env}): fewer tasks running than desired for {n} periods in a row"
                ),
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                evaluation_periods=n,
                datapoints_to_alarm=n,
                treat_missing_data=MISSING,
                metric_queries=[
                    _metric("desired", "DesiredTaskCount", ecs_dims, period, "Average", CONTAINER_INSIGHTS_NAMESPACE),
                    _metric("running", "RunningTaskCount", ecs_dims, period, "Average", CONTAINER_INSIGHTS_NAMESPACE),
                    _expression("missing", "desired - running", "Desired minus running tasks"),
                ],
                **notify,
                tags=tags,
            ),
        ),
        AlarmSpec(
            key="lane-healthy",
            args=aws.cloudwatch.MetricAlarmArgs(
                name=naming.alarm_name(service, env, lane, LANE_HEALTHY),
                alarm_description=(
                    f"{service} lane {lane} ({env}): fewer than {thresholds.healthy_hosts_min} healthy targets"
                ),
                comparison_operator="LessThanThreshold",
                threshold=thresholds.healthy_hosts_min,
                evaluation_periods=1,
                treat_missing_data=MISSING,
                namespace=ALB_NAMESPACE,
                metric_name="HealthyHostCount",
                dimensions=tg_dims,
                period=period,
                statistic="Minimum",
                **notify,
                tags=tags,
            ),
        ),
    ]

"""CloudWatch Logs log groups, CloudWatch metric alarms and the SNS topic they notify."""

from __future__ import annotations

from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates, tag_list


@emulates("aws:cloudwatch/logGroup:LogGroup")
def log_group(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=512)
    req.call(
        "logs",
        "create_log_group",
        logGroupName=name,
        **drop_none(kmsKeyId=i.get("kmsKeyId"), tags=dict(i["tags"]) if i.get("tags") else None),
    )
    if i.get("retentionInDays"):
        req.call("logs", "put_retention_policy", logGroupName=name, retentionInDays=i["retentionInDays"])

    def probe() -> Any:
        found = [
            g
            for g in req.call("logs", "describe_log_groups", logGroupNamePrefix=name)["logGroups"]
            if g["logGroupName"] == name
        ]
        if not found:
            raise EmulationError(f"log group {name} is gone")
        return found[0]

    return Emulated(
        name,
        req.state(arn=req.arn("logs", f"log-group:{name}"), name=name),
        delete=lambda: req.call("logs", "delete_log_group", logGroupName=name),
        probe=probe,
    )


def _dimensions(d: dict[str, str] | None) -> list[dict[str, str]] | None:
    return [{"Name": k, "Value": v} for k, v in d.items()] if d else None


def _query(q: dict[str, Any]) -> dict[str, Any]:
    out = drop_none(Id=q["id"], Expression=q.get("expression"), Label=q.get("label"), ReturnData=q.get("returnData"))
    if q.get("metric"):
        m = q["metric"]
        out["MetricStat"] = drop_none(
            Metric=drop_none(
                Namespace=m.get("namespace"), MetricName=m["metricName"], Dimensions=_dimensions(m.get("dimensions"))
            ),
            Period=m["period"],
            Stat=m["stat"],
            Unit=m.get("unit"),
        )
    return out


def _put_alarm(req: Request, name: str) -> dict[str, Any]:
    """PutMetricAlarm creates or replaces the alarm of that name in place."""
    i = req.inputs
    req.call(
        "cloudwatch",
        "put_metric_alarm",
        AlarmName=name,
        ComparisonOperator=i["comparisonOperator"],
        EvaluationPeriods=i["evaluationPeriods"],
        **drop_none(
            AlarmDescription=i.get("alarmDescription"),
            ActionsEnabled=i.get("actionsEnabled"),
            AlarmActions=i.get("alarmActions"),
            OKActions=i.get("okActions"),
            InsufficientDataActions=i.get("insufficientDataActions"),
            MetricName=i.get("metricName"),
            Namespace=i.get("namespace"),
            Statistic=i.get("statistic"),
            ExtendedStatistic=i.get("extendedStatistic"),
            Dimensions=_dimensions(i.get("dimensions")),
            Period=i.get("period"),
            Unit=i.get("unit"),
            DatapointsToAlarm=i.get("datapointsToAlarm"),
            Threshold=i.get("threshold"),
            TreatMissingData=i.get("treatMissingData"),
            Metrics=[_query(q) for q in i["metricQueries"]] if i.get("metricQueries") else None,
            Tags=tag_list(i.get("tags")) or None,
        ),
    )
    return req.call("cloudwatch", "describe_alarms", AlarmNames=[name])["MetricAlarms"][0]


@emulates("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(req: Request) -> Emulated:
    name = req.physical_name()
    alarm = _put_alarm(req, name)

    def probe() -> Any:
        found = req.call("cloudwatch", "describe_alarms", AlarmNames=[name])["MetricAlarms"]
        if not found:
            raise EmulationError(f"alarm {name} is gone")
        return found[0]

    return Emulated(
        name,
        req.state(arn=alarm["AlarmArn"], name=name),
        delete=lambda: req.call("cloudwatch", "delete_alarms", AlarmNames=[name]),
        probe=probe,
        update=lambda new: new.state(arn=_put_alarm(new, name)["AlarmArn"], name=name),
        replace_on=frozenset({"name", "namePrefix"}),
    )


@emulates("aws:sns/topic:Topic")
def sns_topic(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=256)
    arn = req.call("sns", "create_topic", Name=name, **drop_none(Tags=tag_list(i.get("tags")) or None))["TopicArn"]

    def probe() -> Any:
        return req.call("sns", "get_topic_attributes", TopicArn=arn)["Attributes"]

    return Emulated(
        arn,
        req.state(arn=arn, name=name),
        delete=lambda: req.call("sns", "delete_topic", TopicArn=arn),
        probe=probe,
    )


@emulates("aws:sns/topicSubscription:TopicSubscription")
def sns_subscription(req: Request) -> Emulated:
    i = req.inputs
    arn = req.call(
        "sns",
        "subscribe",
        TopicArn=i["topic"],
        Protocol=i["protocol"],
        Endpoint=i["endpoint"],
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]

    def probe() -> Any:
        return req.call("sns", "get_subscription_attributes", SubscriptionArn=arn)["Attributes"]

    return Emulated(
        arn,
        req.state(arn=arn),
        delete=lambda: req.call("sns", "unsubscribe", SubscriptionArn=arn),
        probe=probe,
    )

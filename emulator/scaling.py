"""Application Auto Scaling (a lane's sleep schedule) and EventBridge Scheduler (the reaper's schedule)."""

from __future__ import annotations

from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates


def _target_key(i: dict[str, Any]) -> dict[str, str]:
    return {
        "ServiceNamespace": i["serviceNamespace"],
        "ResourceId": i["resourceId"],
        "ScalableDimension": i["scalableDimension"],
    }


@emulates("aws:appautoscaling/target:Target")
def scalable_target(req: Request) -> Emulated:
    i = req.inputs
    key = _target_key(i)

    def register(r: Request) -> str:
        # moto checks that the ECS cluster and service exist, as AWS does.
        out = r.call(
            "application-autoscaling",
            "register_scalable_target",
            **key,
            MinCapacity=r.inputs["minCapacity"],
            MaxCapacity=r.inputs["maxCapacity"],
            **drop_none(RoleARN=r.inputs.get("roleArn"), Tags=dict(r.inputs.get("tags") or {}) or None),
        )
        return str(out.get("ScalableTargetARN") or "")

    arn = register(req)

    def update(new: Request) -> dict[str, Any]:
        register(new)  # RegisterScalableTarget on an existing target updates its capacity
        if new.inputs.get("tags"):
            new.call("application-autoscaling", "tag_resource", ResourceARN=arn, Tags=dict(new.inputs["tags"]))
        return new.state(arn=arn)

    def probe() -> Any:
        found = req.call(
            "application-autoscaling",
            "describe_scalable_targets",
            ServiceNamespace=key["ServiceNamespace"],
            ResourceIds=[key["ResourceId"]],
            ScalableDimension=key["ScalableDimension"],
        )["ScalableTargets"]
        if not found:
            raise EmulationError(f"scalable target {key['ResourceId']} is gone")
        return {k: v for k, v in found[0].items() if k != "CreationTime"}

    return Emulated(
        key["ResourceId"],
        req.state(arn=arn),
        delete=lambda: req.call("application-autoscaling", "deregister_scalable_target", **key),
        probe=probe,
        update=update,
        replace_on=frozenset({"serviceNamespace", "resourceId", "scalableDimension"}),
    )


@emulates("aws:appautoscaling/scheduledAction:ScheduledAction")
def scheduled_action(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    key = {**_target_key(i), "ScheduledActionName": name}

    def put(r: Request) -> None:
        action = r.inputs.get("scalableTargetAction") or {}
        r.call(
            "application-autoscaling",
            "put_scheduled_action",
            **key,
            Schedule=r.inputs["schedule"],
            **drop_none(
                Timezone=r.inputs.get("timezone"),
                StartTime=r.inputs.get("startTime"),
                EndTime=r.inputs.get("endTime"),
                ScalableTargetAction=drop_none(
                    MinCapacity=action.get("minCapacity"), MaxCapacity=action.get("maxCapacity")
                )
                or None,
            ),
        )

    put(req)
    described = req.call(
        "application-autoscaling",
        "describe_scheduled_actions",
        ServiceNamespace=key["ServiceNamespace"],
        ScheduledActionNames=[name],
        ResourceId=key["ResourceId"],
    )["ScheduledActions"]
    arn = described[0]["ScheduledActionARN"] if described else ""

    def update(new: Request) -> dict[str, Any]:
        put(new)  # PutScheduledAction creates or updates
        return new.state(arn=arn, name=name)

    def probe() -> Any:
        found = req.call(
            "application-autoscaling",
            "describe_scheduled_actions",
            ServiceNamespace=key["ServiceNamespace"],
            ScheduledActionNames=[name],
            ResourceId=key["ResourceId"],
        )["ScheduledActions"]
        if not found:
            raise EmulationError(f"scheduled action {name} is gone")
        return {k: v for k, v in found[0].items() if k != "CreationTime"}

    return Emulated(
        f"{name}-{key['ServiceNamespace']}-{key['ResourceId']}",
        req.state(arn=arn, name=name),
        delete=lambda: req.call("application-autoscaling", "delete_scheduled_action", **key),
        probe=probe,
        update=update,
        replace_on=frozenset({"name", "serviceNamespace", "resourceId", "scalableDimension"}),
    )


def _schedule_params(i: dict[str, Any]) -> dict[str, Any]:
    target = i["target"]
    window = i.get("flexibleTimeWindow") or {"mode": "OFF"}
    retry = target.get("retryPolicy") or {}
    return drop_none(
        ScheduleExpression=i["scheduleExpression"],
        ScheduleExpressionTimezone=i.get("scheduleExpressionTimezone"),
        FlexibleTimeWindow=drop_none(Mode=window["mode"], MaximumWindowInMinutes=window.get("maximumWindowInMinutes")),
        Target=drop_none(
            Arn=target["arn"],
            RoleArn=target["roleArn"],
            Input=target.get("input"),
            RetryPolicy=drop_none(
                MaximumEventAgeInSeconds=retry.get("maximumEventAgeInSeconds"),
                MaximumRetryAttempts=retry.get("maximumRetryAttempts"),
            )
            or None,
        ),
        Description=i.get("description"),
        State=i.get("state"),
        ActionAfterCompletion=i.get("actionAfterCompletion"),
    )


@emulates("aws:scheduler/schedule:Schedule")
def schedule(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    group = i.get("groupName") or "default"
    arn = req.call("scheduler", "create_schedule", Name=name, GroupName=group, **_schedule_params(i))["ScheduleArn"]

    def update(new: Request) -> dict[str, Any]:
        new.call("scheduler", "update_schedule", Name=name, GroupName=group, **_schedule_params(new.inputs))
        return new.state(arn=arn, name=name, groupName=group)

    def probe() -> Any:
        got = req.call("scheduler", "get_schedule", Name=name, GroupName=group)
        return {k: v for k, v in got.items() if k not in ("ResponseMetadata", "CreationDate", "LastModificationDate")}

    return Emulated(
        f"{group}/{name}",
        req.state(arn=arn, name=name, groupName=group),
        delete=lambda: req.call("scheduler", "delete_schedule", Name=name, GroupName=group),
        probe=probe,
        update=update,
        replace_on=frozenset({"name", "namePrefix", "groupName"}),
    )

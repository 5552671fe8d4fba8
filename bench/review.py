"""Review lanes, modeled: push to a lane answering, and what an idle lane costs per day.

**Push to answering** (lane ``pr-1`` of user-api in dev, a new lane):

    source + build + deploy + task start + health checks

Only the health checks are a setting of the program: the ALB answers on the
lane's rule once the new task passed ``healthy_threshold`` checks
``interval`` apart (worst case plus one ``timeout``), read from the recorded
plan of ``user-api-dev-pr-1``'s target group, like bench/cutover.py. A new
lane has no old task to drain. The lane's listener rule is created before its
ECS service (``depends_on``), so nothing else waits. Everything else is an
assumption, stated here because no program setting decides it and AWS
publishes no figure for it: the CodePipeline source action (two repositories
through CodeConnections), CodeBuild provisioning of a small Linux container
(twice: build and deploy), the app's docker build and push (app-dependent),
installing the pinned Pulumi CLI and requirements, ECS placing a Fargate task
and pulling its image. The deploy's own ``pulumi up`` of a new lane is the
figure measured on the real engine in the sandbox (``python -m bench engine``,
README "Performance": 6.38 s); AWS's API calls take longer than moto's.

**Idle cost per day** of the lane's tasks, from the recorded plan: the task
definition's ``cpu`` and ``memory``, the ECS service's ``desiredCount`` and
capacity provider, and the lane's Application Auto Scaling scheduled actions
(awake hours per week replayed from their cron expressions,
components/lifetime.py). Prices: AWS Fargate on-demand, Linux/x86,
us-east-1, $0.04048 per vCPU-hour and $0.004445 per GB-hour (source: the AWS
Fargate pricing page, https://aws.amazon.com/fargate/pricing/, as reproduced
by vantage.sh/blog/fargate-pricing and fortem.dev/fargate-spot, the latter
"verified June 2026"). The params' region is ap-southeast-2, whose Fargate
prices are higher than us-east-1's; they were not available to check here, so
the figures are a lower bound for Sydney. Fargate Spot is variable: AWS
quotes "up to 70%" off on-demand, third parties observe 50-70%; the Spot
figures show both ends. Not modeled: the lane's three CloudWatch alarms
(billed per alarm-month, whether the lane sleeps or not) and ALB load
balancer capacity units (an idle lane serves no requests, so its listener
rule adds no rule evaluations).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._figure import Figure
from components import lifetime, naming, params
from harness.offline import placeholder_outputs, run_stack

SERVICE = "user-api"
ENV = "dev"
LANE = "pr-1"
IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc1234-b7"
TG = "aws:lb/targetGroup:TargetGroup"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ECS = "aws:ecs/service:Service"
SCHEDULED = "aws:appautoscaling/scheduledAction:ScheduledAction"

US_EAST_1 = lifetime.FargatePrice(
    region="us-east-1",
    platform="Linux/x86 on-demand",
    vcpu_hour=0.04048,
    gb_hour=0.004445,
    source="aws.amazon.com/fargate/pricing (us-east-1, as reproduced by vantage.sh and fortem.dev, June 2026)",
)
SPOT_DISCOUNTS = (0.5, 0.7)

# Seconds, assumed (see the module docstring): no program setting decides them.
ASSUMED = {
    "source (CodeConnections, infra + app repositories)": 15.0,
    "build: CodeBuild provisioning": 60.0,
    "build: docker build + push (app-dependent)": 135.0,
    "deploy: CodeBuild provisioning": 60.0,
    "deploy: pinned Pulumi CLI + pip install": 45.0,
    "ECS: Fargate task placement + image pull + app start": 45.0,
}
MEASURED_UP_S = 6.38  # `pulumi up` of a new lane on the real engine in the sandbox (README, Performance)


@dataclass(frozen=True)
class LanePlan:
    healthy_threshold: int
    interval: int
    timeout: int
    cpu: int
    memory: int
    desired: int
    provider: str
    sleep_at: str | None
    wake_at: str | None


def recorded_plan(params_dir: Path = params.PARAMS_DIR) -> LanePlan:
    infra_ref = naming.stack_ref(naming.infra_stack(ENV))
    boot_ref = naming.stack_ref(naming.boot_stack(SERVICE, ENV))
    infra = placeholder_outputs(naming.infra_stack(ENV), params_dir)
    boot = placeholder_outputs(naming.boot_stack(SERVICE, ENV), params_dir)
    lane = run_stack(
        naming.lane_stack(SERVICE, ENV, LANE),
        references={infra_ref: infra, boot_ref: boot},
        config={"imageUri": IMAGE},
        params_dir=params_dir,
    )
    tg: dict[str, Any] = lane.one(TG).inputs
    task: dict[str, Any] = lane.one(TASK).inputs
    svc: dict[str, Any] = lane.one(ECS).inputs
    actions = {r.name.rsplit("-", 1)[-1]: r.inputs for r in lane.of_type(SCHEDULED)}
    hc = tg["healthCheck"]
    return LanePlan(
        healthy_threshold=int(hc["healthyThreshold"]),
        interval=int(hc["interval"]),
        timeout=int(hc["timeout"]),
        cpu=int(task["cpu"]),
        memory=int(task["memory"]),
        desired=int(svc["desiredCount"]),
        provider=str(svc["capacityProviderStrategies"][0]["capacityProvider"]),
        sleep_at=actions.get("sleep", {}).get("schedule"),
        wake_at=actions.get("wake", {}).get("schedule"),
    )


def push_to_answering(plan: LanePlan) -> tuple[float, str]:
    healthy = plan.healthy_threshold * plan.interval + plan.timeout
    total = sum(ASSUMED.values()) + MEASURED_UP_S + healthy
    parts = [f"{k} {v:.0f} s (assumed)" for k, v in ASSUMED.items()]
    parts.append(f"pulumi up {MEASURED_UP_S} s (measured, sandbox)")
    parts.append(
        f"health checks {plan.healthy_threshold} x {plan.interval} s + {plan.timeout} s = {healthy} s (recorded plan)"
    )
    return total, "; ".join(parts)


def figures(params_dir: Path = params.PARAMS_DIR) -> list[Figure]:
    plan = recorded_plan(params_dir)
    total, detail = push_to_answering(plan)
    out = [Figure(f"push to {LANE} answering, modeled", total, detail=detail)]
    task = (
        f"{plan.desired} x ({plan.cpu} cpu units, {plan.memory} MiB) on {plan.provider}; "
        f"{US_EAST_1.platform} ${US_EAST_1.vcpu_hour}/vCPU-h + ${US_EAST_1.gb_hour}/GB-h, {US_EAST_1.source}"
    )
    always = lifetime.cost_per_day(plan.cpu, plan.memory, plan.desired, US_EAST_1)
    out.append(Figure("idle lane per day, on-demand, always on", always, unit="USD", detail=task))
    if plan.sleep_at and plan.wake_at:
        awake = lifetime.awake_minutes_per_week(plan.sleep_at, plan.wake_at) / lifetime.MINUTES_PER_WEEK
        asleep = lifetime.cost_per_day(plan.cpu, plan.memory, plan.desired, US_EAST_1, awake)
        out.append(
            Figure(
                "idle lane per day, on-demand, with sleep",
                asleep,
                unit="USD",
                detail=f"awake {awake * 168:.0f} h of 168 h a week ({plan.sleep_at} / {plan.wake_at}); {task}",
            )
        )
    else:
        awake = 1.0
        out.append(Figure("idle lane per day, with sleep", None, detail="params set no lanes.sleep schedule for dev"))
    if plan.provider == "FARGATE_SPOT":
        for discount in SPOT_DISCOUNTS:
            out.append(
                Figure(
                    f"idle lane per day, Spot at {discount:.0%} off, with sleep",
                    lifetime.cost_per_day(plan.cpu, plan.memory, plan.desired, US_EAST_1, awake) * (1 - discount),
                    unit="USD",
                    detail="Fargate Spot price varies (AWS: up to 70% off; third parties: 50-70%)",
                )
            )
    return out


def main(params_dir: Path = params.PARAMS_DIR) -> list[str]:
    return [f"{f.name}: {f.cells()[1]} ({f.detail})" for f in figures(params_dir)]


if __name__ == "__main__":
    print("\n".join(main()))

"""Modeled lane cutover, from the program's own target-group settings (target <= 60 s).

A lane deploy (ECS rolling update, minimumHealthyPercent 100, maximumPercent
200) swaps tasks in two waits the target group decides:

1. a new task becomes healthy: the ALB needs ``healthy_threshold``
   consecutive passing checks, ``interval`` apart, the first of them up to one
   interval after registration: ``healthy_threshold x interval``; the last
   check's answer may take up to ``timeout`` more (the worst case);
2. then ECS deregisters the old task and the ALB drains it for the
   deregistration delay before it stops: ``deregistration_delay``.

cutover = healthy_threshold x interval + deregistration_delay
          (worst case: + timeout)

AWS's defaults give 5 x 30 s + 300 s = 450 s. The inputs are read from the
recorded plans of the lane stacks (``user-api-{env}-gray`` owns its target
group; ``user-api-{env}-default`` serves the boot stack's default target
group, read from the recorded ``boot-user-api-{env}`` plan), never typed in.
Container start (image pull, app boot) comes before step 1 and is not a
target-group setting, so it is not modeled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._figure import Figure
from components import naming, params
from components.contract import LaneOutputs
from harness.offline import placeholder_outputs, run_stack

TARGET_S = 60
AWS_DEFAULTS = {"healthy_threshold": 5, "interval": 30, "timeout": 5, "deregistration_delay": 300}
SERVICE = "user-api"
ENVS = ("dev", "prod")
TG = "aws:lb/targetGroup:TargetGroup"
# Any image will do (prod params have no bootstrap image); it does not touch
# the target group.
IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/{env}/user-api:sha-bench"


@dataclass(frozen=True)
class Cutover:
    healthy_threshold: int
    interval: int
    timeout: int
    deregistration_delay: int

    @classmethod
    def from_inputs(cls, tg: dict[str, Any]) -> Cutover:
        hc = tg["healthCheck"]
        return cls(
            healthy_threshold=int(hc["healthyThreshold"]),
            interval=int(hc["interval"]),
            timeout=int(hc["timeout"]),
            deregistration_delay=int(tg["deregistrationDelay"]),
        )

    @property
    def healthy_s(self) -> int:
        return self.healthy_threshold * self.interval

    @property
    def seconds(self) -> int:
        return self.healthy_s + self.deregistration_delay

    @property
    def worst_s(self) -> int:
        return self.seconds + self.timeout

    def explain(self) -> str:
        return (
            f"healthy {self.healthy_threshold} x {self.interval} s = {self.healthy_s} s"
            f" + drain {self.deregistration_delay} s = {self.seconds} s"
            f" (worst case + {self.timeout} s timeout = {self.worst_s} s)"
        )


def recorded_target_groups(env: str, params_dir: Path = params.PARAMS_DIR) -> dict[str, dict[str, Any]]:
    """Target-group inputs per lane, taken from recorded plans."""
    infra_ref = naming.stack_ref(naming.infra_stack(env))
    boot_ref = naming.stack_ref(naming.boot_stack(SERVICE, env))
    infra = placeholder_outputs(naming.infra_stack(env), params_dir)
    boot = run_stack(naming.boot_stack(SERVICE, env), references={infra_ref: infra}, params_dir=params_dir)
    refs = {infra_ref: infra, boot_ref: boot.outputs}
    config = {"imageUri": IMAGE.format(env=env)}
    gray = run_stack(naming.lane_stack(SERVICE, env, "gray"), references=refs, config=config, params_dir=params_dir)
    default = run_stack(
        naming.lane_stack(SERVICE, env, naming.DEFAULT_LANE), references=refs, config=config, params_dir=params_dir
    )
    # The default lane owns no target group: find the one it registers in.
    served = LaneOutputs.get(default.outputs, "target_group_arn")
    [default_tg] = [r for r in boot.of_type(TG) if r.state["arn"] == served]
    return {"gray": gray.one(TG).inputs, naming.DEFAULT_LANE: default_tg.inputs}


def figures(params_dir: Path = params.PARAMS_DIR) -> list[Figure]:
    aws = Cutover(**AWS_DEFAULTS)
    out = []
    for env in ENVS:
        for lane, tg in recorded_target_groups(env, params_dir).items():
            model = Cutover.from_inputs(tg)
            # The figure is the worst case, timeout included.
            out.append(
                Figure(
                    f"cutover {naming.lane_stack(SERVICE, env, lane)} (worst case)",
                    float(model.worst_s),
                    target=float(TARGET_S),
                    detail=f"{model.explain()}; {aws.seconds / model.seconds:.0f}x faster than AWS defaults",
                )
            )
    return out


def main(params_dir: Path = params.PARAMS_DIR) -> list[str]:
    aws = Cutover(**AWS_DEFAULTS)
    return [f"AWS defaults: {aws.explain()}"] + [
        f"{f.name}: {f.detail}; target <= {TARGET_S} s {f.verdict}" for f in figures(params_dir)
    ]


if __name__ == "__main__":
    print("\n".join(main()))

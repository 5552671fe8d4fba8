"""What a lane component is given: plain decisions made before anything
registers, and the outputs it reads from the infra and boot stacks."""

from __future__ import annotations

from dataclasses import dataclass

from components.contract import LaneReadsBoot, LaneReadsInfra
from components.params import BootParams, ServiceParams, SleepSchedule
from components.routing.carriers import Condition

INFRA_PRIVATE_SUBNETS_PROP = "infraPrivateSubnetIds"
# The boot stack's default target group, as a component input: the policy
# pack checks that a weighted rule forwards only there and to the lane's own.
BOOT_DEFAULT_TG_PROP = "bootDefaultTargetGroupArn"


@dataclass
class AppLaneArgs:
    service: str
    env: str
    lane: str
    image: str
    region: str
    service_params: ServiceParams
    boot_params: BootParams
    production: bool
    # Plain routing decisions, made before anything registers.
    rule_conditions: list[list[Condition]]
    rule_priorities: list[int]
    # What the lane reads from infra-{env} and boot-{service}-{env}.
    infra: LaneReadsInfra
    boot: LaneReadsBoot
    # Lifetime (components/lifetime.py): UTC times the runner recorded in the
    # stack config, and the env's sleep schedule (non-default lanes only).
    created_at: str | None = None
    expires_at: str | None = None
    sleep: SleepSchedule | None = None
    # Progressive promotion (components/routing/weighted.py): multilane:weight
    # and the priority of the weighted catch-all rule (0 and None: no rule).
    weight: int = 0
    weighted_priority: int | None = None
    # A cookie route (components/routing/cookie.py): its conditions and priority.
    cookie_conditions: list[Condition] | None = None
    cookie_priority: int | None = None

"""What a lane component is given: plain decisions made before anything
registers, and the outputs it reads from the infra and boot stacks."""

from __future__ import annotations

from dataclasses import dataclass

from components.contract import LaneReadsBoot, LaneReadsInfra
from components.params import BootParams, ServiceParams
from components.routing.carriers import Condition

INFRA_PRIVATE_SUBNETS_PROP = "infraPrivateSubnetIds"


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

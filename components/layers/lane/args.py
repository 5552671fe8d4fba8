"""What a lane component is given: plain decisions made before anything
registers, and the outputs it reads from the infra and boot stacks."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

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
    # infra outputs
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    # boot outputs
    listener_arn: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    default_target_group_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    service_discovery_service_arn: pulumi.Input[str]
    service_security_group_id: pulumi.Input[str]
    repository_url: pulumi.Input[str]

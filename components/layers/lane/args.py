"""What a lane component is given: plain decisions made before anything
registers, and the outputs it reads from the infra and boot stacks."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.params import BootParams, ServiceParams, SleepSchedule

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
    rule_conditions: list[list[dict]]
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
    cookie_conditions: list[dict] | None = None
    cookie_priority: int | None = None

"""Lane layer, stack ``{service}-{env}-{lane}``: one version of a service.

Reads infra (cluster, private subnets, VPC) and boot (listener, default
target group, log group, Cloud Map service, security group, repository) and
writes only the lane's own resources: task definition, execution and task
roles, ECS service, lane alarms, and, for every lane but ``default``, a
target group and the listener rule(s) that route the lane's header to it
(and, with ``multilane:weight``, the weighted catch-all rule of
progressive promotion).
The parts live beside this file: ``roles``, ``traffic``, ``service`` and the
pure ``container``.

The lane ``default`` is the fallback: its ECS service registers in the boot
stack's default target group and Cloud Map service and it creates no rule.

Everything a user can get wrong (lane name, image, params, pinned priority)
is checked in :func:`build` before the first registration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import naming, params, routing
from components.contract import LANE, LaneOutputs, LaneReadsBoot, LaneReadsInfra, read_reference
from components.errors import MultilaneError
from components.stackconfig import StackConfig
from components.stackname import LaneTarget, check_lane

from .args import BOOT_DEFAULT_TG_PROP, INFRA_PRIVATE_SUBNETS_PROP, AppLaneArgs
from .container import BOOTSTRAP_WORK_DIR, hardening, resolve_image
from .roles import lane_roles
from .service import ecs_service, lane_alarms, task_definition
from .sleep import expiry_tags, lane_tags, sleep_schedule
from .traffic import lane_traffic

LAYER = LANE.name


class AppLane(pulumi.ComponentResource):
    lane: str
    service_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    listener_rule_arns: pulumi.Output[list[str]]
    rule_priority: int
    task_definition_arn: pulumi.Output[str]
    image_uri: str
    route_header: str

    def __init__(self, name: str, args: AppLaneArgs, opts: pulumi.ResourceOptions | None = None):
        # The infra reference's private subnets, as a component input: the
        # real engine does not show StackReference reads to policy packs, so
        # this is where the pack's private-subnet check finds them.
        props: dict[str, pulumi.Input[Any]] = {INFRA_PRIVATE_SUBNETS_PROP: args.infra.private_subnet_ids}
        if args.weight:
            props[BOOT_DEFAULT_TG_PROP] = args.boot.default_target_group_arn
        super().__init__("multilane:lane:AppLane", name, props, opts)
        service, env, lane = args.service, args.env, args.lane
        tags = {**naming.tags(env, LAYER, service, lane), **lane_tags(args)}
        roles = lane_roles(args, tags, self)
        task_def = task_definition(args, roles, tags, self)
        traffic = lane_traffic(args, tags, self)
        watched = lane_alarms(args, traffic, self, lane_tags(args))
        ecs = ecs_service(args, task_def, traffic, watched, {**tags, **expiry_tags(args)}, self)
        sleep_schedule(args, ecs, tags, self)

        self.lane = lane
        self.service_name = ecs.name
        self.target_group_arn = traffic.target_group_arn
        self.listener_rule_arns = pulumi.Output.all(*[r.arn for r in traffic.rules]).apply(list)
        # 0 = no rule: the default lane is the listener's default action.
        self.rule_priority = args.rule_priorities[0] if args.rule_priorities else 0
        self.task_definition_arn = task_def.arn
        self.image_uri = args.image
        self.route_header = routing.carriers.route_header(lane)
        # Beside the contract's outputs, the infra reference's private subnets:
        # the real engine shows policy packs a component's registered outputs
        # but not StackReference reads, so the pack's private-subnet check
        # finds them here.
        self.register_outputs({**self.outputs().exports(), INFRA_PRIVATE_SUBNETS_PROP: args.infra.private_subnet_ids})

    def outputs(self) -> LaneOutputs:
        """The contract's lane outputs."""
        return LaneOutputs(
            lane=self.lane,
            service_name=self.service_name,
            target_group_arn=self.target_group_arn,
            listener_rule_arns=self.listener_rule_arns,
            rule_priority=self.rule_priority,
            task_definition_arn=self.task_definition_arn,
            image_uri=self.image_uri,
            route_header=self.route_header,
        )


def build(target: LaneTarget, config: StackConfig, params_dir: Path) -> LaneOutputs:
    service, env, lane = target.service, target.env, target.lane
    # Everything a user can get wrong fails here, before the first registration.
    check_lane(lane, where=f"lane of stack {target.stack!r}")
    infra = params.load_infra(env, params_dir)
    boot = params.load_boot(env, params_dir)
    svc = params.load_service(service, env, params_dir)
    image = resolve_image(target, config, svc)
    kind = "default" if lane == naming.DEFAULT_LANE else "lane"
    if (
        image == svc.bootstrap_image
        and hardening(svc, infra.production)[0]
        and BOOTSTRAP_WORK_DIR not in svc.writable_paths
    ):
        raise MultilaneError(
            f"params/{service}-{env}.json: the bootstrap image needs {BOOTSTRAP_WORK_DIR} writable under a read-only "
            f"root filesystem; add {BOOTSTRAP_WORK_DIR!r} to writablePaths or set readonlyRootFilesystem to false"
        )
    provider = getattr(svc.capacity_provider, kind)
    if provider not in infra.cluster.capacity_providers:
        raise MultilaneError(
            f"params/{service}-{env}.json: capacityProvider.{kind} is {provider}, but the cluster of {env} "
            f"registers only {', '.join(infra.cluster.capacity_providers)} (cluster.capacityProviders in "
            f"params/infra-{env}.json); add it there or pick one of those"
        )
    conditions = routing.carriers.lane_rule_conditions(lane, svc.lane_carriers, svc.lane_header_source_cidrs)
    if conditions:
        priorities = routing.priorities.allocate_priorities(
            service, lane, svc.lane_carriers, taken={}, pinned=config.priority
        )
    elif config.priority is not None:
        raise MultilaneError(
            f"stacks/Pulumi.{target.stack}.yaml: multilane:priority is {config.priority} but lane {lane!r} "
            "creates no listener rule (it is the listener's default action); remove the setting"
        )
    else:
        priorities = []
    if config.cookie and lane == naming.DEFAULT_LANE:
        raise MultilaneError(
            f"stacks/Pulumi.{target.stack}.yaml: multilane:cookie is set but the default lane takes every request "
            "no rule takes; set the cookie on another lane, or remove it"
        )
    cookie_conditions = cookie_priority = None
    if config.cookie and priorities:
        cookie_conditions = routing.cookie.cookie_conditions(*config.cookie, svc.lane_header_source_cidrs)
        cookie_priority = routing.cookie.cookie_priority(priorities[0], routing.priorities.band(0).start)
    if config.weight and lane == naming.DEFAULT_LANE:
        raise MultilaneError(
            f"stacks/Pulumi.{target.stack}.yaml: multilane:weight is {config.weight} but the default lane already "
            "takes every request no rule takes; set the weight on the lane being promoted, or remove it"
        )

    provider = aws.Provider("aws", region=infra.region)
    component = AppLane(
        "lane",
        AppLaneArgs(
            service=service,
            env=env,
            lane=lane,
            image=image,
            region=infra.region,
            service_params=svc,
            boot_params=boot,
            production=infra.production,
            rule_conditions=conditions,
            rule_priorities=priorities,
            infra=read_reference(LaneReadsInfra, target, config.org),
            boot=read_reference(LaneReadsBoot, target, config.org),
            created_at=config.created_at,
            expires_at=config.expires_at,
            sleep=infra.lanes.sleep,
            weight=config.weight,
            weighted_priority=routing.weighted.weighted_priority(service, lane) if config.weight else None,
            cookie_conditions=cookie_conditions,
            cookie_priority=cookie_priority,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return component.outputs()

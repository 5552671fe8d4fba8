"""The lane's traffic: the default lane is the boot stack's default target
group (the listener's default action); every other lane gets its own target
group and one listener rule per carrier that routes its header to it, plus,
with ``multilane:weight`` above 0, one weighted catch-all rule after every
header rule (components/routing/weighted.py) that splits the remaining
requests between the boot default target group and the lane's, sticky."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from components import alarms, naming
from components.layers.boot import target_group_args
from components.routing import weighted
from components.routing.carriers import Condition

from .args import AppLaneArgs


@dataclass(frozen=True)
class LaneTraffic:
    target_group_arn: pulumi.Output[str]
    target_group_suffix: pulumi.Output[str]
    load_balancer_suffix: pulumi.Output[str]
    rules: list[aws.lb.ListenerRule]


def condition_args(condition: Condition) -> aws.lb.ListenerRuleConditionArgs:
    """One condition of ``routing.carriers.lane_rule_conditions`` as the
    pulumi-aws input type: an http-header or a source-ip match."""
    if "source_ip" in condition:
        return aws.lb.ListenerRuleConditionArgs(
            source_ip=aws.lb.ListenerRuleConditionSourceIpArgs(values=list(condition["source_ip"]["values"]))
        )
    header = condition["http_header"]
    return aws.lb.ListenerRuleConditionArgs(
        http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
            http_header_name=header["http_header_name"],
            regex_values=header.get("regex_values"),
            values=header.get("values"),
        )
    )


def lane_traffic(args: AppLaneArgs, tags: dict[str, str], parent: pulumi.Resource) -> LaneTraffic:
    child = pulumi.ResourceOptions(parent=parent)
    lb_suffix = pulumi.Output.from_input(args.boot.load_balancer_arn).apply(alarms.arn_suffix)
    if args.lane == naming.DEFAULT_LANE:
        tg_arn = pulumi.Output.from_input(args.boot.default_target_group_arn)
        return LaneTraffic(tg_arn, tg_arn.apply(alarms.arn_suffix), lb_suffix, [])
    tg_args = target_group_args(args.boot_params, args.service_params)
    tg = aws.lb.TargetGroup(
        "tg",
        # The name hashes the replace-forcing settings: a replacement gets a
        # new name, so create-before-delete works while the rule still
        # forwards to the old group.
        name=naming.target_group_name(
            args.service,
            args.env,
            args.lane,
            port=tg_args["port"],
            protocol=tg_args["protocol"],
            target_type=tg_args["target_type"],
        ),
        vpc_id=args.infra.vpc_id,
        tags=tags,
        **tg_args,
        opts=child,
    )
    rules = [
        aws.lb.ListenerRule(
            f"rule-{i}",
            listener_arn=args.boot.http_listener_arn,
            priority=priority,
            conditions=[condition_args(c) for c in conditions],
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)],
            tags=tags,
            opts=child,
        )
        for i, (conditions, priority) in enumerate(zip(args.rule_conditions, args.rule_priorities, strict=True))
    ]
    if args.cookie_conditions and args.cookie_priority is not None:
        rules.append(
            aws.lb.ListenerRule(
                "cookie",
                listener_arn=args.boot.http_listener_arn,
                priority=args.cookie_priority,
                conditions=[condition_args(c) for c in args.cookie_conditions],
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)],
                tags=tags,
                opts=child,
            )
        )
    if args.weight and args.weighted_priority is not None:
        rules.append(
            aws.lb.ListenerRule(
                "weighted",
                listener_arn=args.boot.http_listener_arn,
                priority=args.weighted_priority,
                # Plain dicts in pulumi-aws's input shape (components/routing/weighted.py
                # keeps them pure for the policy pack and the ALB evaluator).
                conditions=cast(list[aws.lb.ListenerRuleConditionArgsDict], weighted.catch_all_conditions()),
                actions=[
                    cast(
                        aws.lb.ListenerRuleActionArgsDict,
                        weighted.weighted_forward(
                            args.boot.default_target_group_arn,
                            tg.arn,
                            args.weight,
                            args.service_params.promotion.stickiness_seconds,
                        ),
                    )
                ],
                tags=tags,
                opts=child,
            )
        )
    return LaneTraffic(tg.arn, tg.arn_suffix, lb_suffix, rules)

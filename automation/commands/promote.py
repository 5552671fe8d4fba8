"""``promote --steps``, ``--dry-run`` and ``--abort``: progressive promotion (issue #15).

python -m automation promote user-api-dev gray --steps 10,50,100 --bake 300
python -m automation promote user-api-dev-gray --steps 10,50,100 --dry-run
python -m automation promote --abort user-api-dev gray

The ``promote`` sub-command itself is registered by ``automation/commands/lanes.py``;
this module adds its progressive options and runs them
(automation/promotion.py holds the state machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from automation import lifecycle, promotion
from automation.commands.common import SEAMS, make_runner, report
from components import alarms, naming, params, stackname
from components.errors import MultilaneError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps",
        metavar="W,W,...",
        help="progressive promotion: weights (percent of the requests no header rule takes) to bake one after "
        "another, ending at 100, e.g. 10,50,100 (default from params promotion.steps when --bake or --dry-run "
        "is given)",
    )
    p.add_argument(
        "--bake", type=int, metavar="SECONDS", help="seconds each step bakes (default: promotion.bakeSeconds)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan of steps and change nothing")
    p.add_argument("--abort", action="store_true", help="kill switch: set the lane's weight to 0 at once")


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.steps or args.bake is not None or args.dry_run or args.abort)


def service_env_lane(args: argparse.Namespace) -> tuple[str, str, str]:
    """``user-api-dev gray`` or the lane stack ``user-api-dev-gray`` (stack names
    are parsed only by components/stackname.py)."""
    if args.from_lane:
        service, env = lifecycle.service_env(args.service_env)
        return service, env, args.from_lane
    target = stackname.resolve(args.service_env)
    if target.layer != "lane" or target.service is None or target.lane is None:
        raise MultilaneError(
            f"{args.service_env!r} is not a lane stack; name <service>-<env> <lane> or a lane stack such as "
            "user-api-dev-gray"
        )
    return target.service, target.env, target.lane


def settings_for(args: argparse.Namespace, service: str, env: str) -> promotion.Settings:
    p = params.load_service(service, env).promotion
    steps = promotion.parse_steps(args.steps) if args.steps else list(p.steps)
    bake = p.bake_seconds if args.bake is None else args.bake
    promotion.check_bake(bake, p.poll_seconds)
    return promotion.Settings(
        steps=tuple(steps),
        bake_seconds=bake,
        poll_seconds=p.poll_seconds,
        stickiness_seconds=p.stickiness_seconds,
        thresholds=promotion.Thresholds(
            max_5xx_percent_over_default=p.max_5xx_percent_over_default,
            max_p99_ratio=p.max_p99_ratio,
            min_p99_delta_ms=p.min_p99_delta_ms,
            min_requests=p.min_requests,
            breach_polls=p.breach_polls,
            window_polls=p.window_polls,
        ),
    )


def cloudwatch_source(runner: Any, service: str, env: str, lane: str) -> promotion.MetricsSource:
    """The real metrics: the lane's and the default lane's target groups in CloudWatch."""
    backend = runner.backend
    lane_out = backend.outputs(naming.lane_stack(service, env, lane))
    boot_out = backend.outputs(naming.boot_stack(service, env))
    region = params.load_infra(env).region
    return promotion.cloudwatch_metrics(
        load_balancer_arn=str(boot_out["LoadBalancerArn"]),
        lane_target_group_arn=str(lane_out["TargetGroupArn"]),
        default_target_group_arn=str(boot_out["DefaultTargetGroupArn"]),
        alarm_names=[
            naming.alarm_name(service, env, lane, m)
            for m in (alarms.LANE_5XX, alarms.LANE_RUNNING, alarms.LANE_HEALTHY)
        ],
        region=region,
    )


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    service, env, lane = service_env_lane(args)
    if args.abort:
        if args.steps or args.dry_run or args.bake is not None:
            raise MultilaneError("--abort takes no --steps, --bake or --dry-run; it only sets the weight to 0")
        runner = make_runner(args)
        return report("promote", args, runner, [promotion.abort(runner, service, env, lane)], start)
    settings = settings_for(args, service, env)
    stack = naming.lane_stack(service, env, lane)
    if args.dry_run:
        print(promotion.render_plan(stack, lane, naming.lane_stack(service, env, naming.DEFAULT_LANE), settings))
        return 0
    runner = make_runner(args)
    promotion.check_startable(runner, service, env, lane)
    factory = SEAMS.metrics or cloudwatch_source
    metrics = factory(runner, service, env, lane)
    result, outcomes = promotion.progressive(
        runner, service, env, lane, settings, metrics, sleep=SEAMS.sleep, waiter=SEAMS.waiter
    )
    code = report("promote", args, runner, outcomes, start) if outcomes else 0
    if not result.ok:
        print(f"promote: {result.reason}", file=sys.stderr)
        return 1
    return code

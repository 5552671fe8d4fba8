"""``promote``, ``rollback`` and ``lanes``: a service's lanes in one env."""

from __future__ import annotations

import argparse
import json
import time

from automation import lifecycle
from automation.commands import promote as promote_command
from automation.commands.common import SEAMS, add_common, make_runner, report


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "promote",
        help="make a lane the default: up default with its image, wait until stable, then remove the lane",
        description="Promote a lane (e.g. gray) to the default lane. The default lane is updated and stable before "
        "the source lane is destroyed and its stack removed.",
    )
    p.add_argument(
        "service_env", metavar="<service>-<env>", help="e.g. user-api-dev (or a lane stack, user-api-dev-gray)"
    )
    p.add_argument(
        "from_lane", nargs="?", metavar="<from-lane>", help="the lane whose image becomes the default, e.g. gray"
    )
    p.add_argument("--keep-source", action="store_true", help="keep the source lane after promotion")
    promote_command.add_arguments(p)
    add_common(p, parallel=False)
    p.set_defaults(func=run_promote)

    p = sub.add_parser(
        "rollback",
        help="re-deploy a lane's previous image (read back from the stack's update history)",
        description="Roll a lane (default unless named) back to the image it ran before the current one; "
        "repeated rollbacks walk further back and never return to an image already rolled back from.",
    )
    p.add_argument("service_env", metavar="<service>-<env>", help="e.g. user-api-dev")
    p.add_argument(
        "lane", nargs="?", default="default", metavar="<lane>", help="the lane to roll back (default: default)"
    )
    add_common(p, parallel=False)
    p.set_defaults(func=run_rollback)

    p = sub.add_parser(
        "lanes",
        help="list a service's lane stacks: image, priority, route header, last update",
        description="List the lane stacks of one service in one env.",
    )
    p.add_argument("service_env", metavar="<service>-<env>", help="e.g. user-api-dev")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=run_lanes)


def run_promote(args: argparse.Namespace) -> int:
    if promote_command.wanted(args):  # progressive promotion (issue #15)
        return promote_command.run(args)
    start = time.monotonic()
    service, env, from_lane = promote_command.service_env_lane(args)
    runner = make_runner(args)
    outcomes = lifecycle.promote(runner, service, env, from_lane, keep_source=args.keep_source, waiter=SEAMS.waiter)
    return report("promote", args, runner, outcomes, start)


def run_rollback(args: argparse.Namespace) -> int:
    start = time.monotonic()
    service, env = lifecycle.service_env(args.service_env)
    runner = make_runner(args)
    outcomes = lifecycle.rollback(runner, service, env, args.lane)
    return report("rollback", args, runner, outcomes, start)


def run_lanes(args: argparse.Namespace) -> int:
    service, env = lifecycle.service_env(args.service_env)
    rows = lifecycle.lanes(SEAMS.backend(), service, env, now=SEAMS.clock())
    if args.json:
        print(json.dumps({"service": service, "env": env, "lanes": [r.to_json() for r in rows]}, indent=2))
    else:
        print(lifecycle.render_lanes(service, env, rows))
    return 0

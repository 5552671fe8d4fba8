"""``up``, ``preview`` and ``destroy`` for one or more stacks.

python -m automation up infra-dev boot-user-api-dev user-api-dev-default
python -m automation up --params-file cfn-params.json --var SERVICE=user-api --var LANE=gray --var ENV=dev
python -m automation preview user-api-dev-gray user-api-dev-blue --parallel 2 --json
python -m automation destroy user-api-dev-gray
"""

from __future__ import annotations

import argparse
import time

from automation.commands.common import SEAMS, add_common, make_runner, report
from automation.inputs import VAR_KEYS, build_request
from automation.runner import remove_after_destroy

HELP = {
    "up": "create or update stacks (infra -> boot -> lanes; lanes in parallel)",
    "preview": "show what up would change, without changing anything",
    "destroy": "delete the resources of stacks (lanes -> boot -> infra)",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for op in ("up", "preview", "destroy"):
        p = sub.add_parser(op, help=HELP[op], description=HELP[op].capitalize() + ".")
        p.add_argument(
            "stacks",
            nargs="*",
            metavar="stack",
            help="stack names (infra-dev, boot-user-api-dev, user-api-dev-gray, pipelines-dev); "
            "none: the lane named by --var SERVICE/LANE/ENV",
        )
        if op == "destroy":
            p.add_argument(
                "--remove", action="store_true", help="also remove the stacks (history and config) once empty"
            )
        else:
            p.add_argument(
                "--params-file",
                metavar="FILE",
                help='the build\'s parameter file {"Parameters": {"ServiceName", "Env", "Lane", "ImageUri"}}',
            )
        p.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=f"pipeline variable, repeatable: {', '.join(VAR_KEYS)} (ENV defaults to $APP_ENV)",
        )
        add_common(p)
        p.set_defaults(func=run, op=op)


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    request = build_request(args.stacks, args.var, getattr(args, "params_file", None), SEAMS.environ)
    runner = make_runner(args)
    configs = runner.prepare(args.op, request)
    outcomes = runner.run(args.op, request.targets, configs, request.message)
    if args.op == "destroy" and args.remove:
        for o in outcomes:
            if o.status == "ok":
                remove_after_destroy(runner.backend, o, f"python -m automation destroy {o.stack} --remove")
    return report(args.op, args, runner, outcomes, start)

"""What every runner command shares: the backend, the runner, output, exit codes.

``SEAMS`` holds the factories a test replaces (the backend, the listener
rules source, the ECS stability waiter, sleep); nothing else in the commands
touches Pulumi or AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from automation import priority
from automation.lifecycle import Waiter
from automation.progress import Progress, StackOutcome, summary_json, summary_text
from automation.runner import DEFAULT_PARALLEL, RetryPolicy, Runner
from automation.workspace import Backend, PulumiBackend

EXIT_OK = 0
EXIT_FAILED = 1


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _pulumi_backend() -> Backend:
    return PulumiBackend()


@dataclass
class Seams:
    backend: Callable[[], Backend] = _pulumi_backend
    rules_source: priority.RulesSource = priority.boto3_rules_source
    waiter: Waiter | None = None  # None: automation.lifecycle's boto3 waiter
    sleep: Callable[[float], None] = time.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Any = _utc_now  # () -> aware datetime: lane lifetimes, reap
    # (runner, service, env, lane) -> automation.promotion.MetricsSource; None: CloudWatch
    metrics: Any = None


SEAMS = Seams()


def add_common(p: argparse.ArgumentParser, *, parallel: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="JSON: progress as JSON lines on stderr, the result on stdout")
    if parallel:
        p.add_argument(
            "--parallel",
            type=int,
            default=DEFAULT_PARALLEL,
            metavar="N",
            help=f"stacks of one phase run at once (default {DEFAULT_PARALLEL})",
        )


def make_runner(args: argparse.Namespace, **kwargs: Any) -> Runner:
    progress = Progress(json_mode=getattr(args, "json", False))
    backend = SEAMS.backend()
    runner = Runner(
        backend,
        progress,
        parallel=getattr(args, "parallel", DEFAULT_PARALLEL),
        rules_source=SEAMS.rules_source,
        sleep=SEAMS.sleep,
        retry=SEAMS.retry,
        clock=SEAMS.clock,
        **kwargs,
    )
    runner.note(backend.describe())
    return runner


def report(command: str, args: argparse.Namespace, runner: Runner, outcomes: list[StackOutcome], start: float) -> int:
    total = time.monotonic() - start
    if getattr(args, "json", False):
        print(json.dumps(summary_json(command, outcomes, total, runner.notes), indent=2, default=str))
    else:
        print(summary_text(outcomes, total))
    sys.stdout.flush()
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else EXIT_OK

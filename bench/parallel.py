"""12 lane previews through the runner at --parallel 4 vs serial (target: <= 1/3 of serial).

The fake backend (harness/fake.py) sleeps a fixed time per stack
operation, so the figure measures the runner's scheduling (thread pool,
pre-checks, progress, event collection), not Pulumi.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from automation.progress import Progress
from automation.runner import Runner
from bench._figure import Figure
from components.stackname import resolve
from harness.fake import FakeBackend

DELAY_S = 0.25
LANES = 12
PARALLEL = 4
TARGET_RATIO = 1 / 3
STACKS = [f"user-api-dev-lane{i:02d}" for i in range(LANES)]


def timed(parallel: int) -> float:
    fake = FakeBackend.deployed("infra-dev", "boot-user-api-dev", *STACKS, delay=DELAY_S)
    with tempfile.TemporaryDirectory() as stacks_dir:
        runner = Runner(
            fake,
            Progress(stream=io.StringIO()),
            parallel=parallel,
            stacks_dir=Path(stacks_dir),
            rules_source=lambda arn: [],
        )
        targets = [resolve(s) for s in STACKS]
        start = time.perf_counter()
        outcomes = runner.run("preview", targets)
        elapsed = time.perf_counter() - start
    if any(o.status != "ok" for o in outcomes):
        raise RuntimeError(f"a preview failed: {next(o.message for o in outcomes if o.status != 'ok')}")
    return elapsed


def figures() -> list[Figure]:
    serial = timed(1)
    parallel = timed(PARALLEL)
    return [
        Figure(
            f"{LANES} lane previews, --parallel {PARALLEL} / serial",
            parallel / serial,
            unit="",
            target=TARGET_RATIO,
            detail=f"serial {serial:.2f} s, parallel {parallel:.2f} s (fake backend, {DELAY_S:.2f} s per operation)",
        )
    ]

"""Cold-process wall time of `python -m automation plan <stack>`.

Target 1.5 s for infra-dev and user-api-dev-gray only; boot and pipelines
plans have no target (README "Performance").
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._figure import Figure

ROOT = Path(__file__).resolve().parent.parent

RUNS = 9
# stack -> target median in seconds (None: no target).
STACKS: dict[str, float | None] = {
    "infra-dev": 1.5,
    "boot-user-api-dev": None,
    "user-api-dev-gray": 1.5,
    "pipelines-dev": None,
}


def time_plan(stack: str) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "automation", "plan", stack], cwd=ROOT, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(f"plan {stack} failed: {proc.stderr.strip().splitlines()[-1]}")
    return times


def figures() -> list[Figure]:
    out = []
    for stack, target in STACKS.items():
        name = f"cold plan {stack} (median)"
        try:
            times = time_plan(stack)
        except RuntimeError as exc:
            out.append(Figure(name, None, target=target, detail=str(exc)))
            continue
        out.append(
            Figure(name, statistics.median(times), target=target, detail=f"min {min(times):.2f} s over {RUNS} runs")
        )
    return out

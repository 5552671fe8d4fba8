"""Cold-process wall time of `python -m automation plan <stack>` (target < 1.5 s)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5
RUNS = 9
STACKS = ["infra-dev", "boot-user-api-dev", "user-api-dev-gray", "pipelines-dev"]


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


def main() -> list[str]:
    lines = []
    for stack in STACKS:
        try:
            times = time_plan(stack)
        except RuntimeError as exc:
            lines.append(f"plan {stack}: SKIPPED ({exc})")
            continue
        median = statistics.median(times)
        verdict = "ok" if median < TARGET_S else "FAIL"
        lines.append(
            f"plan {stack}: median {median:.2f} s, min {min(times):.2f} s over {RUNS} cold runs "
            f"(target < {TARGET_S} s) {verdict}"
        )
    return lines

"""The AWS-emulated tier (`pytest -m e2e`) must run in under 60 s.

Runs the tier in a subprocess exactly as `make test-e2e` does and reports its
wall time; a failing test or a run over the target is a FAIL line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench._figure import Figure

TARGET_S = 60.0
ROOT = Path(__file__).resolve().parent.parent


def figures() -> list[Figure]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "e2e", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    name = "e2e tier (pytest -m e2e) wall time"
    if done.returncode != 0:
        return [Figure(name, None, target=TARGET_S, detail=f"the tier failed: {summary}; run `make test-e2e`")]
    return [Figure(name, took, target=TARGET_S, detail=summary)]

"""The AWS-emulated tier (`pytest -m e2e`) must run in under 60 s.

Runs the tier in a subprocess exactly as `make test-e2e` does and reports its
wall time; a failing test or a run over the target is a FAIL line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 60.0
ROOT = Path(__file__).resolve().parent.parent


def main() -> list[str]:
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
    ok = done.returncode == 0 and took < TARGET_S
    verdict = "ok" if ok else "FAIL"
    return [f"e2e tier (pytest -m e2e): {took:.1f} s wall, target < {TARGET_S:.0f} s: {verdict} ({summary})"]

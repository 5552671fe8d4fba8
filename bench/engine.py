"""The real engine against the sandbox: a lane's up and preview, and 8 lanes through the runner.

Figures (no targets are set for these; the README reports them):
- cold `pulumi up` of user-api-dev-gray (infra, boot and default deployed first);
- `pulumi preview` of that lane unchanged;
- `python -m automation plan user-api-dev-gray` (the offline harness) for comparison;
- `python -m automation up` of 8 lanes at `--parallel 1` and at `--parallel 4`
  (two sandboxes, the same base), and their ratio.
Needs `make engine`; without it the figures say "not measured".
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from bench._figure import Figure
from sandbox import core as sb

LANES = 8


class _Run:
    def __init__(self, root: Path) -> None:
        self.project = sb.copy_project(root / "project")
        self.dir = root / "sandbox"
        self.env = sb.process_env(self.dir, sb.start(self.dir))

    def timed(self, *argv: str) -> float:
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=self.project, env=self.env, capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {(done.stderr or done.stdout).strip()[-400:]}")
        return took

    def pulumi(self, *args: str) -> float:
        return self.timed("pulumi", *args)

    def runner(self, *args: str) -> float:
        return self.timed(str(self.project / "venv" / "bin" / "python"), "-m", "automation", *args)

    def base(self) -> None:
        for stack in ("infra-dev", "boot-user-api-dev", "user-api-dev-default"):
            self.pulumi("stack", "select", "--create", stack)
            self.pulumi("up", "--yes", "--skip-preview", "-s", stack)

    def stop(self) -> None:
        sb.stop(self.dir)


def _lane_figures(run: _Run) -> list[Figure]:
    run.base()
    run.pulumi("stack", "init", "user-api-dev-gray")
    up = run.pulumi("up", "--yes", "-s", "user-api-dev-gray")
    preview = run.pulumi("preview", "-s", "user-api-dev-gray")
    plan = run.runner("plan", "user-api-dev-gray")
    return [
        Figure("real `pulumi up` user-api-dev-gray (cold)", up, detail="preview + create of the lane"),
        Figure("real `pulumi preview` user-api-dev-gray (unchanged)", preview),
        Figure("`automation plan` user-api-dev-gray (offline)", plan),
    ]


def _lanes_at(run: _Run, parallel: int) -> float:
    run.base()
    stacks = [f"user-api-dev-b{i}" for i in range(LANES)]
    return run.runner("up", "--parallel", str(parallel), *stacks)


def figures() -> list[Figure]:
    try:
        sb.engine_bin()
    except sb.SandboxError as err:
        return [Figure("real engine", None, detail=str(err))]
    out: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        try:
            runs.append(_Run(Path(tmp) / "lane"))
            out += _lane_figures(runs[-1])
            runs.append(_Run(Path(tmp) / "serial"))
            serial = _lanes_at(runs[-1], 1)
            runs.append(_Run(Path(tmp) / "parallel"))
            parallel = _lanes_at(runs[-1], 4)
        finally:
            for run in runs:
                run.stop()
    out += [
        Figure(f"runner up of {LANES} lanes, --parallel 1", serial),
        Figure(f"runner up of {LANES} lanes, --parallel 4", parallel),
        Figure("ratio parallel/serial", parallel / serial, unit="", detail="2 cores: the engines compete for CPU"),
    ]
    return out

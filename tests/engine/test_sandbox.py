"""`python -m sandbox`: refuses a second start over a running one, says so on stop without one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.engine


def sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_start_refuses_a_running_sandbox_and_stop_says_when_there_is_none(tmp_path: Path) -> None:
    dir_ = tmp_path / "sb"
    started = sandbox("start", str(dir_))
    assert started.returncode == 0, started.stderr
    try:
        env_sh = (dir_ / "env.sh").read_text()
        assert "PULUMI_BACKEND_URL=file://" in env_sh and "AWS_ENDPOINT_URL=http://127.0.0.1:" in env_sh
        again = sandbox("start", str(dir_))
        assert again.returncode == 2
        assert again.stderr.strip().splitlines()[-1].startswith(f"error: a sandbox is already running in {dir_}")
        assert "Traceback" not in again.stderr
    finally:
        stopped = sandbox("stop", str(dir_))
    assert stopped.returncode == 0, stopped.stderr
    none = sandbox("stop", str(dir_))
    assert none.returncode == 2
    assert none.stderr.strip() == f"error: no sandbox is running in {dir_}"


def test_a_file_in_place_of_the_folder_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    done = sandbox("start", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path} is a file, not a folder; name a folder for the sandbox"

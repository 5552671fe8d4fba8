"""Shared fixtures: the recording harness and a scratch params/ directory."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401
import pytest

from components.params import PARAMS_DIR
from harness.offline import Recording, run_stack

ENGINE_BIN = Path(__file__).resolve().parent.parent / ".engine" / "bin"


def pytest_configure(config: pytest.Config) -> None:
    # The real CLI that `make engine` linked (when it did not find one on PATH).
    if (ENGINE_BIN / "pulumi").exists():
        os.environ["PATH"] = f"{ENGINE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


# hypothesis is imported above, at collection: its pytest plugin imports it
# (through pytest's assertion rewriter) only at the terminal summary
# otherwise, and CPython 3.11's AST builder fails with "AST constructor
# recursion depth mismatch" when a finalizer of the run's garbage fires inside it.


@pytest.fixture
def run() -> Callable[..., Recording]:
    """Run one stack of the real program under the recording mocks."""
    return run_stack


@pytest.fixture
def params_dir(tmp_path: Path) -> Path:
    """A writable copy of params/ for tests that change or break a file."""
    dest = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, dest)
    return dest


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def write_service(params_dir: Path, service: str, env: str, **overrides: Any) -> Path:
    """Add a service params file (a copy of user-api-dev.json plus overrides)."""
    data = json.loads((PARAMS_DIR / "user-api-dev.json").read_text())
    data.update(overrides)
    path = params_dir / f"{service}-{env}.json"
    path.write_text(json.dumps(data))
    return path

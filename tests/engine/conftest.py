"""The real-engine tier: the Pulumi CLI (make engine) against the sandbox's emulated AWS.

Each test gets a fresh sandbox (its own moto account, emulated provider and
file backend) and a fresh copy of the project, so `pulumi config set` and
`pulumi stack init` write their stack files there, never into the checkout.
A missing engine fails the tier (``make test`` builds it first); it is never
skipped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

import sandbox.core as sb

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 600


@dataclass
class Sandbox:
    dir: Path
    project: Path
    env: dict[str, str]
    aws_endpoint: str

    def pulumi(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("pulumi", *args, check=check, input=input)

    def run(self, *argv: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(argv),
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            input=input,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def runner(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.project / "venv" / "bin" / "python"), "-m", "automation", *args, check=check)

    def up(self, stack: str, *extra: str) -> subprocess.CompletedProcess[str]:
        self.pulumi("stack", "select", "--create", stack)
        return self.pulumi("up", "--yes", "--skip-preview", "-s", stack, *extra)

    def outputs(self, stack: str) -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "output", "--json", "--show-secrets", "-s", stack).stdout)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=self.env["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    try:
        sb.engine_bin()
    except sb.SandboxError as err:
        pytest.fail(f"the engine tier needs the Pulumi CLI: {err}")
    project = sb.copy_project(tmp_path / "project")
    dir_ = tmp_path / "sandbox"
    state = sb.start(dir_)
    try:
        yield Sandbox(dir_, project, sb.process_env(dir_, state), state["aws_endpoint"])
    finally:
        sb.stop(dir_)

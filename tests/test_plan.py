"""`python -m automation plan`: the tree, JSON, placeholders, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from automation.cli import main

ROOT = Path(__file__).resolve().parent.parent


def plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automation", "plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_plan_infra_dev_prints_the_tree_and_outputs() -> None:
    proc = plan("infra-dev")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Stack infra-dev: 23 resources")
    assert "    aws:ec2/vpc:Vpc  vpc [protected]  (cidrBlock=10.10.0.0/16)" in out
    assert "aws:ecs/cluster:Cluster  cluster  (name=multilane-dev)" in out
    assert "Outputs:\n" in out and "  ClusterName: multilane-dev" in out
    assert "PLACEHOLDER" not in out  # infra reads no other stack


def test_plan_json_is_machine_readable() -> None:
    proc = plan("infra-prod", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["stack"] == "infra-prod"
    types = [r["type"] for r in data["resources"]]
    assert types.count("aws:ec2/natGateway:NatGateway") == 3
    vpc = next(r for r in data["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert vpc["protect"] is True and vpc["parent"].endswith("multilane:infra:Environment::environment")
    assert data["outputs"]["NamespaceName"] == "prod.multilane.internal"


def test_bad_stack_and_bad_arguments_exit_2_without_traceback(capsys) -> None:
    assert main(["plan", "qa-stack"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'qa-stack' does not start with a {service}-{env}")
    assert err.count("\n") == 1
    assert main(["plan", "infra-dev", "--config", "novalue"]) == 2
    assert "--config 'novalue' is not KEY=VALUE" in capsys.readouterr().err


def test_help_lists_plan() -> None:
    proc = subprocess.run([sys.executable, "-m", "automation", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "plan" in proc.stdout

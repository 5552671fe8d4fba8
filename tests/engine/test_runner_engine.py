"""The runner (python -m automation) through its real adapter, on the real engine.

automation/workspace.py's PulumiBackend drives the CLI through Pulumi's
Automation API; nothing here is faked: the engine, the backend and the
stack references are real, AWS is the sandbox's moto.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any

import pytest

from components import naming

from .conftest import Sandbox
from .test_deploy import inventory, reaches

pytestmark = pytest.mark.engine

BASE = ("infra-dev", "boot-user-api-dev", "user-api-dev-default")


def lanes(sb: Sandbox) -> list[dict[str, Any]]:
    return json.loads(sb.runner("lanes", "user-api-dev", "--json").stdout)["lanes"]


def image(boot: dict[str, Any], tag: str) -> str:
    return f"{boot['RepositoryUrl']}:{tag}"


def test_runner_up_preview_lanes_promote_rollback_destroy(sandbox: Sandbox) -> None:
    sandbox.runner("up", *BASE)
    boot = sandbox.outputs("boot-user-api-dev")
    first, second = image(boot, "sha-aaaaaaa-b1"), image(boot, "sha-bbbbbbb-b2")

    sandbox.runner("up", "user-api-dev-blue", "--var", f"IMAGE_URI={first}")
    blue = sandbox.outputs("user-api-dev-blue")
    assert blue["ImageUri"] == first
    listener = boot["HttpListenerArn"]
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:blue"}) == {blue["TargetGroupArn"]}

    preview = sandbox.runner("preview", "user-api-dev-blue", "--json")
    assert "user-api-dev-blue" in preview.stdout

    listed = {lane["lane"]: lane for lane in lanes(sandbox)}
    assert set(listed) >= {"default", "blue"}
    assert listed["blue"]["image"] == first
    assert int(listed["blue"]["priority"]) == blue["RulePriority"]

    # A second image, then rollback: the lane runs the first image again.
    sandbox.runner("up", "user-api-dev-blue", "--var", f"IMAGE_URI={second}")
    assert sandbox.outputs("user-api-dev-blue")["ImageUri"] == second
    sandbox.runner("rollback", "user-api-dev", "blue")
    assert sandbox.outputs("user-api-dev-blue")["ImageUri"] == first

    # Promote: default takes blue's image, then the blue lane and its stack go.
    sandbox.runner("promote", "user-api-dev", "blue")
    assert sandbox.outputs("user-api-dev-default")["ImageUri"] == first
    assert "blue" not in {lane["lane"] for lane in lanes(sandbox)}
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:blue"}) == {boot["DefaultTargetGroupArn"]}

    # destroy --remove of a fresh lane removes its resources and its stack.
    sandbox.runner("up", "user-api-dev-gray", "--var", f"IMAGE_URI={second}")
    before = inventory(sandbox)
    sandbox.runner("destroy", "--remove", "user-api-dev-gray")
    assert "gray" not in {lane["lane"] for lane in lanes(sandbox)}
    gone = before - inventory(sandbox)
    assert gone and {k.split(":", 1)[0] for k in gone} <= {"tg", "rule", "service", "taskdef", "role", "alarm"}


def test_eight_lanes_at_once_through_the_runner(sandbox: Sandbox) -> None:
    sandbox.runner("up", *BASE)
    boot = sandbox.outputs("boot-user-api-dev")
    names = [f"l{i}" for i in range(8)]
    stacks = [naming.lane_stack("user-api", "dev", lane) for lane in names]
    for stack in stacks:
        sandbox.pulumi("stack", "init", stack)
        sandbox.pulumi("config", "set", "-s", stack, "multilane:imageUri", image(boot, "sha-ccccccc-b3"))
    sandbox.runner("up", "--parallel", "8", *stacks)

    rules = sandbox.client("elbv2").describe_rules(ListenerArn=boot["HttpListenerArn"])["Rules"]
    priorities = [r["Priority"] for r in rules if not r["IsDefault"]]
    assert len(priorities) == len(set(priorities)) == 8, "one rule per lane, no priority conflicts"
    tgs = sandbox.client("elbv2").describe_target_groups()["TargetGroups"]
    assert len({t["TargetGroupName"] for t in tgs}) == len(tgs) == 9  # 8 lanes + the default group
    for lane, stack in zip(names, stacks, strict=True):
        out = sandbox.outputs(stack)
        assert reaches(sandbox, boot["HttpListenerArn"], {"tracestate": f"ctx=lane:{lane}"}) == {out["TargetGroupArn"]}


def test_an_interrupted_up_converges_on_the_next_one(sandbox: Sandbox) -> None:
    for stack in BASE[:2]:
        sandbox.up(stack)
    sandbox.pulumi("stack", "select", "--create", "user-api-dev-default")
    child = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "-s", "user-api-dev-default"],
        cwd=sandbox.project,
        env=sandbox.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    # Kill the CLI (and its plugins) once the engine has started creating.
    assert child.stdout is not None
    deadline = time.monotonic() + 300
    for line in child.stdout:
        if "creating" in line or time.monotonic() > deadline:
            break
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()

    # Pulumi's own recovery: cancel drops the killed update's lock; refresh
    # reads back what the engine finished and drops creates it never did.
    # A kill can land while the file backend writes a checkpoint's sidecar
    # (seen: an empty .json.attrs, then "failed to load checkpoint: EOF").
    sandbox.run(str(sandbox.project / "venv" / "bin" / "python"), "-m", "sandbox", "repair", str(sandbox.dir))
    sandbox.pulumi("cancel", "--yes", "-s", "user-api-dev-default")
    sandbox.pulumi("refresh", "--yes", "--clear-pending-creates", "-s", "user-api-dev-default")
    sandbox.pulumi("up", "--yes", "--skip-preview", "-s", "user-api-dev-default")
    again = sandbox.pulumi("preview", "--expect-no-changes", "-s", "user-api-dev-default", check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    out = sandbox.outputs("user-api-dev-default")
    cluster = sandbox.outputs("infra-dev")["ClusterArn"]
    (svc,) = sandbox.client("ecs").describe_services(cluster=cluster, services=[out["ServiceName"]])["services"]
    assert svc["status"] == "ACTIVE"

"""Faults that must leave nothing half-done (issue 11, "Faults")."""

from __future__ import annotations

import pytest

from automation import lifecycle
from automation.cli import main
from automation.commands import common
from automation.inputs import Request
from automation.workspace import OperationFailedError
from components import routing
from components.errors import MultilaneError
from components.stackname import resolve
from harness.fake import FakeBackend
from tests.conftest import write_service
from tests.runner_helpers import IMAGE, LOWER, Sleeps, make_runner

GRAY_IMAGE = IMAGE.replace("sha-abc123", "sha-9a7e11")
RM_FAILS = OperationFailedError("error: failed to remove stack: the state bucket refused the delete (AccessDenied)")


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend.deployed(*LOWER)
    backend.seed("user-api-dev-default", {"multilane:imageUri": IMAGE})
    backend.seed("user-api-dev-gray", {"multilane:imageUri": GRAY_IMAGE})
    monkeypatch.setattr(common.SEAMS, "backend", lambda: backend)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    monkeypatch.setattr(common.SEAMS, "waiter", lambda cluster, service: f"{service} stable")
    monkeypatch.setattr(common.SEAMS, "sleep", Sleeps())
    monkeypatch.setattr(common.SEAMS, "environ", {"APP_ENV": "dev"})
    backend.calls.clear()
    return backend


def _lanes() -> list[str]:
    return [r.lane for r in lifecycle.lanes(common.SEAMS.backend(), "user-api", "dev")]


def test_destroy_remove_when_stack_rm_fails_says_so_and_a_rerun_finishes(fake, capsys):
    fake.failures[("rm", "user-api-dev-gray")] = [RM_FAILS]
    assert main(["destroy", "user-api-dev-gray", "--remove"]) == 1
    out = capsys.readouterr().out
    assert "the resources of user-api-dev-gray are destroyed, but removing the stack failed" in out
    assert "python -m automation destroy user-api-dev-gray --remove" in out
    assert fake.stack_exists("user-api-dev-gray") and fake.stacks["user-api-dev-gray"].outputs == {}
    assert _lanes() == ["default"]  # the leftover empty stack is no lane
    assert main(["destroy", "user-api-dev-gray", "--remove"]) == 0
    assert not fake.stack_exists("user-api-dev-gray")


def test_promote_when_stack_rm_fails_says_so_and_a_rerun_finishes(fake, capsys):
    fake.failures[("rm", "user-api-dev-gray")] = [RM_FAILS]
    assert main(["promote", "user-api-dev", "gray"]) == 1
    out = capsys.readouterr().out
    assert "the resources of user-api-dev-gray are destroyed, but removing the stack failed" in out
    assert "python -m automation promote user-api-dev gray" in out
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE
    assert _lanes() == ["default"]
    fake.calls.clear()
    assert main(["promote", "user-api-dev", "gray"]) == 0
    # The re-run only removes the leftover: no second deploy of default.
    assert fake.ops() == [("rm", "user-api-dev-gray")]
    assert not fake.stack_exists("user-api-dev-gray")
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE


def test_a_preview_whose_cleanup_fails_exits_non_zero_naming_the_leftover_stack(fake, capsys):
    fake.failures[("rm", "user-api-dev-blue")] = [RM_FAILS]
    assert main(["preview", "user-api-dev-blue"]) == 1
    out = capsys.readouterr().out
    assert "the stack user-api-dev-blue it created could not be removed" in out
    assert "pulumi stack rm user-api-dev-blue --yes" in out
    assert fake.stack_exists("user-api-dev-blue")
    assert _lanes() == ["default", "gray"]  # the empty leftover is not counted


def test_a_preview_whose_cleanup_works_still_exits_zero(fake, capsys):
    assert main(["preview", "user-api-dev-blue"]) == 0
    assert not fake.stack_exists("user-api-dev-blue")


def _capacity_params(tmp_path):
    params_dir = tmp_path / "params"
    import shutil

    from components.params import PARAMS_DIR

    shutil.copytree(PARAMS_DIR, params_dir)
    write_service(params_dir, "user", "dev", laneCarriers=["tracestate", "baggage"])
    write_service(params_dir, "user-dev-tools", "dev", laneCarriers=["tracestate", "baggage"])
    return params_dir


def test_capacity_never_counts_a_look_alike_services_lanes(tmp_path):
    params_dir = _capacity_params(tmp_path)
    # With services user and user-dev-tools, a prefix match on "user-dev-" read
    # user-dev-tools's lanes as user's lane "tools-dev-l<i>". The name rules
    # now refuse such a stack name in one sentence instead of guessing.
    with pytest.raises(MultilaneError, match=r"is ambiguous: lane 'l0' of params/user-dev-tools-dev.json or lane"):
        resolve("user-dev-tools-dev-l0", params_dir)
    # Lanes of user-dev-tools whose names read one way only ("tools-dev-" plus
    # 31 or more characters is too long for a lane of user) fill
    # user-dev-tools's ALB, not user's.
    limit = routing.priorities.max_lanes(["tracestate", "baggage"])
    fake = FakeBackend.deployed("infra-dev", "boot-user-dev", "boot-user-dev-tools-dev", params_dir=params_dir)
    for i in range(limit):
        stack = f"user-dev-tools-dev-lane-{i:02d}-{'x' * 26}"
        assert resolve(stack, params_dir).service == "user-dev-tools"
        fake.seed(stack, {"multilane:imageUri": IMAGE})
    runner = make_runner(fake, tmp_path, params_dir=params_dir)
    runner.prepare("up", Request(targets=[resolve("user-dev-gray", params_dir)]))  # user has no lane yet
    with pytest.raises(MultilaneError, match="delete a lane you no longer need"):
        runner.prepare("up", Request(targets=[resolve(f"user-dev-tools-dev-lane-99-{'x' * 26}", params_dir)]))


def test_capacity_does_not_count_leftover_empty_stacks(tmp_path):
    params_dir = _capacity_params(tmp_path)
    limit = routing.priorities.max_lanes(["tracestate", "baggage"])
    fake = FakeBackend.deployed("infra-dev", "boot-user-dev", params_dir=params_dir)
    for i in range(limit):
        fake.seed(f"user-dev-l{i}", {"multilane:imageUri": IMAGE})
    runner = make_runner(fake, tmp_path, params_dir=params_dir)
    with pytest.raises(MultilaneError, match="delete a lane you no longer need"):
        runner.prepare("up", Request(targets=[resolve("user-dev-gray", params_dir)]))
    fake.destroy("user-dev-l0", lambda e: None)  # destroyed, not removed: an empty stack
    runner.prepare("up", Request(targets=[resolve("user-dev-gray", params_dir)]))
    assert "l0" not in [r.lane for r in lifecycle.lanes(fake, "user", "dev", params_dir)]

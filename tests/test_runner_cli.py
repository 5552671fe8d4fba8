"""The runner commands through automation.cli.main, with the fake backend behind the seam."""

from __future__ import annotations

import json
import re

import pytest

from automation.cli import build_parser, main
from automation.commands import common
from automation.workspace import OperationFailedError, choose_backend
from harness.fake import FakeBackend
from tests.runner_helpers import IMAGE, LOWER, Sleeps

COMMANDS = ["plan", "up", "preview", "destroy", "promote", "rollback", "lanes", "pr-preview"]


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend.deployed(*LOWER)
    backend.seed("user-api-dev-default", {"multilane:imageUri": IMAGE})
    monkeypatch.setattr(common.SEAMS, "backend", lambda: backend)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    monkeypatch.setattr(common.SEAMS, "waiter", lambda cluster, service: f"{service} stable")
    monkeypatch.setattr(common.SEAMS, "sleep", Sleeps())
    monkeypatch.setattr(common.SEAMS, "environ", {"APP_ENV": "dev"})
    backend.calls.clear()
    return backend


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^\s+{re.escape(command)}\s", out, re.M), command


def test_up_with_the_pipeline_parameter_file(fake, tmp_path, capsys):
    params_file = tmp_path / "cfn-params.json"
    params_file.write_text(
        json.dumps({"Parameters": {"ServiceName": "user-api", "Env": "dev", "Lane": "gray", "ImageUri": IMAGE}})
    )
    rc = main(
        [
            "up",
            "--params-file",
            str(params_file),
            "--var",
            "SERVICE=user-api",
            "--var",
            "LANE=gray",
            "--var",
            "BRANCH=main",
        ]
    )
    assert rc == 0
    (call,) = [c for c in fake.calls if c.op == "up"]
    assert call.stack == "user-api-dev-gray" and call.config["multilane:imageUri"] == IMAGE
    assert call.message == f"multilane runner: image {IMAGE}, branch main"
    out, err = capsys.readouterr()
    assert "user-api-dev-gray  up       ok" in out and "1 stack(s) in" in out
    # progress: stack, step, elapsed
    assert re.search(r"^\[\s*\d+\.\d+s\] user-api-dev-gray  up  pre-check$", err, re.M)
    assert "note: fake in-memory backend" in err


def test_deploy_buildspec_call(fake, tmp_path, capsys):
    # ci/deploy-buildspec.yaml: up "$DEPLOY_STACK" --params-file ... --var SERVICE --var LANE --var BRANCH, ENV from APP_ENV
    params_file = tmp_path / "cfn-params.json"
    parameters = {"ServiceName": "user-api", "Env": "dev", "Lane": "gray", "ImageUri": IMAGE}
    params_file.write_text(json.dumps({"Parameters": parameters}))
    argv = ["up", "user-api-dev-gray", "--params-file", str(params_file)]
    argv += ["--var", "SERVICE=user-api", "--var", "LANE=gray", "--var", "BRANCH=release/1.2.3"]
    assert main(argv) == 0
    (call,) = [c for c in fake.calls if c.op == "up"]
    assert (call.stack, call.config["multilane:imageUri"]) == ("user-api-dev-gray", IMAGE)
    argv[1] = "user-api-dev-blue"
    assert main(argv) == 2
    assert (
        "the variables name stack 'user-api-dev-gray', which is not among the stacks given" in capsys.readouterr().err
    )


def test_json_gives_machines_the_same(fake, capsys):
    rc = main(["preview", "user-api-dev-default", "--json"])
    assert rc == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["ok"] is True and result["command"] == "preview"
    assert result["stacks"][0]["stack"] == "user-api-dev-default"
    assert set(result["stacks"][0]["changes"]) == {"create", "update", "replace", "delete", "same"}
    progress = [json.loads(line) for line in err.splitlines()]
    steps = [p for p in progress if p["event"] == "step"]
    assert {"stack", "op", "step", "elapsed"} <= set(steps[0])


def test_failed_operation_exits_one(fake, capsys):
    fake.failures[("up", "user-api-dev-default")] = [OperationFailedError("error: update failed")]
    assert main(["up", "user-api-dev-default"]) == 1
    assert "error: update failed" in capsys.readouterr().out


def test_promote_and_lanes(fake, capsys):
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE.replace("abc123", "fff000")})
    assert main(["promote", "user-api-dev", "gray"]) == 0
    assert fake.ops() == [("up", "user-api-dev-default"), ("destroy", "user-api-dev-gray"), ("rm", "user-api-dev-gray")]
    capsys.readouterr()
    assert main(["lanes", "user-api-dev", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [lane["lane"] for lane in listed["lanes"]] == ["default"]
    assert listed["lanes"][0]["image"].endswith(":sha-fff000")
    assert main(["rollback", "user-api-dev"]) == 0
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == IMAGE


def test_destroy_remove(fake, capsys):
    fake.seed("user-api-dev-gray")
    assert main(["destroy", "user-api-dev-gray", "--remove"]) == 0
    assert fake.ops() == [("destroy", "user-api-dev-gray"), ("rm", "user-api-dev-gray")]
    assert not fake.stack_exists("user-api-dev-gray")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["up", "user-apix-dev-gray"], "stack 'user-apix-dev-gray' does not start with a {service}-{env}"),
        (["up", "user-api-prod-gray"], "lane stack user-api-prod-gray has no image"),
        (["up", "--var", "LANE"], "--var 'LANE' is not KEY=VALUE"),
        (["up", "--var", "SERVICE=user-api", "--var", "LANE=Gray!"], "--var LANE 'Gray!' is not a lane name"),
        (
            ["up", "--params-file", "/nonexistent/cfn-params.json"],
            "--params-file /nonexistent/cfn-params.json: cannot read it",
        ),
        (["promote", "user-api-dev", "purple"], "lane 'purple' of user-api-dev has no stack user-api-dev-purple"),
        (["promote", "user-api-dev", "default"], "cannot promote user-api-dev's default lane onto itself"),
        (["destroy", "user-api-dev-gray"], "stack user-api-dev-gray does not exist in the backend"),
        (["lanes", "billing-dev"], "'billing-dev' is not a {service}-{env} with a params file"),
        (["up", "user-api-dev-default", "--parallel", "0"], "--parallel 0 is out of range"),
    ],
)
def test_bad_input_is_one_sentence_exit_two_and_nothing_changes(fake, capsys, argv, fragment):
    fake.stacks.pop("user-api-prod-gray", None)
    before = {name: (dict(s.config), dict(s.outputs)) for name, s in fake.stacks.items()}
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], err
    assert fake.calls == []
    assert {name: (dict(s.config), dict(s.outputs)) for name, s in fake.stacks.items()} == before


def test_unparseable_params_file(fake, tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    assert main(["up", "--params-file", str(bad)]) == 2
    assert "is not valid JSON: line 1 column 2" in capsys.readouterr().err
    assert fake.calls == []


def test_backend_choice_says_where_state_lives():
    local = choose_backend({})
    assert local.local and local.url.endswith("/.pulumi-state")
    assert "PULUMI_BACKEND_URL is not set: using the local file backend" in local.note
    s3 = choose_backend({"PULUMI_BACKEND_URL": "s3://acme-multilane-state-dev"})
    assert not s3.local and s3.url == "s3://acme-multilane-state-dev" and s3.secrets_provider is None
    kms = choose_backend(
        {"PULUMI_BACKEND_URL": "s3://b", "MULTILANE_SECRETS_PROVIDER": "awskms://alias/x?region=ap-southeast-2"}
    )
    assert kms.secrets_provider == "awskms://alias/x?region=ap-southeast-2"

"""The newcomer's path (issue 11): what a first user runs and reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from automation.cli import main
from automation.commands import common
from automation.plan import render, to_json
from components import naming, routing
from harness import alb_eval
from harness.fake import FakeBackend
from harness.offline import run_stack
from tests.runner_helpers import IMAGE, LOWER

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


# --- plan --------------------------------------------------------------------------------


def test_a_successful_plan_leaves_no_event_loop_open() -> None:
    # -X dev reports every event loop that is garbage-collected unclosed: the
    # harness's own and the ones Pulumi makes in the mock monitor's threads
    # (what printed "Exception ignored in BaseEventLoop.__del__" about 1 run in 6).
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "default::ResourceWarning", "-m", "automation", "plan", "infra-dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "unclosed event loop" not in proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_run_stack_restores_the_threads_event_loop_state() -> None:
    import asyncio

    # asyncio's private per-thread loop state is what run_stack must restore;
    # typeshed does not declare it.
    local = asyncio.get_event_loop_policy()._local  # type: ignore[attr-defined]
    before = (local._loop, local._set_called)
    run_stack("infra-dev")
    assert (local._loop, local._set_called) == before


def test_plan_shows_whole_numbers_as_ints_and_values_in_full() -> None:
    rec = run_stack("user-api-dev-gray")
    text = render(rec)
    assert re.search(r"\(name=user-api-dev-gray-[0-9a-f]{8}, port=8080, protocol=HTTP, targetType=ip\)", text)
    assert "priority=7912)" in text and ".0," not in text and ".0)" not in text
    arn = f"arn:aws:elasticloadbalancing:{alb_eval_region()}:123456789012:listenerrule/rule-0"
    assert f'ListenerRuleArns: ["{arn}"]' in text
    assert "..." not in text
    tg = next(r for r in to_json(rec)["resources"] if r["type"] == "aws:lb/targetGroup:TargetGroup")
    assert tg["inputs"]["port"] == 8080 and isinstance(tg["inputs"]["port"], int)


def alb_eval_region() -> str:
    from harness.offline import REGION

    return REGION


# --- the command line --------------------------------------------------------------------


def test_an_unknown_command_suggests_the_real_help_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "see `python -m automation --help`" in err and "automation automation" not in err
    assert err.count("\n") == 1


def test_pr_preview_with_nothing_affected_needs_no_cli(tmp_path, monkeypatch, capsys) -> None:
    def no_backend():
        raise AssertionError("the backend (and so the Pulumi CLI) must not be needed")

    monkeypatch.setattr(common.SEAMS, "backend", no_backend)
    changed = tmp_path / "changed.txt"
    changed.write_text("README.md\ndocs/contract.md\n")
    output = tmp_path / "comment.md"
    rc = main(["pr-preview", "--changed-files", str(changed), "--output", str(output)])
    assert rc == 0
    assert "nothing to preview" in capsys.readouterr().err
    assert output.read_text().startswith("<!-- multilane-pr-preview -->")
    assert "No stack is affected" in output.read_text()


def test_pr_preview_checks_the_output_folder_before_any_preview(tmp_path, monkeypatch, capsys) -> None:
    fake = FakeBackend.deployed(*LOWER)
    monkeypatch.setattr(common.SEAMS, "backend", lambda: fake)
    changed = tmp_path / "changed.txt"
    changed.write_text("params/user-api-dev.json\n")
    rc = main(["pr-preview", "--changed-files", str(changed), "--output", str(tmp_path / "missing" / "c.md")])
    assert rc == 2 and fake.calls == []
    assert "folder" in capsys.readouterr().err


def test_lanes_shows_an_odd_rule_priority_instead_of_failing(monkeypatch, capsys) -> None:
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-default", {"multilane:imageUri": IMAGE})
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE})
    fake.stacks["user-api-dev-gray"].outputs["RulePriority"] = "not-a-number"
    monkeypatch.setattr(common.SEAMS, "backend", lambda: fake)
    assert main(["lanes", "user-api-dev"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("gray "))
    assert row.split()[2] == "-"


FAKE_PULUMI = """#!/bin/sh
case "$1" in
  version) echo v3.272.0 ;;
  *) {body} ;;
esac
"""


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('echo "Welcome to Pulumi! (not JSON)"', "printed output that is not JSON"),
        ('echo "error: failed to load checkpoint: NoCredentialProviders" >&2; exit 255', "NoCredentialProviders"),
    ],
)
def test_the_real_adapter_turns_cli_garbage_and_failures_into_one_sentence(
    tmp_path, monkeypatch, capsys, body, fragment
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(FAKE_PULUMI.format(body=body))
    pulumi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'state'}")
    monkeypatch.setattr(common.SEAMS, "backend", common._pulumi_backend)
    assert main(["lanes", "user-api-dev"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the Pulumi state backend failed:") and fragment in err


# --- README ---------------------------------------------------------------------------------

TRACEPARENT = re.compile(r"traceparent: 00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-0[01]")


def test_readme_names_the_python_version_and_the_passphrase() -> None:
    assert "Python 3.11" in README
    assert "PULUMI_CONFIG_PASSPHRASE" in README.split("## Deploying for real", 1)[1].split("\n## ", 1)[0]


def test_every_readme_curl_that_sends_tracestate_sends_a_valid_traceparent() -> None:
    assert TRACEPARENT.search(README)
    variables = dict(re.findall(r"^(\w+)='([^']*)'", README, re.M))
    curls = [line for line in README.splitlines() if "curl " in line and "tracestate:" in line]
    assert curls
    for line in curls:
        expanded = re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)), line)
        assert TRACEPARENT.search(expanded), line


def test_readme_documents_the_two_routing_edges_and_they_hold() -> None:
    assert "ctx=lane:gray,ctx=lane:blue" in README and "lower priority" in README
    assert "lane=gr%61y" in README and "never decoded" in README
    rules: list[routing.rules.Rule] = []
    taken: dict[int, str] = {}
    for lane in ("gray", "blue"):
        conditions = routing.carriers.lane_rule_conditions(lane, ["tracestate", "baggage"])
        prios = routing.priorities.allocate_priorities("user-api", lane, len(conditions), taken=taken)
        taken.update(dict.fromkeys(prios, lane))
        rules += routing.rules.rules_from_conditions(conditions, prios, target=lane)
    lower = min(rules, key=lambda r: r.priority).target
    for semantics in routing.rules.ALL_SEMANTICS:
        for header in ("ctx=lane:gray,ctx=lane:blue", "ctx=lane:blue,ctx=lane:gray"):
            assert alb_eval.evaluate(rules, naming.DEFAULT_LANE, {"tracestate": [header]}, semantics) == lower
        assert alb_eval.evaluate(rules, naming.DEFAULT_LANE, {"baggage": ["lane=gr%61y"]}, semantics) == "default"


def test_pr_preview_with_nothing_affected_prints_json_of_the_usual_shape(tmp_path, monkeypatch, capsys) -> None:
    import json

    monkeypatch.setattr(common.SEAMS, "backend", lambda: (_ for _ in ()).throw(AssertionError("no backend")))
    changed = tmp_path / "changed.txt"
    changed.write_text("docs/contract.md\n")
    assert main(["pr-preview", "--changed-files", str(changed), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["stacks"] == [] and result["affected"] == []

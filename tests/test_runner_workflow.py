"""The PR-preview workflow agrees with the runner it calls."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from automation import comment
from automation.workspace import PULUMI_VERSION

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "preview.yml"


def _load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_runs_on_pull_requests_one_at_a_time_per_pr():
    wf = _load()
    assert "pull_request" in wf[True]  # PyYAML reads the bare key `on` as True
    assert "github.event.pull_request.number" in wf["concurrency"]["group"]
    assert wf["concurrency"]["cancel-in-progress"] is True
    assert wf["permissions"]["pull-requests"] == "write"


def test_pins_the_cli_to_the_sdk_version():
    wf = _load()
    assert wf["env"]["PULUMI_VERSION"] == PULUMI_VERSION
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(rf"^pulumi=={re.escape(PULUMI_VERSION)}$", requirements, re.M)


def test_runs_pr_preview_and_edits_the_comment_with_the_runners_marker():
    steps = _load()["jobs"]["preview"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make setup" in runs
    assert "python -m automation pr-preview" in runs and "--output comment.md" in runs
    scripts = [s["with"]["script"] for s in steps if s.get("uses", "").startswith("actions/github-script")]
    assert len(scripts) == 1
    assert f"'{comment.MARKER}'" in scripts[0]
    assert "updateComment" in scripts[0] and "createComment" in scripts[0]
    assert any(s.get("uses", "").startswith("actions/setup-python") for s in steps)

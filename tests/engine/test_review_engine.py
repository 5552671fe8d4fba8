"""PR previews and the CrossGuard pack on the real engine.

pr-preview renders its comment from the events the real engine emits for a
real git change; the policy pack runs inside the real CLI (the language
host's RunPlugin starts it as an analyzer) and can block an update.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, Sandbox
from .test_deploy import inventory

pytestmark = pytest.mark.engine

MARKER = "<!-- multilane-pr-preview -->"


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def table_header(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("| Status |"))


def test_pr_preview_comment_comes_from_real_engine_events(sandbox: Sandbox) -> None:
    for stack in ("infra-dev", "boot-user-api-dev", "user-api-dev-default"):
        sandbox.up(stack)
    project = sandbox.project
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")
    git(project, "checkout", "-qb", "change")
    params = project / "params" / "boot-dev.json"
    data = json.loads(params.read_text())
    data["logRetentionDays"] = 30 if data["logRetentionDays"] != 30 else 60
    params.write_text(json.dumps(data, indent=2))
    git(project, "commit", "-qam", "longer log retention")

    out = project / "comment.md"
    done = sandbox.runner("pr-preview", "--base", "main", "--output", str(out), "--json", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    comment = out.read_text()
    sample = (ROOT / "docs" / "sample-pr-comment.md").read_text()
    # The sample's structure: marker, heading, the summary table's header, one details block per stack.
    assert comment.startswith(MARKER)
    assert re.search(r"^### Pulumi preview: \d+ stacks? \(", comment, re.M)
    assert table_header(comment) == table_header(sample)
    assert "Compared with `main` (1 changed files" in comment or "Compared with `main` (1 changed file" in comment
    # What the engine said: boot's log group changes; stacks the file does not touch are not listed.
    boot_row = next(line for line in comment.splitlines() if "`boot-user-api-dev`" in line and line.startswith("|"))
    assert boot_row.startswith("| ✏️ changes"), boot_row
    assert "aws:cloudwatch/logGroup:LogGroup" in comment
    assert "retentionInDays" in comment
    assert "`user-api-dev-default`" not in comment
    # Nothing was changed by the preview.
    assert sandbox.outputs("boot-user-api-dev")


def test_policy_pack_on_the_real_engine_passes_examples_and_blocks_a_violation(sandbox: Sandbox) -> None:
    for stack in ("infra-dev", "boot-user-api-dev"):
        sandbox.pulumi("stack", "select", "--create", stack)
        done = sandbox.pulumi("up", "--yes", "--skip-preview", "--policy-pack", "policy", "-s", stack)
        assert "multilane-governance" in done.stdout
    sandbox.pulumi("stack", "init", "user-api-dev-gray")
    clean = sandbox.pulumi("preview", "--policy-pack", "policy", "-s", "user-api-dev-gray")
    assert "mandatory" not in clean.stdout.lower()

    # A pin outside the lane band: the program accepts it, the pack's mandatory rule does not.
    sandbox.pulumi("config", "set", "-s", "user-api-dev-gray", "multilane:priority", "49000")
    before = inventory(sandbox)
    # `up` previews first; the pack's verdict there stops it before any create.
    blocked = sandbox.pulumi("up", "--yes", "--policy-pack", "policy", "-s", "user-api-dev-gray", check=False)
    assert blocked.returncode != 0
    text = blocked.stdout + blocked.stderr
    assert "mandatory" in text.lower() and "priority" in text.lower(), text
    assert inventory(sandbox) == before, "a blocked update changes nothing"

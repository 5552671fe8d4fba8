"""Engine events -> changes, the affected-stacks table, the PR comment, pr-preview."""

from __future__ import annotations

import json

import pytest

from automation import affected, comment
from automation.cli import main
from automation.commands import common
from automation.events import ChangeCollector, ResourceChange, StackChanges, strip_ansi
from automation.progress import StackOutcome
from harness.fake import FakeBackend
from tests.fixtures import sample_comment
from tests.runner_helpers import LOWER, events

# --- engine events -------------------------------------------------------------------------


def _collect(name: str) -> StackChanges:
    c = ChangeCollector()
    for e in events(name):
        c(e)
    return c.result()


def test_update_and_replace_with_detailed_diffs():
    ch = _collect("preview-infra-dev.json")
    assert ch.counts == {"create": 0, "update": 1, "replace": 1, "delete": 0, "same": 21}
    by_name = {r.name: r for r in ch.resources}
    assert set(by_name) == {"vpc", "private-a"}  # same steps and the stack root are not changes
    assert by_name["private-a"].kind == "replace"  # three engine steps, one entry
    assert by_name["private-a"].properties == {"cidrBlock": "update-replace"}
    assert by_name["vpc"].properties == {"tags.Layer": "add", "tagsAll.Layer": "add"}
    assert ch.warnings == ["Subnet private-a will be replaced: tasks in it are rescheduled"]


def test_errors_are_collected_without_ansi():
    ch = _collect("preview-boot-user-api-dev.json")
    assert len(ch.errors) == 2
    assert ch.errors[0].startswith("error: aws:lb/listener:Listener resource 'https' has a problem")
    assert all("\x1b" not in e for e in ch.errors)


def test_creates_and_no_changes():
    assert _collect("preview-user-api-dev-gray.json").counts["create"] == 11
    same = _collect("preview-user-api-dev-default.json")
    assert same.changed == 0 and same.resources == [] and same.counts["same"] == 4


def test_strip_ansi_handles_colour_and_hyperlinks():
    text = "\x1b[31;1merror:\x1b[0m see \x1b]8;;https://x.example\x07link\x1b]8;;\x07 \x1b[2Kdone"
    assert strip_ansi(text) == "error: see link done"


# --- affected stacks -----------------------------------------------------------------------------

KNOWN = {"user-api-dev-gray", "user-api-dev-blue", "order-api-dev-gray", "user-api-prod-canary", "stray-stack"}


def test_program_change_previews_every_stack_of_every_env():
    got = affected.affected_stacks(["components/layers/lane/"], KNOWN)
    assert set(got) == {
        "infra-dev",
        "pipelines-dev",
        "boot-user-api-dev",
        "user-api-dev-default",
        "user-api-dev-blue",
        "user-api-dev-gray",
        "boot-order-api-dev",
        "order-api-dev-default",
        "order-api-dev-gray",
        "infra-prod",
        "pipelines-prod",
        "boot-user-api-prod",
        "user-api-prod-default",
        "user-api-prod-canary",
        "boot-order-api-prod",
        "order-api-prod-default",
    }
    assert all(reasons == ["components/layers/lane/"] for reasons in got.values())
    assert next(iter(got)) == "infra-dev"  # lower layers first


@pytest.mark.parametrize(
    ("path", "stacks"),
    [
        ("params/infra-prod.json", {"infra-prod", "pipelines-prod"}),
        ("params/boot-dev.json", {"boot-user-api-dev", "boot-order-api-dev"}),
        (
            "params/user-api-dev.json",
            {"boot-user-api-dev", "user-api-dev-default", "user-api-dev-gray", "user-api-dev-blue", "pipelines-dev"},
        ),
        ("params/pipelines-dev.json", {"pipelines-dev"}),
        ("stacks/Pulumi.user-api-dev-blue.yaml", {"user-api-dev-blue"}),
        ("automation/runner.py", set()),
        ("README.md", set()),
        ("tests/test_runner.py", set()),
        ("params/README.md", set()),
    ],
)
def test_affected_table(path, stacks):
    assert set(affected.affected_stacks([path], KNOWN)) == stacks


def test_reasons_accumulate():
    got = affected.affected_stacks(["params/boot-dev.json", "params/user-api-dev.json"], KNOWN)
    assert got["boot-user-api-dev"] == ["params/boot-dev.json", "params/user-api-dev.json"]
    assert got["boot-order-api-dev"] == ["params/boot-dev.json"]


# --- the comment ---------------------------------------------------------------------------------


def _outcome(stack, status="ok", resources=(), counts=None, errors=(), message=""):
    ch = StackChanges(list(resources), counts or {}, list(errors))
    return StackOutcome(stack, "preview", status, changes=ch, message=message)


def test_comment_marker_failures_first_and_escaping():
    ok = _outcome(
        "infra-dev",
        resources=[ResourceChange("update", "urn:x::vpc|a", "aws:ec2/vpc:Vpc", {"tags": "update"})],
        counts={"update": 1},
    )
    bad = _outcome("boot-user-api-dev", "failed", errors=["\x1b[31merror:\x1b[0m boom"])
    same = _outcome("user-api-dev-default")
    text = comment.render(comment.CommentInput([ok, same, bad], {"infra-dev": ["params/infra-dev.json"]}, "main", 1))
    assert text.splitlines()[0] == comment.MARKER
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert [r.split("|")[2].strip() for r in rows[:3]] == [
        "`boot-user-api-dev`",
        "`infra-dev`",
        "`user-api-dev-default`",
    ]
    assert "\x1b" not in text and "error: boom" in text
    assert "`vpc\\|a`" in text  # a pipe cannot break the table
    assert text.count("<details>") == 2  # the unchanged stack has a row, no section


def test_comment_stays_under_the_limit_with_a_visible_note():
    many = [
        _outcome(
            f"svc{i:03d}-dev-lane",
            resources=[
                ResourceChange(
                    "update", f"urn:x::res{j}", "aws:ecs/service:Service", {f"p{k}": "update" for k in range(20)}
                )
                for j in range(200)
            ],
            counts={"update": 200},
        )
        for i in range(40)
    ]
    text = comment.render(comment.CommentInput(many, {}, "main", 3))
    assert len(text) < comment.LIMIT
    assert "**Truncated:**" in text and "left out" in text
    assert "and 50 more resources" in text and "and 8 more" in text
    assert text.count("<details>") >= 1


def test_comment_for_no_affected_stack():
    text = comment.render(comment.CommentInput([], {}, "main", 2))
    assert text.startswith(comment.MARKER) and "No stack is affected" in text


def test_sample_comment_in_docs_is_current():
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "sample-pr-comment.md"
    assert doc.read_text() == sample_comment.render(), "regenerate: venv/bin/python -m tests.fixtures.sample_comment"


# --- pr-preview through the CLI ----------------------------------------------------------------------


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend.deployed(
        *LOWER,
        "user-api-dev-default",
        events={
            "preview:infra-dev": events("preview-infra-dev.json"),
            "preview:user-api-dev-default": events("preview-user-api-dev-default.json"),
        },
    )
    monkeypatch.setattr(common.SEAMS, "backend", lambda: backend)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    return backend


def test_pr_preview_writes_one_comment_and_exits_zero(fake, tmp_path, capsys):
    changed = tmp_path / "changed.txt"
    changed.write_text("params/infra-dev.json\nREADME.md\n")
    out = tmp_path / "comment.md"
    rc = main(["pr-preview", "--changed-files", str(changed), "--output", str(out), "--base", "origin/main"])
    assert rc == 0
    text = out.read_text()
    assert text.startswith(comment.MARKER) and "`infra-dev`" in text and "`pipelines-dev`" in text
    assert sorted(fake.ops("preview")) == [("preview", "infra-dev"), ("preview", "pipelines-dev")]


def test_pr_preview_exits_non_zero_when_a_preview_fails(fake, tmp_path, capsys):
    fake.events["preview:boot-user-api-dev"] = events("preview-boot-user-api-dev.json")
    changed = tmp_path / "changed.txt"
    changed.write_text("params/boot-dev.json\n")
    rc = main(["pr-preview", "--changed-files", str(changed), "--json"])
    assert rc == 1
    out = capsys.readouterr()
    result = json.loads(out.out)
    status = {s["stack"]: s["status"] for s in result["stacks"]}
    assert status == {"boot-user-api-dev": "failed", "boot-order-api-dev": "ok"}
    assert "1 preview(s) failed: boot-user-api-dev" in out.err


def test_pr_preview_reports_a_lane_whose_boot_is_missing_as_skipped(fake, tmp_path, capsys):
    changed = tmp_path / "changed.txt"
    changed.write_text("params/order-api-dev.json\n")
    out = tmp_path / "c.md"
    rc = main(["pr-preview", "--changed-files", str(changed), "--output", str(out)])
    text = out.read_text()
    assert "⚠️ skipped | `order-api-dev-default`" in text
    assert "`python -m automation up boot-order-api-dev`" in text
    assert rc == 0  # a stack that cannot be previewed yet is reported, not a failed preview


def test_pr_preview_with_an_unknown_base_is_one_sentence(fake, capsys):
    assert main(["pr-preview", "--base", "no-such-ref-xyz"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: git cannot diff against base 'no-such-ref-xyz' (ambiguous argument" in err
    assert fake.calls == []


def test_changed_files_come_from_git_since_the_merge_base(tmp_path):
    import subprocess

    from automation.commands.pr_preview import git_changed_files

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "infra-dev.json").write_text("{}")
    (tmp_path / "old.txt").write_text("x")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (tmp_path / "params" / "infra-dev.json").write_text('{"a": 1}')
    git("mv", "old.txt", "new.txt")
    git("commit", "-q", "-am", "change")
    assert sorted(git_changed_files("main", cwd=tmp_path)) == ["new.txt", "old.txt", "params/infra-dev.json"]

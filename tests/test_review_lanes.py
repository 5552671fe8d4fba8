"""Review lanes through the runner's CLI on the fake backend: the PR flow, the
comment, lifetimes, reap, capacity and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from automation.cli import main
from automation.commands import common
from automation.review_comment import DirectoryComments, traceparent
from harness.fake import FakeBackend
from tests.runner_helpers import IMAGE, LOWER, Sleeps

IMAGE_2 = IMAGE.replace("sha-abc123", "sha-def456")
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
STACK = "user-api-dev-pr-42"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(T0)
    monkeypatch.setattr(common.SEAMS, "clock", c)
    return c


@pytest.fixture
def fake(monkeypatch, clock):
    backend = FakeBackend.deployed(*LOWER)
    backend.seed("user-api-dev-default", {"multilane:imageUri": IMAGE})
    monkeypatch.setattr(common.SEAMS, "backend", lambda: backend)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    monkeypatch.setattr(common.SEAMS, "sleep", Sleeps())
    monkeypatch.setattr(common.SEAMS, "environ", {"APP_ENV": "dev"})
    backend.calls.clear()
    return backend


def review(pr: int | str, event: str, comments, image: str | None = None, *extra: str) -> int:
    argv = ["review", "user-api-dev", "--pr", str(pr), "--event", event, "--comment-dir", str(comments)]
    if image:
        argv += ["--image", image]
    return main(argv + list(extra))


def test_pull_request_opened_pushed_closed(fake, clock, tmp_path, capsys) -> None:
    comments = tmp_path / "comments"
    assert review(42, "opened", comments, IMAGE) == 0
    opened = comments / DirectoryComments(comments).path(42, "<!-- multilane-review-lane:user-api-dev -->").name
    first_body = opened.read_text()
    clock.now = T0 + timedelta(hours=5)
    assert review(42, "synchronize", comments, IMAGE_2) == 0
    second_body = opened.read_text()
    clock.now = T0 + timedelta(hours=6)
    assert review(42, "closed", comments) == 0

    # one lane created, updated once, then destroyed and its stack removed
    assert fake.ops() == [("up", STACK), ("up", STACK), ("destroy", STACK), ("rm", STACK)]
    ups = [c for c in fake.calls if c.op == "up"]
    assert [c.config["multilane:imageUri"] for c in ups] == [IMAGE, IMAGE_2]
    # lifetime: created once, expiry slides 72 h (params/infra-dev.json lanes.ttlHours default) past the last push
    assert [(c.config["multilane:createdAt"], c.config["multilane:expiresAt"]) for c in ups] == [
        ("2026-12-03T10:00:00Z", "2026-12-06T10:00:00Z"),
        ("2026-12-03T10:00:00Z", "2026-12-06T15:00:00Z"),
    ]
    assert STACK not in fake.stacks
    # one comment, written on each of the three events: created, then edited in place twice
    writes = DirectoryComments(comments).writes()
    assert [w["kind"] for w in writes] == ["created", "edited", "edited"]
    assert len({w["file"] for w in writes}) == 1 and len(list(comments.glob("*.md"))) == 1
    assert first_body.startswith("<!-- multilane-review-lane:user-api-dev -->\n")
    assert "`pr-42` of user-api (dev): ✅ ready" in first_body
    assert f"| image | `{IMAGE}` |" in first_body
    assert "| expires | 2026-12-06 10:00 UTC (72 h after the last push" in first_body
    # a curl with a valid W3C traceparent (00-<32 hex>-<16 hex>-01, not all zeros) and the lane's tracestate
    tp = traceparent(STACK)
    version, trace_id, parent_id, flags = tp.split("-")
    assert (version, flags, len(trace_id), len(parent_id)) == ("00", "01", 32, 16)
    assert set(trace_id) <= set("0123456789abcdef") and set(trace_id) != {"0"} and set(parent_id) != {"0"}
    assert f"curl -H 'traceparent: {tp}' -H 'tracestate: ctx=lane:pr-42' http://" in first_body
    assert "baggage" not in first_body  # user-api routes on tracestate only
    assert f"| image | `{IMAGE_2}` |" in second_body and "2026-12-06 15:00 UTC" in second_body
    final = opened.read_text()
    assert "🗑️ removed" in final and "curl" not in final


def test_lifetime_stack_tags_after_each_deploy(fake, clock, tmp_path) -> None:
    comments = tmp_path / "c"
    review(7, "opened", comments, IMAGE)
    assert fake.stacks["user-api-dev-pr-7"].tags == {
        "multilane:createdAt": "2026-12-03T10:00:00Z",
        "multilane:lastDeployAt": "2026-12-03T10:00:00Z",
        "multilane:expiresAt": "2026-12-06T10:00:00Z",
        "multilane:protected": "false",
    }
    clock.now = T0 + timedelta(days=1)
    review(7, "synchronize", comments, IMAGE_2)
    tags = fake.stacks["user-api-dev-pr-7"].tags
    assert tags["multilane:createdAt"] == "2026-12-03T10:00:00Z"
    assert tags["multilane:lastDeployAt"] == "2026-12-04T10:00:00Z"
    assert tags["multilane:expiresAt"] == "2026-12-07T10:00:00Z"


def test_an_ordinary_lane_up_records_a_lifetime_but_default_does_not(fake, clock, tmp_path) -> None:
    (tmp_path / "stacks").mkdir()
    assert main(["up", "user-api-dev-gray", "--var", f"IMAGE_URI={IMAGE}", "--var", "SERVICE=user-api"]) in (0, 2)
    fake.calls.clear()
    assert main(["up", "user-api-dev-gray"]) == 0
    (call,) = [c for c in fake.calls if c.op == "up"]
    assert call.config["multilane:expiresAt"] == "2026-12-06T10:00:00Z"
    assert fake.stacks["user-api-dev-gray"].tags["multilane:expiresAt"] == "2026-12-06T10:00:00Z"
    fake.calls.clear()
    assert main(["up", "user-api-dev-default"]) == 0
    (call,) = [c for c in fake.calls if c.op == "up"]
    assert "multilane:expiresAt" not in call.config and fake.stacks["user-api-dev-default"].tags == {}


def test_closing_a_pull_request_that_never_deployed(fake, tmp_path) -> None:
    comments = tmp_path / "c"
    assert review(9, "closed", comments) == 0
    assert fake.ops() == []
    assert "🗑️ removed" in next(comments.glob("*.md")).read_text()


def _seed_lane(fake: FakeBackend, stack: str, created: datetime, expires: datetime, protected: bool = False) -> None:
    fake.seed(stack, {"multilane:imageUri": IMAGE})
    fake.stacks[stack].tags = {
        "multilane:createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "multilane:lastDeployAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "multilane:expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "multilane:protected": "true" if protected else "false",
    }


@pytest.fixture
def aged(fake):
    day = timedelta(days=1)
    _seed_lane(fake, "user-api-dev-pr-1", T0 - 5 * day, T0 - day)  # expired a day ago
    _seed_lane(fake, "user-api-dev-pr-2", T0 - day, T0 + 2 * day)  # not yet
    _seed_lane(fake, "order-api-dev-pr-3", T0 - 4 * day, T0 - timedelta(minutes=1))  # just expired
    _seed_lane(fake, "user-api-dev-gray", T0 - 30 * day, T0 - 20 * day, protected=True)
    _seed_lane(fake, "user-api-prod-pr-4", T0 - 9 * day, T0 - 8 * day)  # another env
    fake.stacks["user-api-dev-default"].tags = {"multilane:expiresAt": "2020-01-01T00:00:00Z"}  # never reaped anyway
    fake.calls.clear()
    return fake


def test_reap_destroys_expired_lanes_only(aged, tmp_path, capsys) -> None:
    assert main(["reap", "dev"]) == 0
    assert sorted(aged.ops()) == sorted(
        [
            ("destroy", "user-api-dev-pr-1"),
            ("rm", "user-api-dev-pr-1"),
            ("destroy", "order-api-dev-pr-3"),
            ("rm", "order-api-dev-pr-3"),
        ]
    )
    assert {"user-api-dev-pr-2", "user-api-dev-gray", "user-api-dev-default", "user-api-prod-pr-4"} <= set(aged.stacks)
    assert "user-api-dev-pr-1" not in aged.stacks and "order-api-dev-pr-3" not in aged.stacks


def test_reap_dry_run_json_changes_nothing(aged, capsys) -> None:
    before = {n: dict(s.outputs) for n, s in aged.stacks.items()}
    assert main(["reap", "dev", "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert aged.ops() == [] and {n: dict(s.outputs) for n, s in aged.stacks.items()} == before
    assert doc["dryRun"] is True
    actions = {lane["stack"]: lane["action"] for lane in doc["lanes"]}
    assert actions == {
        "order-api-dev-pr-3": "destroy",
        "user-api-dev-default": "keep",
        "user-api-dev-gray": "keep",
        "user-api-dev-pr-1": "destroy",
        "user-api-dev-pr-2": "keep",
    }


def test_lanes_shows_age_last_deploy_expiry_and_image(aged, capsys) -> None:
    assert main(["lanes", "user-api-dev", "--json"]) == 0
    rows = {r["lane"]: r for r in json.loads(capsys.readouterr().out)["lanes"]}
    assert rows["pr-1"]["age"] == "5d 0h"
    assert rows["pr-1"]["lastDeploy"] == "2026-11-28T10:00:00Z"
    assert rows["pr-1"]["expires"] == "2026-12-02T10:00:00Z (expired)"
    assert rows["pr-2"]["expires"] == "2026-12-05T10:00:00Z"
    assert rows["gray"]["expires"] == "protected"
    assert rows["default"]["expires"] == "never (no TTL)"
    assert rows["pr-2"]["image"] == IMAGE
    assert main(["lanes", "user-api-dev"]) == 0
    text = capsys.readouterr().out
    assert "expires" in text.splitlines()[0] and "2026-12-05T10:00:00Z" in text


def test_a_full_alb_refuses_the_review_lane_naming_the_limit_and_lanes_oldest_first(fake, tmp_path, capsys) -> None:
    # 99 lanes besides default fill an ALB with tracestate only (100 target groups, one is default's)
    for i in range(99):
        created = T0 - timedelta(hours=200 - i)
        _seed_lane(fake, f"user-api-dev-l{i:02d}", created, T0 + timedelta(days=1))
    fake.calls.clear()
    comments = tmp_path / "c"
    assert review(77, "opened", comments, IMAGE) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: lane 'pr-77' does not fit")
    assert "100 target groups (a fixed AWS limit)" in err
    held = err.split("the lanes holding it, oldest first: ", 1)[1].split(", ")
    assert held == [f"l{i:02d}" for i in range(99)]
    assert fake.ops() == [] and "user-api-dev-pr-77" not in fake.stacks
    assert "⛔ not deployed" in next(comments.glob("*.md")).read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pr", "x1", "--event", "opened"], "error: --pr 'x1' is not a pull request number"),
        (["--pr", "5", "--event", "merged"], "error: --event 'merged' is not a pull request event"),
        (["--pr", "5", "--event", "opened"], "error: --image is required for a pull request 'opened' event"),
        (["--pr", "5", "--event", "opened", "--image", "nginx latest"], "error: --image "),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_runs(fake, tmp_path, capsys, argv, message) -> None:
    rc = main(["review", "user-api-dev", *argv, "--comment-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
    assert fake.ops() == []


def test_without_a_token_or_folder_review_says_how_to_comment(fake, capsys) -> None:
    rc = main(["review", "user-api-dev", "--pr", "5", "--event", "opened", "--image", IMAGE])
    err = capsys.readouterr().err
    assert rc == 2 and "set GITHUB_TOKEN" in err and fake.ops() == []


def test_the_readme_sample_comment_is_what_the_renderer_writes() -> None:
    from pathlib import Path

    from automation.review_comment import ReviewComment

    body = ReviewComment(
        "user-api",
        "dev",
        42,
        "pr-42",
        "ready",
        image="123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc1234-b7",
        alb_dns="<LoadBalancerDnsName>",
        expires_at=datetime(2026, 12, 6, 10, tzinfo=UTC),
        ttl_hours=72,
        deployed_at=T0,
    ).render()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"````markdown\n{body}````\n" in readme


def test_a_malformed_expiry_tag_stops_reap_with_the_fix(aged, capsys) -> None:
    aged.stacks["user-api-dev-pr-2"].tags["multilane:expiresAt"] = "next week"
    assert main(["reap", "dev"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: stack user-api-dev-pr-2: tag multilane:expiresAt 'next week' is not a UTC time")
    assert "pulumi stack tag set <tag> <time> -s user-api-dev-pr-2" in err
    assert aged.ops() == []  # nothing destroyed, not even the expired lanes

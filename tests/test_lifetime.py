"""Lane lifetime model (components/lifetime.py), checked against hand-worked values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from components import lifetime, params, review
from components.errors import MultilaneError
from components.lifetime import Lifetime, ReapCandidate

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


# --- review lane names and events -----------------------------------------------------------


def test_pull_request_lane_names() -> None:
    assert review.lane_for(42) == "pr-42"
    assert review.lane_for("7") == "pr-7"
    assert review.lane_for(999_999_999) == "pr-999999999"
    assert review.is_review_lane("pr-42") and not review.is_review_lane("gray") and not review.is_review_lane("pr-0")


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "4 2", "1234567890", "", "07"])
def test_bad_pull_request_numbers_are_one_sentence(bad: str) -> None:
    with pytest.raises(MultilaneError) as err:
        review.lane_for(bad)
    assert str(err.value).startswith("--pr ") and "pull request number" in str(err.value)


def test_events_from_github_and_codepipeline() -> None:
    written = {
        "opened": "open",
        "reopened": "open",
        "synchronize": "update",
        "closed": "close",
        "OPEN": "open",
        "UPDATED": "update",
        "CLOSED": "close",
    }
    assert {e: review.action(e) for e in written} == written
    with pytest.raises(MultilaneError, match="'merged' is not a pull request event"):
        review.action("merged")


# --- TTL ---------------------------------------------------------------------------------------------


def test_expiry_slides_with_each_deploy_and_creation_stays() -> None:
    first = lifetime.on_deploy(T0, None, 72)
    assert (first.created_at, first.last_deploy_at, first.expires_at) == (
        T0,
        T0,
        datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
    )
    later = T0 + timedelta(hours=30)
    second = lifetime.on_deploy(later, first, 72)
    assert second.created_at == T0
    assert second.last_deploy_at == later
    assert second.expires_at == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


def test_lifetime_round_trips_through_stack_tags() -> None:
    life = Lifetime(T0, T0 + timedelta(hours=1), T0 + timedelta(hours=73), protected=True)
    tags = life.stack_tags()
    assert tags == {
        "multilane:createdAt": "2026-12-03T10:00:00Z",
        "multilane:lastDeployAt": "2026-12-03T11:00:00Z",
        "multilane:expiresAt": "2026-12-06T11:00:00Z",
        "multilane:protected": "true",
    }
    assert Lifetime.from_tags(tags, "user-api-dev-pr-1") == life
    assert Lifetime.from_tags({"pulumi:project": "multilane"}, "x") is None
    with pytest.raises(MultilaneError, match="stack user-api-dev-pr-1: tag multilane:expiresAt 'tomorrow'"):
        Lifetime.from_tags({"multilane:expiresAt": "tomorrow"}, "user-api-dev-pr-1")


def test_reap_plan_destroys_only_expired_unprotected_non_default_lanes() -> None:
    now = T0
    expired = Lifetime(T0 - timedelta(days=4), T0 - timedelta(days=3, hours=2), T0 - timedelta(hours=2))
    fresh = Lifetime(T0 - timedelta(hours=1), T0 - timedelta(hours=1), T0 + timedelta(hours=71))
    protected = Lifetime(T0 - timedelta(days=9), T0 - timedelta(days=9), T0 - timedelta(days=6), protected=True)
    at_the_second = Lifetime(T0 - timedelta(hours=72), T0 - timedelta(hours=72), T0)
    plan = lifetime.plan_reap(
        [
            ReapCandidate("user-api-dev-pr-1", "pr-1", expired),
            ReapCandidate("user-api-dev-pr-2", "pr-2", fresh),
            ReapCandidate("user-api-dev-gray", "gray", protected),
            ReapCandidate("user-api-dev-default", "default", expired),
            ReapCandidate("user-api-dev-blue", "blue", None),
            ReapCandidate("order-api-dev-pr-3", "pr-3", at_the_second),
        ],
        now,
    )
    got = {d.stack: (d.destroy, d.reason) for d in plan}
    assert got == {
        "order-api-dev-pr-3": (True, "expired 0m ago (2026-12-03T10:00:00Z)"),
        "user-api-dev-blue": (False, "no expiry recorded (deploy it through the runner to give it one)"),
        "user-api-dev-default": (False, "the default lane is never reaped"),
        "user-api-dev-gray": (False, "protected (multilane:protected is true)"),
        "user-api-dev-pr-1": (True, "expired 2h 0m ago (2026-12-03T08:00:00Z)"),
        "user-api-dev-pr-2": (False, "expires in 2d 23h (2026-12-06T09:00:00Z)"),
    }
    assert [d.stack for d in plan] == sorted(got)


# --- sleep schedules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sleep_at", "wake_at", "awake_hours"),
    [
        # weekdays 08:00-20:00: 5 x 12 h
        ("cron(0 20 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)", 60),
        # every night 22:00-06:00 asleep: 7 x 16 h awake
        ("cron(0 22 * * ? *)", "cron(0 6 * * ? *)", 112),
        # asleep from Friday 18:00 to Monday 07:00: 168 - (6 + 48 + 7)
        ("cron(0 18 ? * FRI *)", "cron(0 7 ? * MON *)", 107),
        # numeric days (1 = Sunday): weekdays 09:30-17:30 -> 5 x 8 h
        ("cron(30 17 ? * 2-6 *)", "cron(30 9 ? * 2-6 *)", 40),
    ],
)
def test_awake_hours_per_week(sleep_at: str, wake_at: str, awake_hours: int) -> None:
    assert lifetime.awake_minutes_per_week(sleep_at, wake_at) == awake_hours * 60


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("0 20 * * MON-FRI", "not an AWS cron expression of six fields"),
        ("cron(0 20 * * MON-FRI *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 25 ? * MON *)", "'25' is not a value"),
        ("cron(0 20 1 * ? *)", "may only choose days of the week"),
        ("cron(* 20 ? * MON *)", "must name the minute and hour"),
        ("cron(0 20 ? * FRI-MON *)", "'FRI-MON' is not a value"),
    ],
)
def test_cron_subset_refuses_what_it_cannot_model(expression: str, why: str) -> None:
    with pytest.raises(ValueError, match="(?s).*" + __import__("re").escape(why)):
        lifetime.parse_cron(expression)


def test_sleep_schedule_params_errors_name_the_file_and_field(tmp_path) -> None:
    import json

    data = json.loads((params.PARAMS_DIR / "infra-dev.json").read_text())
    data["lanes"] = {"sleep": {"timezone": "Mars/Olympus"}}
    (tmp_path / "infra-dev.json").write_text(json.dumps(data))
    with pytest.raises(MultilaneError) as err:
        params.load_infra("dev", tmp_path)
    assert str(err.value).startswith("params/infra-dev.json") or "infra-dev.json" in str(err.value)
    assert "lanes.sleep.timezone" in str(err.value) and "Mars/Olympus" in str(err.value)


def test_sleep_actions_scale_to_zero_and_back() -> None:
    acts = lifetime.sleep_actions("cron(0 20 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)", "Australia/Sydney", 1)
    assert [(a.key, a.schedule, a.timezone, a.min_capacity, a.max_capacity) for a in acts] == [
        ("sleep", "cron(0 20 ? * MON-FRI *)", "Australia/Sydney", 0, 0),
        ("wake", "cron(0 8 ? * MON-FRI *)", "Australia/Sydney", 1, 1),
    ]


# --- idle cost ------------------------------------------------------------------------------------------


def test_cost_of_a_quarter_vcpu_half_gb_task() -> None:
    price = lifetime.FargatePrice("us-east-1", "Linux/x86", 0.04048, 0.004445, "test")
    # 0.25 vCPU x 0.04048 + 0.5 GB x 0.004445 = 0.0123425 per hour
    assert lifetime.task_cost_per_hour(256, 512, price) == pytest.approx(0.0123425)
    assert lifetime.cost_per_day(256, 512, 1, price) == pytest.approx(0.296220)
    assert lifetime.cost_per_day(256, 512, 1, price, awake_fraction=60 / 168) == pytest.approx(0.105793, rel=1e-5)

"""Progressive promotion (issue #15): the gate, the state machine, the runner wiring on the fake backend."""

from __future__ import annotations

import re

import pytest

from automation import promotion
from automation.promotion import (
    Gate,
    Promotion,
    Settings,
    Side,
    Snapshot,
    Thresholds,
    judge,
    parse_steps,
)
from components.errors import MultilaneError
from harness.fake import FakeBackend
from harness.metrics import ScriptedMetrics
from tests.runner_helpers import IMAGE, LOWER, Sleeps, make_runner

GRAY_IMAGE = IMAGE.replace("sha-abc123", "sha-9a7e11")
OLD_IMAGE = IMAGE.replace("sha-abc123", "sha-0001")

# A healthy poll: both sides serve plenty, similar error rate and latency.
GOOD = Snapshot(Side(200, 0, 120.0), Side(1800, 2, 110.0))
# A bad poll: the lane answers 5 % 5xx while default answers 0.1 %.
BAD_5XX = Snapshot(Side(200, 10, 120.0), Side(1800, 2, 110.0))
SLOW = Snapshot(Side(200, 0, 400.0), Side(1800, 2, 110.0))
ALARM = Snapshot(Side(200, 0, 120.0), Side(1800, 2, 110.0), ("user-api-dev-gray-target-5xx-percent",))
DEFAULTS = Settings()
QUIET = Snapshot(Side(5, 5, 900.0), Side(1800, 2, 110.0))  # too few lane requests to judge a rate


# --- steps and the judge ------------------------------------------------------------


def test_parse_steps_accepts_rising_percents_ending_at_100():
    assert parse_steps("10,50,100") == [10, 50, 100]
    assert parse_steps(" 5, 100") == [5, 100]
    assert parse_steps("100") == [100]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("10,x,100", "comma-separated"),
        ("", "comma-separated"),
        ("0,100", "outside 1..100"),
        ("10,150", "outside 1..100"),
        ("50,10,100", "does not rise"),
        ("10,10,100", "does not rise"),
        ("10,50", "ends at 50"),
    ],
)
def test_parse_steps_refuses_in_one_sentence(text, says):
    with pytest.raises(MultilaneError, match=says) as err:
        parse_steps(text)
    assert "\n" not in str(err.value)


def test_judge_reads_rates_latency_alarms_and_ignores_thin_traffic():
    thr = Thresholds()
    assert judge(GOOD, thr) is None
    assert "5xx 5.00% is 4.89 points above" in judge(BAD_5XX, thr)
    assert "p99 400 ms" in judge(SLOW, thr)
    assert "in ALARM" in judge(ALARM, thr)
    assert judge(QUIET, thr) is None
    # p99 over the ratio but within the absolute margin: not a breach (10 ms vs 30 ms).
    assert judge(Snapshot(Side(200, 0, 30.0), Side(1800, 0, 10.0)), thr) is None


def test_gate_is_m_out_of_n():
    gate = Gate(Thresholds(breach_polls=2, window_polls=3))
    assert [gate.add(r) for r in (None, "x", None, None, "y", None)] == [None] * 6  # never 2 of the last 3
    gate = Gate(Thresholds(breach_polls=2, window_polls=3))
    assert [gate.add(r) for r in ("x", None, "y")] == [None, None, "y"]
    assert Gate(Thresholds()).add("alarm", immediate=True) == "alarm"


# --- the state machine with scripted seams ---------------------------------------------


class World:
    """Records every weight set and every cutover; metrics come from a script."""

    def __init__(self, series, *, fail_weight: int | None = None, cutover_ok: bool = True):
        self.weights: list[int] = []
        self.metrics = ScriptedMetrics(series)
        self.sleeps = Sleeps()
        self.fail_weight = fail_weight
        self.cutovers = 0
        self.cutover_ok = cutover_ok

    def set_weight(self, weight, message):
        self.weights.append(weight)
        if weight == self.fail_weight:
            return False, "ECS rolled the deployment back"
        return True, "ok"

    def cutover(self):
        self.cutovers += 1
        return self.cutover_ok, "" if self.cutover_ok else "default lane did not become stable"

    def run(self, settings=DEFAULTS):
        lines: list[str] = []
        p = Promotion(
            "user-api-dev-gray", settings, self.set_weight, self.metrics, self.cutover, self.sleeps, lines.append
        )
        return p.run(), lines


def test_all_steps_pass_then_cutover():
    world = World([GOOD])
    result, lines = world.run()
    assert result.ok and result.cut_over and not result.pulled_back
    assert world.weights == [10, 50, 100]
    assert world.cutovers == 1
    # 300 s bake at a 60 s poll: 5 polls per step, the sleeps add up to the bake.
    assert [s.polls for s in result.steps] == [5, 5, 5]
    assert sum(world.sleeps) == 3 * 300
    progress = [line for line in lines if " bake " in line]
    assert progress[0].startswith("step 1/3 weight 10% bake 240s left | lane 5xx 0.00% p99 120 ms (200 req)")
    assert "default 5xx 0.11% p99 110 ms (1800 req) | ok" in progress[0]


def test_breach_at_step_2_sets_weight_0_and_stops():
    # Step 1: five good polls. Step 2: bad from its second poll on.
    world = World([GOOD] * 5 + [GOOD, BAD_5XX, BAD_5XX, BAD_5XX])
    result, lines = world.run()
    assert not result.ok and result.pulled_back and not result.cut_over
    assert world.weights == [10, 50, 0]
    assert world.cutovers == 0
    assert [(s.step, s.weight, s.status, s.polls) for s in result.steps] == [
        (1, 10, "passed", 5),
        (2, 50, "breached", 3),
    ]
    assert result.reason.startswith("promotion of user-api-dev-gray stopped at step 2/3 (weight 50): lane 5xx 5.00%")
    assert result.reason.endswith("weight set back to 0") and "\n" not in result.reason
    assert lines[-1].endswith("| BREACH")


def test_flapping_lane_is_pulled_back_but_one_spike_is_not():
    flap = World([GOOD, BAD_5XX, GOOD, BAD_5XX, GOOD])
    result, _ = flap.run()
    assert not result.ok and flap.weights == [10, 0]
    assert result.steps[0].polls == 4  # 2 of the last 3 at the 4th poll
    spike = World([GOOD, SLOW, GOOD, GOOD, GOOD])
    result, lines = spike.run()
    assert result.ok and spike.weights == [10, 50, 100]
    assert any(line.endswith("| breach?") for line in lines)


def test_an_alarm_pulls_back_at_once():
    world = World([GOOD, ALARM])
    result, _ = world.run()
    assert world.weights == [10, 0] and result.steps[0].polls == 2
    assert "alarm user-api-dev-gray-target-5xx-percent is in ALARM" in result.reason


def test_a_failed_deploy_pulls_back():
    world = World([GOOD], fail_weight=50)
    result, _ = world.run()
    assert world.weights == [10, 50, 0]
    assert "the deploy at weight 50 failed (ECS rolled the deployment back)" in result.reason


def test_a_failed_cutover_is_a_failure_without_pull_back():
    world = World([GOOD], cutover_ok=False)
    result, _ = world.run(Settings(steps=(100,), bake_seconds=60))
    assert not result.ok and world.weights == [100]
    assert result.reason.endswith("the cutover failed: default lane did not become stable")


def test_render_plan_lists_each_step():
    text = promotion.render_plan("user-api-dev-gray", "gray", "user-api-dev-default", Settings(), 25)
    assert text.splitlines()[1].startswith("  step 1: multilane:weight=10: 10% of the requests")
    assert "modeled time: 3 x 300 s + cutover 25 s = 925 s (one-step promote: 25 s)" in text


# --- on the fake backend through the runner ---------------------------------------------


class Waiter:
    def __call__(self, cluster, service):
        return f"ECS service {service} is stable"


def _service() -> FakeBackend:
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-default", {"multilane:imageUri": OLD_IMAGE})
    fake.seed("user-api-dev-gray", {"multilane:imageUri": GRAY_IMAGE})
    return fake


def _run(fake, tmp_path, series, settings=DEFAULTS):
    runner = make_runner(fake, tmp_path)
    return promotion.progressive(
        runner, "user-api", "dev", "gray", settings, ScriptedMetrics(series), sleep=Sleeps(), waiter=Waiter()
    )


def _weights(fake, stack="user-api-dev-gray"):
    return [c.config.get("multilane:weight") for c in fake.calls if c.op == "up" and c.stack == stack]


def test_fake_backend_pass_promotes_and_removes_the_lane(tmp_path):
    fake = _service()
    result, outcomes = _run(fake, tmp_path, [GOOD])
    assert result.ok
    assert _weights(fake) == ["10", "50", "100"]
    assert [(o.op, o.stack, o.status) for o in outcomes] == [
        ("up", "user-api-dev-default", "ok"),
        ("destroy", "user-api-dev-gray", "ok"),
    ]
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE
    assert not fake.stack_exists("user-api-dev-gray")


def test_fake_backend_breach_at_step_2_leaves_lane_at_weight_0(tmp_path):
    fake = _service()
    result, outcomes = _run(fake, tmp_path, [GOOD] * 5 + [BAD_5XX] * 3)
    assert not result.ok and outcomes == []
    assert _weights(fake) == ["10", "50", "0"]
    assert fake.stacks["user-api-dev-gray"].config["multilane:weight"] == "0"
    assert promotion.current_weight(fake, "user-api-dev-gray") == 0
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == OLD_IMAGE  # untouched


def test_fake_backend_flap_is_pulled_back(tmp_path):
    fake = _service()
    result, _ = _run(fake, tmp_path, [GOOD, BAD_5XX, GOOD, BAD_5XX])
    assert not result.ok and _weights(fake) == ["10", "0"]


def test_only_one_lane_takes_a_weighted_share(tmp_path):
    fake = _service()
    fake.seed("user-api-dev-blue", {"multilane:imageUri": GRAY_IMAGE, "multilane:weight": "10"})
    with pytest.raises(MultilaneError, match="lane 'blue' of user-api-dev already takes a weighted share"):
        _run(fake, tmp_path, [GOOD])
    assert _weights(fake) == []


def test_refuses_default_and_missing_lanes(tmp_path):
    fake = _service()
    runner = make_runner(fake, tmp_path)
    with pytest.raises(MultilaneError, match="default lane onto itself"):
        promotion.check_startable(runner, "user-api", "dev", "default")
    with pytest.raises(MultilaneError, match="has no stack user-api-dev-green"):
        promotion.check_startable(runner, "user-api", "dev", "green")


def test_abort_sets_weight_0_at_once(tmp_path):
    fake = _service()
    fake.seed("user-api-dev-gray", {"multilane:imageUri": GRAY_IMAGE, "multilane:weight": "50"})
    outcome = promotion.abort(make_runner(fake, tmp_path), "user-api", "dev", "gray")
    assert outcome.status == "ok"
    assert _weights(fake) == ["0"]
    assert promotion.current_weight(fake, "user-api-dev-gray") == 0


def test_bench_model_matches_the_state_machine_on_a_virtual_clock():
    from bench import promotion as bench_promotion

    s = Settings(steps=(10, 100), bake_seconds=120, poll_seconds=60)
    total, at_weight = bench_promotion.simulate(s, [GOOD], cutover_s=10)
    assert total == promotion.modeled_seconds([10, 100], 120, 10) == 250
    assert at_weight == {0: 0.0, 10: 120.0, 100: 130.0}
    # Bad from the first poll of step 2: the 2-of-3 gate pulls back after two polls.
    _, at_weight = bench_promotion.simulate(s, [GOOD, GOOD, BAD_5XX], cutover_s=10)
    assert at_weight[100] == 120.0 and promotion.breach_exposure(100, 120) == 120.0


# --- the CLI, fake backend and scripted metrics behind the seams --------------------------


@pytest.fixture
def cli(monkeypatch):
    from automation.commands import common

    fake = _service()
    scripts: dict[str, list[Snapshot]] = {"series": [GOOD]}
    monkeypatch.setattr(common.SEAMS, "backend", lambda: fake)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    monkeypatch.setattr(common.SEAMS, "waiter", lambda cluster, service: f"{service} stable")
    monkeypatch.setattr(common.SEAMS, "sleep", Sleeps())
    monkeypatch.setattr(common.SEAMS, "metrics", lambda runner, s, e, lane: ScriptedMetrics(scripts["series"]))
    fake.calls.clear()
    return fake, scripts


def test_cli_breach_at_step_2_exits_1_with_one_line(cli, capsys):
    from automation.cli import main

    fake, scripts = cli
    scripts["series"] = [GOOD] * 5 + [BAD_5XX] * 3
    rc = main(["promote", "user-api-dev", "gray", "--steps", "10,50,100", "--bake", "300"])
    err = capsys.readouterr().err
    assert rc == 1
    [reason] = [line for line in err.splitlines() if line.startswith("promote: ")]
    assert reason.startswith("promote: promotion of user-api-dev-gray stopped at step 2/3 (weight 50): lane 5xx")
    assert "Traceback" not in err
    assert "step 2/3 weight 50% bake 180s left | lane 5xx 5.00% p99 120 ms (200 req)" in err  # progress lines
    assert _weights(fake) == ["10", "50", "0"]


def test_cli_pass_promotes_with_the_lane_stack_name(cli, capsys):
    from automation.cli import main

    fake, _ = cli
    assert main(["promote", "user-api-dev-gray", "--steps", "50,100", "--bake", "120"]) == 0
    assert _weights(fake) == ["50", "100"]
    assert not fake.stack_exists("user-api-dev-gray")
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE


def test_cli_dry_run_changes_nothing(cli, capsys):
    from automation.cli import main

    fake, _ = cli
    assert main(["promote", "user-api-dev", "gray", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("promote user-api-dev-gray in 3 steps, bake 300 s each")
    assert fake.calls == []


def test_cli_abort_and_bad_input(cli, capsys):
    from automation.cli import main

    fake, _ = cli
    assert main(["promote", "--abort", "user-api-dev", "gray"]) == 0
    assert _weights(fake) == ["0"]
    capsys.readouterr()
    fake.calls.clear()
    for argv, says in [
        (["promote", "user-api-dev", "gray", "--steps", "10,x"], "comma-separated"),
        (["promote", "user-api-dev", "gray", "--bake", "-1"], "--bake -1 is outside"),
        (["promote", "user-api-dev", "default", "--steps", "100"], "default lane onto itself"),
    ]:
        assert main(argv) == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and says in errors[0]
    assert fake.calls == []


# --- the ALB budget counts the weighted rule ----------------------------------------------


def test_budget_counts_the_weighted_rule():
    from components.routing import priorities

    both = ["tracestate", "baggage"]
    # 100 rules: 2 per lane -> 50 lanes; one weighted rule leaves 99 -> 49 lanes.
    assert priorities.max_lanes(both) == 50 and priorities.max_lanes(both, extra_rules=1) == 49
    # tracestate alone is held by the 100 target groups (99 lanes) either way.
    assert priorities.max_lanes(["tracestate"], extra_rules=1) == 99
    lanes49 = [f"l{i:02d}" for i in range(49)]
    priorities.check_capacity(lanes49, both, lane="new")
    with pytest.raises(MultilaneError, match="1 of them taken by a weighted promotion rule"):
        priorities.check_capacity(lanes49, both, lane="new", extra_rules=1)
    priorities.check_weighted_fits(lanes49, both, lane="l00")  # 98 + 1 <= 100
    with pytest.raises(MultilaneError, match="the weighted rule of lane 'l00' does not fit"):
        priorities.check_weighted_fits([*lanes49, "l49"], both, lane="l00")  # 100 + 1


def test_promote_refuses_when_the_weighted_rule_would_not_fit(tmp_path, params_dir):
    from tests.conftest import edit_json

    edit_json(params_dir / "user-api-dev.json", lambda d: d.update(laneCarriers=["tracestate", "baggage"]))
    fake = FakeBackend.deployed(*LOWER, params_dir=params_dir)
    for i in range(50):
        fake.seed(f"user-api-dev-l{i:02d}", {"multilane:imageUri": GRAY_IMAGE})
    runner = make_runner(fake, tmp_path, params_dir=params_dir)
    with pytest.raises(MultilaneError, match="the service's 100 header rules already fill the ALB's 100"):
        promotion.check_startable(runner, "user-api", "dev", "l07")


# --- the real metrics source, against moto's CloudWatch -----------------------------------


def test_cloudwatch_source_reads_alb_metrics_and_lane_alarms():
    import datetime as dt

    import boto3
    from moto import mock_aws

    arn = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:"
    lb, lane_tg, default_tg = f"{arn}loadbalancer/app/user-api-dev/1", f"{arn}targetgroup/g/2", f"{arn}targetgroup/d/3"
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="ap-southeast-2")
        now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)
        for tg, req, err in ((lane_tg, 200, 10), (default_tg, 1800, 2)):
            dims = [
                {"Name": "TargetGroup", "Value": tg.split(":", 5)[5]},
                {"Name": "LoadBalancer", "Value": "app/user-api-dev/1"},
            ]
            cw.put_metric_data(
                Namespace="AWS/ApplicationELB",
                MetricData=[
                    {"MetricName": "RequestCount", "Dimensions": dims, "Value": req, "Timestamp": now},
                    {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Value": err, "Timestamp": now},
                    # Another load balancer's group of the same name must not count.
                    {"MetricName": "RequestCount", "Dimensions": dims[:1], "Value": 99999, "Timestamp": now},
                ],
            )
        source = promotion.cloudwatch_metrics(
            load_balancer_arn=lb,
            lane_target_group_arn=lane_tg,
            default_target_group_arn=default_tg,
            alarm_names=["user-api-dev-gray-target-5xx-percent"],
            region="ap-southeast-2",
        )
        snap = source(60)
        assert snap == Snapshot(Side(200, 10, None), Side(1800, 2, None), ())
        assert "lane 5xx 5.00%" in judge(snap, Thresholds())
        cw.put_metric_alarm(
            AlarmName="user-api-dev-gray-target-5xx-percent", MetricName="m", Namespace="n", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        cw.set_alarm_state(AlarmName="user-api-dev-gray-target-5xx-percent", StateValue="OK", StateReason="t")
        assert source(60).alarms_firing == ()  # an alarm that exists but is OK is not firing
        cw.set_alarm_state(AlarmName="user-api-dev-gray-target-5xx-percent", StateValue="ALARM", StateReason="t")
        assert source(60).alarms_firing == ("user-api-dev-gray-target-5xx-percent",)


# --- params: the promotion block ---------------------------------------------------------


def test_params_promotion_defaults_and_refusals(params_dir):
    from components import params
    from tests.conftest import edit_json

    p = params.load_service("user-api", "dev", params_dir).promotion
    assert (p.steps, p.bake_seconds, p.poll_seconds, p.stickiness_seconds) == ([10, 50, 100], 300, 60, 3600)
    path = params_dir / "user-api-dev.json"
    for block, says in [
        ({"steps": [10, 5, 100]}, "field 'promotion.steps': [10, 5, 100] does not rise step by step"),
        ({"steps": [10, 50]}, "ends at 50; end at 100"),
        ({"stickinessSeconds": 604801}, "field 'promotion.stickinessSeconds'"),
        ({"breachPolls": 4}, "breachPolls 4 exceeds windowPolls 3"),
        ({"maxP99Ratio": "1.5"}, "field 'promotion.maxP99Ratio'"),
    ]:
        edit_json(path, lambda d, block=block: d.update(promotion=block))
        with pytest.raises(MultilaneError, match=re.escape(says)) as err:
            params.load_service("user-api", "dev", params_dir)
        assert str(err.value).startswith("params/user-api-dev.json: field 'promotion")

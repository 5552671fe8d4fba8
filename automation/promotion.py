"""Progressive promotion (issue #15): weighted steps, a metric gate, automatic pull-back.

``python -m automation promote user-api-dev gray --steps 10,50,100 --bake 300``
runs this state machine:

    for each step w:   set multilane:weight = w on the lane stack and deploy it
                       (the lane's weighted catch-all rule sends w % of the
                       requests no header rule took to the lane, sticky)
                       bake: every poll, read the lane's alarms and compare
                       the lane's 5xx rate and p99 latency with the default
                       lane's; a breach sets the weight to 0 and stops
    after the last:    today's one-step promotion (automation/lifecycle.py):
                       the default lane takes the lane's image, then the lane
                       and its weighted rule are destroyed

A poll breaches when a lane alarm is in ALARM (the same alarms that roll the
lane's ECS deployments back), or when the lane's 5xx rate is more than
``max5xxPercentOverDefault`` points above the default lane's, or its p99 is
more than ``maxP99Ratio`` times the default's and at least ``minP99DeltaMs``
slower. Polls with fewer than ``minRequests`` lane requests judge only the
alarms (no rate from a handful of requests). Like a CloudWatch alarm's
"M out of N", the step is pulled back when ``breachPolls`` of the last
``windowPolls`` polls breached (default 2 of 3): one noisy minute does not
pull a lane back, a flapping lane does. An alarm in ALARM pulls back at once:
the alarm already applied its own M out of N.

Everything that touches the world is a seam: ``set_weight`` (the runner's
``up`` of the lane stack), ``metrics`` (:class:`MetricsSource`; the real one
is :func:`cloudwatch_metrics`, tests and the fake backend script a series),
``sleep`` and ``cutover``. ``harness/metrics.py`` scripts a series for tests and the bench.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from components.errors import MultilaneError
from components.routing import weighted

DEFAULT_STEPS = (10, 50, 100)
DEFAULT_BAKE_SECONDS = 300
DEFAULT_POLL_SECONDS = 60
MAX_BAKE_SECONDS = 24 * 3600


# --- inputs ---------------------------------------------------------------------------


def parse_steps(text: str) -> list[int]:
    """``"10,50,100"`` -> [10, 50, 100]: whole percents 1..100, rising, ending at 100."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p.isdigit() or len(p) > 3 for p in parts):
        raise MultilaneError(f"--steps {text!r} is not a comma-separated list of percents; use e.g. --steps 10,50,100")
    steps = [int(p) for p in parts]
    problem = weighted.steps_problem(steps)
    if problem:
        raise MultilaneError(f"--steps {text!r} {problem}")
    return steps


def check_bake(bake: int, poll: int) -> None:
    if not 0 <= bake <= MAX_BAKE_SECONDS:
        raise MultilaneError(f"--bake {bake} is outside 0..{MAX_BAKE_SECONDS} seconds")
    if poll < 1:
        raise MultilaneError(f"the poll interval {poll} s must be at least 1 s")


# --- metrics seam ---------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One target group over one poll window."""

    requests: float = 0.0
    errors_5xx: float = 0.0
    p99_ms: float | None = None

    @property
    def rate_5xx(self) -> float | None:
        """5xx as a percent of requests, None without requests."""
        return 100.0 * self.errors_5xx / self.requests if self.requests > 0 else None


@dataclass(frozen=True)
class Snapshot:
    lane: Side
    default: Side
    alarms_firing: tuple[str, ...] = ()  # lane alarms in ALARM


class MetricsSource(Protocol):
    def __call__(self, window_seconds: int) -> Snapshot:
        """The last ``window_seconds`` of the lane and the default lane."""
        ...


@dataclass(frozen=True)
class Thresholds:
    max_5xx_percent_over_default: float = 1.0
    max_p99_ratio: float = 1.5
    min_p99_delta_ms: float = 50.0
    min_requests: int = 20
    breach_polls: int = 2
    window_polls: int = 3


def judge(snap: Snapshot, thr: Thresholds) -> str | None:
    """Why this poll breaches, or None."""
    if snap.alarms_firing:
        return f"alarm {snap.alarms_firing[0]} is in ALARM"
    lane, default = snap.lane, snap.default
    if lane.requests < thr.min_requests:
        return None
    lane_rate = lane.rate_5xx or 0.0
    default_rate = default.rate_5xx or 0.0
    if lane_rate - default_rate > thr.max_5xx_percent_over_default:
        return (
            f"lane 5xx {lane_rate:.2f}% is {lane_rate - default_rate:.2f} points above the default lane's "
            f"{default_rate:.2f}% (limit {thr.max_5xx_percent_over_default:g})"
        )
    slow = (
        lane.p99_ms is not None
        and default.p99_ms is not None
        and lane.p99_ms > thr.max_p99_ratio * default.p99_ms
        and lane.p99_ms - default.p99_ms >= thr.min_p99_delta_ms
    )
    if slow:
        assert lane.p99_ms is not None and default.p99_ms is not None
        return (
            f"lane p99 {lane.p99_ms:.0f} ms is {lane.p99_ms / max(default.p99_ms, 1e-9):.2f}x the default lane's "
            f"{default.p99_ms:.0f} ms (limit {thr.max_p99_ratio:g}x and +{thr.min_p99_delta_ms:g} ms)"
        )
    return None


class Gate:
    """M out of N: breached when ``breach_polls`` of the last ``window_polls`` polls breached."""

    def __init__(self, thr: Thresholds) -> None:
        self.thr = thr
        self.recent: deque[str | None] = deque(maxlen=thr.window_polls)

    def add(self, reason: str | None, *, immediate: bool = False) -> str | None:
        self.recent.append(reason)
        bad = [r for r in self.recent if r]
        if reason and (immediate or len(bad) >= self.thr.breach_polls):
            return reason
        return None


# --- the state machine ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    steps: tuple[int, ...] = DEFAULT_STEPS
    bake_seconds: int = DEFAULT_BAKE_SECONDS
    poll_seconds: int = DEFAULT_POLL_SECONDS
    stickiness_seconds: int = 3600
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def polls_per_step(self) -> int:
        return math.ceil(self.bake_seconds / self.poll_seconds) if self.bake_seconds else 0


@dataclass
class StepRecord:
    step: int
    weight: int
    status: str  # passed | breached | failed
    polls: int = 0
    reason: str = ""


@dataclass
class Result:
    ok: bool
    reason: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    pulled_back: bool = False
    cut_over: bool = False


def fmt_side(side: Side) -> str:
    rate = "-" if side.rate_5xx is None else f"{side.rate_5xx:.2f}%"
    p99 = "-" if side.p99_ms is None else f"{side.p99_ms:.0f} ms"
    return f"5xx {rate} p99 {p99} ({side.requests:.0f} req)"


SetWeight = Callable[[int, str], tuple[bool, str]]  # (weight, message) -> (ok, detail)


@dataclass
class Promotion:
    """One progressive promotion of ``lane`` (a label for messages)."""

    lane: str
    settings: Settings
    set_weight: SetWeight
    metrics: MetricsSource
    cutover: Callable[[], tuple[bool, str]]
    sleep: Callable[[float], None]
    report: Callable[[str], None] = print
    lines: list[str] = field(default_factory=list)

    def _say(self, text: str) -> None:
        self.lines.append(text)
        self.report(text)

    def _pull_back(self, result: Result, record: StepRecord, reason: str) -> Result:
        record.status = "breached"
        record.reason = reason
        ok, detail = self.set_weight(
            0, f"promote: pulled back at step {record.step} (weight {record.weight}): {reason}"
        )
        result.ok = False
        result.pulled_back = ok
        where = f"step {record.step}/{len(self.settings.steps)} (weight {record.weight})"
        result.reason = f"promotion of {self.lane} stopped at {where}: {reason}; " + (
            "weight set back to 0" if ok else f"setting the weight back to 0 FAILED ({detail}); run promote --abort"
        )
        return result

    def run(self) -> Result:
        s = self.settings
        result = Result(ok=True)
        n = len(s.steps)
        for i, weight in enumerate(s.steps, start=1):
            record = StepRecord(i, weight, "passed")
            result.steps.append(record)
            self._say(f"step {i}/{n}: weight {weight}: deploying")
            ok, detail = self.set_weight(weight, f"promote: step {i}/{n}, weight {weight}")
            if not ok:
                return self._pull_back(result, record, f"the deploy at weight {weight} failed ({detail})")
            gate = Gate(s.thresholds)
            left = s.bake_seconds
            while left > 0:
                wait = min(s.poll_seconds, left)
                self.sleep(wait)
                left -= wait
                snap = self.metrics(int(wait))
                record.polls += 1
                reason = judge(snap, s.thresholds)
                breached = gate.add(reason, immediate=bool(snap.alarms_firing))
                verdict = "BREACH" if breached else ("breach?" if reason else "ok")
                self._say(
                    f"step {i}/{n} weight {weight}% bake {left}s left | lane {fmt_side(snap.lane)} | "
                    f"default {fmt_side(snap.default)} | {verdict}"
                )
                if breached:
                    return self._pull_back(result, record, breached)
            self._say(f"step {i}/{n}: weight {weight} baked {s.bake_seconds}s without a breach")
        self._say("all steps passed: the default lane takes the lane's image, then the lane is removed")
        ok, detail = self.cutover()
        result.cut_over = ok
        if not ok:
            result.ok = False
            result.reason = f"promotion of {self.lane} passed every step but the cutover failed: {detail}"
        return result


# --- plan and model ------------------------------------------------------------------------


def render_plan(stack: str, lane: str, default_stack: str, s: Settings, cutover_seconds: float | None = None) -> str:
    thr = s.thresholds
    lines = [f"promote {stack} in {len(s.steps)} steps, bake {s.bake_seconds} s each, a poll every {s.poll_seconds} s:"]
    for i, w in enumerate(s.steps, start=1):
        lines.append(
            f"  step {i}: multilane:weight={w}: {w}% of the requests no header rule takes reach {lane}, "
            f"{100 - w}% the default lane, sticky for {s.stickiness_seconds} s; bake {s.bake_seconds} s"
        )
    lines.append(
        f"  gate: any lane alarm in ALARM, or in {thr.breach_polls} of {thr.window_polls} polls with at least "
        f"{thr.min_requests} lane requests: lane 5xx more than {thr.max_5xx_percent_over_default:g} points above "
        f"default, or lane p99 over {thr.max_p99_ratio:g}x default and +{thr.min_p99_delta_ms:g} ms; "
        "a breach sets the weight to 0 and stops"
    )
    lines.append(f"  then: {default_stack} takes {lane}'s image, then {stack} and its weighted rule are destroyed")
    total = len(s.steps) * s.bake_seconds
    if cutover_seconds is not None:
        lines.append(
            f"  modeled time: {len(s.steps)} x {s.bake_seconds} s + cutover {cutover_seconds:g} s = "
            f"{total + cutover_seconds:g} s (one-step promote: {cutover_seconds:g} s)"
        )
    return "\n".join(lines)


def modeled_seconds(steps: Sequence[int], bake: int, cutover: float) -> float:
    """steps x bake + cutover (deploy time of each weight change left out: it is a rule update)."""
    return len(steps) * bake + cutover


def breach_exposure(weight: int, bake: int) -> float:
    """Share of traffic x seconds a step breached at its end exposed: weight/100 x bake
    (percent-seconds / 100 = 'full-traffic seconds')."""
    return weight / 100.0 * bake


# --- the real metrics source ---------------------------------------------------------------

ALB_NAMESPACE = "AWS/ApplicationELB"


def _suffix(arn: str) -> str:
    """The CloudWatch dimension value of an ELB ARN (one definition: components/alarms.py)."""
    from components.alarms import arn_suffix

    return arn_suffix(arn)


def cloudwatch_metrics(
    *,
    load_balancer_arn: str,
    lane_target_group_arn: str,
    default_target_group_arn: str,
    alarm_names: Sequence[str],
    region: str | None = None,
    session: Any = None,
    now: Callable[[], Any] | None = None,
) -> MetricsSource:
    """A MetricsSource reading CloudWatch with boto3: per target group (dimensions
    ``TargetGroup`` + ``LoadBalancer``) the Sum of ``RequestCount`` and
    ``HTTPCode_Target_5XX_Count`` and the ``p99`` of ``TargetResponseTime``
    (seconds, reported in ms), and the lane alarms in ALARM."""
    import datetime as dt

    import boto3

    sess = session or boto3.session.Session()
    cw = sess.client("cloudwatch", region_name=region)
    lb = _suffix(load_balancer_arn)
    clock = now or (lambda: dt.datetime.now(dt.UTC))

    def queries(prefix: str, tg_arn: str, period: int) -> list[dict[str, Any]]:
        dims = [{"Name": "TargetGroup", "Value": _suffix(tg_arn)}, {"Name": "LoadBalancer", "Value": lb}]

        def q(qid: str, metric: str, stat: str) -> dict[str, Any]:
            return {
                "Id": f"{prefix}{qid}",
                "MetricStat": {
                    "Metric": {"Namespace": ALB_NAMESPACE, "MetricName": metric, "Dimensions": dims},
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }

        return [
            q("req", "RequestCount", "Sum"),
            q("err", "HTTPCode_Target_5XX_Count", "Sum"),
            q("p99", "TargetResponseTime", "p99"),
        ]

    def read(window_seconds: int) -> Snapshot:
        period = max(60, math.ceil(window_seconds / 60.0) * 60)  # ALB publishes once a minute
        end = clock()
        start = end - dt.timedelta(seconds=period)
        got = cw.get_metric_data(
            MetricDataQueries=queries("l", lane_target_group_arn, period)
            + queries("d", default_target_group_arn, period),
            StartTime=start,
            EndTime=end,
        )
        values = {r["Id"]: list(r.get("Values") or []) for r in got.get("MetricDataResults", [])}

        def side(prefix: str) -> Side:
            p99 = values.get(f"{prefix}p99") or []
            return Side(
                requests=float(sum(values.get(f"{prefix}req") or [])),
                errors_5xx=float(sum(values.get(f"{prefix}err") or [])),
                p99_ms=(max(p99) * 1000.0) if p99 else None,
            )

        firing: tuple[str, ...] = ()
        if alarm_names:
            alarms = cw.describe_alarms(AlarmNames=list(alarm_names), StateValue="ALARM")
            # Checked again here: moto 5.2.5 ignores StateValue when AlarmNames is given.
            firing = tuple(a["AlarmName"] for a in alarms.get("MetricAlarms", []) if a.get("StateValue") == "ALARM")
        return Snapshot(side("l"), side("d"), firing)

    return read


# --- wiring to the runner ----------------------------------------------------------------

WEIGHT_CONFIG = "multilane:weight"


def last_config(backend: Any, stack: str, key: str) -> str:
    """A config value the stack's last successful update ran with ("" when none)."""
    for entry in backend.history(stack):
        if entry.kind == "update" and entry.result == "succeeded":
            return str(entry.config.get(key) or "")
    return ""


def current_weight(backend: Any, stack: str) -> int:
    """The weight the lane stack's last successful update ran with (0 when none)."""
    text = last_config(backend, stack, WEIGHT_CONFIG) or "0"
    return int(text) if text.isdigit() else 0


def lanes_with(backend: Any, service: str, env: str, key: str, params_dir: Any = None) -> dict[str, str]:
    """Live lanes of the service whose last update set config ``key``, with its value."""
    from automation.runner import live_lanes
    from components import params

    out: dict[str, str] = {}
    for target, _ in live_lanes(backend, service, env, params_dir or params.PARAMS_DIR):
        value = last_config(backend, target.stack, key)
        if value and value != "0" and target.lane:
            out[target.lane] = value
    return out


def weighted_lanes(backend: Any, service: str, env: str, params_dir: Any = None) -> dict[str, int]:
    """Lanes of the service whose stack runs with a weight above 0."""
    found = lanes_with(backend, service, env, WEIGHT_CONFIG, params_dir)
    return {lane: int(v) for lane, v in found.items() if v.isdigit() and int(v) > 0}


def check_startable(runner: Any, service: str, env: str, lane: str) -> None:
    """Refuse before anything changes: no such lane, the default lane, or
    another lane of the service already taking a weighted share."""
    from automation.lifecycle import lane_target
    from components import naming, stackname

    stackname.check_lane(lane, where="lane to promote")
    if lane == naming.DEFAULT_LANE:
        raise MultilaneError(f"cannot promote {service}-{env}'s default lane onto itself; name another lane, e.g. gray")
    target = lane_target(service, env, lane)
    if not runner.backend.stack_exists(target.stack):
        raise MultilaneError(
            f"lane {lane!r} of {service}-{env} has no stack {target.stack}; "
            f"`python -m automation lanes {service}-{env}` lists the lanes"
        )
    from automation.runner import live_lanes
    from components import params
    from components.routing import priorities

    names = [t.lane for t, _ in live_lanes(runner.backend, service, env, runner.params_dir) if t.lane]
    carriers = list(params.load_service(service, env, runner.params_dir).lane_carriers)
    priorities.check_weighted_fits(names, carriers, lane=lane)
    others = {k: v for k, v in weighted_lanes(runner.backend, service, env, runner.params_dir).items() if k != lane}
    if others:
        other, weight = sorted(others.items())[0]
        raise MultilaneError(
            f"lane {other!r} of {service}-{env} already takes a weighted share (multilane:weight {weight}); only one "
            f"lane may at a time: finish it or run `python -m automation promote --abort {service}-{env} {other}`"
        )


def runner_set_weight(runner: Any, service: str, env: str, lane: str) -> SetWeight:
    from automation.lifecycle import lane_target

    target = lane_target(service, env, lane)

    def set_weight(weight: int, message: str) -> tuple[bool, str]:
        outcome = runner.run_one("up", target, {WEIGHT_CONFIG: str(weight)}, message)
        return outcome.status == "ok", outcome.message or outcome.status

    return set_weight


def abort(runner: Any, service: str, env: str, lane: str) -> Any:
    """The kill switch: weight 0 on the lane stack at once (its weighted rule goes)."""
    from automation.lifecycle import lane_target
    from components import stackname

    stackname.check_lane(lane, where="lane to abort")
    target = lane_target(service, env, lane)
    if not runner.backend.stack_exists(target.stack):
        raise MultilaneError(f"{target.stack} does not exist, so there is no weighted share to abort")
    runner.note(f"abort: setting multilane:weight of {target.stack} to 0")
    return runner.run_one("up", target, {WEIGHT_CONFIG: "0"}, "promote --abort: weight 0")


def progressive(
    runner: Any,
    service: str,
    env: str,
    lane: str,
    settings: Settings,
    metrics: MetricsSource,
    *,
    sleep: Callable[[float], None],
    waiter: Any = None,
    report: Callable[[str], None] | None = None,
) -> tuple[Result, list[Any]]:
    """Run the state machine on ``runner``; returns the result and every stack outcome."""
    from automation import lifecycle

    check_startable(runner, service, env, lane)
    outcomes: list[Any] = []
    set_weight = runner_set_weight(runner, service, env, lane)

    def cutover() -> tuple[bool, str]:
        done = lifecycle.promote(runner, service, env, lane, keep_source=False, waiter=waiter)
        outcomes.extend(done)
        failed = [o for o in done if o.status != "ok"]
        return (not failed), (failed[0].message if failed else "")

    promotion = Promotion(
        lane=f"{service}-{env}-{lane}",
        settings=settings,
        set_weight=set_weight,
        metrics=metrics,
        cutover=cutover,
        sleep=sleep,
        report=report or runner.note,
    )
    return promotion.run(), outcomes

"""Modeled progressive promotion (issue #15): how long it takes, what a breach exposes.

    progressive = len(steps) x bake + cutover        (defaults: 3 x 300 s + cutover)
    one-step    = cutover
    exposure of a step that breaches = weight x bake  (upper bound: the breach
                  shows only at the end of the bake; "full-traffic seconds")

``cutover`` is the default lane's modeled rolling deploy, read from the
recorded plans exactly as ``bench/cutover.py`` does (worst case). A weight
change only updates a listener rule and the lane's stack (no task is
replaced), so it adds no modeled time. Both figures are also measured by
running the real state machine (automation/promotion.py) on a virtual
clock with scripted metrics: the sum of its bake sleeps must equal the
formula, and a breach at step 2 from its first poll is caught by the gate
after ``breachPolls`` polls, so it exposes weight x breachPolls x poll, less
than the bound.
"""

from __future__ import annotations

from pathlib import Path

from automation.promotion import (
    Promotion,
    Settings,
    Side,
    Snapshot,
    breach_exposure,
    modeled_seconds,
)
from bench._figure import Figure
from bench.cutover import Cutover, recorded_target_groups
from components import naming, params
from harness.metrics import ScriptedMetrics

ENV = "dev"
GOOD = Snapshot(Side(200, 0, 120.0), Side(1800, 2, 110.0))
BAD = Snapshot(Side(200, 20, 120.0), Side(1800, 2, 110.0))


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def simulate(settings: Settings, series: list[Snapshot], cutover_s: float) -> tuple[float, dict[int, float]]:
    """(wall seconds on the virtual clock, seconds spent at each weight) of one run."""
    clock = VirtualClock()
    at_weight: dict[int, float] = {}
    current = [0]
    since = [0.0]

    def set_weight(weight: int, message: str) -> tuple[bool, str]:
        at_weight[current[0]] = at_weight.get(current[0], 0.0) + clock.now - since[0]
        current[0], since[0] = weight, clock.now
        return True, "ok"

    def cutover() -> tuple[bool, str]:
        set_weight(100, "cutover")
        clock.sleep(cutover_s)
        return True, ""

    Promotion("bench", settings, set_weight, ScriptedMetrics(series), cutover, clock.sleep, lambda _: None).run()
    at_weight[current[0]] = at_weight.get(current[0], 0.0) + clock.now - since[0]
    return clock.now, at_weight


def default_cutover_s(params_dir: Path = params.PARAMS_DIR) -> tuple[float, str]:
    model = Cutover.from_inputs(recorded_target_groups(ENV, params_dir)[naming.DEFAULT_LANE])
    return float(model.worst_s), model.explain()


def figures(params_dir: Path = params.PARAMS_DIR) -> list[Figure]:
    s = Settings()
    cut, why = default_cutover_s(params_dir)
    steps = list(s.steps)
    formula = modeled_seconds(steps, s.bake_seconds, cut)
    measured, _ = simulate(s, [GOOD], cut)
    assert measured == formula, (measured, formula)  # the state machine sleeps exactly the model
    # A step-2 breach from its first poll: step 1 passes (polls_per_step good polls), then bad.
    _, at_weight = simulate(s, [GOOD] * s.polls_per_step + [BAD], cut)
    w2 = steps[1]
    caught = w2 / 100.0 * at_weight.get(w2, 0.0)
    steps_text = ",".join(map(str, steps))
    return [
        Figure(
            f"promote {naming.lane_stack('user-api', ENV, 'gray')}, steps {steps_text} x bake {s.bake_seconds} s",
            measured,
            detail=f"{len(steps)} x {s.bake_seconds} s + cutover {cut:g} s ({why}); state machine on a virtual clock",
        ),
        Figure(
            "one-step promote (today's)",
            cut,
            detail=f"cutover only; the progressive promotion takes {measured / cut:.0f}x as long",
        ),
        Figure(
            f"traffic a breached step {w2}% exposes (bound: weight x bake)",
            breach_exposure(w2, s.bake_seconds),
            unit="full-traffic s",
            detail=f"{w2}% x {s.bake_seconds} s; step 1 ({steps[0]}%): {breach_exposure(steps[0], s.bake_seconds):g}",
        ),
        Figure(
            f"traffic a breach at step 2 exposes before the gate pulls back (simulated, {w2}%)",
            caught,
            unit="full-traffic s",
            detail=(
                f"{s.thresholds.breach_polls} of {s.thresholds.window_polls} polls every {s.poll_seconds} s: "
                f"{w2}% x {at_weight.get(w2, 0.0):g} s"
            ),
        ),
    ]


def main(params_dir: Path = params.PARAMS_DIR) -> list[str]:
    return [f"{f.name}: {f.cells()[1]}; {f.detail}" for f in figures(params_dir)]


if __name__ == "__main__":
    print("\n".join(main()))

"""A scripted MetricsSource for progressive promotion (automation/promotion.py):
tests, the fake backend and the bench play a series of snapshots, one per poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automation.promotion import Snapshot


@dataclass
class ScriptedMetrics:
    """A MetricsSource that plays a list of snapshots, one per poll (tests, the
    fake backend, `--dry-run` demos); after the list ends it repeats the last."""

    series: Sequence[Snapshot]
    calls: int = 0

    def __call__(self, window_seconds: int) -> Snapshot:
        snap = self.series[min(self.calls, len(self.series) - 1)]
        self.calls += 1
        return snap

"""Helpers shared by the runner tests (tests/test_runner*.py)."""

from __future__ import annotations

from pathlib import Path

from automation.progress import Progress
from automation.runner import RetryPolicy, Runner
from components.stackname import resolve
from harness.fake import Call, FakeBackend, load_events

FIXTURES = Path(__file__).parent / "fixtures" / "engine-events"
IMAGE = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-abc123"
LOWER = ("infra-dev", "boot-user-api-dev")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def events(name: str):
    return load_events(FIXTURES / name)


def make_runner(fake: FakeBackend, tmp_path: Path, **kwargs) -> Runner:
    stacks_dir = tmp_path / "stacks"
    stacks_dir.mkdir(exist_ok=True)
    kwargs.setdefault("rules_source", lambda arn: [])
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("retry", RetryPolicy(attempts=5, base_seconds=2.0, cap_seconds=30.0))
    return Runner(fake, Progress(stream=open(tmp_path / "progress.log", "a")), stacks_dir=stacks_dir, **kwargs)


def targets(*names: str):
    return [resolve(n) for n in names]


def max_overlap(calls: list[Call]) -> int:
    points = sorted([(c.start, 1) for c in calls] + [(c.end, -1) for c in calls])
    now = best = 0
    for _, delta in points:
        now += delta
        best = max(best, now)
    return best

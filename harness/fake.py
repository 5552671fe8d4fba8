"""An in-memory Backend for tests and the benchmark (no CLI, no cloud).

It keeps stacks (config, outputs, history) in a dict, replays recorded engine
events (tests/fixtures/engine-events/*.json, the JSON ``on_event`` receives)
through the same callback the real adapter feeds, sleeps ``delay`` seconds
per operation, and logs every call with start and end times so tests can
check ordering and parallelism. ``failures`` queues exceptions per
(op, stack) to raise on the next calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulumi.automation.events import EngineEvent

from automation.workspace import (
    HistoryEntry,
    OnEvent,
    OperationFailedError,
    OpResult,
    StackMissingError,
    StackSummary,
)
from components import naming, params, routing
from components.contract import (
    PLACEHOLDER_ACCOUNT,
    PLACEHOLDER_REGION,
    LaneOutputs,
    PipelinesOutputs,
    placeholder_outputs,
    placeholder_target_group,
)
from components.stackconfig import parse_priority
from components.stackname import BootTarget, InfraTarget, LaneTarget, resolve

ACCOUNT = PLACEHOLDER_ACCOUNT
REGION = PLACEHOLDER_REGION


def load_events(path: Path) -> list[EngineEvent]:
    """A recorded event stream: a JSON list of engine events in the wire shape."""
    return [EngineEvent.from_json(e) for e in json.loads(path.read_text())]


def contract_outputs(stack: str, config: Mapping[str, str], params_dir: Path = params.PARAMS_DIR) -> dict[str, Any]:
    """Fake outputs with the contract's exact keys, shaped by the stack's config."""
    t = resolve(stack, params_dir)
    elb = naming.arn("aws", "elasticloadbalancing", REGION, ACCOUNT, "")
    if isinstance(t, InfraTarget | BootTarget):
        # The harness's placeholders: the same keys and shapes `plan` shows.
        return placeholder_outputs(t)
    if isinstance(t, LaneTarget):
        image = config.get("multilane:imageUri") or (
            params.load_service(t.service, t.env, params_dir).bootstrap_image or ""
        )
        default = t.lane == naming.DEFAULT_LANE
        pinned = parse_priority(config.get("multilane:priority"), f"{stack}: multilane:")
        # The same priority the lane program would register.
        prio = (
            0 if default else routing.priorities.allocate_priorities(t.service, t.lane, 1, taken={}, pinned=pinned)[0]
        )
        return LaneOutputs(
            lane=t.lane,
            service_name=naming.ecs_service_name(t.service, t.lane),
            target_group_arn=f"{elb}targetgroup/{placeholder_target_group(t.service, t.env, t.lane)}/fake",
            listener_rule_arns=[] if default else [f"{elb}listener-rule/app/fake/{t.lane}"],
            rule_priority=0 if default else prio,
            task_definition_arn=naming.arn(
                "aws", "ecs", REGION, ACCOUNT, f"task-definition/{naming.task_family(t.service, t.env, t.lane)}:1"
            ),
            image_uri=image,
            route_header=routing.carriers.route_header(t.lane),
        ).exports()
    return PipelinesOutputs(
        pipeline_names=[], artifact_bucket_name=f"{naming.artifact_bucket_prefix(t.env)}fake"
    ).exports()


@dataclass
class FakeStack:
    config: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)  # newest first
    last_update: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    op: str
    stack: str
    start: float
    end: float = 0.0
    config: dict[str, str] = field(default_factory=dict)
    message: str = ""


class FakeBackend:
    def __init__(
        self,
        stacks: Mapping[str, FakeStack] | None = None,
        *,
        delay: float = 0.0,
        events: Mapping[str, list[EngineEvent]] | Callable[[str, str], list[EngineEvent]] | None = None,
        failures: Mapping[tuple[str, str], list[Exception]] | None = None,
        params_dir: Path = params.PARAMS_DIR,
        outputs_for: Callable[[str, Mapping[str, str]], dict[str, Any]] | None = None,
    ) -> None:
        self.stacks: dict[str, FakeStack] = dict(stacks or {})
        self.delay = delay
        self.events = events or {}
        self.failures = {k: list(v) for k, v in (failures or {}).items()}
        self.params_dir = params_dir
        self.outputs_for = outputs_for or (lambda s, c: contract_outputs(s, c, params_dir))
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._clock = time.monotonic

    # --- helpers for tests ----------------------------------------------------------

    @classmethod
    def deployed(cls, *stack_names: str, params_dir: Path = params.PARAMS_DIR, **kwargs: Any) -> FakeBackend:
        """A fake where the named stacks exist with contract outputs."""
        fake = cls(params_dir=params_dir, **kwargs)
        for name in stack_names:
            fake.seed(name)
        return fake

    def seed(self, stack: str, config: Mapping[str, str] | None = None) -> FakeStack:
        cfg = dict(config or {})
        st = FakeStack(config=cfg, outputs=self.outputs_for(stack, cfg))
        st.history.insert(0, HistoryEntry(1, "update", "succeeded", dict(cfg), "seed", _now()))
        st.last_update = _now()
        self.stacks[stack] = st
        return st

    def ops(self, op: str | None = None) -> list[tuple[str, str]]:
        return [(c.op, c.stack) for c in self.calls if op is None or c.op == op]

    # --- Backend ---------------------------------------------------------------------

    def describe(self) -> str:
        return "fake in-memory backend"

    def list_stacks(self) -> list[StackSummary]:
        with self._lock:
            return [StackSummary(n, s.last_update, len(s.outputs)) for n, s in sorted(self.stacks.items())]

    def stack_exists(self, stack: str) -> bool:
        with self._lock:
            return stack in self.stacks

    def outputs(self, stack: str) -> dict[str, Any]:
        with self._lock:
            if stack not in self.stacks:
                raise StackMissingError(stack)
            return dict(self.stacks[stack].outputs)

    def history(self, stack: str) -> list[HistoryEntry]:
        with self._lock:
            if stack not in self.stacks:
                raise StackMissingError(stack)
            return list(self.stacks[stack].history)

    def tags(self, stack: str) -> dict[str, str]:
        with self._lock:
            if stack not in self.stacks:
                raise StackMissingError(stack)
            return dict(self.stacks[stack].tags)

    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None:
        # Not logged in ``calls``: tags are metadata, not an operation.
        with self._lock:
            if stack not in self.stacks:
                raise StackMissingError(stack)
            self.stacks[stack].tags.update(tags)

    def _events(self, op: str, stack: str) -> list[EngineEvent]:
        if callable(self.events):
            return self.events(op, stack)
        return self.events.get(f"{op}:{stack}") or self.events.get(stack) or []

    def _begin(self, op: str, stack: str, config: Mapping[str, str], message: str) -> Call:
        call = Call(op, stack, self._clock(), config=dict(config), message=message)
        with self._lock:
            self.calls.append(call)
            queued = self.failures.get((op, stack))
            failure = queued.pop(0) if queued else None
        if self.delay:
            time.sleep(self.delay)
        call.end = self._clock()
        if failure is not None:
            raise failure
        return call

    def _replay(self, op: str, stack: str, on_event: OnEvent) -> None:
        events = self._events(op, stack)
        for event in events:
            on_event(event)
        failed = [
            e.diagnostic_event.message for e in events if e.diagnostic_event and e.diagnostic_event.severity == "error"
        ]
        if failed:
            raise OperationFailedError(f"{op} of {stack} failed: {failed[0]}")

    def up(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult:
        self._begin("up", stack, config, message)
        self._replay("up", stack, on_event)
        with self._lock:
            st = self.stacks.setdefault(stack, FakeStack())
            st.config.update(config)
            st.outputs = self.outputs_for(stack, st.config)
            version = (st.history[0].version + 1) if st.history else 1
            st.history.insert(0, HistoryEntry(version, "update", "succeeded", dict(st.config), message, _now()))
            st.last_update = _now()
            return OpResult(outputs=dict(st.outputs))

    def preview(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult:
        self._begin("preview", stack, config, message)
        with self._lock:
            self.stacks.setdefault(stack, FakeStack())  # like create_or_select
        self._replay("preview", stack, on_event)
        return OpResult()

    def destroy(self, stack: str, on_event: OnEvent, message: str = "") -> OpResult:
        if not self.stack_exists(stack):
            raise StackMissingError(stack)
        self._begin("destroy", stack, {}, message)
        self._replay("destroy", stack, on_event)
        with self._lock:
            st = self.stacks[stack]
            st.outputs = {}
            version = (st.history[0].version + 1) if st.history else 1
            st.history.insert(0, HistoryEntry(version, "destroy", "succeeded", dict(st.config), message, _now()))
        return OpResult()

    def remove_stack(self, stack: str) -> None:
        self._begin("rm", stack, {}, "")
        with self._lock:
            if stack not in self.stacks:
                raise StackMissingError(stack)
            del self.stacks[stack]


def _now() -> datetime:
    return datetime.now(UTC)

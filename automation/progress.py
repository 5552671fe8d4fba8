"""Progress per stack while commands run, and the final summary.

Progress goes to stderr so stdout holds only the result: a human line per
step (``[  4.2s] user-api-dev-gray  up  create aws:ecs/service:Service ...``),
or with ``--json`` one JSON object per line (``{"event": "step", "stack": ...,
"step": ..., "elapsed": ...}``). Safe to call from several threads.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from automation.events import KINDS, StackChanges


@dataclass
class StackOutcome:
    """How one stack's operation ended."""

    stack: str
    op: str
    status: str  # ok | failed | skipped
    elapsed: float = 0.0
    changes: StackChanges = field(default_factory=StackChanges)
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "op": self.op,
            "status": self.status,
            "elapsedSeconds": round(self.elapsed, 2),
            "changes": {k: self.changes.counts.get(k, 0) for k in (*KINDS, "same")},
            "resources": [
                {"kind": r.kind, "type": r.type, "name": r.name, "urn": r.urn, "properties": r.properties}
                for r in self.changes.resources
            ],
            "errors": self.changes.errors,
            "message": self.message,
            "notes": self.notes,
            "outputs": self.outputs,
        }


class Progress:
    def __init__(
        self, *, json_mode: bool = False, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.json_mode = json_mode
        self.stream = stream
        self.clock = clock
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self.lines: list[dict[str, Any]] = []  # every event, for tests and --json

    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def _emit(self, record: dict[str, Any], text: str) -> None:
        with self._lock:
            self.lines.append(record)
            out = self._out()
            print(json.dumps(record, default=str) if self.json_mode else text, file=out, flush=True)

    def note(self, text: str) -> None:
        self._emit({"event": "note", "message": text}, f"note: {text}")

    def start(self, stack: str, op: str) -> None:
        with self._lock:
            self._started[stack] = self.clock()
        self.step(stack, op, "started")

    def elapsed(self, stack: str) -> float:
        with self._lock:
            start = self._started.get(stack)
        return 0.0 if start is None else self.clock() - start

    def step(self, stack: str, op: str, step: str) -> None:
        elapsed = self.elapsed(stack)
        self._emit(
            {"event": "step", "stack": stack, "op": op, "step": step, "elapsed": round(elapsed, 2)},
            f"[{elapsed:6.1f}s] {stack}  {op}  {step}",
        )

    def finish(self, outcome: StackOutcome) -> None:
        c = outcome.changes.counts
        counts = " ".join(f"{k} {c.get(k, 0)}" for k in KINDS)
        detail = f" ({outcome.message})" if outcome.message else ""
        self._emit(
            {"event": "done", **{k: v for k, v in outcome.to_json().items() if k not in ("resources", "outputs")}},
            f"[{outcome.elapsed:6.1f}s] {outcome.stack}  {outcome.op}  {outcome.status}: {counts}{detail}",
        )


def summary_text(outcomes: list[StackOutcome], total: float) -> str:
    failed = [o for o in outcomes if o.status == "failed"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    width = max([len(o.stack) for o in outcomes] + [5])
    lines = [f"{'stack':<{width}}  op       status   create update replace delete  elapsed"]
    for o in outcomes:
        c = o.changes.counts
        lines.append(
            f"{o.stack:<{width}}  {o.op:<7}  {o.status:<7}  {c.get('create', 0):>6} {c.get('update', 0):>6} "
            f"{c.get('replace', 0):>7} {c.get('delete', 0):>6}  {o.elapsed:6.1f}s"
        )
        for why in [o.message] if o.status != "ok" and o.message else []:
            lines.append(f"{'':<{width}}  -> {why}")
    verdict = "all succeeded" if not failed else f"{len(failed)} failed"
    if skipped:
        verdict += f", {len(skipped)} skipped"
    lines.append(f"{len(outcomes)} stack(s) in {total:.1f}s: {verdict}")
    return "\n".join(lines)


def summary_json(command: str, outcomes: list[StackOutcome], total: float, notes: list[str]) -> dict[str, Any]:
    return {
        "command": command,
        "ok": all(o.status != "failed" for o in outcomes),
        "elapsedSeconds": round(total, 2),
        "notes": notes,
        "stacks": [o.to_json() for o in outcomes],
    }

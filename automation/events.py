"""Engine events -> what changed in a stack.

``pulumi.automation`` delivers ``EngineEvent`` objects to ``on_event`` while an
operation runs. :class:`ChangeCollector` is such a callback: it keeps the
resources a step touches (op, type, name, changed properties), the engine's
own summary counts and the error diagnostics, with ANSI codes stripped. The
progress printer and the PR comment both read its result.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.automation.events import EngineEvent, StepEventMetadata

# CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

# Engine step ops folded into the four kinds a reviewer cares about.
KIND_OF_OP = {
    "create": "create",
    "import": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "import-replacement": "replace",
    "delete": "delete",
    "discard": "delete",
}
KINDS = ("create", "update", "replace", "delete")
ROOT_TYPE = "pulumi:pulumi:Stack"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


@dataclass
class ResourceChange:
    kind: str  # create | update | replace | delete
    urn: str
    type: str
    properties: dict[str, str] = field(default_factory=dict)  # property path -> diff kind

    @property
    def name(self) -> str:
        return urn_name(self.urn)


@dataclass
class StackChanges:
    resources: list[ResourceChange] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # the four KINDS plus "same"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.counts.get(k, 0) for k in KINDS)


def _properties(meta: StepEventMetadata) -> dict[str, str]:
    props: dict[str, str] = {}
    for path, diff in (meta.detailed_diff or {}).items():
        props[path] = diff.diff_kind.value if hasattr(diff.diff_kind, "value") else str(diff.diff_kind)
    if not props:  # the engine sends detailedDiff when the provider supports it, else only top-level keys
        for path in meta.diffs or []:
            props[path] = "update"
    for path in meta.keys or []:
        if KIND_OF_OP.get(meta.op.value) == "replace":
            props[path] = props.get(path, "update").split("-")[0] + "-replace"
    return props


def describe(event: EngineEvent) -> str | None:
    """One progress line for an event worth showing, else None."""
    if event.resource_pre_event is not None:
        meta = event.resource_pre_event.metadata
        if meta.op.value in ("same", "read", "refresh") or meta.type == ROOT_TYPE:
            return None
        return f"{meta.op.value} {meta.type} {urn_name(meta.urn)}"
    if event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
        return "error: " + strip_ansi(event.diagnostic_event.message).strip().splitlines()[0]
    return None


class ChangeCollector:
    """An ``on_event`` callback that accumulates :class:`StackChanges`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_urn: dict[str, ResourceChange] = {}
        self._same = 0
        self._summary: dict[str, int] | None = None
        self._errors: list[str] = []
        self._warnings: list[str] = []

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            if event.resource_pre_event is not None:
                self._step(event.resource_pre_event.metadata)
            elif event.summary_event is not None:
                self._summary = self._fold(event.summary_event.resource_changes)
            elif event.diagnostic_event is not None:
                diag = event.diagnostic_event
                text = strip_ansi(diag.message).strip()
                if not text:
                    return
                if diag.severity == "error":
                    self._errors.append(text)
                elif diag.severity == "warning":
                    self._warnings.append(text)

    def _step(self, meta: StepEventMetadata) -> None:
        kind = KIND_OF_OP.get(meta.op.value)
        if meta.type == ROOT_TYPE:
            return
        if kind is None:
            if meta.op.value == "same":
                self._same += 1
            return
        props = _properties(meta)
        seen = self._by_urn.get(meta.urn)
        if seen is None:
            self._by_urn[meta.urn] = ResourceChange(kind, meta.urn, meta.type, props)
            return
        # A replacement arrives as several steps for one URN; keep one entry.
        if kind == "replace":
            seen.kind = "replace"
        for path, diff in props.items():
            seen.properties.setdefault(path, diff)

    @staticmethod
    def _fold(changes: Mapping[Any, int] | None) -> dict[str, int]:
        counts = dict.fromkeys((*KINDS, "same"), 0)
        for op, n in (changes or {}).items():
            op = op.value if hasattr(op, "value") else str(op)
            if op == "same":
                counts["same"] += int(n)
            elif op in ("create-replacement", "delete-replaced"):
                continue  # the engine also counts these under "replace"
            elif op in KIND_OF_OP:
                counts[KIND_OF_OP[op]] += int(n)
        return counts

    def result(self) -> StackChanges:
        with self._lock:
            resources = list(self._by_urn.values())
            if self._summary is not None:
                counts = dict(self._summary)
            else:
                counts = dict.fromkeys(KINDS, 0)
                for r in resources:
                    counts[r.kind] += 1
                counts["same"] = self._same
            return StackChanges(resources, counts, list(self._errors), list(self._warnings))

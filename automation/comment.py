"""The pull-request comment ``pr-preview`` writes: one markdown document per PR.

- A hidden marker (``<!-- multilane-pr-preview -->``) on the first line, so
  CI finds and edits the same comment on every push instead of adding one.
- A summary table, one row per stack: status, create / update / replace /
  delete counts and the changed files that put the stack in the preview;
  failures first, then skipped stacks, then stacks with changes, then the rest.
- One collapsible ``<details>`` per stack: the error, or the changed
  resources with their changed properties (replacements in bold).
- ANSI colour codes stripped, table cells escaped.
- Under 64,000 characters (GitHub allows 65,536): details that do not fit are
  left out with a visible note, and very long lists are cut with a count.
"""

from __future__ import annotations

from dataclasses import dataclass

from automation.events import KINDS, strip_ansi
from automation.progress import StackOutcome

MARKER = "<!-- multilane-pr-preview -->"
LIMIT = 64_000
MAX_RESOURCES = 150
MAX_PROPERTIES = 12
MAX_ERROR_CHARS = 3_000

STATUS = {
    "failed": "❌ failed",
    "skipped": "⚠️ skipped",
    "changes": "✏️ changes",
    "same": "✅ no changes",
}
SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
_RANK = {"failed": 0, "skipped": 1, "changes": 2, "same": 3}


def cell(text: str) -> str:
    """Text fit for one markdown table cell."""
    return strip_ansi(str(text)).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", " ")


def code(text: str) -> str:
    return "`" + cell(text).replace("`", "'") + "`"


def state(o: StackOutcome) -> str:
    if o.status in ("failed", "skipped"):
        return o.status
    return "changes" if o.changes.changed else "same"


@dataclass(frozen=True)
class CommentInput:
    outcomes: list[StackOutcome]
    reasons: dict[str, list[str]]
    base: str
    changed_files: int


def _headline(outcomes: list[StackOutcome]) -> str:
    counts = {k: 0 for k in _RANK}
    for o in outcomes:
        counts[state(o)] += 1
    parts = [
        f"{n} {label}"
        for label, n in (
            ("failed", counts["failed"]),
            ("skipped", counts["skipped"]),
            ("with changes", counts["changes"]),
            ("unchanged", counts["same"]),
        )
        if n
    ]
    return f"### Pulumi preview: {len(outcomes)} stack{'s' if len(outcomes) != 1 else ''}" + (
        f" ({', '.join(parts)})" if parts else ""
    )


def _why(reasons: list[str]) -> str:
    shown = ", ".join(code(r) for r in reasons[:3])
    return shown + (f" and {len(reasons) - 3} more" if len(reasons) > 3 else "")


def _row(o: StackOutcome, reasons: list[str]) -> str:
    c = o.changes.counts
    nums = ["–" if o.status != "ok" else str(c.get(k, 0)) for k in KINDS]
    return f"| {STATUS[state(o)]} | {code(o.stack)} | " + " | ".join(nums) + f" | {_why(reasons)} |"


def _summary_line(o: StackOutcome) -> str:
    if o.status == "failed":
        return "failed"
    if o.status == "skipped":
        return "skipped"
    c = o.changes.counts
    parts = [f"{c.get(k, 0)} to {k}" for k in KINDS if c.get(k, 0)]
    return ", ".join(parts) if parts else "no changes"


def _properties(props: dict[str, str]) -> str:
    items = []
    for path, kind in list(props.items())[:MAX_PROPERTIES]:
        text = f"{code(path)} ({cell(kind)})"
        items.append(f"**{text}**" if "replace" in kind else text)
    if len(props) > MAX_PROPERTIES:
        items.append(f"and {len(props) - MAX_PROPERTIES} more")
    return ", ".join(items) or "–"


def _fence(text: str) -> str:
    body = strip_ansi(text).replace("```", "'''")
    if len(body) > MAX_ERROR_CHARS:
        body = body[:MAX_ERROR_CHARS] + f"\n... ({len(body) - MAX_ERROR_CHARS} more characters in the job log)"
    return f"```text\n{body}\n```"


def details(o: StackOutcome) -> str:
    icon = STATUS[state(o)].split(" ")[0]
    lines = [f"<details><summary>{icon} <code>{cell(o.stack)}</code>: {_summary_line(o)}</summary>", ""]
    if o.status in ("failed", "skipped"):
        errors = o.changes.errors or [o.message]
        lines += [_fence("\n\n".join(e for e in errors if e) or "failed"), ""]
    for warning in o.changes.warnings[:10]:
        lines.append(f"> ⚠️ {cell(warning)}")
    for note in o.notes:
        lines.append(f"_{cell(note)}_")
    if lines[-1] != "":
        lines.append("")
    resources = o.changes.resources
    if resources:
        order = {k: i for i, k in enumerate(("replace", "delete", "create", "update"))}
        resources = sorted(resources, key=lambda r: (order.get(r.kind, 9), r.type, r.name))
        lines += ["| Change | Resource | Type | Changed properties |", "|---|---|---|---|"]
        for r in resources[:MAX_RESOURCES]:
            props = _properties(r.properties) if r.kind in ("update", "replace") else "–"
            lines.append(f"| {SYMBOL[r.kind]} {r.kind} | {code(r.name)} | {code(r.type)} | {props} |")
        if len(resources) > MAX_RESOURCES:
            lines += ["", f"_... and {len(resources) - MAX_RESOURCES} more resources (see the job log)_"]
        lines.append("")
    lines += ["</details>", "", ""]
    return "\n".join(lines)


def wants_details(o: StackOutcome) -> bool:
    """Unchanged stacks with nothing to say get a table row only."""
    return state(o) != "same" or bool(o.changes.warnings)


def render(data: CommentInput, limit: int = LIMIT) -> str:
    ordered = sorted(data.outcomes, key=lambda o: _RANK[state(o)])
    head = [
        MARKER,
        _headline(ordered),
        "",
        f"Compared with `{cell(data.base)}` ({data.changed_files} changed file{'s' if data.changed_files != 1 else ''}); "
        "stacks chosen by the affected-stacks table in the README (Runner and CI).",
        "",
    ]
    if not ordered:
        head.append("No stack is affected by the changed files.")
        return "\n".join(head) + "\n"
    table = ["| Status | Stack | Create | Update | Replace | Delete | Changed files |", "|---|---|--:|--:|--:|--:|---|"]
    rows = [_row(o, data.reasons.get(o.stack, [])) for o in ordered]
    budget = limit // 2  # the table keeps at most half; details get the rest
    used = sum(len(x) + 1 for x in head + table)
    kept = 0
    for row in rows:
        if used + len(row) + 1 > budget:
            break
        table.append(row)
        used += len(row) + 1
        kept += 1
    if kept < len(rows):
        table.append(f"\n_... and {len(rows) - kept} more stacks left out of this table (comment size limit)_")
    text = "\n".join(head + table) + "\n\n"
    note_room = 400
    left_out = 0
    for o in (o for o in ordered if wants_details(o)):
        section = details(o)
        if left_out or len(text) + len(section) + note_room > limit:
            left_out += 1
            continue
        text += section
    if left_out:
        text += (
            f"\n> **Truncated:** the details of {left_out} stack{'s are' if left_out != 1 else ' is'} left out to stay "
            f"under GitHub's comment size limit; the job log (and `pr-preview --json`) has everything.\n"
        )
    return text

"""``pr-preview``: preview the stacks a pull request affects and write ONE comment.

    python -m automation pr-preview --base origin/main --output comment.md

Changed files come from ``git diff --name-only --no-renames <base>...HEAD``
(or ``--changed-files FILE``, one path a line); automation/affected.py maps
them to stacks; previews run in parallel (bounded by --parallel); the
markdown goes to --output (default stdout). Exit 1 when a preview fails.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from automation import affected, comment
from automation.commands.common import EXIT_FAILED, EXIT_OK, add_common, make_runner
from automation.inputs import Request
from automation.progress import StackOutcome, summary_json
from automation.runner import ROOT_DIR, Runner
from components import params, stackname
from components.errors import MultilaneError
from components.stackconfig import STACKS_DIR


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pr-preview",
        help="preview the stacks changed files affect and write one markdown PR comment",
        description="Decide the affected stacks from the files changed against --base, preview them in parallel, "
        "and write one markdown comment (with a hidden marker CI uses to edit the same comment).",
    )
    p.add_argument("--base", default="origin/main", help="git ref to compare with (default origin/main)")
    p.add_argument("--changed-files", metavar="FILE", help="read the changed paths from FILE instead of git")
    p.add_argument("--output", metavar="FILE", help="write the markdown here (default: stdout)")
    add_common(p)
    p.set_defaults(func=run)


def git_changed_files(base: str, cwd: Path = ROOT_DIR) -> list[str]:
    try:
        proc = subprocess.run(
            ["git", "diff", "--name-only", "--no-renames", f"{base}...HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise MultilaneError(f"cannot run git to list changed files ({exc}); pass --changed-files FILE") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["unknown error"]
        why = next((line for line in lines if line.startswith("fatal:")), lines[0]).removeprefix("fatal: ").rstrip(".")
        raise MultilaneError(
            f"git cannot diff against base {base!r} ({why}); fetch it (actions/checkout with fetch-depth: 0) "
            "or pass --changed-files FILE"
        )
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def read_changed_files(path: str) -> list[str]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        reason = params.describe_unreadable(p, f"--changed-files {path}", exc)
        raise MultilaneError(
            reason if exc.errno != errno.ENOENT else f"--changed-files {path}: cannot read it (no such file)"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MultilaneError(
            f"--changed-files {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "write one path a line, as `git diff --name-only` prints them"
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_output(path: str) -> None:
    """Refuse an --output the comment could not be written to, before any preview runs."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise MultilaneError(f"--output {path} is a directory; name a file, e.g. {Path(path) / 'comment.md'}")
    if not parent.is_dir():
        raise MultilaneError(f"--output {path}: folder {parent} does not exist; create it first or name another file")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise MultilaneError(f"--output {path} is not writable; name a file in a folder you can write to")


def preview_affected(
    runner: Runner, changed: list[str], known: set[str], base: str
) -> tuple[list[StackOutcome], dict[str, list[str]], str]:
    """Preview the stacks ``changed`` affects; (outcomes, reasons, markdown)."""
    reasons = affected.affected_stacks(changed, known, runner.params_dir)
    runner.note(f"{len(changed)} changed file(s) against {base}: {len(reasons)} stack(s) to preview")
    early: dict[str, StackOutcome] = {}
    targets = []
    configs: dict[str, dict[str, str]] = {}
    for stack in reasons:
        try:
            t = stackname.resolve(stack, runner.params_dir)
            configs[stack] = {}
            if isinstance(t, stackname.LaneTarget):
                image, _ = runner.lane_image(t, Request(targets=[t]))
                if image:
                    configs[stack]["multilane:imageUri"] = image
            targets.append(t)
        except MultilaneError as err:
            early[stack] = StackOutcome(stack, "preview", "failed", message=str(err))
            runner.progress.finish(early[stack])
    ran = {o.stack: o for o in runner.run("preview", targets, configs, "pr-preview", independent=True)}
    outcomes = [early.get(s) or ran[s] for s in reasons]
    markdown = comment.render(comment.CommentInput(outcomes, reasons, base, len(changed)))
    return outcomes, reasons, markdown


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    if args.output:
        check_output(args.output)
    changed = read_changed_files(args.changed_files) if args.changed_files else git_changed_files(args.base)
    # Stack files alone decide whether anything is affected (stacks the backend
    # knows only add lanes to services already affected): no CLI needed if not.
    if not affected.affected_stacks(changed, affected.known_stack_files(STACKS_DIR)):
        markdown = comment.render(comment.CommentInput([], {}, args.base, len(changed)))
        if args.output:
            Path(args.output).write_text(markdown)
        if args.json:
            result = summary_json("pr-preview", [], time.monotonic() - start, ["nothing to preview"])
            result.update(affected=[], comment=args.output or None)
            print(json.dumps(result, indent=2))
        elif not args.output:
            sys.stdout.write(markdown)
        print(
            f"pr-preview: nothing to preview: {len(changed)} changed file(s) against {args.base} affect no stack",
            file=sys.stderr,
        )
        return EXIT_OK
    runner = make_runner(args, blocked_status="skipped")
    known = {s.name for s in runner.backend.list_stacks()} | set(affected.known_stack_files(runner.stacks_dir))
    outcomes, reasons, markdown = preview_affected(runner, changed, known, args.base)
    if args.output:
        Path(args.output).write_text(markdown)
    elif not args.json:
        sys.stdout.write(markdown)
    if args.json:
        result = summary_json("pr-preview", outcomes, time.monotonic() - start, runner.notes)
        result["affected"] = reasons
        result["comment"] = args.output or None
        print(json.dumps(result, indent=2, default=str))
    failed = [o.stack for o in outcomes if o.status == "failed"]
    if failed:
        print(f"pr-preview: {len(failed)} preview(s) failed: {', '.join(failed)}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK

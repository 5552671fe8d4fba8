"""``review`` (one pull-request event -> lane pr-<n> and its PR comment) and ``reap`` (expired lanes)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from automation import lifecycle, review
from automation.commands.common import EXIT_FAILED, EXIT_OK, SEAMS, add_common, make_runner, report
from automation.progress import summary_json
from automation.review_comment import CommentSink, DirectoryComments, GitHubComments
from components import params
from components.errors import MultilaneError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "review",
        help="run one app pull-request event: deploy lane pr-<n> (opened, synchronize) or remove it (closed)",
        description="Review lanes: a pull request of the service's app repository gets lane pr-<number>, created on "
        "opened, updated on every push, destroyed and removed when the PR closes. Every event writes the PR's one "
        "comment (edited in place): to GitHub with GITHUB_TOKEN, or into --comment-dir.",
    )
    p.add_argument("service_env", metavar="<service>-<env>", help="e.g. user-api-dev")
    p.add_argument("--pr", required=True, metavar="N", help="the pull request number")
    p.add_argument(
        "--event",
        required=True,
        metavar="EVENT",
        help="opened | reopened | synchronize | closed (GitHub) or OPEN | UPDATED | CLOSED (CodePipeline)",
    )
    p.add_argument(
        "--image", metavar="URI", help="the image the build pushed for the PR's head commit (not for closed)"
    )
    p.add_argument(
        "--comment-dir",
        metavar="DIR",
        help="write the comment into DIR (one file per PR, every write logged) instead of GitHub",
    )
    add_common(p, parallel=False)
    p.set_defaults(func=run_review)

    p = sub.add_parser(
        "reap",
        help="destroy the lanes of an env that are past their expiry (never default, never protected)",
        description="Destroy and remove every lane stack of the env whose expiry (stack tag multilane:expiresAt, "
        "last deploy + ttlHours) has passed. The default lane, protected lanes and lanes with no recorded expiry stay.",
    )
    p.add_argument("env", metavar="<env>", help="e.g. dev")
    p.add_argument("--dry-run", action="store_true", help="only print what would be destroyed")
    p.add_argument(
        "--service",
        metavar="SERVICE",
        help="only this service's lanes (the reaper pipeline runs one action per service)",
    )
    add_common(p, parallel=False)
    p.set_defaults(func=run_reap)


def comment_sink(args: argparse.Namespace, service: str, env: str) -> CommentSink:
    if args.comment_dir:
        folder = Path(args.comment_dir)
        if folder.exists() and not folder.is_dir():
            raise MultilaneError(f"--comment-dir {args.comment_dir} is a file, not a folder; name a folder")
        return DirectoryComments(folder)
    environ = SEAMS.environ
    token = environ.get("GITHUB_TOKEN", "")
    if not token:
        raise MultilaneError(
            "review writes a comment on the pull request: set GITHUB_TOKEN (a token that may write the app "
            "repository's pull-request comments) or pass --comment-dir DIR"
        )
    svc = params.load_service(service, env)
    assert svc.app is not None
    return GitHubComments(svc.app.repository, token, api=environ.get("GITHUB_API_URL", "https://api.github.com"))


def run_review(args: argparse.Namespace) -> int:
    start = time.monotonic()
    service, env = lifecycle.service_env(args.service_env)
    review.review_lane_check(args.pr, args.event, args.image)
    sink = comment_sink(args, service, env)
    runner = make_runner(args)
    result = review.run_review(
        runner, service, env, args.pr, args.event, sink=sink, image=args.image, clock=SEAMS.clock
    )
    runner.note(f"pull request comment {result.comment} ({result.lane}, {result.action})")
    return report("review", args, runner, result.outcomes, start)


def run_reap(args: argparse.Namespace) -> int:
    start = time.monotonic()
    runner = make_runner(args)
    decisions, outcomes = review.reap(runner, args.env, dry_run=args.dry_run, clock=SEAMS.clock, service=args.service)
    failed = any(o.status == "failed" for o in outcomes)
    if args.json:
        doc = summary_json("reap", outcomes, time.monotonic() - start, runner.notes)
        doc["dryRun"] = args.dry_run
        doc["lanes"] = [d.to_json() for d in decisions]
        print(json.dumps(doc, indent=2, default=str))
        sys.stdout.flush()
        return EXIT_FAILED if failed else EXIT_OK
    verb = "would destroy" if args.dry_run else "destroy"
    for d in decisions:
        print(f"{d.stack:<40} {verb if d.destroy else 'keep':<13} {d.reason}")
    if not decisions:
        print(f"no lane stacks in env {args.env}")
    if outcomes:
        return report("reap", args, runner, outcomes, start)
    return EXIT_OK

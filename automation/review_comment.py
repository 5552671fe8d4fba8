"""The review-lane comment on an app pull request: one per PR, edited in place.

The same marker approach as ``pr-preview`` (automation/comment.py): the first
line is a hidden marker naming the service and env, so each event of the
pull request finds the comment and edits it instead of adding one. The body
says which lane serves the PR, its state, the image, how to reach it (a curl
with a valid W3C ``traceparent`` and ``tracestate: ctx=lane:pr-<n>``, plus the
``baggage`` form when the service routes on it) and when it expires.

Where the comment goes is a :class:`CommentSink`:

- :class:`GitHubComments`: the GitHub REST API (list the PR's issue
  comments, PATCH the one with the marker or POST a new one), with a token;
- :class:`DirectoryComments`: a folder holding one file per PR and a log of
  every write, for the sandbox, the tests and runs without a token.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from components import lifetime, naming
from components.errors import MultilaneError
from components.routing import carriers as routing

MARKER_PREFIX = "<!-- multilane-review-lane:"

STATES = {
    "ready": "✅ ready",
    "failed": "❌ deploy failed",
    "removed": "🗑️ removed",
    "refused": "⛔ not deployed",
}


def marker(service: str, env: str) -> str:
    return f"{MARKER_PREFIX}{service}-{env} -->"


def traceparent(stack: str) -> str:
    """A valid W3C traceparent (version 00, sampled) whose ids derive from the
    stack name: never all zeros, lower-case hex, the same in every edit."""
    digest = hashlib.sha256(stack.encode()).hexdigest()
    trace_id, parent_id = digest[:32], digest[32:48]
    if set(trace_id) == {"0"} or set(parent_id) == {"0"}:  # pragma: no cover - sha256 of a name
        trace_id, parent_id = "1" + trace_id[1:], "1" + parent_id[1:]
    return f"00-{trace_id}-{parent_id}-01"


@dataclass(frozen=True)
class ReviewComment:
    service: str
    env: str
    pr: int
    lane: str
    state: str  # a key of STATES
    image: str = ""
    alb_dns: str = ""
    carriers: tuple[str, ...] = field(default_factory=lambda: (routing.names()[0],))
    expires_at: datetime | None = None
    ttl_hours: int | None = None
    deployed_at: datetime | None = None
    detail: str = ""

    @property
    def stack(self) -> str:
        return naming.lane_stack(self.service, self.env, self.lane)

    def render(self) -> str:
        tick = "`"
        lines = [
            marker(self.service, self.env),
            f"### Review lane {tick}{self.lane}{tick} of {self.service} ({self.env}): {STATES[self.state]}",
            "",
            "| | |",
            "|---|---|",
            f"| lane stack | {tick}{self.stack}{tick} |",
            f"| state | {STATES[self.state]}"
            + (f" at {self.deployed_at.strftime('%Y-%m-%d %H:%M UTC')}" if self.deployed_at else "")
            + " |",
        ]
        if self.image:
            lines.append(f"| image | {tick}{self.image}{tick} |")
        if self.state == "ready" and self.expires_at:
            lines.append(
                f"| expires | {self.expires_at.strftime('%Y-%m-%d %H:%M UTC')} ({self.ttl_hours} h after the last push; "
                "the reaper removes it then, every push extends it) |"
            )
        if self.detail:
            lines.append(f"| detail | {self.detail.replace('|', '/').replace(chr(10), ' ')} |")
        if self.state == "ready":
            host = self.alb_dns or "<LoadBalancerDnsName of boot-" + f"{self.service}-{self.env}>"
            tp = f"traceparent: {traceparent(self.stack)}"
            lines += [
                "",
                "Reach it (requests without the header reach the default lane):",
                "",
                "```bash",
                f"curl -H '{tp}' -H '{routing.route_header(self.lane)}' http://{host}/",
            ]
            for header in self.carriers:
                if header != routing.names()[0]:  # the first carrier's line is the route header above
                    lines.append(f"curl -H '{tp}' -H '{routing.carrier_header(header, self.lane)}' http://{host}/")
            lines.append("```")
        if self.state == "removed":
            lines += ["", "The pull request is closed: the lane's stack is destroyed and removed."]
        return "\n".join(lines) + "\n"


class CommentSink(Protocol):
    def upsert(self, pr: int, marker: str, body: str) -> str:
        """Write ``body`` into the PR's comment that starts with ``marker``;
        returns ``created`` or ``edited``."""
        ...


@dataclass
class DirectoryComments:
    """Comments as files: ``<dir>/pr-<n>.md`` per marker and PR, every write
    appended to ``<dir>/writes.jsonl``."""

    root: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, pr: int, mark: str) -> Path:
        tag = hashlib.sha256(mark.encode()).hexdigest()[:8]
        return self.root / f"pr-{pr}-{tag}.md"

    def upsert(self, pr: int, marker: str, body: str) -> str:
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            target = self.path(pr, marker)
            kind = "edited" if target.exists() and target.read_text().startswith(marker) else "created"
            target.write_text(body)
            with (self.root / "writes.jsonl").open("a") as log:
                log.write(json.dumps({"pr": pr, "marker": marker, "kind": kind, "file": target.name}) + "\n")
            return kind

    def writes(self) -> list[dict[str, Any]]:
        log = self.root / "writes.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@dataclass
class GitHubComments:
    """The GitHub REST API: issue comments of a pull request (a PR is an issue)."""

    repository: str  # owner/name
    token: str
    api: str = "https://api.github.com"
    timeout: float = 30.0
    _login: str | None = field(default=None, init=False, repr=False)
    _login_known: bool = field(default=False, init=False, repr=False)

    def _call(self, method: str, url: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        path = url.removeprefix(self.api).split("?", 1)[0]
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
            return json.loads(body) if body else None
        except urllib.error.HTTPError as err:
            raise MultilaneError(
                f"GitHub answered {err.code} {err.reason} to {method} {path}: check that GITHUB_TOKEN may write "
                f"the pull request comments of {self.repository}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise MultilaneError(f"GitHub {method} {path} failed: {err}") from None

    def login(self) -> str | None:
        """The token's user (a personal token); None for an app installation
        token, whose comments GitHub marks as a Bot's."""
        if not self._login_known:
            try:
                self._login = str((self._call("GET", f"{self.api}/user") or {}).get("login") or "") or None
            except MultilaneError:
                self._login = None
            self._login_known = True
        return self._login

    def _ours(self, comment: dict[str, Any]) -> bool:
        """Written by this token: anyone may post a comment starting with the marker."""
        user = comment.get("user") or {}
        if user.get("type") == "Bot":
            return True
        return user.get("login") is not None and user.get("login") == self.login()

    def upsert(self, pr: int, marker: str, body: str) -> str:
        page = 1
        while True:
            comments = self._call(
                "GET", f"{self.api}/repos/{self.repository}/issues/{pr}/comments?per_page=100&page={page}"
            )
            for comment in comments or []:
                if str(comment.get("body", "")).startswith(marker) and self._ours(comment):
                    self._call(
                        "PATCH", f"{self.api}/repos/{self.repository}/issues/comments/{comment['id']}", {"body": body}
                    )
                    return "edited"
            if not comments or len(comments) < 100:
                break
            page += 1
        self._call("POST", f"{self.api}/repos/{self.repository}/issues/{pr}/comments", {"body": body})
        return "created"


def expiry_line(now: datetime, expires: datetime) -> str:
    return f"{lifetime.iso(expires)} (in {lifetime.age(expires, now)})"

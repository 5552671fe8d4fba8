"""Review lanes: one lane per app pull request, named ``pr-<number>``.

Pure decisions shared by the runner's ``review`` command, the pipelines
layer's review pipeline and the tests: the lane a pull request gets (checked
against the lane-name rules, so every AWS name derived from it fits), and
which of open / update / close an event means, whether it comes from GitHub
Actions (``github.event.action``) or from CodePipeline's pull-request filter
names.
"""

from __future__ import annotations

import re
from typing import Literal

from . import naming
from .errors import MultilaneError
from .stackname import check_lane

Action = Literal["open", "update", "close"]

# GitHub's pull_request activity types and CodePipeline's GitPullRequestFilter
# events, to what the runner does with the lane.
EVENTS: dict[str, Action] = {
    "opened": "open",
    "reopened": "open",
    "synchronize": "update",
    "closed": "close",
    "OPEN": "open",
    "UPDATED": "update",
    "CLOSED": "close",
    "open": "open",
    "update": "update",
    "close": "close",
}
MAX_PR_DIGITS = 9


def pr_number(text: str | int, where: str = "--pr") -> int:
    value = str(text).strip()
    if not re.fullmatch(rf"[1-9][0-9]{{0,{MAX_PR_DIGITS - 1}}}", value):
        raise MultilaneError(f"{where} {str(text)[:20]!r} is not a pull request number (1 to {MAX_PR_DIGITS} digits)")
    return int(value)


def lane_for(pr: str | int, where: str = "--pr") -> str:
    """``pr-<number>``, a valid lane name whose derived AWS names all fit."""
    return check_lane(naming.review_lane(pr_number(pr, where)), where=f"review lane of pull request {pr}")


def action(event: str, where: str = "--event") -> Action:
    try:
        return EVENTS[event]
    except KeyError:
        raise MultilaneError(
            f"{where} {event[:30]!r} is not a pull request event; use opened, synchronize, reopened or closed "
            "(GitHub) or OPEN, UPDATED or CLOSED (CodePipeline)"
        ) from None


def is_review_lane(lane: str) -> bool:
    return re.fullmatch(re.escape(naming.REVIEW_LANE_PREFIX) + r"[1-9][0-9]*", lane) is not None

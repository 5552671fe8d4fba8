"""Route a lane by a cookie value too (issue #15, A/B by user without client changes).

A lane stack's config ``multilane:cookie`` = ``name=value`` (e.g. ``beta=gray``)
adds one listener rule with one http-header condition on ``Cookie`` and one
anchored regex, so a browser that carries that cookie (set by a login page, a
feature-flag service, a tester) reaches the lane with no trace header:

    ^(.*;)?[ \\t]*beta=gray[ \\t]*(;.*)?$

RFC 6265 sends cookies as ``name=value`` pairs separated by ``"; "``; the pair
must be whole (``beta=gray2`` and ``xbeta=gray`` do not match). HTTP/2 may
split cookies over several ``cookie`` header fields: ALB tries each line on
its own, and the pattern also matches the lines joined with ``"; "``.
Names and values are lower-case letters, digits, ``_`` and ``-`` (at most 40
each): they need no regex escaping, and the rule routes the same whether or
not ALB's undocumented regex case rule ignores case. Longest pattern: 107
characters (limit 128); 1 match evaluation (plus the source-ip CIDRs of
``laneHeaderSourceCidrs``, which apply to the cookie rule too: a cookie is as
client-controlled as a header).

Priority: its own band 41000..44999, after both carrier bands and before the
weighted band, at the lane's slot modulo the band (two cookie lanes whose
slots are equal modulo 4000 collide; the runner's PriorityInUse retry moves
the later one to the next slot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from components.errors import MultilaneError

from . import limits

COOKIE_KEY = "cookie"  # stack config multilane:cookie
COOKIE_HEADER = "cookie"
COOKIE_BAND = range(41000, 45000)
CAPTURE = r"[a-z0-9_-]{1,40}"
_PART = re.compile(rf"^{CAPTURE}$")
_OWS = r"[ \t]*"


def parse_cookie(text: str | None, *, where: str) -> tuple[str, str] | None:
    """``"beta=gray"`` -> ("beta", "gray"); empty -> None; anything else is refused."""
    if text in (None, ""):
        return None
    name, sep, value = str(text).partition("=")
    if not sep or not _PART.match(name) or not _PART.match(value):
        raise MultilaneError(
            f"{where} {str(text)[:60]!r} is not name=value with lower-case letters, digits, '_' or '-' "
            "(at most 40 each); for example beta=gray"
        )
    return name, value


def cookie_pattern(name: str, value: str) -> str:
    pattern = f"^(.*;)?{_OWS}{name}={value}{_OWS}(;.*)?$"
    if len(pattern) > limits.ALB_MAX_VALUE_LEN:  # cannot happen within 40+40 characters; guards edits
        raise MultilaneError(f"cookie {name}={value} makes a pattern longer than {limits.ALB_MAX_VALUE_LEN} characters")
    return pattern


_HEAD, _TAIL = cookie_pattern("n", "v").split("n=v")


def cookie_of_pattern(pattern: str) -> tuple[str, str] | None:
    """(name, value) of a pattern :func:`cookie_pattern` made, else None."""
    if not (pattern.startswith(_HEAD) and pattern.endswith(_TAIL)):
        return None
    name, sep, value = pattern[len(_HEAD) : len(pattern) - len(_TAIL)].partition("=")
    if not sep or not _PART.match(name) or not _PART.match(value) or cookie_pattern(name, value) != pattern:
        return None
    return name, value


def cookie_conditions(name: str, value: str, source_cidrs: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The cookie rule's conditions (pulumi-aws input shape)."""
    conditions: list[dict[str, Any]] = [
        {"http_header": {"http_header_name": COOKIE_HEADER, "regex_values": [cookie_pattern(name, value)]}}
    ]
    if source_cidrs:
        conditions.append({"source_ip": {"values": list(source_cidrs)}})
    return conditions


def cookie_priority(lane_priority: int, lane_band_start: int) -> int:
    """The cookie rule's priority: the lane's slot (its first rule's offset in the
    tracestate band) modulo the cookie band."""
    return COOKIE_BAND.start + (lane_priority - lane_band_start) % len(COOKIE_BAND)

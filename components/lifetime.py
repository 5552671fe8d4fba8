"""How long a lane lives and when it sleeps: TTL, reaping, sleep schedules, idle cost.

Pure decisions, no Pulumi and no AWS calls, so the runner, the lane program,
the pipelines layer and the benchmark share one model:

- **Lifetime** of a non-default lane: when it was created, when it was last
  deployed and when it expires (``last deploy + ttlHours``: a lane that is
  still pushed to stays). The runner records it as stack tags
  (``multilane:createdAt`` ...) and as stack config, which the lane program
  turns into AWS resource tags (``naming.CREATED_AT_TAG``,
  ``naming.EXPIRES_AT_TAG``).
- **Reaping**: which lanes ``python -m automation reap`` destroys at a given
  time: expired ones, never ``default``, never a protected one, never one
  with no recorded expiry.
- **Sleep**: AWS cron expressions (Application Auto Scaling's
  ``cron(min hour day-of-month month day-of-week year)``) for the scheduled
  actions that scale a lane's ECS service to 0 and back, and how many hours a
  week it is awake under them.
- **Idle cost** of a lane's tasks per day from Fargate's per-vCPU-hour and
  per-GB-hour prices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from . import naming
from .errors import MultilaneError

# --- lifetime ------------------------------------------------------------------------------

# Stack config keys (short form; the full key is ``multilane:<key>``).
CREATED_AT_KEY = "createdAt"
EXPIRES_AT_KEY = "expiresAt"
TTL_HOURS_KEY = "ttlHours"
PROTECTED_KEY = "protected"

# Stack tags the runner sets on a non-default lane stack after each deploy.
TAG_CREATED = f"{naming.PROJECT}:createdAt"
TAG_LAST_DEPLOY = f"{naming.PROJECT}:lastDeployAt"
TAG_EXPIRES = f"{naming.PROJECT}:expiresAt"
TAG_PROTECTED = f"{naming.PROJECT}:protected"

MAX_TTL_HOURS = 24 * 365
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def iso(moment: datetime) -> str:
    """A UTC timestamp as AWS tag values and stack tags hold it: ``2026-12-03T10:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, where: str) -> datetime:
    """Read back :func:`iso`; ``where`` names the field in the error sentence."""
    if not _ISO.fullmatch(text or ""):
        raise MultilaneError(f"{where} {text!r} is not a UTC time like 2026-12-03T10:00:00Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise MultilaneError(f"{where} {text!r} is not a valid date and time") from None


def parse_ttl(text: str, where: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text or "") or not 1 <= int(text) <= MAX_TTL_HOURS:
        raise MultilaneError(f"{where} {text!r} is not a whole number of hours between 1 and {MAX_TTL_HOURS}")
    return int(text)


def parse_flag(text: str, where: str) -> bool:
    if text not in ("true", "false"):
        raise MultilaneError(f"{where} {text!r} is not true or false")
    return text == "true"


@dataclass(frozen=True)
class Lifetime:
    created_at: datetime
    last_deploy_at: datetime
    expires_at: datetime
    protected: bool = False

    def stack_tags(self) -> dict[str, str]:
        return {
            TAG_CREATED: iso(self.created_at),
            TAG_LAST_DEPLOY: iso(self.last_deploy_at),
            TAG_EXPIRES: iso(self.expires_at),
            TAG_PROTECTED: "true" if self.protected else "false",
        }

    def config(self) -> dict[str, str]:
        """The stack config the lane program tags its resources from."""
        return {
            f"{naming.PROJECT}:{CREATED_AT_KEY}": iso(self.created_at),
            f"{naming.PROJECT}:{EXPIRES_AT_KEY}": iso(self.expires_at),
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], stack: str) -> Lifetime | None:
        """The lifetime a stack's tags record, or None when it has none (a
        lane deployed before TTLs existed, or with plain ``pulumi up``)."""
        if TAG_EXPIRES not in tags:
            return None
        where = f"stack {stack}: tag"
        try:
            expires = parse_time(tags[TAG_EXPIRES], f"{where} {TAG_EXPIRES}")
            created = parse_time(tags.get(TAG_CREATED, tags[TAG_EXPIRES]), f"{where} {TAG_CREATED}")
            last = parse_time(
                tags.get(TAG_LAST_DEPLOY, tags.get(TAG_CREATED, tags[TAG_EXPIRES])), f"{where} {TAG_LAST_DEPLOY}"
            )
        except MultilaneError as err:
            raise MultilaneError(
                f"{err}; redeploy the lane with `python -m automation up {stack}` or fix the tag with "
                f"`pulumi stack tag set <tag> <time> -s {stack}`"
            ) from None
        return cls(created, last, expires, tags.get(TAG_PROTECTED) == "true")


def on_deploy(now: datetime, previous: Lifetime | None, ttl_hours: int, *, protected: bool = False) -> Lifetime:
    """The lifetime after a deploy at ``now``: creation time kept, expiry slides."""
    created = previous.created_at if previous else now
    return Lifetime(created, now, now + timedelta(hours=ttl_hours), protected)


def age(now: datetime, since: datetime) -> str:
    """A short human age: ``3d 4h``, ``5h 12m``, ``40m``."""
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


# --- reaping -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReapCandidate:
    stack: str
    lane: str
    lifetime: Lifetime | None


@dataclass(frozen=True)
class ReapDecision:
    stack: str
    lane: str
    destroy: bool
    reason: str
    expires_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "stack": self.stack,
            "lane": self.lane,
            "action": "destroy" if self.destroy else "keep",
            "reason": self.reason,
            "expiresAt": iso(self.expires_at) if self.expires_at else None,
        }


def plan_reap(candidates: Iterable[ReapCandidate], now: datetime) -> list[ReapDecision]:
    """What ``reap`` does to each lane at ``now``, in stack-name order."""
    out = []
    for c in sorted(candidates, key=lambda c: c.stack):
        life = c.lifetime
        expires = life.expires_at if life else None
        if c.lane == naming.DEFAULT_LANE:
            out.append(ReapDecision(c.stack, c.lane, False, "the default lane is never reaped", expires))
        elif life is None:
            out.append(
                ReapDecision(
                    c.stack, c.lane, False, "no expiry recorded (deploy it through the runner to give it one)", None
                )
            )
        elif life.protected:
            out.append(ReapDecision(c.stack, c.lane, False, "protected (multilane:protected is true)", expires))
        elif life.expires_at <= now:
            out.append(
                ReapDecision(
                    c.stack, c.lane, True, f"expired {age(now, life.expires_at)} ago ({iso(life.expires_at)})", expires
                )
            )
        else:
            out.append(
                ReapDecision(
                    c.stack, c.lane, False, f"expires in {age(life.expires_at, now)} ({iso(life.expires_at)})", expires
                )
            )
    return out


# --- AWS cron (Application Auto Scaling and EventBridge Scheduler) --------------------------

_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


def _field(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> frozenset[int] | None:
    """One cron field as the set of values it allows (None: every value)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2:
            raise ValueError(part)
        nums = [names[b] if names and b in names else int(b) if b.isdigit() else None for b in bounds]
        if any(n is None or not low <= n <= high for n in nums):
            raise ValueError(part)
        first, last = nums[0], nums[-1]
        assert first is not None and last is not None
        if first > last:
            raise ValueError(part)
        values.update(range(first, last + 1))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """The subset of AWS cron a sleep schedule uses: fixed minutes and hours
    (numbers, ranges, lists), any day of month, any month, days of week by
    number (1 = SUN) or name, any year."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday

    def fires(self, weekday_mon0: int, hour: int, minute: int) -> bool:
        """Does it fire at this minute of a week (weekday 0 = Monday, like datetime)?"""
        aws_day = (weekday_mon0 + 1) % 7 + 1
        return minute in self.minutes and hour in self.hours and (self.weekdays is None or aws_day in self.weekdays)


def parse_cron(expression: str) -> Cron:
    """Parse a schedule or raise ValueError with the reason (params turn it into one sentence)."""
    m = _CRON.fullmatch(expression)
    if not m:
        raise ValueError(f"{expression!r} is not an AWS cron expression of six fields, e.g. cron(0 20 ? * MON-FRI *)")
    minute, hour, dom, month, dow, year = m.groups()
    try:
        minutes = _field(minute, 0, 59)
        hours = _field(hour, 0, 23)
        weekdays = _field(dow, 1, 7, _DAY_NAMES)
    except ValueError as err:
        raise ValueError(f"{expression!r}: {str(err)!r} is not a value, range or list multilane reads") from None
    if minutes is None or hours is None:
        raise ValueError(f"{expression!r} must name the minute and hour (e.g. cron(0 20 ? * MON-FRI *))")
    if dom not in ("*", "?") or month != "*" or year != "*":
        raise ValueError(
            f"{expression!r} may only choose days of the week: day of month must be ? or *, month and year *"
        )
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be ? (AWS cron rule)")
    return Cron(expression, minutes, hours, weekdays)


@dataclass(frozen=True)
class ScheduledScaling:
    """One Application Auto Scaling scheduled action on a lane's ECS service."""

    key: str  # logical name suffix: "sleep" or "wake"
    schedule: str
    timezone: str
    min_capacity: int
    max_capacity: int


def sleep_actions(sleep_at: str, wake_at: str, timezone: str, desired: int) -> list[ScheduledScaling]:
    """Scale to 0 at ``sleep_at`` and back to ``desired`` at ``wake_at``."""
    return [
        ScheduledScaling("sleep", sleep_at, timezone, 0, 0),
        ScheduledScaling("wake", wake_at, timezone, desired, desired),
    ]


MINUTES_PER_WEEK = 7 * 24 * 60


def awake_minutes_per_week(sleep_at: str, wake_at: str) -> int:
    """Minutes per week a lane runs under the schedule (local time of the schedule).

    Replays two weeks minute by minute from Monday 00:00 (awake at the start)
    and counts the second, so the state at the week's start is the one the
    first week left behind.
    """
    sleep, wake = parse_cron(sleep_at), parse_cron(wake_at)
    awake, count = True, 0
    for week in range(2):
        for minute_of_week in range(MINUTES_PER_WEEK):
            day, rest = divmod(minute_of_week, 24 * 60)
            hour, minute = divmod(rest, 60)
            if sleep.fires(day, hour, minute):
                awake = False
            if wake.fires(day, hour, minute):
                awake = True
            if week == 1 and awake:
                count += 1
    return count


# --- idle cost -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FargatePrice:
    """On-demand Fargate prices for one region and platform, with where they come from."""

    region: str
    platform: str
    vcpu_hour: float
    gb_hour: float
    source: str


def task_cost_per_hour(cpu_units: int, memory_mib: int, price: FargatePrice) -> float:
    """One task: vCPU (cpu units / 1024) and memory (MiB / 1024, in GB) at per-hour prices."""
    return cpu_units / 1024 * price.vcpu_hour + memory_mib / 1024 * price.gb_hour


def cost_per_day(
    cpu_units: int, memory_mib: int, tasks: int, price: FargatePrice, awake_fraction: float = 1.0
) -> float:
    """Average cost per day of ``tasks`` tasks that run ``awake_fraction`` of the week."""
    return task_cost_per_hour(cpu_units, memory_mib, price) * tasks * 24 * awake_fraction

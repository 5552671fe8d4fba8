"""Listener-rule priorities: carrier bands, home slots, allocation, capacity.

The layout and its reasons: see the package docstring
(``components/routing/__init__.py``, "Priorities").
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence

from components import naming
from components.errors import MultilaneError
from components.stackname import check_lane

from .carriers import CARRIERS, canonical_carriers
from .limits import ALB_RULES_PER_ALB, ALB_TARGET_GROUPS_PER_ALB, PRIORITY_MAX, PRIORITY_MIN

# --- priority layout ----------------------------------------------------------

LANE_BAND_START = 1000
BAND_SIZE = 20000  # slots per carrier band
# Band i covers LANE_BAND_START + i*BAND_SIZE .. + BAND_SIZE - 1.


def band(carrier_index: int) -> range:
    """Priorities of the rules that carry ``CARRIERS[carrier_index]``."""
    start = LANE_BAND_START + carrier_index * BAND_SIZE
    return range(start, start + BAND_SIZE)


# --- priorities ---------------------------------------------------------------


def home_slot(service: str, lane: str) -> int:
    """The lane's deterministic slot (0..BAND_SIZE-1): sha256, never Python's hash."""
    digest = hashlib.sha256(f"{service}\x1f{lane}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BAND_SIZE


def priorities_for_slot(slot: int, count: int) -> list[int]:
    return [band(i)[slot] for i in range(count)]


def slot_of(priority: int) -> int | None:
    """The slot a band priority belongs to, or None outside every band."""
    for i in range(len(CARRIERS)):
        b = band(i)
        if priority in b:
            return priority - b.start
    return None


def _check_count(count: int) -> None:
    if not 1 <= count <= len(CARRIERS):
        raise ValueError(f"a lane has 1..{len(CARRIERS)} rules (one per carrier), not {count}")


def allocate_priorities(
    service: str,
    lane: str,
    count: int,
    taken: Mapping[int, str] | None = None,
    pinned: int | None = None,
) -> list[int]:
    """Priorities of the ``count`` rules of ``lane`` (rule i carries CARRIERS[i]).

    ``taken`` maps priorities already on the listener to the lane that owns
    them (use any non-lane string such as "" for rules no lane owns); the
    lane's own priorities are free for it. With ``pinned`` (stack config
    ``multilane:priority``) the first rule gets ``pinned`` and rule i gets
    ``pinned + i*BAND_SIZE``; a collision is an error, never silently moved.
    Without it: the first slot on the probe sequence from :func:`home_slot`
    whose priorities are all free.
    """
    check_lane(lane)
    _check_count(count)
    taken = taken or {}
    if pinned is not None:
        wanted = [pinned + i * BAND_SIZE for i in range(count)]
        for p in wanted:
            if not PRIORITY_MIN <= p <= PRIORITY_MAX:
                raise MultilaneError(
                    f"multilane:priority {pinned} for lane {lane!r} puts a rule at {p}, outside "
                    f"{PRIORITY_MIN}..{PRIORITY_MAX}; pick a priority in {band(0).start}..{band(0).stop - 1}"
                )
            owner = taken.get(p)
            if owner is not None and owner != lane:
                who = f"lane {owner!r}" if owner else "a rule no lane owns"
                raise MultilaneError(
                    f"multilane:priority {pinned} for lane {lane!r} of {service} collides with {who} at priority {p} "
                    "on the listener; pin another priority or remove the setting to let multilane allocate one"
                )
        return wanted
    home = home_slot(service, lane)
    for step in range(BAND_SIZE):
        slot = (home + step) % BAND_SIZE
        wanted = priorities_for_slot(slot, count)
        if all(taken.get(p) in (None, lane) for p in wanted):
            return wanted
    raise MultilaneError(
        f"no free listener-rule priority left for lane {lane!r} of {service}: all {BAND_SIZE} slots are taken; "
        "delete unused lanes"
    )


# --- capacity -----------------------------------------------------------------


def max_lanes(carriers: Sequence[str], *, rules_per_alb: int = ALB_RULES_PER_ALB, extra_rules: int = 0) -> int:
    """Lanes besides ``default`` one service's ALB can hold with these carriers.

    Each such lane has one target group (100 per ALB, fixed, one of them the
    default lane's) and one rule per carrier (``rules_per_alb`` per ALB,
    default quota 100, adjustable). ``extra_rules`` are rules no carrier
    needs: the weighted rule of a lane being promoted (components/routing/weighted.py).
    """
    per_lane = len(canonical_carriers(carriers))
    return min(ALB_TARGET_GROUPS_PER_ALB - 1, (rules_per_alb - extra_rules) // per_lane)


def check_weighted_fits(
    existing_lanes: Collection[str], carriers: Sequence[str], *, lane: str, rules_per_alb: int = ALB_RULES_PER_ALB
) -> None:
    """Raise when the weighted rule of ``lane`` (one more rule on the ALB) would not fit."""
    per_lane = len(canonical_carriers(carriers))
    used = per_lane * len({x for x in existing_lanes if x != naming.DEFAULT_LANE})
    if used + 1 > rules_per_alb:
        raise MultilaneError(
            f"the weighted rule of lane {lane!r} does not fit: the service's {used} header rules already fill the "
            f"ALB's {rules_per_alb} listener rules; delete a lane you no longer need, or raise the 'Rules per "
            "Application Load Balancer' quota"
        )


def check_capacity(
    existing_lanes: Collection[str],
    carriers: Sequence[str],
    *,
    lane: str | None = None,
    rules_per_alb: int = ALB_RULES_PER_ALB,
    extra_rules: int = 0,
) -> None:
    """Raise when one more lane would not fit the service's ALB budget
    (``extra_rules``: a weighted rule on the ALB, see :func:`max_lanes`).

    ``existing_lanes`` are the service's lanes in this env (``default`` is
    ignored: it uses the boot stack's target group and no rule). When
    ``lane`` is given and already exists, it is a redeploy and always fits.
    """
    ordered = canonical_carriers(carriers)
    others = {x for x in existing_lanes if x != naming.DEFAULT_LANE}
    if lane is not None and (lane == naming.DEFAULT_LANE or lane in others):
        return
    limit = max_lanes(ordered, rules_per_alb=rules_per_alb, extra_rules=extra_rules)
    if len(others) + 1 <= limit:
        return
    per_lane = len(ordered)
    if limit == ALB_TARGET_GROUPS_PER_ALB - 1:
        why = (
            f"an ALB holds {ALB_TARGET_GROUPS_PER_ALB} target groups (a fixed AWS limit) and one is the default lane's"
        )
        fix = "delete a lane you no longer need"
    else:
        why = (
            f"carriers {'+'.join(ordered)} cost {per_lane} listener rules per lane "
            f"and the ALB allows {rules_per_alb} rules"
            + (f", {extra_rules} of them taken by a weighted promotion rule" if extra_rules else "")
        )
        fix = (
            "delete a lane you no longer need, drop 'baggage' from laneCarriers, "
            "or raise the 'Rules per Application Load Balancer' quota"
        )
    name = f"lane {lane!r}" if lane else "another lane"
    raise MultilaneError(
        f"{name} does not fit: the service already has {len(others)} lanes besides default and holds at most {limit} "
        f"because {why}; {fix}"
    )

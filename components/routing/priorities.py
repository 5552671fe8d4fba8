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

from . import carriers as carrier_table
from .carriers import Carrier, canonical
from .limits import ALB_RULES_PER_ALB, ALB_TARGET_GROUPS_PER_ALB, PRIORITY_MAX, PRIORITY_MIN

# --- priority layout ----------------------------------------------------------

# Home slots per lane: a lane's slot is a hash of (service, lane) mod SLOTS,
# and its rule for carrier c has priority c.band.start + slot (a band shorter
# than SLOTS wraps: slot mod its length). The first two bands are exactly
# SLOTS long, so their priorities are band start + slot, as they always were.
SLOTS = 20000


def band(carrier_index: int) -> range:
    """Priorities of the rules that carry the table's carrier ``carrier_index``."""
    return carrier_table.table()[carrier_index].band


def check_layout(table: Sequence[Carrier]) -> None:
    """Raise ValueError when a carrier table's bands break the layout: each band
    non-empty, at most SLOTS long, inside PRIORITY_MIN..PRIORITY_MAX, and above
    the band of the carrier before it (so rules are evaluated in table order)."""
    previous: Carrier | None = None
    for c in table:
        b = c.band
        if b.step != 1 or not 1 <= len(b) <= SLOTS or b.start < PRIORITY_MIN or b.stop - 1 > PRIORITY_MAX:
            raise ValueError(
                f"carrier {c.header!r}: band {b.start}..{b.stop - 1} must hold 1..{SLOTS} consecutive priorities "
                f"inside {PRIORITY_MIN}..{PRIORITY_MAX}"
            )
        if previous is not None and b.start < previous.band.stop:
            raise ValueError(
                f"carrier {c.header!r}: band {b.start}..{b.stop - 1} must start above {previous.header!r}'s band, "
                f"which ends at {previous.band.stop - 1}"
            )
        previous = c
    if not table or not table[0].required:
        raise ValueError("the first carrier must be a required one (its band orders every lane's first rule)")


check_layout(carrier_table.CARRIERS)


# --- priorities ---------------------------------------------------------------


def home_slot(service: str, lane: str) -> int:
    """The lane's deterministic slot (0..SLOTS-1): sha256, never Python's hash."""
    digest = hashlib.sha256(f"{service}\x1f{lane}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SLOTS


def position(c: Carrier, slot: int) -> int:
    """The priority of carrier ``c``'s rule for a lane at ``slot``."""
    return c.band.start + slot % len(c.band)


def _rule_carriers(carriers: Sequence[str] | int) -> list[Carrier]:
    """The carriers of a lane's rules: a laneCarriers list, or a rule count
    (rule i carries the table's carrier i)."""
    if isinstance(carriers, int):
        table = carrier_table.table()
        if not 1 <= carriers <= len(table):
            raise ValueError(f"a lane has 1..{len(table)} rules (one per carrier), not {carriers}")
        return list(table[:carriers])
    return canonical(carriers)


def allocate_priorities(
    service: str,
    lane: str,
    carriers: Sequence[str] | int,
    taken: Mapping[int, str] | None = None,
    pinned: int | None = None,
) -> list[int]:
    """Priorities of the rules of ``lane``, one per carrier in rule order.

    ``carriers`` is the service's ``laneCarriers`` (or a rule count: rule i
    carries the table's carrier i). ``taken`` maps priorities already on the
    listener to the lane that owns them (use any non-lane string such as ""
    for rules no lane owns); the lane's own priorities are free for it. With
    ``pinned`` (stack config ``multilane:priority``, the first rule's
    priority) the lane's slot is ``pinned`` minus the first band's start; a
    collision is an error, never silently moved. Without it: the first slot
    on the probe sequence from :func:`home_slot` whose priorities are all free.
    """
    check_lane(lane)
    rule_carriers = _rule_carriers(carriers)
    taken = taken or {}
    if pinned is not None:
        first = rule_carriers[0].band
        offset = pinned - first.start
        if offset in range(SLOTS):
            wanted = [position(c, offset) for c in rule_carriers]
        else:  # a hand-set pin outside the first band: the same offset in every band
            wanted = [c.band.start + offset for c in rule_carriers]
        for p in wanted:
            if not PRIORITY_MIN <= p <= PRIORITY_MAX:
                raise MultilaneError(
                    f"multilane:priority {pinned} for lane {lane!r} puts a rule at {p}, outside "
                    f"{PRIORITY_MIN}..{PRIORITY_MAX}; pick a priority in {first.start}..{first.stop - 1}"
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
    for step in range(SLOTS):
        slot = (home + step) % SLOTS
        wanted = [position(c, slot) for c in rule_carriers]
        if all(taken.get(p) in (None, lane) for p in wanted):
            return wanted
    raise MultilaneError(
        f"no free listener-rule priority left for lane {lane!r} of {service}: all {SLOTS} slots are taken; "
        "delete unused lanes"
    )


# --- capacity -----------------------------------------------------------------


def max_lanes(carriers: Sequence[str], *, rules_per_alb: int = ALB_RULES_PER_ALB, extra_rules: int = 0) -> int:
    """Lanes besides ``default`` one service's ALB can hold with these carriers.

    Each such lane has one target group (100 per ALB, fixed, one of them the
    default lane's), one rule per carrier (``rules_per_alb`` per ALB, default
    quota 100, adjustable) and one priority in each of its carriers' bands.
    ``extra_rules`` are rules no carrier needs: the weighted rule of a lane
    being promoted (components/routing/weighted.py).
    """
    chosen = canonical(carriers)
    return min(
        ALB_TARGET_GROUPS_PER_ALB - 1,
        (rules_per_alb - extra_rules) // len(chosen),
        *(len(c.band) for c in chosen),
    )


def check_weighted_fits(
    existing_lanes: Collection[str], carriers: Sequence[str], *, lane: str, rules_per_alb: int = ALB_RULES_PER_ALB
) -> None:
    """Raise when the weighted rule of ``lane`` (one more rule on the ALB) would not fit."""
    per_lane = len(canonical(carriers))
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
    chosen = canonical(carriers)
    ordered = [c.header for c in chosen]
    others = {x for x in existing_lanes if x != naming.DEFAULT_LANE}
    if lane is not None and (lane == naming.DEFAULT_LANE or lane in others):
        return
    limit = max_lanes(ordered, rules_per_alb=rules_per_alb, extra_rules=extra_rules)
    if len(others) + 1 <= limit:
        return
    per_lane = len(ordered)
    optional = " and ".join(repr(c.header) for c in chosen if not c.required)
    narrow = next((c for c in chosen if len(c.band) == limit), None)
    if limit == ALB_TARGET_GROUPS_PER_ALB - 1:
        why = (
            f"an ALB holds {ALB_TARGET_GROUPS_PER_ALB} target groups (a fixed AWS limit) and one is the default lane's"
        )
        fix = "delete a lane you no longer need"
    elif narrow is not None:
        why = f"the {narrow.header} band holds {limit} priorities"
        fix = f"delete a lane you no longer need or drop {narrow.header!r} from laneCarriers"
    else:
        why = (
            f"carriers {'+'.join(ordered)} cost {per_lane} listener rules per lane "
            f"and the ALB allows {rules_per_alb} rules"
            + (f", {extra_rules} of them taken by a weighted promotion rule" if extra_rules else "")
        )
        drop = f", drop {optional} from laneCarriers" if optional else ""
        fix = f"delete a lane you no longer need{drop}, or raise the 'Rules per Application Load Balancer' quota"
    name = f"lane {lane!r}" if lane else "another lane"
    raise MultilaneError(
        f"{name} does not fit: the service already has {len(others)} lanes besides default and holds at most {limit} "
        f"because {why}; {fix}"
    )

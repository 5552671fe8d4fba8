"""The three optional stack config keys (Pulumi.yaml declares them).

Params hold the defaults; a stack config file in stacks/ only overrides. The
CLI applies Pulumi.yaml's defaults, the offline harness does not, so the same
defaults live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from . import naming
from .errors import MultilaneError
from .params import check_image

PRIORITY_MIN = 1
PRIORITY_MAX = 50000
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class StackConfig:
    org: str = naming.DEFAULT_ORG
    image_uri: str | None = None
    priority: int | None = None


def parse(stack: str, raw: dict[str, str | None]) -> StackConfig:
    """Validate raw config values (strings, as Pulumi stores them)."""
    where = f"stacks/Pulumi.{stack}.yaml"
    org = raw.get("stackOrg") or naming.DEFAULT_ORG
    if not _ORG.match(org):
        raise MultilaneError(f"{where}: multilane:stackOrg {org!r} is not an organization name")
    image = raw.get("imageUri") or None
    if image is not None:
        try:
            check_image(image)
        except ValueError as exc:
            raise MultilaneError(f"{where}: multilane:imageUri {exc}") from None
    priority: int | None = None
    text = raw.get("priority")
    if text not in (None, "", "0"):
        try:
            priority = int(str(text))
        except ValueError:
            raise MultilaneError(f"{where}: multilane:priority {text!r} is not a whole number") from None
        if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            raise MultilaneError(
                f"{where}: multilane:priority {priority} is outside {PRIORITY_MIN}..{PRIORITY_MAX} (ALB rule priorities)"
            )
    return StackConfig(org=org, image_uri=image, priority=priority)


def read(stack: str) -> StackConfig:
    cfg = pulumi.Config("multilane")
    return parse(stack, {key: cfg.get(key) for key in ("stackOrg", "imageUri", "priority")})

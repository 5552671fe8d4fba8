"""The three optional stack config keys (Pulumi.yaml declares them).

Params hold the defaults; a stack config file in stacks/ only overrides. The
CLI applies Pulumi.yaml's defaults, the offline harness does not, so the same
defaults live here too.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from . import naming
from .errors import MultilaneError
from .params import PARAMS_DIR, check_image, describe_unreadable
from .routing.limits import PRIORITY_MAX, PRIORITY_MIN

_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


# The multilane:* keys Pulumi.yaml declares and the program reads.
KEYS = ("stackOrg", "imageUri", "priority")


def check_key(key: str, prefix: str) -> str:
    """Refuse a config key the program does not read (``prefix`` names where it came from)."""
    if key in KEYS:
        return key
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6) or [k for k in KEYS if k.lower() == key.lower()]
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise MultilaneError(f"{prefix}{key} is not a config key the program reads; {hint}the keys are {', '.join(KEYS)}")


@dataclass(frozen=True)
class StackConfig:
    org: str = naming.DEFAULT_ORG
    image_uri: str | None = None
    priority: int | None = None


def parse(stack: str, raw: dict[str, str | None], *, prefix: str | None = None) -> StackConfig:
    """Validate raw config values (strings, as Pulumi stores them).

    ``prefix`` is how messages name a key: ``stacks/Pulumi.<stack>.yaml:
    multilane:`` by default, ``--config `` for values given on the command line.
    """
    where = prefix if prefix is not None else f"stacks/Pulumi.{stack}.yaml: multilane:"
    org = raw.get("stackOrg") or naming.DEFAULT_ORG
    if not _ORG.fullmatch(org):
        raise MultilaneError(f"{where}stackOrg {org!r} is not an organization name")
    image = raw.get("imageUri") or None
    if image is not None:
        try:
            check_image(image)
        except ValueError as exc:
            raise MultilaneError(f"{where}imageUri {exc}") from None
    return StackConfig(org=org, image_uri=image, priority=parse_priority(raw.get("priority"), where))


def parse_priority(text: object, where: str) -> int | None:
    """A pinned ``multilane:priority`` value (as Pulumi stores it: a string), or None when unset or 0.

    ``where`` prefixes the key in messages (e.g. ``stacks/Pulumi.<stack>.yaml: multilane:``).
    """
    if text in (None, "", "0"):
        return None
    if not re.fullmatch(r"[0-9]{1,9}", str(text)):
        raise MultilaneError(f"{where}priority {str(text)[:20]!r} is not a whole number")
    priority = int(str(text))
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise MultilaneError(
            f"{where}priority {priority} is outside {PRIORITY_MIN}..{PRIORITY_MAX} (ALB rule priorities)"
        )
    return priority


def read(stack: str) -> StackConfig:
    from pulumi.runtime.config import CONFIG

    for full in CONFIG.get():
        if full.startswith(f"{naming.PROJECT}:"):
            check_key(full.split(":", 1)[1], f"stacks/Pulumi.{stack}.yaml: {naming.PROJECT}:")
    cfg = pulumi.Config("multilane")
    return parse(stack, {key: cfg.get(key) for key in ("stackOrg", "imageUri", "priority")})


STACKS_DIR = PARAMS_DIR.parent / "stacks"


def stack_file_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, Any]:
    """The ``config:`` map of ``stacks/Pulumi.<stack>.yaml``, if the file exists.

    Secure (encrypted) values cannot be read offline; they are left out.
    """
    import yaml  # a dependency of the pulumi SDK itself

    path = stacks_dir / f"Pulumi.{stack}.yaml"
    name = f"stacks/{path.name}"
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise MultilaneError(describe_unreadable(path, name, exc)) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MultilaneError(
            f"{name} is not UTF-8 text (byte 0x{raw_bytes[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise MultilaneError(f"{name} is not valid YAML{where}: {exc.problem or exc.context}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        if "integer string conversion" in why:
            why = "a number has more than 4300 digits"
        raise MultilaneError(f"{name} is not valid YAML ({why})") from None
    if not isinstance(data, dict):
        raise MultilaneError(
            f"{name} must hold a map (e.g. config: {{multilane:priority: 30000}}), not a list or a value"
        )
    raw = data.get("config")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MultilaneError(f"{name}: 'config' must be a map of keys to values")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        full = str(key) if ":" in str(key) else f"{naming.PROJECT}:{key}"
        if full.startswith(f"{naming.PROJECT}:"):
            check_key(full.split(":", 1)[1], f"{name}: {naming.PROJECT}:")
            if isinstance(value, dict | list) or value is None:
                raise MultilaneError(
                    f"{name}: {full} must be a plain value (a string or number), not "
                    f"{'a map' if isinstance(value, dict) else 'a list' if isinstance(value, list) else 'empty'}; "
                    "write e.g. multilane:priority: 30000"
                )
        if not isinstance(value, dict):
            out[full] = value
    return out

"""Validate an API request against the botocore service model, like AWS would.

botocore's own client-side check only covers required members, unknown
members, types and minimum lengths. AWS also rejects values outside an enum,
longer than ``max``, numbers outside ``min``..``max`` and strings that miss the
member's ``pattern``. Every call the emulator makes goes through
:func:`validate` first, so a value moto happens to tolerate still fails here;
types moto cannot emulate at all are validated by this alone (see
``not_emulated.py``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, Shape


class ModelViolationError(ValueError):
    """A request AWS would reject with a ValidationException."""


@cache
def session() -> botocore.session.Session:
    """One botocore session per process: loading a service model costs ~0.5 s
    (EC2's), so the clients and the validator share it."""
    return botocore.session.get_session()


@cache
def operation(service: str, name: str) -> OperationModel:
    return session().get_service_model(service).operation_model(name)


# Service models use Java regex classes; Python's re has no \p{..}.
# Letters become \w (slightly more permissive, never stricter than AWS).
_JAVA_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\d",
    r"\p{Z}": r"\s",
    r"\p{Alnum}": r"a-zA-Z0-9",
    r"\p{Punct}": r"!-/:-@\[-`{-~",
}


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    text = pattern
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    try:
        return re.compile(text)
    except re.error:
        return None  # a construct Python cannot express: skip, never guess


def validate(service: str, name: str, params: dict[str, Any]) -> None:
    """Raise ModelViolationError naming the member path when ``params`` break the model."""
    op = operation(service, name)
    if op.input_shape is None:
        if params:
            raise ModelViolationError(f"{service}.{name} takes no parameters, got {sorted(params)}")
        return
    _check(op.input_shape, params, f"{service}.{name}")


def _check(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise ModelViolationError(f"{path}: expected a structure, got {type(value).__name__}")
        for required in meta.get("required", []):
            if value.get(required) is None:
                raise ModelViolationError(f"{path}: missing required member {required}")
        for key, item in value.items():
            if key not in shape.members:
                raise ModelViolationError(f"{path}: unknown member {key!r} (model has {sorted(shape.members)})")
            if item is not None:
                _check(shape.members[key], item, f"{path}.{key}")
        return
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise ModelViolationError(f"{path}: expected a list, got {type(value).__name__}")
        _bounds(len(value), meta, path, "entries")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]")
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise ModelViolationError(f"{path}: expected a map, got {type(value).__name__}")
        _bounds(len(value), meta, path, "entries")
        for key, item in value.items():
            _check(shape.key, key, f"{path} key")
            _check(shape.value, item, f"{path}[{key!r}]")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise ModelViolationError(f"{path}: expected a string, got {type(value).__name__} {value!r}")
        _bounds(len(value), meta, path, "characters")
        enum = shape.enum
        if enum and value not in enum:
            raise ModelViolationError(f"{path}: {value!r} is not one of {list(enum)}")
        pattern = meta.get("pattern")
        if pattern:
            compiled = _pattern(pattern)
            # AWS applies a member pattern to the whole value (Java matches()),
            # anchored or not: "no spaces" is not a RoleName of [\w+=,.@-]+.
            if compiled is not None and not compiled.fullmatch(value):
                raise ModelViolationError(f"{path}: {value!r} does not match {pattern}")
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelViolationError(f"{path}: expected an integer, got {value!r}")
        if "min" in meta and value < meta["min"]:
            raise ModelViolationError(f"{path}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            raise ModelViolationError(f"{path}: {value} is above the maximum {meta['max']}")
        return
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelViolationError(f"{path}: expected a number, got {value!r}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ModelViolationError(f"{path}: expected a boolean, got {value!r}")
        return
    # blob, timestamp, document: botocore serializes these; nothing to bound here.


def _bounds(size: int, meta: dict[str, Any], path: str, unit: str) -> None:
    if "min" in meta and size < meta["min"]:
        raise ModelViolationError(f"{path}: {size} {unit}, the minimum is {meta['min']}")
    if "max" in meta and size > meta["max"]:
        raise ModelViolationError(f"{path}: {size} {unit}, the maximum is {meta['max']}")

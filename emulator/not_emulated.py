"""Resource types moto 5.2.5 has no API for: validated, never created.

Each entry names the AWS operation the provider would call and maps the
Pulumi inputs to its request; the emulator validates that request against
the botocore service model (required members, enums, lengths, ranges,
patterns) and answers with a synthetic id. Nothing reaches moto, so nothing
downstream can read such a resource back: keep this list short and say why
each entry is here.

Today every type the four layers register is emulated by moto, so the list
is empty. A new type goes here only when moto has no API for it; otherwise
write a handler in the module of its service.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import model
from .core import Emulated, Request, emulates


@dataclass(frozen=True)
class NotEmulated:
    service: str  # botocore service name, e.g. "codestar-connections"
    operation: str  # API operation, e.g. "CreateConnection"
    request: Callable[[dict[str, Any]], dict[str, Any]]  # Pulumi inputs -> API request
    why: str  # what moto lacks


# type token -> how its inputs are checked. Empty: moto emulates every type we register.
NOT_EMULATED: dict[str, NotEmulated] = {}


def validated_only(type_: str, spec: NotEmulated) -> Callable[[Request], Emulated]:
    """The handler of a non-emulated type: model validation and a synthetic id."""

    def handler(req: Request) -> Emulated:
        model.validate(spec.service, spec.operation, spec.request(req.inputs))
        rid = f"{req.name}-{secrets.token_hex(4)}"
        state = req.state(arn=req.arn(spec.service, f"{type_.rsplit(':', 1)[-1].lower()}/{rid}"))
        return Emulated(rid, state, delete=lambda: None, probe=lambda: dict(req.inputs), emulated=False)

    return handler


def register(type_: str, spec: NotEmulated) -> None:
    emulates(type_)(validated_only(type_, spec))


for _type, _spec in NOT_EMULATED.items():
    register(_type, _spec)

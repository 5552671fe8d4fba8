"""Stack name -> Target: which layer, env, service and lane a stack builds.

The rules are the contract's (../shared/design/contract.md):
  infra-{env}, boot-{service}-{env}, pipelines-{env}, and anything else is a
  lane stack {service}-{env}-{lane} where the longest {service}-{env} prefix
  with a params file wins and the rest is the lane.
Resolution reads only file names in params/; a bad name fails here, before
any resource exists, with the accepted shapes and the params files found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import naming, params
from .errors import MultilaneError

Layer = Literal["infra", "boot", "lane", "pipelines"]

SHAPES = "infra-{env}, boot-{service}-{env}, pipelines-{env} or {service}-{env}-{lane}"


@dataclass(frozen=True)
class Target:
    layer: Layer
    stack: str
    env: str
    service: str | None = None
    lane: str | None = None

    @property
    def service_env(self) -> str:
        """``{service}-{env}``, the unit the boot stack and pipeline serve."""
        if self.service is None:
            raise ValueError(f"{self.stack} has no service")
        return f"{self.service}-{self.env}"


def check_lane(lane: str, *, where: str = "lane") -> str:
    """Validate a lane name (contract: lower-case DNS label, bounded length)."""
    if not lane:
        raise MultilaneError(f"{where} is empty; name the lane, e.g. gray")
    if len(lane) > naming.MAX_LANE_LEN:
        raise MultilaneError(
            f"{where} {lane!r} has {len(lane)} characters; use at most {naming.MAX_LANE_LEN} so every derived AWS name fits"
        )
    if len(lane) < 2 or not naming.LABEL_RE.match(lane):
        raise MultilaneError(
            f"{where} {lane!r} is not a lane name: use lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen (e.g. gray, feature-login)"
        )
    return lane


def _found(params_dir: Path) -> str:
    files = sorted(p.name for p in params_dir.glob("*.json"))
    return ", ".join(files) if files else "none"


def _unknown(stack: str, params_dir: Path, why: str) -> MultilaneError:
    return MultilaneError(
        f"stack {stack!r} {why}; accepted shapes are {SHAPES}, "
        f"and the params files found in {params.rel(params_dir)}/ are: {_found(params_dir)}"
    )


def _service_env(rest: str, params_dir: Path) -> tuple[str, str] | None:
    """Split ``{service}-{env}`` when a params file for exactly that exists."""
    known_envs = params.envs(params_dir)
    for env in known_envs:
        if rest.endswith(f"-{env}"):
            service = rest[: -len(env) - 1]
            if service in params.services(env, params_dir):
                return service, env
    return None


def resolve(stack: str, params_dir: Path = params.PARAMS_DIR) -> Target:
    if not stack or len(stack) > naming.LIMIT_STACK_NAME or not naming.LABEL_RE.match(stack):
        raise _unknown(stack, params_dir, "is not a lower-case name of letters, digits and hyphens")
    envs = params.envs(params_dir)

    for layer in ("infra", "pipelines"):
        if stack.startswith(f"{layer}-"):
            env = stack[len(layer) + 1 :]
            if env in envs:
                return Target(layer, stack, env)  # type: ignore[arg-type]
            raise _unknown(stack, params_dir, f"names env {env!r}, which has no params/infra-{env}.json")

    if stack.startswith("boot-"):
        found = _service_env(stack[len("boot-") :], params_dir)
        if found is None:
            raise _unknown(stack, params_dir, "does not name a {service}-{env} that has a params file")
        service, env = found
        return Target("boot", stack, env, service=service)

    # Lane stack: the longest {service}-{env} prefix with a params file wins.
    parts = stack.split("-")
    for cut in range(len(parts) - 1, 1, -1):
        found = _service_env("-".join(parts[:cut]), params_dir)
        if found is not None:
            service, env = found
            lane = "-".join(parts[cut:])
            check_lane(lane, where=f"lane of stack {stack!r}")
            return Target("lane", stack, env, service=service, lane=lane)
    raise _unknown(stack, params_dir, "does not start with a {service}-{env} that has a params file")

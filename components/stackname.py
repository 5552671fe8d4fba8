"""Stack name -> Target: which layer, env, service and lane a stack builds.

The rules are the contract's (docs/contract.md, "Resolving a stack name"):
  infra-{env}, boot-{service}-{env}, pipelines-{env}, and anything else is a
  lane stack {service}-{env}-{lane} where the longest {service}-{env} prefix
  with a params file wins and the rest is the lane.
Resolution reads only file names in params/; a bad name fails here, before
any resource exists, with the accepted shapes and the params files found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from . import naming, params
from .errors import MultilaneError

Layer = Literal["infra", "boot", "lane", "pipelines"]

SHAPES = "infra-{env}, boot-{service}-{env}, pipelines-{env} or {service}-{env}-{lane}"


@dataclass(frozen=True)
class InfraTarget:
    layer: ClassVar[Literal["infra"]] = "infra"
    stack: str
    env: str


@dataclass(frozen=True)
class PipelinesTarget:
    layer: ClassVar[Literal["pipelines"]] = "pipelines"
    stack: str
    env: str


@dataclass(frozen=True)
class BootTarget:
    layer: ClassVar[Literal["boot"]] = "boot"
    stack: str
    env: str
    service: str

    @property
    def service_env(self) -> str:
        """``{service}-{env}``, the unit the boot stack and pipeline serve."""
        return f"{self.service}-{self.env}"


@dataclass(frozen=True)
class LaneTarget:
    layer: ClassVar[Literal["lane"]] = "lane"
    stack: str
    env: str
    service: str
    lane: str

    @property
    def service_env(self) -> str:
        return f"{self.service}-{self.env}"

    @classmethod
    def of(cls, service: str, env: str, lane: str) -> LaneTarget:
        """The lane stack of ``service`` in ``env`` named ``lane`` (names already checked)."""
        return cls(naming.lane_stack(service, env, lane), env, service, lane)


# What a stack builds: each layer's target carries exactly the fields it has.
Target = InfraTarget | PipelinesTarget | BootTarget | LaneTarget


def check_lane(lane: str, *, where: str = "lane") -> str:
    """Validate a lane name (contract: lower-case DNS label, bounded length)."""
    if not lane:
        raise MultilaneError(f"{where} is empty; name the lane, e.g. gray")
    if len(lane) > naming.MAX_LANE_LEN:
        raise MultilaneError(
            f"{where} {lane!r} has {len(lane)} characters; use at most {naming.MAX_LANE_LEN} so every derived AWS name fits"
        )
    if len(lane) < 2 or not naming.LABEL_RE.fullmatch(lane):
        raise MultilaneError(
            f"{where} {lane!r} is not a lane name: use lower-case letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen (e.g. gray, feature-login)"
        )
    return lane


def check_env(env: str) -> str:
    """An env name from params/infra-{env}.json must fit every derived AWS name."""
    if len(env) > naming.MAX_ENV_LEN:
        raise MultilaneError(
            f"env {env!r} (params/infra-{env}.json) has {len(env)} characters; rename the file to an env of at most "
            f"{naming.MAX_ENV_LEN} so every derived AWS name fits"
        )
    return env


def check_service(service: str, env: str) -> str:
    """A service name from params/{service}-{env}.json: bounded, and no reserved layer word in front."""
    file = f"params/{service}-{env}.json"
    if len(service) > naming.MAX_SERVICE_LEN:
        raise MultilaneError(
            f"{file}: service name {service!r} has {len(service)} characters; rename the file to a service of at most "
            f"{naming.MAX_SERVICE_LEN} so every derived AWS name fits"
        )
    for word in sorted(naming.RESERVED_SERVICE_NAMES):
        if service.startswith(f"{word}-"):
            raise MultilaneError(
                f"{file}: service name {service!r} starts with the layer word {word!r}, so its stack names read as "
                f"{word} stacks; rename the file (e.g. {service.removeprefix(word + '-')}-{env}.json)"
            )
    return service


def _check_unambiguous_lane(stack: str, service: str, env: str, lane: str, params_dir: Path) -> None:
    """Refuse a lane whose ECS service name ({service}-{lane}) is also a lane of a longer service."""
    mine = naming.ecs_service_name(service, lane)
    for other in params.services(env, params_dir):
        if len(other) > len(service) and mine.startswith(f"{other}-"):
            other_lane = mine[len(other) + 1 :]
            raise MultilaneError(
                f"lane stack {stack!r} would run ECS service {mine} in env {env}, the same name as lane "
                f"{other_lane!r} of service {other}; name the lane so it does not start with "
                f"{other.removeprefix(service + '-')!r}- (or rename one of the services)"
            )


def _is_lane(text: str) -> bool:
    try:
        check_lane(text)
    except MultilaneError:
        return False
    return True


def _found(params_dir: Path) -> str:
    files = sorted(p.name if p.name.isprintable() else repr(p.name) for p in params_dir.glob("*.json"))
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


def resolve_service_env(text: str, params_dir: Path = params.PARAMS_DIR) -> tuple[str, str]:
    """``user-api-dev`` -> ("user-api", "dev"), when params/user-api-dev.json exists."""
    found = _service_env(text, params_dir)
    if found is not None:
        service, env = found
        return check_service(service, check_env(env)), env
    known = [f"{s}-{e}" for e in params.envs(params_dir) for s in params.services(e, params_dir)]
    raise MultilaneError(
        f"{text!r} is not a {{service}}-{{env}} with a params file; known: {', '.join(known) or 'none'}"
    )


ParamsKind = Literal["infra", "boot", "pipelines", "service"]


def params_file(stem: str, params_dir: Path = params.PARAMS_DIR) -> tuple[ParamsKind, str, str] | None:
    """What a params file name (without ``.json``) configures: (kind, env, service or "").

    A service file maps by its name even when it was just deleted, so a pull
    request that removes one still previews (and fails on) its stacks.
    """
    layer_files: tuple[ParamsKind, ...] = ("infra", "boot", "pipelines")
    for kind in layer_files:
        if stem.startswith(f"{kind}-"):
            return kind, stem[len(kind) + 1 :], ""
    for env in params.envs(params_dir):
        if stem.endswith(f"-{env}"):
            return "service", env, stem[: -len(env) - 1]
    return None


def resolve(stack: str, params_dir: Path = params.PARAMS_DIR) -> Target:
    if not stack or len(stack) > naming.LIMIT_STACK_NAME or not naming.LABEL_RE.fullmatch(stack):
        raise _unknown(stack, params_dir, "is not a lower-case name of letters, digits and hyphens")
    envs = params.envs(params_dir)

    for layer, make in (("infra", InfraTarget), ("pipelines", PipelinesTarget)):
        if stack.startswith(f"{layer}-"):
            env = stack[len(layer) + 1 :]
            if env in envs:
                return make(stack, check_env(env))
            raise _unknown(stack, params_dir, f"names env {env!r}, which has no params/infra-{env}.json")

    if stack.startswith("boot-"):
        found = _service_env(stack[len("boot-") :], params_dir)
        if found is None:
            raise _unknown(stack, params_dir, "does not name a {service}-{env} that has a params file")
        service, env = found
        return BootTarget(stack, check_env(env), service=check_service(service, env))

    # Lane stack: {service}-{env}-{lane} for a {service}-{env} with a params
    # file. A name that reads two ways (services user-api and user-api-dev in
    # env dev: user-api-dev-dev-gray) is refused, not guessed.
    parts = stack.split("-")
    readings: list[tuple[str, str, str]] = []
    for cut in range(len(parts) - 1, 1, -1):
        found = _service_env("-".join(parts[:cut]), params_dir)
        if found is not None:
            readings.append((*found, "-".join(parts[cut:])))
    if not readings:
        raise _unknown(stack, params_dir, "does not start with a {service}-{env} that has a params file")
    valid = [r for r in readings if _is_lane(r[2])]
    if len(valid) > 1:
        (s1, e1, l1), (s2, e2, l2) = valid[:2]
        raise MultilaneError(
            f"stack {stack!r} is ambiguous: lane {l1!r} of params/{s1}-{e1}.json or lane {l2!r} of "
            f"params/{s2}-{e2}.json; rename one of those params files (or the lane) so names read one way"
        )
    service, env, lane = (valid or readings)[0]
    check_env(env)
    check_service(service, env)
    check_lane(lane, where=f"lane of stack {stack!r}")
    _check_unambiguous_lane(stack, service, env, lane, params_dir)
    return LaneTarget(stack, env, service=service, lane=lane)

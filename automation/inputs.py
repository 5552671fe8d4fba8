"""What CI and people pass the runner: stack names, ``--var``, ``--params-file``.

CodePipeline passes ``--var SERVICE=user-api --var LANE=gray --var
BRANCH=release/1.2.3`` (and the env as ``--var ENV=dev`` or ``APP_ENV``), and
the build step's parameter file of the article's shape
``{"Parameters": {"ServiceName", "Env", "Lane", "ImageUri"}}``. Every problem
is one MultilaneError sentence, raised before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from components import naming, params, stackname
from components.errors import MultilaneError
from components.stackname import Target

VAR_KEYS = ("SERVICE", "LANE", "ENV", "BRANCH", "IMAGE_URI")
PARAMETER_KEYS = {"ServiceName": "SERVICE", "Env": "ENV", "Lane": "LANE", "ImageUri": "IMAGE_URI"}


def parse_vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MultilaneError(f"--var {item!r} is not KEY=VALUE; write e.g. --var LANE=gray")
        if key not in VAR_KEYS:
            raise MultilaneError(f"--var {key} is not a runner variable; use one of {', '.join(VAR_KEYS)}")
        if not value.strip():
            raise MultilaneError(f"--var {key} is empty; give it a value, e.g. --var {key}=...")
        if key in out and out[key] != value:
            raise MultilaneError(f"--var {key} is given twice with different values ({out[key]!r} and {value!r})")
        out[key] = value.strip()
    return out


def read_params_file(path: str) -> dict[str, str]:
    """The build's parameter file -> runner variables (SERVICE, ENV, LANE, IMAGE_URI)."""
    data = params.read_json(Path(path), f"--params-file {path}")
    if not isinstance(data, dict) or not isinstance(data.get("Parameters"), dict):
        raise MultilaneError(
            f'--params-file {path} must hold {{"Parameters": {{"ServiceName": ..., "Env": ..., "Lane": ..., "ImageUri": ...}}}}'
        )
    out: dict[str, str] = {}
    for key, value in data["Parameters"].items():
        if key not in PARAMETER_KEYS:
            raise MultilaneError(
                f"--params-file {path}: unknown parameter {key!r}; accepted are {', '.join(PARAMETER_KEYS)}"
            )
        if not isinstance(value, str) or not value.strip():
            raise MultilaneError(f"--params-file {path}: parameter {key} must be a non-empty string")
        out[PARAMETER_KEYS[key]] = value.strip()
    if "IMAGE_URI" in out:
        try:
            params.check_image(out["IMAGE_URI"])
        except ValueError as exc:
            raise MultilaneError(f"--params-file {path}: ImageUri {exc}") from None
    return out


@dataclass(frozen=True)
class Request:
    targets: list[Target]
    image: str | None = None
    image_stack: str | None = None
    branch: str | None = None

    @property
    def message(self) -> str:
        parts = []
        if self.image:
            parts.append(f"image {self.image}")
        if self.branch:
            parts.append(f"branch {self.branch}")
        return "multilane runner" + (": " + ", ".join(parts) if parts else "")


def _merge(variables: Mapping[str, str], from_file: Mapping[str, str]) -> dict[str, str]:
    merged = dict(from_file)
    for key, value in variables.items():
        if key in merged and merged[key] != value:
            raise MultilaneError(
                f"--var {key}={value} disagrees with the parameter file's value {merged[key]!r}; pass one of them"
            )
        merged[key] = value
    return merged


def build_request(
    stacks: list[str],
    var_items: list[str],
    params_file: str | None,
    environ: Mapping[str, str],
    params_dir: Path = params.PARAMS_DIR,
) -> Request:
    values = _merge(parse_vars(var_items), read_params_file(params_file) if params_file else {})
    if "IMAGE_URI" in values:
        try:
            params.check_image(values["IMAGE_URI"])
        except ValueError as exc:
            raise MultilaneError(f"--var IMAGE_URI {exc}") from None
    env = values.get("ENV") or environ.get("APP_ENV") or None
    service, lane = values.get("SERVICE"), values.get("LANE")
    named: str | None = None
    if service and lane:
        if not env:
            raise MultilaneError(
                f"--var SERVICE={service} LANE={lane} needs the env: pass --var ENV=dev or set APP_ENV"
            )
        stackname.check_lane(lane, where="--var LANE")
        named = naming.lane_stack(service, env, lane)
    elif service or lane:
        missing = "LANE" if service else "SERVICE"
        raise MultilaneError(f"--var {missing} is missing; pass both SERVICE and LANE, or name the stacks")

    names = list(dict.fromkeys(stacks))
    if not names:
        if named is None:
            raise MultilaneError(
                "name at least one stack (e.g. infra-dev user-api-dev-gray), or pass --var SERVICE=... --var LANE=... "
                "with --var ENV=... (or APP_ENV)"
            )
        names = [named]
    elif named is not None and named not in names:
        raise MultilaneError(
            f"the variables name stack {named!r}, which is not among the stacks given ({', '.join(names)})"
        )
    targets = [stackname.resolve(name, params_dir) for name in names]

    image = values.get("IMAGE_URI")
    image_stack: str | None = None
    if image:
        lanes = [t.stack for t in targets if t.layer == "lane"]
        if named is not None:
            image_stack = named
        elif len(lanes) == 1:
            image_stack = lanes[0]
        elif not lanes:
            raise MultilaneError(
                f"the image {image} is for a lane stack, but no lane stack is named ({', '.join(names)})"
            )
        else:
            raise MultilaneError(
                f"the image {image} fits several lane stacks ({', '.join(lanes)}); pass --var SERVICE and --var LANE to pick one"
            )
    return Request(targets=targets, image=image, image_stack=image_stack, branch=values.get("BRANCH"))

"""Property-based (hypothesis): random params, names, stack YAML and --config
values never raise anything but MultilaneError (the project's one user-error
type, printed as one sentence)."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation import plan
from components import params, stackconfig, stackname
from components.errors import MultilaneError
from components.stackconfig import stack_file_config

SETTINGS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

FILES = {
    "user-api-dev.json": params.ServiceParams,
    "infra-dev.json": params.InfraParams,
    "boot-dev.json": params.BootParams,
    "pipelines-dev.json": params.PipelinesParams,
}


def _paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    return out


SHIPPED = {name: json.loads((params.PARAMS_DIR / name).read_text()) for name in FILES}
FIELD_PATHS = {name: _paths(data) for name, data in SHIPPED.items()}


def _only_project_errors(model: type[params.StrictModel], path: Path) -> None:
    try:
        params.load(model, path)
    except MultilaneError as err:
        assert "\n" not in str(err)


@SETTINGS
@given(
    file=st.sampled_from(sorted(FILES)),
    pick=st.integers(min_value=0),
    value=json_values,
    extra=st.none() | st.tuples(st.text(max_size=10), json_values),
)
def test_random_params_values_raise_only_the_project_error(file: str, pick: int, value: Any, extra: Any) -> None:
    data = json.loads(json.dumps(SHIPPED[file]))
    where = FIELD_PATHS[file][pick % len(FIELD_PATHS[file])]
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    if extra is not None:
        data[extra[0]] = extra[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file
        path.write_text(json.dumps(data))
        _only_project_errors(FILES[file], path)


@SETTINGS
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_params_bytes_raise_only_the_project_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "user-api-dev.json"
        path.write_bytes(content)
        _only_project_errors(params.ServiceParams, path)


NAME_ALPHABET = st.sampled_from("abcdeinfrabootpipelinesuser-apidevprodgray-0123456789-_ \n\t.A\x00é")
names = st.text(NAME_ALPHABET, max_size=60) | st.text(max_size=60)


@SETTINGS
@given(name=names, service=st.none() | st.text(NAME_ALPHABET, min_size=1, max_size=50))
def test_random_stack_names_and_services_raise_only_the_project_error(name: str, service: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        params_dir = Path(tmp) / "params"
        shutil.copytree(params.PARAMS_DIR, params_dir)
        if service is not None and "/" not in service and "\x00" not in service:
            with contextlib.suppress(OSError):  # a name the file system refuses is no params file
                (params_dir / f"{service}-dev.json").write_text((params_dir / "user-api-dev.json").read_text())
        try:
            target = stackname.resolve(name, params_dir)
        except MultilaneError as err:
            assert "\n" not in str(err).replace(repr(name), "")
        else:
            assert target.stack == name and "\n" not in name


@SETTINGS
@given(lane=names)
def test_random_lane_names_raise_only_the_project_error(lane: str) -> None:
    with contextlib.suppress(MultilaneError):
        stackname.check_lane(lane)


yaml_text = st.text(st.sampled_from("config:multilane:priority imageUri stackOrg 0123456789[]{}-\n\t\"'#&*!|>%@`é"))


@SETTINGS
@given(text=yaml_text | st.binary(max_size=120).map(lambda b: b.decode("latin-1")))
def test_random_stack_yaml_raises_only_the_project_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Pulumi.user-api-dev-gray.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            raw = stack_file_config("user-api-dev-gray", Path(tmp))
            stackconfig.parse("user-api-dev-gray", {k.split(":", 1)[1]: str(v) for k, v in raw.items()})
        except MultilaneError as err:
            assert "\n" not in str(err)


@SETTINGS
@given(items=st.lists(st.text(max_size=30), max_size=4))
def test_random_config_flags_raise_only_the_project_error(items: list[str]) -> None:
    with contextlib.suppress(MultilaneError):
        values = plan.parse_config(items)
        stackconfig.parse("user-api-dev-gray", dict(values), prefix="--config ")


STACK_OF = {
    "user-api-dev.json": "user-api-dev-gray",
    "infra-dev.json": "infra-dev",
    "boot-dev.json": "boot-user-api-dev",
    "pipelines-dev.json": "pipelines-dev",
}


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(file=st.sampled_from(sorted(FILES)), pick=st.integers(min_value=0), value=json_values)
def test_random_params_through_the_program_raise_only_the_project_error(file: str, pick: int, value: Any) -> None:
    # Past validation too: a value the models accept must not break a layer builder.
    from harness.offline import run_stack

    data = json.loads(json.dumps(SHIPPED[file]))
    where = FIELD_PATHS[file][pick % len(FIELD_PATHS[file])]
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        params_dir = Path(tmp) / "params"
        shutil.copytree(params.PARAMS_DIR, params_dir)
        (params_dir / file).write_text(json.dumps(data))
        try:
            run_stack(STACK_OF[file], params_dir=params_dir, stacks_dir=Path(tmp))
        except MultilaneError as err:
            assert "\n" not in str(err)
            assert getattr(err, "registered", []) == []


@settings(max_examples=60, deadline=None, database=None)
@given(argv=st.lists(st.text(max_size=20), max_size=4), name=names)
def test_random_plan_arguments_exit_0_or_2(argv: list[str], name: str) -> None:
    from automation.cli import main

    try:
        code = main(["plan", "--", name, *argv] if not argv else ["plan", name, *[f"--config={a}" for a in argv]])
    except SystemExit as exit_:
        code = exit_.code
    assert code in (0, 2)

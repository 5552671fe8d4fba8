"""Bad input, table-driven: one sentence on stderr, exit 2, nothing registered.

Every row runs the real command line (automation.cli.main) in-process on a
scratch copy of params/ and stacks/: ``plan`` for stack names, params files
and stack YAML (recording mocks: the spy collects every registration), the
runner commands against the fake backend (no up/preview/destroy may run), or
a backend that fails every call. A row passes when main returns 2 (or argparse
exits 2), stderr holds exactly one ``error:`` line besides the runner's
``note:`` lines, no traceback, and nothing was registered or run.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from automation import plan as plan_cmd
from automation.cli import main
from automation.commands import common
from automation.workspace import OperationFailedError
from components import params
from components.errors import MultilaneError
from harness.fake import FakeBackend
from harness.offline import run_stack
from tests.runner_helpers import IMAGE, LOWER, Sleeps

DELETE = object()


@dataclass
class World:
    params_dir: Path
    stacks_dir: Path
    tmp: Path
    registered: list[Any] = field(default_factory=list)
    fake: FakeBackend | None = None
    unreadable: Path | None = None  # a file the case makes unreadable (permission denied)

    def path(self, name: str) -> Path:
        return self.params_dir / name


Setup = Callable[[World], list[str]]


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup
    fragment: str


CASES: list[Case] = []


def case(id_: str, fragment: str) -> Callable[[Setup], Setup]:
    def add(fn: Setup) -> Setup:
        CASES.append(Case(id_, fn, fragment))
        return fn

    return add


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    if value is DELETE:
        data.pop(last, None)
    else:
        data[last] = value


# --- stack names (plan <stack>) -------------------------------------------------

STACK_NAMES = [
    ("empty", "", "is not a lower-case name"),
    ("upper", "Infra-dev", "is not a lower-case name"),
    ("trailing-newline", "infra-dev\n", "is not a lower-case name"),
    ("trailing-newline-lane", "user-api-dev-gray\n", "is not a lower-case name"),
    ("trailing-cr", "user-api-dev-gray\r", "is not a lower-case name"),
    ("leading-newline", "\ninfra-dev", "is not a lower-case name"),
    ("trailing-space", "infra-dev ", "is not a lower-case name"),
    ("underscore", "infra_dev", "is not a lower-case name"),
    ("leading-hyphen", "-infra-dev", "is not a lower-case name"),
    ("trailing-hyphen", "user-api-dev-gray-", "is not a lower-case name"),
    ("nul", "user-api-dev-gr\x00ay", "is not a lower-case name"),
    ("unicode", "user-api-dev-grä", "is not a lower-case name"),
    ("too-long", "user-api-dev-" + "a" * 90, "is not a lower-case name"),
    ("bang", "user-api-dev-gray!", "is not a lower-case name"),
    ("space-inside", "user-api-dev-gr ay", "is not a lower-case name"),
    ("infra-unknown-env", "infra-nope", "names env 'nope'"),
    ("infra-extra", "infra-dev-extra", "names env 'dev-extra'"),
    ("pipelines-unknown-env", "pipelines-qa", "names env 'qa'"),
    ("boot-no-service", "boot-nobody-dev", "does not name a {service}-{env}"),
    ("boot-no-env", "boot-user-api", "does not name a {service}-{env}"),
    ("lane-unknown-service", "userapi-dev-gray", "does not start with a {service}-{env}"),
    ("lane-unknown-env", "user-api-qa-gray", "does not start with a {service}-{env}"),
    ("lane-short", "user-api-dev-g", "is not a lane name"),
    ("lane-digit-first", "user-api-dev-1x", "is not a lane name"),
    ("lane-double-hyphen-only", "user-api-dev--", "is not a lower-case name"),
    ("lane-too-long", "user-api-dev-" + "l" * 41, "use at most 40"),
    ("only-service", "user-api", "does not start with a {service}-{env}"),
    ("single-word", "gray", "does not start with a {service}-{env}"),
    ("digits", "1234", "is not a lower-case name"),
    ("tab", "infra-dev\t", "is not a lower-case name"),
]

for _id, _stack, _frag in STACK_NAMES:
    case(f"name-{_id}", _frag)(lambda w, s=_stack: ["plan", "--", s])


# --- params files (plan the stack that reads them) --------------------------------

STACK_OF = {
    "user-api-dev.json": "user-api-dev-gray",
    "infra-dev.json": "infra-dev",
    "boot-dev.json": "boot-user-api-dev",
    "pipelines-dev.json": "pipelines-dev",
}

FIELDS = [
    # service
    ("user-api-dev.json", "containerPort", True, "got true; true/false is not a number"),
    ("user-api-dev.json", "containerPort", "8080", 'got "8080"; write the number without quotes'),
    ("user-api-dev.json", "containerPort", 8080.5, "containerPort"),
    ("user-api-dev.json", "containerPort", 0, "containerPort"),
    ("user-api-dev.json", "containerPort", 70000, "containerPort"),
    ("user-api-dev.json", "containerPort", None, "containerPort"),
    ("user-api-dev.json", "containerPort", DELETE, "required key 'containerPort' is missing"),
    ("user-api-dev.json", "cpu", 300, "is not a Fargate size"),
    ("user-api-dev.json", "cpu", "256", "field 'cpu'"),
    ("user-api-dev.json", "memory", 100, "does not fit cpu"),
    ("user-api-dev.json", "cpuArchitecture", "x86", "cpuArchitecture"),
    ("user-api-dev.json", "desiredCount.default", -1, "desiredCount.default"),
    ("user-api-dev.json", "desiredCount.lane", "1", "desiredCount.lane"),
    ("user-api-dev.json", "desiredCount.lane", 10**15, "desiredCount.lane"),
    ("user-api-dev.json", "healthCheckPath", "health", "must be a path starting with /"),
    ("user-api-dev.json", "healthCheckPath", "/he alth", "no spaces"),
    ("user-api-dev.json", "healthCheckPath", "/a\nb", "no spaces"),
    ("user-api-dev.json", "healthCheckPath", "/" + "a" * 1100, "at most 1024"),
    ("user-api-dev.json", "healthCheckGracePeriodSeconds", -1, "healthCheckGracePeriodSeconds"),
    ("user-api-dev.json", "environment", {"1BAD": "x"}, "is not an environment variable name"),
    ("user-api-dev.json", "environment", {"A": 1}, "environment.A"),
    ("user-api-dev.json", "environment", ["A=1"], "field 'environment'"),
    ("user-api-dev.json", "secrets", {"DB": "plain-text"}, "must be the ARN"),
    ("user-api-dev.json", "bootstrapImage", "nginx", "is not an image reference"),
    ("user-api-dev.json", "bootstrapImage", "nginx:1.27 ", "is not an image reference"),
    ("user-api-dev.json", "app", DELETE, "required key 'app' is missing"),
    ("user-api-dev.json", "app.repository", "noslash", "is not an owner/name"),
    ("user-api-dev.json", "app.extra", 1, "unknown key 'app.extra'"),
    ("user-api-dev.json", "alarms.healthyHostsMin", 10**15, "alarms.healthyHostsMin"),
    ("user-api-dev.json", "alarms.healthyHostsMin", 0, "alarms.healthyHostsMin"),
    ("user-api-dev.json", "alarms.periodSeconds", 45, "alarms.periodSeconds"),
    ("user-api-dev.json", "alarms.target5xxPercent", 0, "alarms.target5xxPercent"),
    ("user-api-dev.json", "alarms.target5xxPercent", "1", "alarms.target5xxPercent"),
    ("user-api-dev.json", "laneCarriers", [], "laneCarriers"),
    ("user-api-dev.json", "laneCarriers", ["baggage"], "must list 'tracestate'"),
    ("user-api-dev.json", "laneCarriers", ["tracestate", "tracestate"], "must list 'tracestate' once"),
    ("user-api-dev.json", "extra", 1, "unknown key 'extra'"),
    ("user-api-dev.json", "imageURI", "x", "unknown key 'imageURI'"),
    # infra
    ("infra-dev.json", "region", "mars-1", "is not in components/regions.py"),
    ("infra-dev.json", "region", 1, "field 'region'"),
    ("infra-dev.json", "production", "yes", "field 'production'"),
    ("infra-dev.json", "production", 1, "field 'production'"),
    ("infra-dev.json", "network.mode", "other", "network"),
    ("infra-dev.json", "network.vpcCidr", "10.0.0.0/8", "must have a prefix between /16 and /28"),
    ("infra-dev.json", "network.vpcCidr", "not-a-cidr", "is not an IPv4 CIDR block"),
    ("infra-dev.json", "network.availabilityZones", ["ap-southeast-2a"], "network.availabilityZones"),
    ("infra-dev.json", "network.publicSubnetCidrs", ["10.99.0.0/22", "10.99.4.0/22"], "is not inside vpcCidr"),
    ("infra-dev.json", "namespaceName", "Bad_Name", "is not a lower-case DNS name"),
    ("infra-dev.json", "cluster.capacityProviders", ["EC2"], "cluster.capacityProviders"),
    ("infra-dev.json", "cluster.containerInsights", "disabled", "cluster.containerInsights"),
    # boot
    ("boot-dev.json", "httpPort", 0, "httpPort"),
    ("boot-dev.json", "httpPort", "80", "httpPort"),
    ("boot-dev.json", "sslPolicy", "ELBSecurityPolicy-Made-Up-2030", "is not a predefined ALB security policy"),
    ("boot-dev.json", "sslPolicy", "", "is not a predefined ALB security policy"),
    ("boot-dev.json", "healthCheck.matcher", "abc", "is not an HTTP success-code matcher"),
    ("boot-dev.json", "healthCheck.matcher", "199", "is not an HTTP success-code matcher"),
    ("boot-dev.json", "healthCheck.matcher", "200-600", "is not an HTTP success-code matcher"),
    ("boot-dev.json", "healthCheck.matcher", "300-200", "is not an HTTP success-code matcher"),
    ("boot-dev.json", "healthCheck.matcher", "200,", "is not an HTTP success-code matcher"),
    ("boot-dev.json", "healthCheck.intervalSeconds", 4, "healthCheck.intervalSeconds"),
    ("boot-dev.json", "healthCheck.timeoutSeconds", 5, "must be less than intervalSeconds"),
    ("boot-dev.json", "certificateArn", "arn:bad", "is not an ACM certificate ARN"),
    ("boot-dev.json", "allowedCidrs", ["10.0.0.0/33"], "is not an IPv4 CIDR block"),
    ("boot-dev.json", "allowedCidrs", [], "allowedCidrs"),
    ("boot-dev.json", "logRetentionDays", 2, "logRetentionDays"),
    ("boot-dev.json", "deletionProtection", "true", "deletionProtection"),
    ("boot-dev.json", "idleTimeoutSeconds", 0, "idleTimeoutSeconds"),
    ("boot-dev.json", "ecrKeepImages", 10**15, "ecrKeepImages"),
    # pipelines
    ("pipelines-dev.json", "stateBucket", "192.168.1.1", "formatted as an IP address"),
    ("pipelines-dev.json", "stateBucket", "UPPER", "is not an S3 bucket name"),
    ("pipelines-dev.json", "stateBucket", "ab", "is not an S3 bucket name"),
    ("pipelines-dev.json", "stateBucket", "a..b", "is not an S3 bucket name"),
    ("pipelines-dev.json", "stateBucket", "bucket\n", "is not an S3 bucket name"),
    ("pipelines-dev.json", "buildImage", "aws/codebuild/standard 5.0", "is not a CodeBuild image"),
    ("pipelines-dev.json", "buildImage", "", "is not a CodeBuild image"),
    ("pipelines-dev.json", "pulumiVersion", "latest", "is not a pinned version"),
    ("pipelines-dev.json", "pulumiVersion", "3.272.0\n", "is not a pinned version"),
    ("pipelines-dev.json", "connectionArn", "x", "is not a CodeConnections connection ARN"),
    ("pipelines-dev.json", "stateKmsKeyArn", "x", "is not a KMS key or alias ARN"),
    ("pipelines-dev.json", "artifactRetentionDays", 0, "artifactRetentionDays"),
    ("pipelines-dev.json", "buildLogRetentionDays", 2, "buildLogRetentionDays"),
    ("pipelines-dev.json", "infraRepository.repository", "x", "is not an owner/name"),
]


def _field_setup(w: World, file: str, dotted: str, value: Any) -> list[str]:
    path = w.path(file)
    data = json.loads(path.read_text())
    _set(data, dotted, value)
    path.write_text(json.dumps(data))
    return ["plan", STACK_OF[file]]


for _file, _dotted, _value, _frag in FIELDS:
    case(f"params-{_file.removesuffix('.json')}-{_dotted}-{_value!r}"[:90], _frag)(
        functools.partial(_field_setup, file=_file, dotted=_dotted, value=_value)
    )

RAW = [
    ("non-utf8", b'{"containerPort": 8080, "x": "\xff"}', "is not UTF-8 text"),
    ("latin1", '{"app": "café"}'.encode("latin-1"), "is not UTF-8 text"),
    ("nested-5000", b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", "nests JSON deeper than"),
    ("brackets-100000", b"[" * 100_000, "nests JSON deeper than"),
    ("digits-5001", b'{"containerPort": ' + b"9" * 5001 + b"}", "more than 4300 digits"),
    ("duplicate-key", b'{"containerPort": 8080, "containerPort": 9090}', "has the key 'containerPort' twice"),
    ("nan", b'{"containerPort": NaN}', "is not valid JSON"),
    ("infinity", b'{"containerPort": Infinity}', "is not valid JSON"),
    ("empty", b"", "is not valid JSON"),
    ("truncated", b'{"containerPort": 80', "is not valid JSON"),
    ("null", b"null", "must hold a JSON object"),
    ("list", b"[]", "must hold a JSON object"),
    ("string", b'"x"', "must hold a JSON object"),
    ("bom", b'\xef\xbb\xbf{"containerPort": 8080}', "is not valid JSON"),
]


def _raw_setup(w: World, content: bytes) -> list[str]:
    w.path("user-api-dev.json").write_bytes(content)
    return ["plan", "user-api-dev-gray"]


for _id, _content, _frag in RAW:
    case(f"raw-{_id}", _frag)(functools.partial(_raw_setup, content=_content))

for _file, _stack in STACK_OF.items():
    case(f"raw-{_file}-non-utf8", "is not UTF-8 text")(
        lambda w, f=_file, s=_stack: (w.path(f).write_bytes(b'{"\xfe": 1}'), ["plan", s])[1]
    )


@case("params-directory", "is a directory, not a file")
def _directory(w: World) -> list[str]:
    w.path("user-api-dev.json").unlink()
    w.path("user-api-dev.json").mkdir()
    return ["plan", "user-api-dev-gray"]


@case("params-symlink-loop", "is a symbolic link that loops")
def _loop(w: World) -> list[str]:
    p = w.path("boot-dev.json")
    p.unlink()
    p.symlink_to(p.name)
    return ["plan", "boot-user-api-dev"]


@case("params-dangling-symlink", "is a symbolic link to a file that does not exist")
def _dangling(w: World) -> list[str]:
    p = w.path("boot-dev.json")
    p.unlink()
    p.symlink_to("nowhere.json")
    return ["plan", "boot-user-api-dev"]


@case("params-unreadable", "cannot be read (permission denied)")
def _unreadable(w: World) -> list[str]:
    w.unreadable = w.path("boot-dev.json")
    return ["plan", "boot-user-api-dev"]


@case("params-missing", "params/boot-dev.json is missing")
def _missing(w: World) -> list[str]:
    w.path("boot-dev.json").unlink()
    return ["plan", "boot-user-api-dev"]


# --- service and env names -----------------------------------------------------------


def _service(w: World, service: str, env: str = "dev") -> None:
    w.path(f"{service}-{env}.json").write_text(w.path("user-api-dev.json").read_text())


@case("service-infra-tools", "starts with the layer word 'infra'")
def _infra_tools(w: World) -> list[str]:
    _service(w, "infra-tools")
    return ["plan", "boot-infra-tools-dev"]


@case("service-boot-x", "starts with the layer word 'boot'")
def _boot_x(w: World) -> list[str]:
    _service(w, "boot-x")
    return ["plan", "boot-boot-x-dev"]


@case("service-pipelines-x", "starts with the layer word 'pipelines'")
def _pipelines_x(w: World) -> list[str]:
    _service(w, "pipelines-x")
    return ["plan", "boot-pipelines-x-dev"]


@case("service-too-long", "use at most 40" if False else "rename the file to a service of at most 40")
def _long_service(w: World) -> list[str]:
    _service(w, "s" * 41)
    return ["plan", f"boot-{'s' * 41}-dev"]


@case("service-too-long-lane", "rename the file to a service of at most 40")
def _long_service_lane(w: World) -> list[str]:
    _service(w, "s" * 41)
    return ["plan", f"{'s' * 41}-dev-gray"]


@case("service-infra-tools-pipeline", "starts with the layer word 'infra'")
def _infra_tools_pipeline(w: World) -> list[str]:
    _service(w, "infra-tools")
    return ["plan", "pipelines-dev"]


@case("service-too-long-pipeline", "rename the file to a service of at most 40")
def _long_service_pipeline(w: World) -> list[str]:
    _service(w, "s" * 41)
    return ["plan", "pipelines-dev"]


@case("env-too-long", "rename the file to an env of at most 16")
def _long_env(w: World) -> list[str]:
    w.path(f"infra-{'e' * 17}.json").write_text(w.path("infra-dev.json").read_text())
    return ["plan", f"infra-{'e' * 17}"]


@case("ecs-name-collision", "the same name as lane 'gray' of service user-api")
def _ecs_collision(w: World) -> list[str]:
    _service(w, "user")
    return ["plan", "user-dev-api-gray"]


@case("stack-reads-two-ways", "is ambiguous")
def _two_ways(w: World) -> list[str]:
    _service(w, "user-api-dev")
    return ["plan", "user-api-dev-dev-gray"]


@case("stack-reads-two-ways-other", "is ambiguous")
def _two_ways_other(w: World) -> list[str]:
    _service(w, "user")
    _service(w, "user-dev-x")
    return ["plan", "user-dev-x-dev-gray"]


# --- stack YAML (stacks/Pulumi.<stack>.yaml) ------------------------------------------------

YAML = [
    ("typo-priority", "config:\n  multilane:prioirty: 5\n", "did you mean 'priority'?"),
    ("typo-imageURI", "config:\n  multilane:imageURI: a/b:c\n", "did you mean 'imageUri'?"),
    ("unknown-key", "config:\n  multilane:color: red\n", "is not a config key the program reads"),
    ("bare-typo", "config:\n  prioirty: 5\n", "did you mean 'priority'?"),
    ("structured-map", "config:\n  multilane:priority:\n    a: 1\n", "must be a plain value"),
    ("structured-list", "config:\n  multilane:imageUri: [1, 2]\n", "must be a plain value"),
    ("empty-value", "config:\n  multilane:priority:\n", "must be a plain value"),
    ("secure-value", "config:\n  multilane:priority:\n    secure: AAAA\n", "must be a plain value"),
    ("priority-word", "config:\n  multilane:priority: high\n", "is not a whole number"),
    ("priority-float", "config:\n  multilane:priority: 1.5\n", "is not a whole number"),
    ("priority-bool", "config:\n  multilane:priority: true\n", "is not a whole number"),
    ("priority-negative", "config:\n  multilane:priority: -5\n", "is not a whole number"),
    ("priority-huge", "config:\n  multilane:priority: " + "9" * 5001 + "\n", "more than 4300 digits"),
    ("priority-range", "config:\n  multilane:priority: 50001\n", "is outside 1..50000"),
    ("image-no-tag", "config:\n  multilane:imageUri: nginx\n", "is not an image reference"),
    ("org-space", "config:\n  multilane:stackOrg: a b\n", "is not an organization name"),
    ("config-list", "config: [1, 2]\n", "'config' must be a map"),
    ("top-level-list", "- config\n", "must hold a map"),
    ("top-level-scalar", "just words\n", "must hold a map"),
    ("numeric-key", "config:\n  1: 2\n", "multilane:1 is not a config key"),
    ("config-scalar", "config: 5\n", "'config' must be a map"),
    ("bad-yaml", "config: [\n", "is not valid YAML"),
    ("tab-yaml", "config:\n\tmultilane:priority: 5\n", "is not valid YAML"),
    ("deep-yaml", "config: " + "[" * 5000 + "]" * 5000 + "\n", "is not valid YAML"),
]


def _yaml_setup(w: World, text: str | bytes) -> list[str]:
    path = w.stacks_dir / "Pulumi.user-api-dev-gray.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["plan", "user-api-dev-gray"]


for _id, _text, _frag in YAML:
    case(f"yaml-{_id}", _frag)(functools.partial(_yaml_setup, text=_text))

case("yaml-non-utf8", "is not UTF-8 text")(
    functools.partial(_yaml_setup, text=b"config:\n  multilane:imageUri: \xff\n")
)


@case("yaml-directory", "is a directory, not a file")
def _yaml_dir(w: World) -> list[str]:
    (w.stacks_dir / "Pulumi.user-api-dev-gray.yaml").mkdir()
    return ["plan", "user-api-dev-gray"]


@case("yaml-symlink-loop", "is a symbolic link that loops")
def _yaml_loop(w: World) -> list[str]:
    p = w.stacks_dir / "Pulumi.user-api-dev-gray.yaml"
    p.symlink_to(p.name)
    return ["plan", "user-api-dev-gray"]


# --- plan --config ----------------------------------------------------------------------

CONFIG = [
    (
        "imageURI",
        ["imageURI=a/b:c"],
        "--config imageURI is not a config key the program reads; did you mean 'imageUri'?",
    ),
    ("prioirty", ["prioirty=5"], "did you mean 'priority'?"),
    ("namespaced-typo", ["multilane:prioirty=5"], "--config prioirty"),
    ("other-namespace", ["aws:region=us-east-1"], "the program reads only multilane:*"),
    ("no-equals", ["priority"], "is not KEY=VALUE"),
    ("empty-key", ["=5"], "is not KEY=VALUE"),
    ("priority-word", ["priority=abc"], "--config priority 'abc' is not a whole number"),
    ("priority-hex", ["priority=0x10"], "--config priority"),
    ("priority-range", ["priority=60000"], "--config priority 60000 is outside"),
    ("image", ["imageUri=nginx"], "--config imageUri 'nginx' is not an image reference"),
    ("org", ["stackOrg=a/b"], "--config stackOrg 'a/b' is not an organization name"),
]

for _id, _items, _frag in CONFIG:
    case(f"config-{_id}", _frag)(
        lambda w, items=_items: ["plan", "user-api-dev-gray", *[x for i in items for x in ("--config", i)]]
    )


# --- runner commands (fake backend; nothing may run) ----------------------------------------


def _file(w: World, name: str, content: bytes) -> str:
    path = w.tmp / name
    path.write_bytes(content)
    return str(path)


PARAMS_FILES = [
    ("non-utf8", b'{"Parameters": {"Lane": "\xff"}}', "is not UTF-8 text"),
    ("nested", b'{"Parameters":' + b"[" * 5000 + b"]" * 5000 + b"}", "nests JSON deeper than"),
    ("brackets", b"[" * 100_000, "nests JSON deeper than"),
    ("digits", b'{"Parameters": {"Lane": ' + b"1" * 5001 + b"}}", "more than 4300 digits"),
    ("duplicate", b'{"Parameters": {"Lane": "a", "Lane": "b"}}', "has the key 'Lane' twice"),
    ("not-object", b'{"Parameters": []}', "must hold"),
    ("unknown", b'{"Parameters": {"Color": "red"}}', "unknown parameter 'Color'"),
    ("number", b'{"Parameters": {"Lane": 5}}', "must be a non-empty string"),
    ("image", b'{"Parameters": {"ImageUri": "nginx"}}', "ImageUri"),
]

for _id, _content, _frag in PARAMS_FILES:
    case(f"params-file-{_id}", _frag)(
        lambda w, c=_content: ["up", "--params-file", _file(w, "cfn-params.json", c), "user-api-dev-gray"]
    )


@case("params-file-directory", "is a directory, not a file")
def _pf_dir(w: World) -> list[str]:
    (w.tmp / "cfn").mkdir()
    return ["up", "--params-file", str(w.tmp / "cfn"), "user-api-dev-gray"]


@case("params-file-loop", "is a symbolic link that loops")
def _pf_loop(w: World) -> list[str]:
    (w.tmp / "loop.json").symlink_to("loop.json")
    return ["preview", "--params-file", str(w.tmp / "loop.json"), "user-api-dev-gray"]


@case("params-file-unreadable", "cannot be read (permission denied)")
def _pf_unreadable(w: World) -> list[str]:
    path = _file(w, "cfn-params.json", b"{}")
    w.unreadable = Path(path)
    return ["up", "--params-file", path, "user-api-dev-gray"]


CLI = [
    ("bogus-command", ["bogus"], "see `python -m automation --help`"),
    ("up-bad-option", ["up", "--nope"], "unrecognized arguments: --nope"),
    ("up-parallel-word", ["up", "--parallel", "x", "infra-dev"], "invalid int value"),
    ("up-parallel-zero", ["up", "--parallel", "0", "infra-dev"], "--parallel 0 is out of range"),
    ("up-nothing", ["up"], "name at least one stack"),
    ("up-var-no-equals", ["up", "--var", "LANE"], "is not KEY=VALUE"),
    ("up-var-unknown", ["up", "--var", "COLOR=red", "infra-dev"], "is not a runner variable"),
    ("up-var-empty", ["up", "--var", "LANE=", "infra-dev"], "--var LANE is empty"),
    ("up-var-lane-bad", ["up", "--var", "SERVICE=user-api", "--var", "LANE=Gray!"], "is not a lane name"),
    ("up-var-image", ["up", "--var", "IMAGE_URI=nginx", "user-api-dev-gray"], "--var IMAGE_URI"),
    ("up-stack-newline", ["up", "infra-dev\n"], "is not a lower-case name"),
    ("preview-bad-stack", ["preview", "user-api-dev-Gray"], "is not a lower-case name"),
    ("destroy-missing", ["destroy", "user-api-dev-nolane"], "does not exist in the backend"),
    ("promote-default", ["promote", "user-api-dev", "default"], "cannot promote"),
    ("promote-bad-lane", ["promote", "user-api-dev", "G!"], "is not a lane name"),
    ("rollback-unknown", ["rollback", "billing-dev"], "is not a {service}-{env} with a params file"),
    ("lanes-unknown", ["lanes", "user-api-dev\n"], "is not a {service}-{env} with a params file"),
    ("plan-no-stack", ["plan"], "the following arguments are required"),
]

for _id, _argv, _frag in CLI:
    case(f"cli-{_id}", _frag)(lambda w, a=_argv: list(a))


@case("pr-preview-changed-files-non-utf8", "--changed-files")
def _changed_non_utf8(w: World) -> list[str]:
    return ["pr-preview", "--changed-files", _file(w, "changed.txt", b"params/user-api-dev.json\n\xff\n")]


@case("pr-preview-changed-files-missing", "cannot read it")
def _changed_missing(w: World) -> list[str]:
    return ["pr-preview", "--changed-files", str(w.tmp / "nope.txt")]


@case("pr-preview-changed-files-directory", "is a directory")
def _changed_dir(w: World) -> list[str]:
    (w.tmp / "changed").mkdir()
    return ["pr-preview", "--changed-files", str(w.tmp / "changed")]


@case("pr-preview-output-missing-folder", "does not exist")
def _output_missing(w: World) -> list[str]:
    changed = _file(w, "changed.txt", b"params/user-api-dev.json\n")
    return ["pr-preview", "--changed-files", changed, "--output", str(w.tmp / "no" / "such" / "comment.md")]


@case("pr-preview-output-directory", "is a directory")
def _output_dir(w: World) -> list[str]:
    changed = _file(w, "changed.txt", b"params/user-api-dev.json\n")
    return ["pr-preview", "--changed-files", changed, "--output", str(w.tmp)]


# --- a backend that cannot be reached (all 7 runner commands) ------------------------------


class UnreachableBackend:
    """Every call fails as `pulumi` does when the S3 state bucket cannot be read."""

    TEXT = (
        'code: 255\n stdout: \n stderr: error: failed to load checkpoint: blob (key ".pulumi/meta.yaml") '
        "(code=Unknown): NoCredentialProviders: no valid providers in chain\n"
    )

    def describe(self) -> str:
        return "state backend: s3://unreachable"

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise OperationFailedError(self.TEXT)

        return fail


UNREACHABLE = [
    ["up", "user-api-dev-gray"],
    ["preview", "user-api-dev-gray"],
    ["destroy", "user-api-dev-gray"],
    ["promote", "user-api-dev", "gray"],
    ["rollback", "user-api-dev"],
    ["lanes", "user-api-dev"],
    ["pr-preview", "--changed-files", "CHANGED"],
]

for _argv in UNREACHABLE:

    def _unreachable(w: World, argv: list[str] = _argv) -> list[str]:
        common.SEAMS.backend = UnreachableBackend  # restored by the fixture's monkeypatch
        changed = _file(w, "changed.txt", b"params/user-api-dev.json\n")
        return [changed if a == "CHANGED" else a for a in argv]

    case(f"backend-unreachable-{_argv[0]}", "the Pulumi state backend failed: failed to load checkpoint")(_unreachable)


# --- the harness --------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    params_dir = tmp_path / "params"
    stacks_dir = tmp_path / "stacks"
    import shutil

    shutil.copytree(params.PARAMS_DIR, params_dir)
    stacks_dir.mkdir()
    w = World(params_dir, stacks_dir, tmp_path)

    def spy(stack: str, **kwargs: Any):
        try:
            rec = run_stack(stack, params_dir=params_dir, stacks_dir=stacks_dir, **kwargs)
        except MultilaneError as err:
            w.registered.extend(getattr(err, "registered", []))
            raise
        w.registered.extend(rec.registrations)
        return rec

    monkeypatch.setattr(plan_cmd, "run_stack", spy)
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-default", {"multilane:imageUri": IMAGE})
    fake.calls.clear()
    w.fake = fake
    monkeypatch.setattr(common.SEAMS, "backend", lambda: fake)
    monkeypatch.setattr(common.SEAMS, "rules_source", lambda arn: [])
    monkeypatch.setattr(common.SEAMS, "waiter", lambda cluster, service: "stable")
    monkeypatch.setattr(common.SEAMS, "sleep", Sleeps())
    monkeypatch.setattr(common.SEAMS, "environ", {"APP_ENV": "dev"})
    return w


def run_main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse
        return int(exit_.code or 0)


def test_there_are_at_least_150_bad_inputs() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_sentence_exit_2_nothing_registered(bad: Case, world: World, monkeypatch, capsys) -> None:
    argv = bad.setup(world)
    unreadable = world.unreadable
    if unreadable is not None:
        # Root reads any file whatever its mode: make the read itself fail.
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if os.path.abspath(self) == os.path.abspath(unreadable):
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    capsys.readouterr()
    rc = run_main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert rc == 2, f"exit {rc}; stderr: {err!r}; stdout: {out[-300:]!r}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert bad.fragment in lines[0], lines[0]
    assert world.registered == []
    assert world.fake is not None and [c for c in world.fake.calls if c.op in ("up", "preview", "destroy")] == []

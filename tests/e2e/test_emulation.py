"""The emulator itself: nothing passes through, and what it sends is what AWS accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi
import pytest

from components import naming, params
from components.params import PARAMS_DIR
from emulator import HANDLERS, NOT_EMULATED, EmulationError, Emulator, model
from emulator.core import HANDLERS as CORE_HANDLERS
from emulator.not_emulated import NotEmulated, validated_only
from harness.offline import run_stack

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_a_type_without_emulation_fails_the_run_with_its_name(aws: Emulator) -> None:
    def program(stack: str, params_dir: Path) -> dict:
        pulumi.CustomResource("aws:sqs/queue:Queue", "jobs", {"name": "jobs"})
        return {}

    with pytest.raises(
        EmulationError, match=re.escape("no moto emulation for resource type aws:sqs/queue:Queue (jobs)")
    ):
        aws.run("emulation-test", program=program)
    assert aws.ledger.entries == {}


def test_every_call_is_checked_against_the_service_model_before_moto_sees_it(aws: Emulator) -> None:
    def program(stack: str, params_dir: Path) -> dict:
        pulumi.CustomResource("aws:iam/role:Role", "role", {"name": "r" * 65, "assumeRolePolicy": TRUST})
        return {}

    with pytest.raises(EmulationError, match="RoleName: 65 characters, the maximum is 64"):
        aws.run("emulation-test", program=program)
    assert ("iam", "create_role") not in aws.calls


def test_moto_rejects_a_malformed_policy_document(aws: Emulator) -> None:
    bad = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}]}
    )

    def program(stack: str, params_dir: Path) -> dict:
        role = pulumi.CustomResource("aws:iam/role:Role", "role", {"name": "app", "assumeRolePolicy": TRUST})
        pulumi.CustomResource("aws:iam/rolePolicy:RolePolicy", "policy", {"role": role.id, "name": "p", "policy": bad})
        return {}

    with pytest.raises(EmulationError, match="MalformedPolicyDocument"):
        aws.run("emulation-test", program=program)


@pytest.mark.parametrize(
    ("service", "operation", "request_", "error"),
    [
        (
            "elbv2",
            "CreateRule",
            {"ListenerArn": "a", "Conditions": [], "Actions": [], "Priority": 50001},
            "above the maximum 50000",
        ),
        ("elbv2", "CreateTargetGroup", {"Name": "tg", "Protocol": "HTTPX"}, "'HTTPX' is not one of"),
        ("ecs", "CreateService", {}, "missing required member serviceName"),
        ("ecs", "CreateCluster", {"clusterNam": "x"}, "unknown member 'clusterNam'"),
        ("iam", "CreateRole", {"RoleName": "no spaces", "AssumeRolePolicyDocument": TRUST}, "does not match"),
        ("ecs", "CreateService", {"serviceName": "s", "desiredCount": "2"}, "expected an integer"),
        ("logs", "CreateLogGroup", {"logGroupName": ""}, "0 characters, the minimum is 1"),
    ],
)
def test_model_validation_rejects_what_aws_would(service, operation, request_, error) -> None:
    with pytest.raises(model.ModelViolationError, match=re.escape(error)):
        model.validate(service, operation, request_)


def test_a_non_emulated_type_is_validated_against_the_model_and_never_sent(aws: Emulator, monkeypatch) -> None:
    spec = NotEmulated("logs", "CreateLogGroup", lambda i: {"logGroupName": i["name"]}, why="test of the mechanism")
    monkeypatch.setitem(CORE_HANDLERS, "test:index/group:Group", validated_only("test:index/group:Group", spec))

    def program(name: str):
        def run(stack: str, params_dir: Path) -> dict:
            pulumi.CustomResource("test:index/group:Group", "group", {"name": name})
            return {}

        return run

    rec = aws.run("emulation-test", program=program("/ecs/dev/user-api"))
    (reg,) = rec.resources
    assert aws.ledger.get(reg).emulated is False
    assert aws.calls == []
    with pytest.raises(EmulationError, match="logGroupName: 513 characters, the maximum is 512"):
        aws.run("emulation-test", program=program("x" * 513))


def _example_stacks() -> list[tuple[str, dict]]:
    """Every stack the example params describe, with a lane image where one is needed."""
    stacks: list[tuple[str, dict]] = []
    names = sorted(p.stem for p in PARAMS_DIR.glob("*.json"))
    envs = [n.removeprefix("infra-") for n in names if n.startswith("infra-")]
    for env in envs:
        stacks += [(naming.infra_stack(env), {}), (naming.pipelines_stack(env), {})]
        for name in names:
            service = name.removesuffix(f"-{env}")
            if name.endswith(f"-{env}") and service not in naming.RESERVED_SERVICE_NAMES:
                svc = params.load_service(service, env)
                image = "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/x:sha-abc1234"
                stacks += [
                    (naming.boot_stack(service, env), {}),
                    (naming.lane_stack(service, env, "default"), {} if svc.bootstrap_image else {"imageUri": image}),
                    (naming.lane_stack(service, env, "gray"), {"imageUri": image}),
                ]
    return stacks


def _registered_types() -> set[str]:
    types: set[str] = set()
    for stack, config in _example_stacks():
        types |= run_stack(stack, config=config).types()
    return types


def test_every_type_the_layers_register_is_emulated_or_listed_as_not_emulated() -> None:
    registered = _registered_types()
    assert len(registered) > 30
    assert registered - set(HANDLERS) == set(), "add a handler in emulator/ (or not_emulated.py)"
    # No handler for a type nobody registers: each one is exercised by the flow.
    assert set(HANDLERS) - registered == set()
    assert set(NOT_EMULATED) <= set(HANDLERS)


def test_the_readme_table_lists_every_type_and_whether_moto_emulates_it() -> None:
    text = README.read_text()
    section = text.split("## AWS-emulated tests", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (yes|no)\b", section, flags=re.MULTILINE)
    assert dict(rows) == {t: "no" if t in NOT_EMULATED else "yes" for t in HANDLERS}

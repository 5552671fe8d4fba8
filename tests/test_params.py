"""params/*.json validation: each bad input is one sentence naming file and
field, and the stack registers nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components import params
from components.errors import MultilaneError
from harness.offline import run_stack
from tests.conftest import edit_json

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_params_file_is_valid() -> None:
    for env in params.envs():
        params.load_infra(env)
        params.load_boot(env)
        params.load_pipelines(env)
        assert params.services(env) == ["order-api", "user-api"]
        for service in params.services(env):
            params.load_service(service, env)
    assert params.envs() == ["dev", "prod"]


def _net(**change):
    def apply(d):
        d["network"].update(change)

    return apply


INFRA_CASES = [
    (lambda d: d.update(colour="blue"), "unknown key 'colour'; remove it or fix its spelling"),
    (lambda d: d.pop("region"), "required key 'region' is missing"),
    (lambda d: d.update(production="sometimes"), "field 'production'"),
    (lambda d: d.update(region="mars-north-1"), "region 'mars-north-1' is not in components/regions.py"),
    (_net(vpcCidr="10.10.0.0/33"), "'10.10.0.0/33' is not an IPv4 CIDR block"),
    (_net(vpcCidr="10.0.0.0/8"), "must have a prefix between /16 and /28"),
    (_net(vpcCidr="10.10.0.0/8"), "has host bits set"),
    (_net(publicSubnetCidrs=["10.10.0.0/22", "10.10.0.0/24"]), "subnets 10.10.0.0/22 and 10.10.0.0/24 overlap"),
    (_net(privateSubnetCidrs=["10.10.32.0/19", "10.99.0.0/19"]), "subnet 10.99.0.0/19 is not inside vpcCidr"),
    (_net(privateSubnetCidrs=["10.10.32.0/19"]), "privateSubnetCidrs has 1 entries but availabilityZones has 2"),
    (_net(availabilityZones=["ap-southeast-2a"]), "field 'network.availabilityZones'"),
    (
        _net(availabilityZones=["ap-southeast-2a", "ap-southeast-2z"]),
        "'ap-southeast-2z' is not a zone of ap-southeast-2",
    ),
    (_net(availabilityZones=["ap-southeast-2a", "ap-southeast-2a"]), "lists a zone twice"),
    (_net(natMode="double"), "field 'network.natMode'"),
    (lambda d: d.update(namespaceName="Dev_Namespace"), "is not a lower-case DNS name"),
]


@pytest.mark.parametrize(("change", "fragment"), INFRA_CASES)
def test_bad_infra_params_name_file_and_field(params_dir: Path, change, fragment: str) -> None:
    edit_json(params_dir / "infra-dev.json", change)
    with pytest.raises(MultilaneError) as err:
        run_stack("infra-dev", params_dir=params_dir)
    assert str(err.value).startswith("params/infra-dev.json: ") or "infra-dev.json" in str(err.value)
    assert fragment in str(err.value)
    assert err.value.registered == []  # nothing registered


def test_region_az_count_limit(params_dir: Path) -> None:
    def four_zones(d):
        d["region"] = "us-west-1"
        d["network"].update(
            availabilityZones=["us-west-1a", "us-west-1b", "us-west-1c"],
            publicSubnetCidrs=["10.10.0.0/22", "10.10.4.0/22", "10.10.8.0/22"],
            privateSubnetCidrs=["10.10.32.0/19", "10.10.64.0/19", "10.10.96.0/19"],
        )

    edit_json(params_dir / "infra-dev.json", four_zones)
    with pytest.raises(MultilaneError, match="us-west-1 offers at most 2 zones to an account, params list 3"):
        params.load_infra("dev", params_dir)


WRAP = {"mode": "wrap", "vpcId": "vpc-0abc1234def567890", "privateSubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]}


@pytest.mark.parametrize(
    ("network", "fragment"),
    [
        ({"mode": "wrap", "privateSubnetIds": WRAP["privateSubnetIds"]}, "required key 'network.vpcId' is missing"),
        ({"mode": "wrap", "vpcId": WRAP["vpcId"]}, "required key 'network.privateSubnetIds' is missing"),
        ({**WRAP, "vpcId": "vpc-xyz"}, "'vpc-xyz' is not a VPC id"),
        ({**WRAP, "privateSubnetIds": ["subnet-0a1b2c3d"]}, "field 'network.privateSubnetIds'"),
        ({**WRAP, "privateSubnetIds": ["subnet-0a1b2c3d", "sn-1"]}, "'sn-1' is not a subnet id"),
        ({**WRAP, "publicSubnetIds": ["subnet-0a1b2c3d", "subnet-0f0f0f0f"]}, "listed as both public and private"),
        ({**WRAP, "vpcCidr": "10.0.0.0/16"}, "unknown key 'network.vpcCidr'"),
        ({"mode": "adopt"}, "field 'network'"),
    ],
)
def test_bad_wrap_network(params_dir: Path, network: dict, fragment: str) -> None:
    edit_json(params_dir / "infra-dev.json", lambda d: d.update(network=network))
    with pytest.raises(MultilaneError) as err:
        run_stack("infra-dev", params_dir=params_dir)
    assert "params/infra-dev.json" in str(err.value)
    assert fragment in str(err.value)
    assert err.value.registered == []


SERVICE_CASES = [
    (lambda d: d.update(cpu=300), "cpu 300 is not a Fargate size"),
    (lambda d: d.update(memory=4096), "memory 4096 does not fit cpu 256 on Fargate"),
    (lambda d: d.update(containerPort=70000), "field 'containerPort'"),
    (lambda d: d.update(containerPort="http"), "field 'containerPort'"),
    (lambda d: d["secrets"].update(DB_PASSWORD="hunter2"), "must be the ARN of an SSM parameter or Secrets Manager"),
    (lambda d: d["environment"].update({"1BAD": "x"}), "'1BAD' is not an environment variable name"),
    (lambda d: d.update(bootstrapImage="nginx"), "'nginx' is not an image reference with a tag or digest"),
    (lambda d: d.update(healthCheckPath="health"), "must be a path starting with /"),
    (lambda d: d.pop("app"), "required key 'app' is missing"),
    (lambda d: d["app"].update(repository="not a repo"), "is not an owner/name repository id"),
    (lambda d: d.update(laneCarriers=["baggage"]), "must list 'tracestate' once"),
    (lambda d: d["desiredCount"].update(lane=-1), "field 'desiredCount.lane'"),
    (lambda d: d.update(enviroment={}), "unknown key 'enviroment'"),
    # issue 12: a wildcard secret ARN would become Resource ...:secret:* on the execution role
    (
        lambda d: d["secrets"].update(DB_PASSWORD="arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*"),
        "field 'secrets': secret DB_PASSWORD is 'arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*', "
        "a wildcard that would let every lane read every matching secret; name the one secret's full ARN",
    ),
    (
        lambda d: d["secrets"].update(DB_PASSWORD="arn:aws:ssm:ap-southeast-2:123456789012:parameter/dev/*"),
        "a wildcard that would let every lane read every matching secret",
    ),
    (
        lambda d: d["secrets"].update(
            DB_PASSWORD="arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:db-??????"
        ),
        "a wildcard that would let every lane read every matching secret",
    ),
    (
        lambda d: d.update(secretsKmsKeyArn="arn:aws:kms:ap-southeast-2:123456789012:alias/secrets"),
        "is not a KMS key ARN",
    ),
    (
        # `$` matches before a trailing newline; the whole value must match.
        lambda d: d.update(secretsKmsKeyArn="arn:aws:kms:ap-southeast-2:123456789012:key/abc-123\n"),
        "is not a KMS key ARN",
    ),
]


@pytest.mark.parametrize(("change", "fragment"), SERVICE_CASES)
def test_bad_service_params(params_dir: Path, change, fragment: str) -> None:
    edit_json(params_dir / "user-api-dev.json", change)
    with pytest.raises(MultilaneError) as err:
        params.load_service("user-api", "dev", params_dir)
    assert str(err.value).startswith("params/user-api-dev.json: ")
    assert fragment in str(err.value)


BOOT_CASES = [
    (lambda d: d.update(certificateArn="arn:aws:acm:nope"), "is not an ACM certificate ARN"),
    (lambda d: d.update(allowedCidrs=["0.0.0.0/99"]), "is not an IPv4 CIDR block"),
    (lambda d: d.update(logRetentionDays=10), "field 'logRetentionDays'"),
    (lambda d: d["healthCheck"].update(timeoutSeconds=9), "timeoutSeconds (9) must be less than intervalSeconds (5)"),
    (lambda d: d.update(albScheme="public"), "field 'albScheme'"),
]


@pytest.mark.parametrize(("change", "fragment"), BOOT_CASES)
def test_bad_boot_params(params_dir: Path, change, fragment: str) -> None:
    edit_json(params_dir / "boot-dev.json", change)
    with pytest.raises(MultilaneError) as err:
        params.load_boot("dev", params_dir)
    assert str(err.value).startswith("params/boot-dev.json: ")
    assert fragment in str(err.value)


def test_bad_pipelines_params(params_dir: Path) -> None:
    edit_json(params_dir / "pipelines-dev.json", lambda d: d.update(connectionArn="arn:aws:codestar:x"))
    with pytest.raises(MultilaneError, match=r"params/pipelines-dev.json: field 'connectionArn': .* is not a CodeConn"):
        params.load_pipelines("dev", params_dir)


def test_missing_and_malformed_files(params_dir: Path) -> None:
    (params_dir / "infra-dev.json").write_text('{"region": "ap-southeast-2",}')
    with pytest.raises(MultilaneError, match=r"params/infra-dev.json is not valid JSON: line 1 column 29"):
        params.load_infra("dev", params_dir)
    (params_dir / "infra-dev.json").write_text("[1, 2]")
    with pytest.raises(MultilaneError, match="must hold a JSON object"):
        params.load_infra("dev", params_dir)
    (params_dir / "boot-dev.json").unlink()
    with pytest.raises(MultilaneError, match=r"params/boot-dev.json is missing; create it"):
        params.load_boot("dev", params_dir)


def test_several_problems_are_counted(params_dir: Path) -> None:
    edit_json(params_dir / "user-api-dev.json", lambda d: d.update(a=1, b=2))
    with pytest.raises(MultilaneError, match=r"\(and 1 more problem in that file\)"):
        params.load_service("user-api", "dev", params_dir)


def test_cli_prints_one_sentence_and_exits_2(tmp_path: Path) -> None:
    # The real command on a broken copy of the repo's params: no traceback.
    broken = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(ROOT), str(broken)], check=True)
    path = broken / "params" / "infra-dev.json"
    data = json.loads(path.read_text())
    data["network"]["vpcCidr"] = "10.10.0.0/33"
    path.write_text(json.dumps(data))
    proc = subprocess.run(
        [sys.executable, "-m", "automation", "plan", "infra-dev"], cwd=broken, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: params/infra-dev.json: field 'network.vpcCidr': '10.10.0.0/33'")


def test_a_wildcard_secret_fails_the_cli_with_one_sentence_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(ROOT), str(broken)], check=True)
    path = broken / "params" / "user-api-dev.json"
    data = json.loads(path.read_text())
    data["secrets"]["DB_PASSWORD"] = "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*"
    path.write_text(json.dumps(data))
    proc = subprocess.run(
        [sys.executable, "-m", "automation", "plan", "user-api-dev-gray"], cwd=broken, capture_output=True, text=True
    )
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: params/user-api-dev.json: field 'secrets': secret DB_PASSWORD is ")
    assert line.endswith("name the one secret's full ARN")

"""The two seams that talk to the outside: the Pulumi adapter and the listener-rules reader."""

from __future__ import annotations

import shutil

import pytest

from automation.priority import boto3_rules_source, live_rules
from automation.workspace import BackendChoice, PulumiBackend
from components import routing
from components.errors import MultilaneError


@pytest.mark.engine
def test_real_adapter_against_a_local_backend(tmp_path):
    """Create, configure, list, read and remove a stack with the real CLI (no cloud needed)."""
    if shutil.which("pulumi") is None:
        pytest.fail("the `pulumi` binary is not on PATH: run `make engine` (make test does)")
    backend = PulumiBackend(BackendChoice(f"file://{tmp_path}", local=True))
    assert not backend.stack_exists("user-api-dev-adapter")
    st = backend._create_or_select("user-api-dev-adapter")
    backend._configure(st, {"multilane:priority": "1234"})
    assert backend.stack_exists("user-api-dev-adapter")
    assert backend.outputs("user-api-dev-adapter") == {}
    backend.remove_stack("user-api-dev-adapter")
    assert not backend.stack_exists("user-api-dev-adapter")


def test_real_adapter_without_the_cli_is_one_sentence(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MultilaneError, match=r"the Pulumi CLI is not on PATH; run `make engine`"):
        PulumiBackend(BackendChoice("file:///tmp/x", local=True))


def test_rule_lanes_are_read_back_from_patterns_then_tags():
    gray = routing.carriers.lane_rule_conditions("gray", ["tracestate"])[0][0]["http_header"]
    pages = [
        {
            "Rules": [
                {
                    "RuleArn": "arn:r1",
                    "Priority": "1500",
                    "Conditions": [
                        {
                            "Field": "http-header",
                            "HttpHeaderConfig": {
                                "HttpHeaderName": gray["http_header_name"],
                                "RegexValues": list(gray["regex_values"]),
                            },
                        }
                    ],
                    "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}],
                },
                {
                    "RuleArn": "arn:r2",
                    "Priority": "1600",
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/admin/*"]}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg2"}],
                },
                {"RuleArn": "arn:r3", "Priority": "1700", "Conditions": [], "Actions": []},
                {"RuleArn": "arn:default", "Priority": "default", "IsDefault": True, "Conditions": [], "Actions": []},
            ]
        }
    ]
    rules = live_rules(pages, {"arn:r3": "blue"})
    assert [(r.priority, r.lane) for r in rules] == [(1500, "gray"), (1600, None), (1700, "blue")]


@pytest.mark.e2e
def test_boto3_rules_source_against_moto(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name="ap-southeast-2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"ap-southeast-2{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in enumerate("ab")
        ]
        elbv2 = boto3.client("elbv2", region_name="ap-southeast-2")
        lb = elbv2.create_load_balancer(Name="user-api-dev", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
        tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
        listener = elbv2.create_listener(
            LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}]
        )["Listeners"][0]["ListenerArn"]
        for prio, lane in ((1500, "gray"), (1600, "blue")):
            elbv2.create_rule(
                ListenerArn=listener,
                Priority=prio,
                Conditions=[
                    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-lane", "Values": [lane]}}
                ],
                Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
                Tags=[{"Key": "Lane", "Value": lane}],
            )
        rules = boto3_rules_source(listener)
    assert sorted((r.priority, r.lane) for r in rules) == [(1500, "gray"), (1600, "blue")]

"""The layer contract (components/contract.py), checked against written-out
facts and against docs/contract.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from automation.runner import PHASE, READS
from components import contract
from components.contract import (
    BootOutputs,
    InfraOutputs,
    LaneOutputs,
    MissingOutputsError,
    PipelinesOutputs,
)
from components.iam.actions import FOREIGN_LAYER_TAGS
from components.stackname import BootTarget, InfraTarget, LaneTarget, PipelinesTarget
from policy.layers import ALLOWED
from policy.protection import PROTECTED

DOCS = Path(__file__).resolve().parent.parent / "docs" / "contract.md"

INFRA_KEYS = (
    "VpcId",
    "PublicSubnetIds",
    "PrivateSubnetIds",
    "ClusterName",
    "ClusterArn",
    "NamespaceId",
    "NamespaceName",
    "NamespaceArn",
    "AlarmTopicArn",
)
BOOT_KEYS = (
    "LoadBalancerArn",
    "LoadBalancerDnsName",
    "HttpListenerArn",
    "DefaultTargetGroupArn",
    "LogGroupName",
    "ServiceDiscoveryServiceArn",
    "AlbSecurityGroupId",
    "ServiceSecurityGroupId",
    "RepositoryUrl",
)
LANE_KEYS = (
    "Lane",
    "ServiceName",
    "TargetGroupArn",
    "ListenerRuleArns",
    "RulePriority",
    "TaskDefinitionArn",
    "ImageUri",
    "RouteHeader",
)
PIPELINES_KEYS = ("PipelineNames", "ArtifactBucketName")


def test_output_keys_are_the_articles_export_names():
    assert InfraOutputs.output_keys() == INFRA_KEYS
    assert BootOutputs.output_keys() == BOOT_KEYS
    assert LaneOutputs.output_keys() == LANE_KEYS
    assert PipelinesOutputs.output_keys() == PIPELINES_KEYS


def test_what_each_layer_reads_from_the_layers_below():
    assert READS == {
        ("boot", "infra"): ("VpcId", "PublicSubnetIds", "PrivateSubnetIds", "NamespaceId", "AlarmTopicArn"),
        ("lane", "infra"): ("VpcId", "PrivateSubnetIds", "ClusterName", "ClusterArn", "AlarmTopicArn"),
        ("lane", "boot"): (
            "HttpListenerArn",
            "LoadBalancerArn",
            "DefaultTargetGroupArn",
            "LogGroupName",
            "ServiceDiscoveryServiceArn",
            "ServiceSecurityGroupId",
            "RepositoryUrl",
        ),
    }


def test_a_reads_record_has_its_source_layers_field_types():
    for spec in contract.LAYERS.values():
        for reads in spec.reads:
            source = {f: t for f, t in reads.SOURCE.__annotations__.items() if not t.startswith("ClassVar")}
            mine = {f: t for f, t in reads.__annotations__.items() if not t.startswith("ClassVar")}
            assert mine.items() <= source.items(), reads.__name__


def test_phases_stack_patterns_and_builders():
    assert PHASE == {"infra": 0, "boot": 1, "lane": 2, "pipelines": 1}
    assert {n: s.stack_pattern for n, s in contract.LAYERS.items()} == {
        "infra": "infra-{env}",
        "boot": "boot-{service}-{env}",
        "lane": "{service}-{env}-{lane}",
        "pipelines": "pipelines-{env}",
    }
    assert {n: s.builder for n, s in contract.LAYERS.items()} == {
        "infra": "components.layers.infra",
        "boot": "components.layers.boot",
        "lane": "components.layers.lane.component",
        "pipelines": "components.layers.pipelines.component",
    }


def test_the_policy_pack_and_iam_take_layer_facts_from_the_contract():
    assert {n: s.owns for n, s in contract.LAYERS.items()} == ALLOWED
    assert {
        "infra": frozenset(
            {
                "aws:ec2/vpc:Vpc",
                "aws:ec2/subnet:Subnet",
                "aws:ec2/internetGateway:InternetGateway",
                "aws:ec2/natGateway:NatGateway",
                "aws:ec2/eip:Eip",
                "aws:ec2/routeTable:RouteTable",
                "aws:ec2/route:Route",
                "aws:ec2/routeTableAssociation:RouteTableAssociation",
            }
        ),
        "boot": frozenset({"aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener"}),
    } == PROTECTED
    for spec in contract.LAYERS.values():
        assert spec.protects <= spec.owns, spec.name
    assert FOREIGN_LAYER_TAGS == {
        "infra": ["boot", "lane", "pipelines"],
        "boot": ["infra", "lane", "pipelines"],
        "app": ["infra", "boot", "pipelines"],
    }


def test_stacks_a_target_reads():
    lane = LaneTarget("user-api-dev-gray", "dev", service="user-api", lane="gray")
    assert list(contract.references(lane)) == ["infra-dev", "boot-user-api-dev"]
    assert list(contract.references(BootTarget("boot-user-api-dev", "dev", service="user-api"))) == ["infra-dev"]
    assert contract.references(InfraTarget("infra-dev", "dev")) == {}
    assert contract.references(PipelinesTarget("pipelines-dev", "dev")) == {}


def test_a_record_round_trips_through_a_dict_of_outputs():
    outputs = {
        "Lane": "gray",
        "ServiceName": "user-api-gray",
        "TargetGroupArn": "arn:tg",
        "ListenerRuleArns": ["arn:rule"],
        "RulePriority": 12345,
        "TaskDefinitionArn": "arn:td",
        "ImageUri": "repo:sha-1",
        "RouteHeader": "tracestate: ctx=lane:gray",
        "Extra": "ignored",
    }
    lane = LaneOutputs.from_outputs(outputs)
    assert lane.rule_priority == 12345 and lane.image_uri == "repo:sha-1"
    assert lane.exports() == {k: v for k, v in outputs.items() if k != "Extra"}
    assert LaneOutputs.get({"ImageUri": "repo:sha-2"}, "image_uri") == "repo:sha-2"
    assert LaneOutputs.get({}, "rule_priority") is None
    with pytest.raises(MissingOutputsError, match="RulePriority, ImageUri"):
        LaneOutputs.from_outputs({k: v for k, v in outputs.items() if k not in ("RulePriority", "ImageUri")})


def test_placeholders_have_every_key_and_say_so():
    infra = contract.placeholder_outputs(InfraTarget("infra-dev", "dev"))
    boot = contract.placeholder_outputs(BootTarget("boot-user-api-dev", "dev", service="user-api"))
    assert tuple(infra) == INFRA_KEYS and tuple(boot) == BOOT_KEYS
    assert infra["VpcId"] == "vpc-0placeholder"
    assert infra["ClusterName"] == "multilane-dev"
    assert boot["LogGroupName"] == "/ecs/dev/user-api"
    assert boot["RepositoryUrl"] == "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api"
    assert boot["HttpListenerArn"] == (
        "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener/app/user-api-dev/PLACEHOLDER/PLACEHOLDER"
    )


def _docs_table() -> dict[str, list[str]]:
    text = DOCS.read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in contract.LAYERS:
            rows[cells[0]] = cells
    return rows


def test_the_docs_layer_table_is_the_contract():
    rows = _docs_table()
    assert list(rows) == list(contract.LAYERS)
    for name, spec in contract.LAYERS.items():
        _layer, stack, one_per, _owns, reads = rows[name]
        assert stack == f"`{spec.stack_pattern}`", name
        assert one_per == spec.one_per, name
        assert reads == (", ".join(spec.reads_layers) or "—"), name


def test_the_docs_output_keys_are_the_contract():
    section = DOCS.read_text().split("## Stack outputs", 1)[1].split("\n## ", 1)[0]
    for name, spec in contract.LAYERS.items():
        bullet = re.search(rf"^- {name}: (.*?)(?=^- |\Z)", section, re.M | re.S)
        assert bullet is not None, name
        # Keys in the bullet's own list (before any parenthesised remark's examples).
        keys = tuple(re.findall(r"`([A-Z][A-Za-z]+)`", bullet.group(1)))
        assert keys == spec.outputs.output_keys(), name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, 12345),
        (12345.0, 12345),
        ("12345", 12345),
        (" 7912 ", 7912),
        (0, None),  # the default lane: no rule
        ("0", None),
        (True, None),
        (12.5, None),
        (-5, None),
        ("-5", None),
        (50001, None),
        ("9999999999", None),
        ("1e3", None),
        (None, None),
        ([12345], None),
    ],
)
def test_a_rule_priority_output_is_read_one_way(value, expected):
    assert contract.rule_priority({"RulePriority": value}) == expected
    assert contract.rule_priority({}) is None

"""infra-{env}: create and wrap modes, NAT modes, protection, outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.offline import run_stack
from tests.conftest import edit_json

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
RT = "aws:ec2/routeTable:RouteTable"
IGW = "aws:ec2/internetGateway:InternetGateway"
ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
CLUSTER = "aws:ecs/cluster:Cluster"
NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"
NETWORK_TYPES = {VPC, SUBNET, NAT, EIP, ROUTE, RT, IGW, ASSOC}
OUTPUT_KEYS = {
    "VpcId",
    "PublicSubnetIds",
    "PrivateSubnetIds",
    "ClusterName",
    "ClusterArn",
    "NamespaceId",
    "NamespaceName",
    "NamespaceArn",
    "AlarmTopicArn",
}


def test_create_mode_spreads_subnets_across_the_params_zones() -> None:
    rec = run_stack("infra-prod")
    subnets = rec.of_type(SUBNET)
    public = [s for s in subnets if s.inputs["tags"]["Tier"] == "public"]
    private = [s for s in subnets if s.inputs["tags"]["Tier"] == "private"]
    zones = ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"]
    assert sorted(s.inputs["availabilityZone"] for s in public) == zones
    assert sorted(s.inputs["availabilityZone"] for s in private) == zones
    assert {s.inputs["cidrBlock"] for s in private} == {"10.20.32.0/19", "10.20.64.0/19", "10.20.96.0/19"}
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert rec.one(VPC).inputs["cidrBlock"] == "10.20.0.0/16"
    assert rec.one(VPC).inputs["enableDnsHostnames"] is True
    assert len(rec.of_type(IGW)) == 1


def test_every_network_resource_is_protected_and_nothing_else_is() -> None:
    rec = run_stack("infra-dev")
    network = [r for r in rec.resources if r.type in NETWORK_TYPES]
    # vpc, igw, 3 route tables, 3 routes, 4 subnets, 4 associations, 1 eip, 1 nat
    assert len(network) == 18
    assert all(r.protect for r in network)
    assert not any(r.protect for r in rec.resources if r.type not in NETWORK_TYPES)


@pytest.mark.parametrize(("mode", "nats"), [("none", 0), ("single", 1), ("perAz", 3)])
def test_nat_modes(params_dir: Path, mode: str, nats: int) -> None:
    edit_json(params_dir / "infra-prod.json", lambda d: d["network"].update(natMode=mode))
    rec = run_stack("infra-prod", params_dir=params_dir)
    assert len(rec.of_type(NAT)) == nats
    assert len(rec.of_type(EIP)) == nats
    private_routes = [r for r in rec.of_type(ROUTE) if "natGatewayId" in r.inputs]
    # Every private route table gets egress unless NAT is off.
    assert len(private_routes) == (3 if nats else 0)
    used = {r.inputs["natGatewayId"] for r in private_routes}
    assert len(used) == nats
    # NATs live in public subnets (the ones routed to the IGW).
    public_ids = set(rec.outputs["PublicSubnetIds"])
    assert all(n.inputs["subnetId"] in public_ids for n in rec.of_type(NAT))


def test_public_route_goes_to_the_internet_gateway_and_private_tables_are_per_zone() -> None:
    rec = run_stack("infra-prod")
    public = [r for r in rec.of_type(ROUTE) if "gatewayId" in r.inputs]
    assert len(public) == 1 and public[0].inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert len(rec.of_type(RT)) == 1 + 3
    assert len(rec.of_type(ASSOC)) == 6


def test_cluster_has_container_insights_and_namespace_sits_in_the_vpc() -> None:
    rec = run_stack("infra-dev")
    cluster = rec.one(CLUSTER)
    assert cluster.inputs["name"] == "multilane-dev"
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
    ns = rec.one(NAMESPACE)
    assert ns.inputs["name"] == "dev.multilane.internal"
    assert ns.inputs["vpc"] == rec.outputs["VpcId"]
    assert rec.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").inputs["capacityProviders"] == [
        "FARGATE",
        "FARGATE_SPOT",
    ]


def test_outputs_are_exactly_the_contract_keys() -> None:
    rec = run_stack("infra-dev")
    assert set(rec.outputs) == OUTPUT_KEYS
    assert rec.outputs["ClusterName"] == "multilane-dev"
    assert len(rec.outputs["PublicSubnetIds"]) == len(rec.outputs["PrivateSubnetIds"]) == 2


def test_every_resource_is_tagged() -> None:
    rec = run_stack("infra-dev")
    for r in rec.resources:
        if "tags" in r.inputs:
            assert r.inputs["tags"]["Env"] == "dev" and r.inputs["tags"]["Layer"] == "infra"
            assert r.inputs["tags"]["ManagedBy"] == "multilane"


def test_provider_uses_the_params_region() -> None:
    rec = run_stack("infra-dev")
    providers = [r for r in rec.registrations if r.is_provider]
    assert [p.inputs["region"] for p in providers] == ["ap-southeast-2"]


def test_wrap_mode_exports_existing_ids_and_creates_no_network(params_dir: Path) -> None:
    wrap = {
        "mode": "wrap",
        "vpcId": "vpc-0abc1234def567890",
        "publicSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
        "privateSubnetIds": ["subnet-0ccc3333", "subnet-0ddd4444"],
    }
    edit_json(params_dir / "infra-dev.json", lambda d: d.update(network=wrap))
    rec = run_stack("infra-dev", params_dir=params_dir)
    assert not rec.types() & NETWORK_TYPES
    assert rec.types() == {
        CLUSTER,
        NAMESPACE,
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
    }
    assert rec.outputs["VpcId"] == "vpc-0abc1234def567890"
    assert rec.outputs["PublicSubnetIds"] == wrap["publicSubnetIds"]
    assert rec.outputs["PrivateSubnetIds"] == wrap["privateSubnetIds"]
    assert rec.one(NAMESPACE).inputs["vpc"] == "vpc-0abc1234def567890"
    assert set(rec.outputs) == OUTPUT_KEYS


# --- issue 12: the infra role is scoped to its env by tags ------------------------------------

CREATES = {
    VPC: ("ec2:CreateVpc", "vpc/*"),
    SUBNET: ("ec2:CreateSubnet", "subnet/*"),
    RT: ("ec2:CreateRouteTable", "route-table/*"),
    IGW: ("ec2:CreateInternetGateway", "internet-gateway/*"),
    NAT: ("ec2:CreateNatGateway", "natgateway/*"),
    EIP: ("ec2:AllocateAddress", "elastic-ip/*"),
    NAMESPACE: ("servicediscovery:CreatePrivateDnsNamespace", "*"),
}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_infra_role_may_create_and_delete_what_infra_registers_in_its_env_only(env):
    from components import iam
    from tests.iam_eval import ALLOW, evaluate, matching_sids

    rec = run_stack(f"infra-{env}")
    scope = iam.pipeline_roles.Scope(
        account="123456789012",
        region="ap-southeast-2",
        env=env,
        state_bucket=f"acme-multilane-state-{env}",
        artifact_bucket="artifacts",
        connection_arn="arn:aws:codeconnections:ap-southeast-2:123456789012:connection/x",
    )
    mine = iam.pipeline_roles.infra_deploy_policy(scope, "p")
    other = iam.pipeline_roles.infra_deploy_policy(
        iam.pipeline_roles.Scope(**{**scope.__dict__, "env": "dev" if env == "prod" else "prod"}), "p"
    )
    requests = []
    for r in rec.resources:
        if r.type not in CREATES:
            continue
        action, resource = CREATES[r.type]
        tags = r.inputs["tags"]
        arn = resource if resource == "*" else f"arn:aws:ec2:ap-southeast-2:123456789012:{resource}"
        create = {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}
        requests.append((action, arn, create))
        if r.type != NAMESPACE:
            existing = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
            requests.append(("ec2:CreateTags", arn, {**create, "ec2:CreateAction": action.split(":")[1]}))
            requests.append(("ec2:DeleteVpc" if r.type == VPC else "ec2:ModifySubnetAttribute", arn, existing))
    assert len({q[0] for q in requests}) >= 8
    for action, resource, context in requests:
        assert evaluate([mine], action, resource, context) == ALLOW, (
            f"{action} {resource}: {matching_sids([mine], action, resource, context)}"
        )
        assert evaluate([other], action, resource, context) != ALLOW, f"{action} {resource}"

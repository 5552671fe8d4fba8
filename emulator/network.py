"""EC2 networking: VPC, subnets, gateways, routes, EIPs, security groups."""

from __future__ import annotations

import zlib
from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates, tag_list


def _tags(kind: str, req: Request) -> dict[str, Any]:
    tags = req.inputs.get("tags")
    return {"TagSpecifications": [{"ResourceType": kind, "Tags": tag_list(tags)}]} if tags else {}


def _ec2_arn(req: Request, kind: str, id_: str) -> str:
    return req.arn("ec2", f"{kind}/{id_}")


@emulates("aws:ec2/vpc:Vpc")
def vpc(req: Request) -> Emulated:
    i = req.inputs
    v = req.call("ec2", "create_vpc", CidrBlock=i["cidrBlock"], **_tags("vpc", req))["Vpc"]
    vid = v["VpcId"]
    for key, attr in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        if key in i:
            req.call("ec2", "modify_vpc_attribute", VpcId=vid, **{attr: {"Value": bool(i[key])}})
    main_rt = req.call(
        "ec2",
        "describe_route_tables",
        Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "association.main", "Values": ["true"]}],
    )["RouteTables"][0]["RouteTableId"]
    sg = req.call(
        "ec2",
        "describe_security_groups",
        Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "group-name", "Values": ["default"]}],
    )["SecurityGroups"][0]["GroupId"]
    acl = req.call("ec2", "describe_network_acls", Filters=[{"Name": "vpc-id", "Values": [vid]}])["NetworkAcls"][0][
        "NetworkAclId"
    ]
    state = req.state(
        arn=_ec2_arn(req, "vpc", vid),
        cidrBlock=v["CidrBlock"],
        instanceTenancy=v.get("InstanceTenancy", "default"),
        enableDnsSupport=i.get("enableDnsSupport", True),
        enableDnsHostnames=i.get("enableDnsHostnames", False),
        mainRouteTableId=main_rt,
        defaultRouteTableId=main_rt,
        defaultSecurityGroupId=sg,
        defaultNetworkAclId=acl,
        ownerId=v["OwnerId"],
    )
    return Emulated(
        vid,
        state,
        delete=lambda: req.call("ec2", "delete_vpc", VpcId=vid),
        probe=lambda: req.call("ec2", "describe_vpcs", VpcIds=[vid])["Vpcs"][0],
    )


@emulates("aws:ec2/subnet:Subnet")
def subnet(req: Request) -> Emulated:
    i = req.inputs
    s = req.call(
        "ec2",
        "create_subnet",
        **drop_none(VpcId=i["vpcId"], CidrBlock=i["cidrBlock"], AvailabilityZone=i.get("availabilityZone")),
        **_tags("subnet", req),
    )["Subnet"]
    sid = s["SubnetId"]
    if i.get("mapPublicIpOnLaunch"):
        req.call("ec2", "modify_subnet_attribute", SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    state = req.state(
        arn=s.get("SubnetArn") or _ec2_arn(req, "subnet", sid),
        availabilityZone=s["AvailabilityZone"],
        availabilityZoneId=s.get("AvailabilityZoneId", ""),
        mapPublicIpOnLaunch=bool(i.get("mapPublicIpOnLaunch", False)),
        ownerId=s.get("OwnerId", ""),
    )
    return Emulated(
        sid,
        state,
        delete=lambda: req.call("ec2", "delete_subnet", SubnetId=sid),
        probe=lambda: req.call("ec2", "describe_subnets", SubnetIds=[sid])["Subnets"][0],
    )


@emulates("aws:ec2/internetGateway:InternetGateway")
def internet_gateway(req: Request) -> Emulated:
    g = req.call("ec2", "create_internet_gateway", **_tags("internet-gateway", req))["InternetGateway"]
    gid = g["InternetGatewayId"]
    vpc_id = req.inputs.get("vpcId")
    if vpc_id:
        req.call("ec2", "attach_internet_gateway", InternetGatewayId=gid, VpcId=vpc_id)

    def delete() -> None:
        if vpc_id:
            req.call("ec2", "detach_internet_gateway", InternetGatewayId=gid, VpcId=vpc_id)
        req.call("ec2", "delete_internet_gateway", InternetGatewayId=gid)

    return Emulated(
        gid,
        req.state(arn=_ec2_arn(req, "internet-gateway", gid), ownerId=g.get("OwnerId", "")),
        delete=delete,
        probe=lambda: req.call("ec2", "describe_internet_gateways", InternetGatewayIds=[gid])["InternetGateways"][0],
    )


@emulates("aws:ec2/routeTable:RouteTable")
def route_table(req: Request) -> Emulated:
    t = req.call("ec2", "create_route_table", VpcId=req.inputs["vpcId"], **_tags("route-table", req))["RouteTable"]
    tid = t["RouteTableId"]
    if req.inputs.get("routes"):
        raise EmulationError("inline routes on aws.ec2.RouteTable are not emulated; use aws.ec2.Route")
    return Emulated(
        tid,
        req.state(arn=_ec2_arn(req, "route-table", tid), ownerId=t.get("OwnerId", ""), routes=[]),
        delete=lambda: req.call("ec2", "delete_route_table", RouteTableId=tid),
        probe=lambda: req.call("ec2", "describe_route_tables", RouteTableIds=[tid])["RouteTables"][0],
    )


_ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "networkInterfaceId": "NetworkInterfaceId",
    "transitGatewayId": "TransitGatewayId",
    "vpcEndpointId": "VpcEndpointId",
    "vpcPeeringConnectionId": "VpcPeeringConnectionId",
}


@emulates("aws:ec2/route:Route")
def route(req: Request) -> Emulated:
    i = req.inputs
    table, dest = i["routeTableId"], i["destinationCidrBlock"]
    targets = {api: i[key] for key, api in _ROUTE_TARGETS.items() if i.get(key)}
    if len(targets) != 1:
        raise EmulationError(f"a route needs exactly one target, got {sorted(targets) or 'none'}")
    req.call("ec2", "create_route", RouteTableId=table, DestinationCidrBlock=dest, **targets)

    def probe() -> Any:
        routes = req.call("ec2", "describe_route_tables", RouteTableIds=[table])["RouteTables"][0]["Routes"]
        found = [r for r in routes if r.get("DestinationCidrBlock") == dest]
        if not found:
            raise EmulationError(f"route {dest} is gone from {table}")
        return found[0]

    # The provider's id format: "r-" + table id + hash of the destination.
    rid = f"r-{table}{zlib.crc32(dest.encode())}"
    return Emulated(
        rid,
        req.state(origin="CreateRoute", state="active"),
        delete=lambda: req.call("ec2", "delete_route", RouteTableId=table, DestinationCidrBlock=dest),
        probe=probe,
    )


@emulates("aws:ec2/routeTableAssociation:RouteTableAssociation")
def route_table_association(req: Request) -> Emulated:
    i = req.inputs
    aid = req.call("ec2", "associate_route_table", SubnetId=i["subnetId"], RouteTableId=i["routeTableId"])[
        "AssociationId"
    ]

    def probe() -> Any:
        found = req.call(
            "ec2",
            "describe_route_tables",
            Filters=[{"Name": "association.route-table-association-id", "Values": [aid]}],
        )
        if not found["RouteTables"]:
            raise EmulationError(f"association {aid} is gone")
        return next(a for a in found["RouteTables"][0]["Associations"] if a["RouteTableAssociationId"] == aid)

    return Emulated(
        aid,
        req.state(),
        delete=lambda: req.call("ec2", "disassociate_route_table", AssociationId=aid),
        probe=probe,
    )


@emulates("aws:ec2/eip:Eip")
def eip(req: Request) -> Emulated:
    domain = req.inputs.get("domain", "vpc")
    a = req.call("ec2", "allocate_address", Domain=domain, **_tags("elastic-ip", req))
    aid = a["AllocationId"]
    return Emulated(
        aid,
        req.state(
            allocationId=aid,
            publicIp=a["PublicIp"],
            domain=domain,
            arn=_ec2_arn(req, "elastic-ip", aid),
            publicDns=f"ec2-{a['PublicIp'].replace('.', '-')}.{req.region}.compute.amazonaws.com",
        ),
        delete=lambda: req.call("ec2", "release_address", AllocationId=aid),
        probe=lambda: req.call("ec2", "describe_addresses", AllocationIds=[aid])["Addresses"][0],
    )


@emulates("aws:ec2/natGateway:NatGateway")
def nat_gateway(req: Request) -> Emulated:
    i = req.inputs
    n = req.call(
        "ec2",
        "create_nat_gateway",
        **drop_none(
            SubnetId=i["subnetId"],
            AllocationId=i.get("allocationId"),
            ConnectivityType=i.get("connectivityType"),
        ),
        **_tags("natgateway", req),
    )["NatGateway"]
    nid = n["NatGatewayId"]
    address = (n.get("NatGatewayAddresses") or [{}])[0]
    return Emulated(
        nid,
        req.state(
            connectivityType=n.get("ConnectivityType", "public"),
            publicIp=address.get("PublicIp", ""),
            privateIp=address.get("PrivateIp", ""),
            networkInterfaceId=address.get("NetworkInterfaceId", ""),
        ),
        delete=lambda: req.call("ec2", "delete_nat_gateway", NatGatewayId=nid),
        probe=lambda: req.call("ec2", "describe_nat_gateways", NatGatewayIds=[nid])["NatGateways"][0],
    )


def _permission(i: dict[str, Any]) -> dict[str, Any]:
    """A vpc.SecurityGroup{Ingress,Egress}Rule's inputs as one IpPermission."""
    perm: dict[str, Any] = {"IpProtocol": str(i["ipProtocol"])}
    if perm["IpProtocol"] != "-1":
        perm["FromPort"] = i["fromPort"]
        perm["ToPort"] = i["toPort"]
    desc = drop_none(Description=i.get("description"))
    if i.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"], **desc}]
    if i.get("cidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": i["cidrIpv6"], **desc}]
    if i.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": i["referencedSecurityGroupId"], **desc}]
    if i.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": i["prefixListId"], **desc}]
    sources = [k for k in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds") if k in perm]
    if len(sources) != 1:
        raise EmulationError(f"a security group rule needs exactly one source or destination, got {sources or 'none'}")
    return perm


def _inline_permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """aws.ec2.SecurityGroup inline ingress/egress blocks as IpPermissions."""
    out = []
    for r in rules:
        perm: dict[str, Any] = {"IpProtocol": str(r["protocol"]), "FromPort": r["fromPort"], "ToPort": r["toPort"]}
        if perm["IpProtocol"] == "-1":
            perm.pop("FromPort"), perm.pop("ToPort")
        desc = drop_none(Description=r.get("description"))
        if r.get("cidrBlocks"):
            perm["IpRanges"] = [{"CidrIp": c, **desc} for c in r["cidrBlocks"]]
        if r.get("securityGroups"):
            perm["UserIdGroupPairs"] = [{"GroupId": g, **desc} for g in r["securityGroups"]]
        out.append(perm)
    return out


@emulates("aws:ec2/securityGroup:SecurityGroup")
def security_group(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    gid = req.call(
        "ec2",
        "create_security_group",
        GroupName=name,
        Description=i.get("description") or "Managed by Pulumi",
        VpcId=i["vpcId"],
        **_tags("security-group", req),
    )["GroupId"]
    # Like the provider: drop AWS's default allow-all egress, then add the
    # inline rules (the layers use separate rule resources instead).
    req.call(
        "ec2",
        "revoke_security_group_egress",
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    if i.get("ingress"):
        req.call(
            "ec2", "authorize_security_group_ingress", GroupId=gid, IpPermissions=_inline_permissions(i["ingress"])
        )
    if i.get("egress"):
        req.call("ec2", "authorize_security_group_egress", GroupId=gid, IpPermissions=_inline_permissions(i["egress"]))
    owner = req.call("ec2", "describe_security_groups", GroupIds=[gid])["SecurityGroups"][0]["OwnerId"]
    return Emulated(
        gid,
        req.state(arn=_ec2_arn(req, "security-group", gid), name=name, ownerId=owner),
        delete=lambda: req.call("ec2", "delete_security_group", GroupId=gid),
        probe=lambda: req.call("ec2", "describe_security_groups", GroupIds=[gid])["SecurityGroups"][0],
    )


def _sg_rule(direction: str) -> Any:
    def handler(req: Request) -> Emulated:
        i = req.inputs
        gid = i["securityGroupId"]
        tags = req.inputs.get("tags")
        answer = req.call(
            "ec2",
            f"authorize_security_group_{direction}",
            GroupId=gid,
            IpPermissions=[_permission(i)],
            **(
                {"TagSpecifications": [{"ResourceType": "security-group-rule", "Tags": tag_list(tags)}]} if tags else {}
            ),
        )
        rule_id = answer["SecurityGroupRules"][0]["SecurityGroupRuleId"]

        def probe() -> Any:
            found = req.call("ec2", "describe_security_group_rules", SecurityGroupRuleIds=[rule_id])
            if not found["SecurityGroupRules"]:
                raise EmulationError(f"security group rule {rule_id} is gone")
            return found["SecurityGroupRules"][0]

        return Emulated(
            rule_id,
            req.state(
                arn=_ec2_arn(req, "security-group-rule", rule_id),
                securityGroupRuleId=rule_id,
            ),
            delete=lambda: req.call(
                "ec2", f"revoke_security_group_{direction}", GroupId=gid, SecurityGroupRuleIds=[rule_id]
            ),
            probe=probe,
        )

    return handler


emulates("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")(_sg_rule("ingress"))
emulates("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")(_sg_rule("egress"))

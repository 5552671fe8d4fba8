"""Network posture: tasks stay private, only the ALB listens to the world.

What is checkable at preview time, and how:
- ``assignPublicIp`` and the subnet list of an ECS service are literal inputs
  (resource policy).
- Whether those subnets are private needs the infra stack's outputs. A lane
  reads them through a stack reference, and the engine shows stack
  references to stack policies with their ``outputs``: the stack policy
  requires every ECS service subnet to be one of the infra reference's
  ``PrivateSubnetIds`` and none of its ``PublicSubnetIds``. A stack with an
  ECS service but no infra reference cannot prove its subnets are private
  and is reported.
- World-open ingress (0.0.0.0/0, ::/0) is joined to the security group it
  opens (property dependency on ``securityGroupId``), to the load balancer
  that uses that group and to that load balancer's listener ports; ids of
  new resources are unknown during preview, the dependency graph is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import naming
from components.contract import ECS_SERVICE, LISTENER, LOAD_BALANCER, SECURITY_GROUP, InfraOutputs
from components.layers.lane.args import INFRA_PRIVATE_SUBNETS_PROP

from .facts import STACK_REFERENCE, WORLD_CIDRS, PackContext, as_list, get, normalize_type, stack_of_urn, truthy

PRIVATE_SUBNETS = InfraOutputs.key("private_subnet_ids")
PUBLIC_SUBNETS = InfraOutputs.key("public_subnet_ids")
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"

PUBLIC_IP_NAME = "ecs-no-public-ip"
PUBLIC_IP_DESCRIPTION = (
    "ECS tasks get no public IP: a lane's tasks are reachable only through the ALB, so a task is never "
    "exposed directly to the internet. Fix: set network_configuration.assign_public_ip=False and list the "
    f"infra stack's {PRIVATE_SUBNETS} as its subnets."
)
PRIVATE_SUBNETS_NAME = "ecs-private-subnets"
PRIVATE_SUBNETS_DESCRIPTION = (
    "ECS services run in private subnets: every subnet of an ECS service must be one of the infra stack's "
    f"{PRIVATE_SUBNETS} (read through its stack reference) and none of its {PUBLIC_SUBNETS}, so tasks egress "
    "through NAT and take ingress only from the ALB. Fix: pass the private_subnet_ids of "
    "contract.read_reference(LaneReadsInfra, ...) as network_configuration.subnets."
)
WORLD_INGRESS_NAME = "sg-world-ingress-listener-ports-only"
WORLD_INGRESS_DESCRIPTION = (
    "Security groups admit 0.0.0.0/0 or ::/0 only on the ALB's listener ports: only the load balancer's "
    "security group may be open to the world, and only on the ports its listeners use (tcp). Tasks take "
    "traffic from the ALB's security group. Fix: reference the ALB security group "
    "(referenced_security_group_id) instead of a world CIDR, or open exactly a listener port on the ALB's group."
)


LANE_COMPONENT = "multilane:lane:AppLane"


def check_ecs_network(props: Any) -> str | None:
    net = get(props, "networkConfiguration")
    if net is None:
        return "has no networkConfiguration: use awsvpc networking with private subnets and no public IP"
    if truthy(get(net, "assignPublicIp", default=False)):
        return "assigns a public IP to its tasks (networkConfiguration.assignPublicIp is true)"
    if not as_list(get(net, "subnets")):
        return "lists no subnets: pass the infra stack's PrivateSubnetIds"
    return None


def _infra_outputs(resources: Iterable[PolicyResource], env: str) -> dict[str, Any] | None:
    """The infra stack's outputs as the stack read them.

    Under the harness the StackReference itself is visible. The real engine
    (checked on pulumi v3.274.1) does not pass StackReference reads to
    analyzers; there the lane component's ``infraPrivateSubnetIds`` input,
    which the lane program takes from that reference, stands in for them.
    """
    suffix = "/" + naming.infra_stack(env)
    resources = list(resources)
    for r in resources:
        if r.resource_type == STACK_REFERENCE and str(get(r.props, "name", default="")).endswith(suffix):
            outputs = get(r.props, "outputs")
            return outputs if outputs is not None else {}
    for r in resources:
        if r.resource_type == LANE_COMPONENT and get(r.props, INFRA_PRIVATE_SUBNETS_PROP) is not None:
            return {PRIVATE_SUBNETS: get(r.props, INFRA_PRIVATE_SUBNETS_PROP)}
    return None


def check_private_subnets(subnets: list[str], infra_outputs: dict[str, Any] | None) -> str | None:
    if infra_outputs is None:
        return (
            "runs in subnets that cannot be proven private: the stack reads no infra stack reference; "
            f"take the subnets from the infra stack's {PRIVATE_SUBNETS}"
        )
    private = {str(s) for s in as_list(get(infra_outputs, PRIVATE_SUBNETS))}
    public = {str(s) for s in as_list(get(infra_outputs, PUBLIC_SUBNETS))}
    in_public = sorted(s for s in subnets if s in public)
    if in_public:
        return f"runs in public subnet(s) {', '.join(in_public)} of the infra stack"
    unknown = sorted(s for s in subnets if s not in private)
    if unknown:
        return f"runs in subnet(s) {', '.join(unknown)} that are not among the infra stack's {PRIVATE_SUBNETS}"
    return None


# --- world-open ingress -----------------------------------------------------------


def _world(cidrs: Iterable[Any]) -> list[str]:
    return sorted({str(c) for c in cidrs if str(c) in WORLD_CIDRS})


def world_ingress(resource: PolicyResource) -> list[tuple[PolicyResource | None, str, Any, Any, str]]:
    """(security group, protocol, from port, to port, cidr) for each world-open
    ingress a resource declares; the group is None when it cannot be joined."""
    t = normalize_type(resource.resource_type)
    p = resource.props
    out: list[tuple[PolicyResource | None, str, Any, Any, str]] = []
    if t == SECURITY_GROUP:
        for rule in as_list(get(p, "ingress")):
            cidrs = as_list(get(rule, "cidrBlocks")) + as_list(get(rule, "ipv6CidrBlocks"))
            for cidr in _world(cidrs):
                out.append(
                    (resource, str(get(rule, "protocol", default="")), get(rule, "fromPort"), get(rule, "toPort"), cidr)
                )
    elif t == INGRESS_RULE:
        cidrs = [get(p, "cidrIpv4"), get(p, "cidrIpv6")]
        for cidr in _world(c for c in cidrs if c):
            group = _dependency(resource, "securityGroupId")
            out.append((group, str(get(p, "ipProtocol", default="")), get(p, "fromPort"), get(p, "toPort"), cidr))
    elif t == LEGACY_RULE and get(p, "type") == "ingress":
        cidrs = as_list(get(p, "cidrBlocks")) + as_list(get(p, "ipv6CidrBlocks"))
        for cidr in _world(cidrs):
            group = _dependency(resource, "securityGroupId")
            out.append((group, str(get(p, "protocol", default="")), get(p, "fromPort"), get(p, "toPort"), cidr))
    return out


def _dependency(resource: PolicyResource, prop: str) -> PolicyResource | None:
    deps = resource.property_dependencies.get(prop) or []
    return deps[0] if deps else None


def listener_ports_of_group(resources: list[PolicyResource], group: PolicyResource) -> set[int]:
    """Listener ports of every load balancer in the stack that uses ``group``."""
    lbs = [
        r
        for r in resources
        if normalize_type(r.resource_type) == LOAD_BALANCER
        and any(d.urn == group.urn for d in r.property_dependencies.get("securityGroups", []))
    ]
    ports: set[int] = set()
    for r in resources:
        if normalize_type(r.resource_type) != LISTENER:
            continue
        if any(d.urn in {lb.urn for lb in lbs} for d in r.property_dependencies.get("loadBalancerArn", [])):
            port = get(r.props, "port")
            if port is not None:
                ports.add(int(port))
    return ports


def _ports(from_port: Any, to_port: Any) -> str:
    # The engine sends numbers as floats: 22.0 reads as 22 here.
    low = "all" if from_port is None else str(int(from_port))
    high = "all" if to_port is None else str(int(to_port))
    return low if low == high else f"{low}-{high}"


def check_world_ingress(resources: list[PolicyResource], report: ReportViolation) -> None:
    for res in resources:
        for group, protocol, from_port, to_port, cidr in world_ingress(res):
            where = f"{res.resource_type.split(':')[-1]} {res.name} admits {cidr}"
            if group is None:
                report(f"{where}, but its security group cannot be traced to a load balancer in this stack", res.urn)
                continue
            ports = listener_ports_of_group(resources, group)
            if not ports:
                report(f"{where} on security group {group.name}, which no load balancer in this stack uses", res.urn)
                continue
            if protocol.lower() not in ("tcp", "6"):
                report(f"{where} with protocol {protocol or 'all'!s}; open only tcp listener ports", res.urn)
                continue
            if from_port is None or to_port is None or int(from_port) != int(to_port) or int(from_port) not in ports:
                span = _ports(from_port, to_port)
                report(
                    f"{where} on port(s) {span}; the load balancer's listener ports are {sorted(ports)}",
                    res.urn,
                )


def policies(ctx: PackContext) -> list[Policy]:
    def public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != ECS_SERVICE:
            return
        problem = check_ecs_network(args.props)
        if problem:
            report(f"ECS service {args.name} {problem}", None)

    def private_subnets(args: StackValidationArgs, report: ReportViolation) -> None:
        services = [r for r in args.resources if r.resource_type == ECS_SERVICE]
        if not services:
            return
        target = ctx.target(services[0].urn)
        if target is None:
            return
        infra_outputs = _infra_outputs(args.resources, target.env)
        for svc in services:
            subnets = [str(s) for s in as_list(get(svc.props, "networkConfiguration", "subnets"))]
            problem = check_private_subnets(subnets, infra_outputs)
            if problem:
                report(f"ECS service {svc.name} in {stack_of_urn(svc.urn)} {problem}", svc.urn)

    def world(args: StackValidationArgs, report: ReportViolation) -> None:
        check_world_ingress(list(args.resources), report)

    return [
        ResourceValidationPolicy(PUBLIC_IP_NAME, PUBLIC_IP_DESCRIPTION, public_ip, EnforcementLevel.MANDATORY),
        StackValidationPolicy(
            PRIVATE_SUBNETS_NAME, PRIVATE_SUBNETS_DESCRIPTION, private_subnets, EnforcementLevel.MANDATORY
        ),
        StackValidationPolicy(WORLD_INGRESS_NAME, WORLD_INGRESS_DESCRIPTION, world, EnforcementLevel.MANDATORY),
    ]

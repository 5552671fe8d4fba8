"""Layer boundaries: a stack registers only its own layer's resource types.

The contract (docs/contract.md): infra owns the network, cluster and
namespace; boot owns the ALB, its listeners and security groups, the log
group, Cloud Map service and ECR repository; a lane owns its task
definition, ECS service, target group, listener rules, roles and alarms;
pipelines own the delivery machinery. An upper layer only reads a lower one.
A type outside its layer's list is a violation: a new type joins a list in
the same review that adds it to a layer.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from components.contract import (
    CLUSTER,
    ECR_REPOSITORY,
    ECS_SERVICE,
    LAYERS,
    LISTENER,
    LISTENER_RULE,
    LOAD_BALANCER,
    LOG_GROUP,
    NAMESPACE,
    SECURITY_GROUP,
    SUBNET,
    TASK_DEFINITION,
    VPC,
    BootOutputs,
    InfraOutputs,
)

from .facts import PROVIDER_PREFIX, STACK_REFERENCE, STACK_TYPE, PackContext, normalize_type

# What each layer may own is a contract fact (components/contract.py).
ALLOWED: dict[str, frozenset[str]] = {name: spec.owns for name, spec in LAYERS.items()}

_I, _B = InfraOutputs, BootOutputs

# (layer, type) -> why the type does not belong there and where it lives.
_OWNER = {
    VPC: f"the VPC belongs to infra-{{env}}; read {_I.key('vpc_id')} from its stack reference",
    SUBNET: f"subnets belong to infra-{{env}}; read {_I.key('private_subnet_ids')}/{_I.key('public_subnet_ids')} from its stack reference",
    "aws:ec2/internetGateway:InternetGateway": "the network belongs to infra-{env}",
    "aws:ec2/natGateway:NatGateway": "the network belongs to infra-{env}",
    "aws:ec2/routeTable:RouteTable": "the network belongs to infra-{env}",
    "aws:ec2/route:Route": "the network belongs to infra-{env}",
    LOAD_BALANCER: f"the ALB belongs to boot-{{service}}-{{env}}; read {_B.key('load_balancer_arn')} from its stack reference",
    LISTENER: f"listeners belong to boot-{{service}}-{{env}}; attach lane rules to its {_B.key('http_listener_arn')}",
    CLUSTER: f"the cluster belongs to infra-{{env}}; read {_I.key('cluster_arn')} from its stack reference",
    NAMESPACE: f"the namespace belongs to infra-{{env}}; read {_I.key('namespace_id')} from its stack reference",
    ECR_REPOSITORY: f"the repository belongs to boot-{{service}}-{{env}}; read {_B.key('repository_url')} from its stack reference",
    LOG_GROUP: f"the log group belongs to boot-{{service}}-{{env}}; read {_B.key('log_group_name')} from its stack reference",
    ECS_SERVICE: "ECS services belong to lane stacks {service}-{env}-{lane}",
    TASK_DEFINITION: "task definitions belong to lane stacks {service}-{env}-{lane}",
    LISTENER_RULE: "listener rules belong to lane stacks {service}-{env}-{lane}",
    SECURITY_GROUP: f"security groups belong to boot-{{service}}-{{env}}; read {_B.key('service_security_group_id')} from its stack reference",
}

# The boundaries the issue names, checked first so their message is specific.
FORBIDDEN: dict[str, frozenset[str]] = {
    "lane": frozenset({VPC, SUBNET, LOAD_BALANCER, LISTENER, CLUSTER, NAMESPACE, ECR_REPOSITORY, LOG_GROUP}),
    "boot": frozenset({ECS_SERVICE, LISTENER_RULE, TASK_DEFINITION, VPC, SUBNET, CLUSTER, NAMESPACE}),
    "infra": frozenset({LOAD_BALANCER, LISTENER, LISTENER_RULE, ECS_SERVICE}),
    "pipelines": frozenset({VPC, SUBNET, LOAD_BALANCER, LISTENER, LISTENER_RULE, ECS_SERVICE, CLUSTER}),
}

NAME = "layer-boundaries"
DESCRIPTION = (
    "Layer boundaries: a stack registers only its own layer's resource types (infra: network, cluster, "
    "namespace; boot: ALB, listeners, security groups, log group, Cloud Map service, ECR; lane: task "
    "definition, ECS service, target group, listener rules, roles, alarms; pipelines: delivery). This keeps "
    "a lane deploy or delete from touching what other lanes and services share. Fix: read the resource from "
    "the owning layer's stack reference instead of creating it, or move it to the layer that owns it."
)


def check_type(layer: str, type_: str, stack: str) -> str | None:
    """The violation message for ``type_`` in a ``layer`` stack, or None."""
    t = normalize_type(type_)
    if t.startswith(PROVIDER_PREFIX) or t in (STACK_TYPE, STACK_REFERENCE):
        return None
    if t.startswith("multilane:"):
        component_layer = t.split(":")[1]
        if component_layer != layer:
            return (
                f"{layer} stack {stack} instantiates the {component_layer}-layer component {t}; "
                f"only multilane:{layer}:* components belong here"
            )
        return None
    if t in FORBIDDEN.get(layer, frozenset()):
        why = _OWNER.get(t, f"{t} belongs to another layer")
        return f"a {layer} stack must not create {t}: {why}"
    if t not in ALLOWED.get(layer, frozenset()):
        return (
            f"{t} is not a {layer}-layer resource type; if the {layer} layer really owns it, "
            f"add it to the {layer} layer's owns in components/contract.py in the same review"
        )
    return None


def policies(ctx: PackContext) -> list[Policy]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        target = ctx.target(args.urn)
        if target is None:
            why = ctx.target_error(args.urn) or "it does not resolve"
            report(f"the stack is not a multilane stack, so its layer is unknown: {why}", None)
            return
        message = check_type(target.layer, args.resource_type, target.stack)
        if message:
            report(message, None)

    return [ResourceValidationPolicy(NAME, DESCRIPTION, validate, EnforcementLevel.MANDATORY)]

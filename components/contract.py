"""The layer contract: every fact the four stacks agree on, in one place.

For each layer: its name, stack name pattern, deploy phase, builder module,
the layers it reads (and exactly which of their outputs), the resource types
it may own and the ones it must protect, and a typed record of its outputs.

Output records are frozen dataclasses; each field's metadata holds the
exported key (the article's CloudFormation export name). A record has one
way each to

- export: :meth:`Outputs.exports` (the program passes it to ``pulumi.export``),
- read from a StackReference: :meth:`Outputs.from_reference` (on a *reads*
  record, which names the subset of a lower layer's outputs a reader uses),
- read from a dict of outputs: :meth:`Outputs.from_outputs` (all keys) or
  :meth:`Outputs.get` (one key, tolerant of older stacks),
- make placeholders: :func:`placeholder_outputs`.

The program (components/program.py), the layers, the runner's phases and
pre-checks, the fake backend, the offline harness, ``affected``, the policy
pack and docs/contract.md's table all derive from this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar

import pulumi

from . import naming
from .routing.limits import PRIORITY_MAX, PRIORITY_MIN
from .stackname import BootTarget, InfraTarget, LaneTarget, Target

Layer = Literal["infra", "boot", "lane", "pipelines"]
KEY = "multilane.output_key"

R = TypeVar("R", bound="Outputs")


def exported(key: str) -> dict[str, str]:
    """Field metadata: the field is exported under ``key``."""
    return {KEY: key}


class MissingOutputsError(KeyError):
    """A dict of outputs lacks keys a record needs."""


@dataclass(frozen=True)
class Outputs:
    """Base of the typed output records (and of the reads subsets)."""

    LAYER: ClassVar[Layer]

    @classmethod
    def key(cls, name: str) -> str:
        """The exported key of field ``name``."""
        for f in fields(cls):
            if f.name == name:
                return str(f.metadata[KEY]) if KEY in f.metadata else cls._source_key(name)
        raise AttributeError(f"{cls.__name__} has no field {name!r}")

    @classmethod
    def _source_key(cls, name: str) -> str:
        raise AttributeError(f"{cls.__name__}.{name} has no output key")

    @classmethod
    def output_keys(cls) -> tuple[str, ...]:
        return tuple(cls.key(f.name) for f in fields(cls))

    def exports(self) -> dict[str, Any]:
        """Exported key -> value: what the stack exports (and registers as the component's outputs)."""
        return {self.key(f.name): getattr(self, f.name) for f in fields(self)}

    @classmethod
    def missing(cls, outputs: Mapping[str, Any]) -> list[str]:
        return [k for k in cls.output_keys() if k not in outputs]

    @classmethod
    def from_outputs(cls: type[R], outputs: Mapping[str, Any]) -> R:
        """The record from a stack's outputs; raises MissingOutputsError naming absent keys."""
        missing = cls.missing(outputs)
        if missing:
            raise MissingOutputsError(", ".join(missing))
        return cls(**{f.name: outputs[cls.key(f.name)] for f in fields(cls)})

    @classmethod
    def get(cls, outputs: Mapping[str, Any], name: str) -> Any:
        """One field's value from a stack's outputs, or None (an older or emptied stack)."""
        return outputs.get(cls.key(name))

    @classmethod
    def from_reference(cls: type[R], ref: pulumi.StackReference) -> R:
        """Every field of the record, required from the reference (a missing key fails the deploy)."""
        return cls(**{f.name: ref.require_output(cls.key(f.name)) for f in fields(cls)})


class Reads(Outputs):
    """A subset of a lower layer's outputs that one layer reads; keys come from ``SOURCE``."""

    SOURCE: ClassVar[type[Outputs]]

    @classmethod
    def _source_key(cls, name: str) -> str:
        return cls.SOURCE.key(name)


# --- output records ----------------------------------------------------------


@dataclass(frozen=True)
class InfraOutputs(Outputs):
    LAYER: ClassVar[Layer] = "infra"
    vpc_id: pulumi.Input[str] = field(metadata=exported("VpcId"))
    public_subnet_ids: pulumi.Input[list[str]] = field(metadata=exported("PublicSubnetIds"))
    private_subnet_ids: pulumi.Input[list[str]] = field(metadata=exported("PrivateSubnetIds"))
    cluster_name: pulumi.Input[str] = field(metadata=exported("ClusterName"))
    cluster_arn: pulumi.Input[str] = field(metadata=exported("ClusterArn"))
    namespace_id: pulumi.Input[str] = field(metadata=exported("NamespaceId"))
    namespace_name: pulumi.Input[str] = field(metadata=exported("NamespaceName"))
    namespace_arn: pulumi.Input[str] = field(metadata=exported("NamespaceArn"))
    # The SNS topic every boot and lane alarm notifies.
    alarm_topic_arn: pulumi.Input[str] = field(metadata=exported("AlarmTopicArn"))


@dataclass(frozen=True)
class BootOutputs(Outputs):
    LAYER: ClassVar[Layer] = "boot"
    load_balancer_arn: pulumi.Input[str] = field(metadata=exported("LoadBalancerArn"))
    load_balancer_dns_name: pulumi.Input[str] = field(metadata=exported("LoadBalancerDnsName"))
    # The listener lane rules attach to (HTTPS with a certificate), whichever protocol it speaks.
    http_listener_arn: pulumi.Input[str] = field(metadata=exported("HttpListenerArn"))
    default_target_group_arn: pulumi.Input[str] = field(metadata=exported("DefaultTargetGroupArn"))
    log_group_name: pulumi.Input[str] = field(metadata=exported("LogGroupName"))
    service_discovery_service_arn: pulumi.Input[str] = field(metadata=exported("ServiceDiscoveryServiceArn"))
    alb_security_group_id: pulumi.Input[str] = field(metadata=exported("AlbSecurityGroupId"))
    service_security_group_id: pulumi.Input[str] = field(metadata=exported("ServiceSecurityGroupId"))
    repository_url: pulumi.Input[str] = field(metadata=exported("RepositoryUrl"))


@dataclass(frozen=True)
class LaneOutputs(Outputs):
    LAYER: ClassVar[Layer] = "lane"
    lane: str = field(metadata=exported("Lane"))
    service_name: pulumi.Input[str] = field(metadata=exported("ServiceName"))
    target_group_arn: pulumi.Input[str] = field(metadata=exported("TargetGroupArn"))
    listener_rule_arns: pulumi.Input[list[str]] = field(metadata=exported("ListenerRuleArns"))
    # 0 = no rule: the default lane is the listener's default action.
    rule_priority: int = field(metadata=exported("RulePriority"))
    task_definition_arn: pulumi.Input[str] = field(metadata=exported("TaskDefinitionArn"))
    image_uri: str = field(metadata=exported("ImageUri"))
    # What a caller sends to reach the lane, e.g. "tracestate: ctx=lane:gray".
    route_header: str = field(metadata=exported("RouteHeader"))


@dataclass(frozen=True)
class PipelinesOutputs(Outputs):
    LAYER: ClassVar[Layer] = "pipelines"
    pipeline_names: pulumi.Input[list[str]] = field(metadata=exported("PipelineNames"))
    artifact_bucket_name: pulumi.Input[str] = field(metadata=exported("ArtifactBucketName"))


def rule_priority(outputs: Mapping[str, Any]) -> int | None:
    """A lane stack's RulePriority output as a listener rule priority, or None:
    0 (the default lane), missing, or not a priority (an older program's
    output, hand-edited state). The one reader of that output."""
    value = LaneOutputs.get(outputs, "rule_priority")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if PRIORITY_MIN <= value <= PRIORITY_MAX else None


# --- what each layer reads from the layers below -----------------------------


@dataclass(frozen=True)
class BootReadsInfra(Reads):
    LAYER: ClassVar[Layer] = "infra"
    SOURCE: ClassVar[type[Outputs]] = InfraOutputs
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    namespace_id: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]


@dataclass(frozen=True)
class LaneReadsInfra(Reads):
    LAYER: ClassVar[Layer] = "infra"
    SOURCE: ClassVar[type[Outputs]] = InfraOutputs
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]


@dataclass(frozen=True)
class LaneReadsBoot(Reads):
    LAYER: ClassVar[Layer] = "boot"
    SOURCE: ClassVar[type[Outputs]] = BootOutputs
    http_listener_arn: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    default_target_group_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    service_discovery_service_arn: pulumi.Input[str]
    service_security_group_id: pulumi.Input[str]
    repository_url: pulumi.Input[str]


# --- resource types ----------------------------------------------------------

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
CLUSTER = "aws:ecs/cluster:Cluster"
NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SNS_TOPIC = "aws:sns/topic:Topic"

_NETWORK = frozenset(
    {
        VPC,
        SUBNET,
        INTERNET_GATEWAY,
        NAT_GATEWAY,
        EIP,
        ROUTE_TABLE,
        ROUTE,
        ROUTE_TABLE_ASSOCIATION,
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/flowLog:FlowLog",
    }
)
_IAM = frozenset(
    {
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    }
)
_SG_RULES = frozenset({SECURITY_GROUP, SG_INGRESS, SG_EGRESS, "aws:ec2/securityGroupRule:SecurityGroupRule"})
_S3 = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
    }
)


# --- the layers --------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    name: Layer
    stack_pattern: str  # how naming formats the layer's stack names
    one_per: str
    phase: int  # deploy order: lower phases first, one phase in parallel
    builder: str  # module whose build(target, config, params_dir) returns the outputs record
    outputs: type[Outputs]
    reads: tuple[type[Reads], ...]  # what it reads from the layers below, in order
    owns: frozenset[str]  # resource types a stack of this layer may register
    protects: frozenset[str] = frozenset()  # owned types that must carry protect

    @property
    def reads_layers(self) -> tuple[Layer, ...]:
        return tuple(r.LAYER for r in self.reads)


INFRA = LayerSpec(
    name="infra",
    stack_pattern=naming.infra_stack("{env}"),
    one_per="environment",
    phase=0,
    builder="components.layers.infra",
    outputs=InfraOutputs,
    reads=(),
    owns=_NETWORK
    | {
        CLUSTER,
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        NAMESPACE,
        SNS_TOPIC,  # the env's alarm topic
        "aws:sns/topicSubscription:TopicSubscription",
        SECURITY_GROUP,  # VPC endpoint security groups
        SG_INGRESS,
        SG_EGRESS,
    },
    # The article's stack policy: an environment's network is deleted only on purpose.
    protects=frozenset({VPC, SUBNET, INTERNET_GATEWAY, NAT_GATEWAY, EIP, ROUTE_TABLE, ROUTE, ROUTE_TABLE_ASSOCIATION}),
)
BOOT = LayerSpec(
    name="boot",
    stack_pattern=naming.boot_stack("{service}", "{env}"),
    one_per="service × env",
    phase=1,
    builder="components.layers.boot",
    outputs=BootOutputs,
    reads=(BootReadsInfra,),
    owns=_SG_RULES
    | _S3  # the ALB access log bucket
    | {
        LOAD_BALANCER,
        LISTENER,
        "aws:lb/listenerCertificate:ListenerCertificate",
        TARGET_GROUP,
        LOG_GROUP,
        "aws:servicediscovery/service:Service",
        ECR_REPOSITORY,
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        METRIC_ALARM,
    },
    # Every lane's rules hang off the ALB and its listeners.
    protects=frozenset({LOAD_BALANCER, LISTENER}),
)
LANE = LayerSpec(
    name="lane",
    stack_pattern=naming.lane_stack("{service}", "{env}", "{lane}"),
    one_per="service × env × lane",
    phase=2,
    builder="components.layers.lane.component",
    outputs=LaneOutputs,
    reads=(LaneReadsInfra, LaneReadsBoot),
    owns=_IAM
    | {
        TASK_DEFINITION,
        ECS_SERVICE,
        TARGET_GROUP,
        LISTENER_RULE,
        METRIC_ALARM,
        "aws:appautoscaling/target:Target",
        "aws:appautoscaling/policy:Policy",
    },
)
PIPELINES = LayerSpec(
    name="pipelines",
    stack_pattern=naming.pipelines_stack("{env}"),
    one_per="environment",
    phase=1,
    builder="components.layers.pipelines.component",
    outputs=PipelinesOutputs,
    reads=(),
    owns=_IAM
    | _S3
    | {
        LOG_GROUP,
        "aws:codebuild/project:Project",
        "aws:codepipeline/pipeline:Pipeline",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        SNS_TOPIC,
        "aws:sns/topicPolicy:TopicPolicy",
    },
)

LAYERS: dict[Layer, LayerSpec] = {spec.name: spec for spec in (INFRA, BOOT, LANE, PIPELINES)}


def spec(target: Target) -> LayerSpec:
    return LAYERS[target.layer]


def reads(reader: Layer, lower: Layer) -> tuple[str, ...]:
    """The output keys a ``reader`` stack reads from its ``lower`` stack (none if it does not read it)."""
    for r in LAYERS[reader].reads:
        if lower == r.LAYER:
            return r.output_keys()
    return ()


def lower_stack(target: Target, lower: Layer) -> str:
    """The name of the ``lower`` stack ``target`` reads (the same env; boot: the same service)."""
    if lower == "infra":
        return naming.infra_stack(target.env)
    if lower == "boot" and isinstance(target, LaneTarget):
        return naming.boot_stack(target.service, target.env)
    raise ValueError(f"{target.stack} reads no {lower} stack")


def references(target: Target) -> dict[str, type[Reads]]:
    """Stack name -> the reads record, for every stack ``target``'s program reads."""
    return {lower_stack(target, r.LAYER): r for r in spec(target).reads}


def read_reference(reads_record: type[R], target: Target, org: str) -> R:
    """The StackReference a layer's program reads ``reads_record`` through (the one way to read a lower stack)."""
    stack = lower_stack(target, reads_record.LAYER)
    return reads_record.from_reference(pulumi.StackReference(naming.stack_ref(stack, org)))


# --- placeholders --------------------------------------------------------------

PLACEHOLDER = "PLACEHOLDER"
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "ap-southeast-2"


def placeholder_target_group(service: str, env: str, lane: str) -> str:
    """A target group name for fake ARNs (port, protocol and type as the params' usual ones)."""
    return naming.target_group_name(service, env, lane, port=8080, protocol="HTTP", target_type="ip")


def placeholder_outputs(target: Target) -> dict[str, Any]:
    """Obviously fake outputs (``PLACEHOLDER`` in every id) of a stack nobody supplied."""
    region, account, p = PLACEHOLDER_REGION, PLACEHOLDER_ACCOUNT, PLACEHOLDER.lower()
    if isinstance(target, InfraTarget):
        env = target.env
        return InfraOutputs(
            vpc_id=f"vpc-0{p}",
            public_subnet_ids=[f"subnet-0{p}-pub-a", f"subnet-0{p}-pub-b"],
            private_subnet_ids=[f"subnet-0{p}-prv-a", f"subnet-0{p}-prv-b"],
            cluster_name=naming.cluster_name(env),
            cluster_arn=naming.arn("aws", "ecs", region, account, f"cluster/{naming.cluster_name(env)}"),
            namespace_id=f"ns-{PLACEHOLDER}",
            namespace_name=f"{env}.{p}.internal",
            namespace_arn=naming.arn("aws", "servicediscovery", region, account, f"namespace/ns-{PLACEHOLDER}"),
            alarm_topic_arn=naming.arn("aws", "sns", region, account, naming.alarm_topic_name(env)),
        ).exports()
    if isinstance(target, BootTarget):
        svc, env = target.service, target.env
        alb = naming.alb_name(svc, env)
        elb = naming.arn("aws", "elasticloadbalancing", region, account, "")
        return BootOutputs(
            load_balancer_arn=f"{elb}loadbalancer/app/{alb}/{PLACEHOLDER}",
            load_balancer_dns_name=f"{alb}-{p}.{region}.elb.amazonaws.com",
            http_listener_arn=f"{elb}listener/app/{alb}/{PLACEHOLDER}/{PLACEHOLDER}",
            default_target_group_arn=f"{elb}targetgroup/{placeholder_target_group(svc, env, naming.DEFAULT_LANE)}/{PLACEHOLDER}",
            log_group_name=naming.log_group_name(svc, env),
            service_discovery_service_arn=naming.arn(
                "aws", "servicediscovery", region, account, f"service/srv-{PLACEHOLDER}"
            ),
            alb_security_group_id=f"sg-0{p}-alb",
            service_security_group_id=f"sg-0{p}-svc",
            repository_url=naming.ecr_repository_url(account, region, svc, env),
        ).exports()
    return {}  # no program reads a lane or pipelines stack

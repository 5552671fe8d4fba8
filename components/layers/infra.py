"""Infra layer, stack ``infra-{env}``: the environment every service shares.

Create mode builds the VPC, public and private subnets (one pair per AZ),
internet gateway, NAT per params and route tables; wrap mode (the article's
CreateNetwork=false) exports an existing VPC's ids unchanged and creates no
network resource. Both modes create the ECS cluster (Container Insights on:
the lane alarms read its task-count metrics), the Cloud Map namespace and
the env's alarm topic (every boot and lane alarm notifies it; its
subscribers come from params, or params name an existing topic).
Network resources are protected: the article's stack policy forbids deleting
them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import naming, params
from components.contract import INFRA, InfraOutputs
from components.params import CreateNetwork, InfraParams
from components.stackconfig import StackConfig
from components.stackname import InfraTarget

LAYER = INFRA.name


@dataclass
class InfraEnvironmentArgs:
    env: str
    params: InfraParams


class InfraEnvironment(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    namespace_id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    namespace_arn: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: InfraEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:infra:Environment", name, None, opts)
        self._env = args.env
        self._tags = naming.tags(args.env, LAYER)
        net = args.params.network
        if isinstance(net, CreateNetwork):
            self._create_network(net)
        else:
            self.vpc_id = pulumi.Output.from_input(net.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(net.public_subnet_ids))
            self.private_subnet_ids = pulumi.Output.from_input(list(net.private_subnet_ids))

        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            "cluster",
            name=naming.cluster_name(args.env),
            settings=[
                aws.ecs.ClusterSettingArgs(name="containerInsights", value=args.params.cluster.container_insights)
            ],
            tags=self._tags,
            opts=child,
        )
        providers = list(args.params.cluster.capacity_providers)
        aws.ecs.ClusterCapacityProviders(
            "capacity",
            cluster_name=cluster.name,
            capacity_providers=providers,
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=providers[0], weight=1, base=0
                )
            ],
            opts=child,
        )
        namespace = aws.servicediscovery.PrivateDnsNamespace(
            "namespace",
            name=args.params.namespace_name,
            vpc=self.vpc_id,
            description=f"multilane service discovery for {args.env}",
            tags=self._tags,
            opts=child,
        )
        notify = args.params.alarm_notifications
        if notify.topic_arn:
            self.alarm_topic_arn = pulumi.Output.from_input(notify.topic_arn)
        else:
            # No KMS key: CloudWatch cannot publish to a topic encrypted with
            # the AWS-managed aws/sns key, and alarm texts hold no secrets.
            topic = aws.sns.Topic("alarm-topic", name=naming.alarm_topic_name(args.env), tags=self._tags, opts=child)
            for i, sub in enumerate(notify.subscribers):
                aws.sns.TopicSubscription(
                    f"alarm-subscriber-{i}",
                    topic=topic.arn,
                    protocol=sub.protocol,
                    endpoint=sub.endpoint,
                    # email and https subscribers confirm by hand (or by their service).
                    endpoint_auto_confirms=sub.protocol == "https",
                    opts=child,
                )
            self.alarm_topic_arn = topic.arn
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.namespace_id = namespace.id
        self.namespace_name = namespace.name
        self.namespace_arn = namespace.arn
        self.register_outputs(self.outputs().exports())

    def _create_network(self, net: CreateNetwork) -> None:
        # protect=True is the article's stack policy: deleting the network of
        # an environment must be a deliberate unprotect-then-destroy.
        keep = pulumi.ResourceOptions(parent=self, protect=True)

        def tagged(name: str) -> dict[str, str]:
            return {**self._tags, "Name": f"{naming.vpc_name(self._env)}-{name}"}

        vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=net.vpc_cidr,
            enable_dns_hostnames=True,  # Cloud Map private DNS needs both
            enable_dns_support=True,
            tags=tagged("vpc"),
            opts=keep,
        )
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=tagged("igw"), opts=keep)
        public_rt = aws.ec2.RouteTable("public-rt", vpc_id=vpc.id, tags=tagged("public"), opts=keep)
        aws.ec2.Route(
            "public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=keep,
        )

        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        for i, az in enumerate(net.availability_zones):
            suffix = az[-1]
            pub = aws.ec2.Subnet(
                f"public-{suffix}",
                vpc_id=vpc.id,
                cidr_block=net.public_subnet_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,  # only the ALB lives here
                tags={**tagged(f"public-{suffix}"), "Tier": "public"},
                opts=keep,
            )
            aws.ec2.RouteTableAssociation(f"public-{suffix}", subnet_id=pub.id, route_table_id=public_rt.id, opts=keep)
            public.append(pub)
            priv = aws.ec2.Subnet(
                f"private-{suffix}",
                vpc_id=vpc.id,
                cidr_block=net.private_subnet_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tagged(f"private-{suffix}"), "Tier": "private"},
                opts=keep,
            )
            private.append(priv)

        nats: list[aws.ec2.NatGateway] = []
        nat_azs = {"none": 0, "single": 1, "perAz": len(public)}[net.nat_mode]
        for i in range(nat_azs):
            suffix = net.availability_zones[i][-1]
            eip = aws.ec2.Eip(f"nat-{suffix}", domain="vpc", tags=tagged(f"nat-{suffix}"), opts=keep)
            nats.append(
                aws.ec2.NatGateway(
                    f"nat-{suffix}",
                    allocation_id=eip.id,
                    subnet_id=public[i].id,
                    tags=tagged(f"nat-{suffix}"),
                    opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[igw]),
                )
            )

        for i, priv in enumerate(private):
            suffix = net.availability_zones[i][-1]
            rt = aws.ec2.RouteTable(f"private-rt-{suffix}", vpc_id=vpc.id, tags=tagged(f"private-{suffix}"), opts=keep)
            if nats:
                # perAz keeps each AZ's egress in its own AZ; single shares one.
                nat = nats[i] if len(nats) > 1 else nats[0]
                aws.ec2.Route(
                    f"private-default-route-{suffix}",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=keep,
                )
            aws.ec2.RouteTableAssociation(f"private-{suffix}", subnet_id=priv.id, route_table_id=rt.id, opts=keep)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public]).apply(list)
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private]).apply(list)

    def outputs(self) -> InfraOutputs:
        """The contract's infra outputs."""
        return InfraOutputs(
            vpc_id=self.vpc_id,
            public_subnet_ids=self.public_subnet_ids,
            private_subnet_ids=self.private_subnet_ids,
            cluster_name=self.cluster_name,
            cluster_arn=self.cluster_arn,
            namespace_id=self.namespace_id,
            namespace_name=self.namespace_name,
            namespace_arn=self.namespace_arn,
            alarm_topic_arn=self.alarm_topic_arn,
        )


def build(target: InfraTarget, config: StackConfig, params_dir: Path) -> InfraOutputs:
    infra = params.load_infra(target.env, params_dir)  # validate before declaring anything
    provider = aws.Provider("aws", region=infra.region)
    env = InfraEnvironment(
        "environment",
        InfraEnvironmentArgs(env=target.env, params=infra),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return env.outputs()

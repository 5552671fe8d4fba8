"""Boot layer, stack ``boot-{service}-{env}``: what every lane of a service shares.

Reads infra (VPC, subnets, Cloud Map namespace) and creates the service's
ALB with its security group, the listener(s), the default target group the
lane ``default`` serves, the service security group every lane's tasks use,
the log group ``/ecs/{env}/{service}``, the Cloud Map service, the ECR
repository and the service-level 5xx alarm.

Listeners: without a certificate, one HTTP listener forwards to the default
target group and lane rules attach to it. With ``certificateArn`` in
``boot-{env}.json``, an HTTPS listener forwards to the default target group,
the HTTP listener only redirects to HTTPS, and lane rules attach to the HTTPS
listener. The ``HttpListenerArn`` output (the article's export name) always
names the listener lane rules attach to, whichever protocol it speaks.

The ALB and listeners are protected: the article's stack policy forbids
changing the boot listener by accident, and every lane's rules hang off it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components import alarms, iam, naming, params
from components.buckets import Expiry, private_bucket
from components.contract import BOOT, BootOutputs, BootReadsInfra, read_reference
from components.errors import MultilaneError
from components.params import BootParams, ServiceParams, WrapNetwork
from components.stackconfig import StackConfig
from components.stackname import BootTarget

LAYER = BOOT.name
TARGET_TYPE = "ip"  # Fargate tasks in awsvpc mode register by IP
TARGET_PROTOCOL = "HTTP"
# IMMUTABLE: pipelines tag images by commit (sha-abc123); an immutable tag
# means a task definition revision always pulls the bits it was deployed
# with, so an ECS rollback to the previous revision really restores the old
# build, and no one can overwrite a tag a running lane uses.
IMAGE_TAG_MUTABILITY = "IMMUTABLE"
UNTAGGED_EXPIRE_DAYS = 1


class TargetGroupSettings(TypedDict):
    """The keyword arguments of ``aws.lb.TargetGroup`` that :func:`target_group_args` fixes."""

    port: int
    protocol: str
    target_type: str
    deregistration_delay: int
    health_check: aws.lb.TargetGroupHealthCheckArgs


def target_group_args(boot: BootParams, svc: ServiceParams) -> TargetGroupSettings:
    """Port, protocol, health check and drain settings shared by the default
    target group and every lane's target group (so the cutover model in
    bench/cutover.py holds for each of them)."""
    hc = boot.health_check
    return {
        "port": svc.container_port,
        "protocol": TARGET_PROTOCOL,
        "target_type": TARGET_TYPE,
        "deregistration_delay": boot.deregistration_delay_seconds,
        "health_check": aws.lb.TargetGroupHealthCheckArgs(
            enabled=True,
            path=svc.health_check_path,
            protocol=TARGET_PROTOCOL,
            port="traffic-port",
            interval=hc.interval_seconds,
            timeout=hc.timeout_seconds,
            healthy_threshold=hc.healthy_threshold,
            unhealthy_threshold=hc.unhealthy_threshold,
            matcher=hc.matcher,
        ),
    }


def ecr_lifecycle_policy(keep_images: int) -> str:
    """Expire untagged layers after a day, keep the newest ``keep_images``.

    Keep enough images for every live lane plus rollback: an expired image
    cannot be pulled when ECS replaces or scales a task of a lane using it.
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"expire untagged images after {UNTAGGED_EXPIRE_DAYS} day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_EXPIRE_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


def listener_ports(boot: BootParams) -> list[int]:
    """The ports the ALB security group opens: HTTP, and HTTPS with a certificate."""
    return [boot.http_port, boot.https_port] if boot.certificate_arn else [boot.http_port]


def check(target: BootTarget, infra: params.InfraParams, boot: BootParams) -> None:
    """Fail on combinations AWS would only reject halfway through a deploy."""
    if boot.certificate_arn and boot.http_port == boot.https_port:
        raise MultilaneError(
            f"params/boot-{target.env}.json: httpPort and httpsPort are both {boot.http_port}; give them different ports"
        )
    net = infra.network
    if boot.alb_scheme == "internet-facing" and isinstance(net, WrapNetwork) and not net.public_subnet_ids:
        raise MultilaneError(
            f"params/boot-{target.env}.json: albScheme is internet-facing but params/infra-{target.env}.json "
            "wraps a VPC without publicSubnetIds; list public subnets there or set albScheme to internal"
        )


@dataclass
class ServiceBootArgs:
    service: str
    env: str
    boot: BootParams
    service_params: ServiceParams
    production: bool
    infra: BootReadsInfra  # what boot reads from infra-{env}
    region: str = ""
    account: pulumi.Input[str] = ""


def access_logs_enabled(boot: BootParams, production: bool) -> bool:
    """ALB access logs: params decide; unset means on in production envs."""
    return production if boot.access_logs is None else boot.access_logs


class AccessLogBucket(pulumi.ComponentResource):
    """The ALB's access log bucket: private, SSE-S3 encrypted (the only
    encryption ALB log delivery supports), versioned, expiring, TLS only, and
    writable by Elastic Load Balancing's log delivery under one prefix only."""

    bucket_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        service: str,
        env: str,
        region: str,
        account: pulumi.Input[str],
        retention_days: int,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("multilane:boot:AccessLogBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = naming.alb_access_log_prefix(service)
        bucket = private_bucket(
            name,
            bucket_prefix=naming.alb_access_log_bucket_prefix(service, env),
            tags=tags,
            expiry=Expiry("expire-access-logs", retention_days, noncurrent_days=1),
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account).apply(
                lambda a: json.dumps(
                    iam.buckets.alb_access_log_bucket_policy(a[0], prefix, account=a[1], region=region)
                )
            ),
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.prefix = prefix
        self.policy = policy
        self.register_outputs({"bucketName": self.bucket_name})


class ServiceBoot(pulumi.ComponentResource):
    load_balancer_arn: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    http_listener_arn: pulumi.Output[str]
    default_target_group_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    service_discovery_service_arn: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    service_security_group_id: pulumi.Output[str]
    repository_url: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceBootArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("multilane:boot:ServiceBoot", name, None, opts)
        service, env, boot, svc = args.service, args.env, args.boot, args.service_params
        tags = naming.tags(env, LAYER, service)
        child = pulumi.ResourceOptions(parent=self)
        # The article's stack policy: the ALB and the listener every lane rule
        # hangs off change only on purpose (unprotect, then change).
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        internal = boot.alb_scheme == "internal"

        # --- security groups: the ALB takes listener ports from allowed
        # CIDRs; tasks take the container port from the ALB only.
        alb_sg = aws.ec2.SecurityGroup(
            "alb-sg",
            name=naming.security_group_name(service, env, "alb"),
            description=f"{service} {env} ALB: listener ports from allowed CIDRs",
            vpc_id=args.infra.vpc_id,
            tags=tags,
            opts=child,
        )
        svc_sg = aws.ec2.SecurityGroup(
            "service-sg",
            name=naming.security_group_name(service, env, "service"),
            description=f"{service} {env} tasks: container port from the ALB only",
            vpc_id=args.infra.vpc_id,
            tags=tags,
            opts=child,
        )
        for port in listener_ports(boot):
            for i, cidr in enumerate(boot.allowed_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"alb-in-{port}-{i}",
                    security_group_id=alb_sg.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    description=f"listener port {port} from {cidr}",
                    tags=tags,
                    opts=child,
                )
        aws.vpc.SecurityGroupEgressRule(
            "alb-out-tasks",
            security_group_id=alb_sg.id,
            ip_protocol="tcp",
            from_port=svc.container_port,
            to_port=svc.container_port,
            referenced_security_group_id=svc_sg.id,
            description="to the service's tasks (traffic and health checks)",
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            "service-in-alb",
            security_group_id=svc_sg.id,
            ip_protocol="tcp",
            from_port=svc.container_port,
            to_port=svc.container_port,
            referenced_security_group_id=alb_sg.id,
            description="container port from the ALB only",
            tags=tags,
            opts=child,
        )
        # Tasks pull images, write logs and read secrets through NAT or VPC
        # endpoints and call their own dependencies: egress stays open, the
        # boundary is ingress.
        aws.vpc.SecurityGroupEgressRule(
            "service-out",
            security_group_id=svc_sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="tasks reach ECR, CloudWatch Logs, secrets and their dependencies",
            tags=tags,
            opts=child,
        )

        # --- access logs (on by default in production): ELB checks it may
        # write to the bucket when the attribute is set, so the bucket policy
        # comes first.
        access_logs = None
        log_deps: list[pulumi.Resource] = []
        if access_logs_enabled(boot, args.production):
            store = AccessLogBucket(
                "access-logs",
                service=service,
                env=env,
                region=args.region,
                account=args.account,
                retention_days=boot.log_retention_days,
                tags=tags,
                opts=child,
            )
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(bucket=store.bucket_name, prefix=store.prefix, enabled=True)
            log_deps = [store.policy]

        # --- load balancer, default target group, listeners
        alb = aws.lb.LoadBalancer(
            "alb",
            name=naming.alb_name(service, env),
            load_balancer_type="application",
            internal=internal,
            subnets=args.infra.private_subnet_ids if internal else args.infra.public_subnet_ids,
            security_groups=[alb_sg.id],
            # Production ALBs keep deletion protection even if params forget.
            enable_deletion_protection=boot.deletion_protection or args.production,
            # A malformed header must never be half-matched by a lane rule.
            drop_invalid_header_fields=True,
            access_logs=access_logs,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=log_deps),
        )
        tg_args = target_group_args(boot, svc)
        default_tg = aws.lb.TargetGroup(
            "default-tg",
            name=naming.default_target_group_name(
                service, env, port=tg_args["port"], protocol=tg_args["protocol"], target_type=tg_args["target_type"]
            ),
            vpc_id=args.infra.vpc_id,
            tags={**tags, "Lane": naming.DEFAULT_LANE},
            **tg_args,
            opts=child,
        )
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=default_tg.arn)]
        if boot.certificate_arn:
            lane_listener = aws.lb.Listener(
                "https",
                load_balancer_arn=alb.arn,
                port=boot.https_port,
                protocol="HTTPS",
                certificate_arn=boot.certificate_arn,
                ssl_policy=boot.ssl_policy,
                default_actions=forward,
                tags=tags,
                opts=keep,
            )
            aws.lb.Listener(
                "http",
                load_balancer_arn=alb.arn,
                port=boot.http_port,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            port=str(boot.https_port), protocol="HTTPS", status_code="HTTP_301"
                        ),
                    )
                ],
                tags=tags,
                opts=keep,
            )
        else:
            lane_listener = aws.lb.Listener(
                "http",
                load_balancer_arn=alb.arn,
                port=boot.http_port,
                protocol="HTTP",
                default_actions=forward,
                tags=tags,
                opts=keep,
            )

        # --- logs, discovery, images
        log_group = aws.cloudwatch.LogGroup(
            "logs",
            name=naming.log_group_name(service, env),
            retention_in_days=boot.log_retention_days,
            tags=tags,
            opts=child,
        )
        # No custom health check: ECS registers a task's IP when it runs and
        # removes it when it stops; ALB health checks gate the lanes' traffic.
        discovery = aws.servicediscovery.Service(
            "discovery",
            name=naming.cloudmap_service_name(service),
            description=f"{service} default lane in {env}",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=args.infra.namespace_id,
                dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(type="A", ttl=10)],
                routing_policy="MULTIVALUE",
            ),
            tags=tags,
            opts=child,
        )
        repo = aws.ecr.Repository(
            "repository",
            name=naming.ecr_repository_name(service, env),
            image_tag_mutability=IMAGE_TAG_MUTABILITY,
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            tags=tags,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            "repository-lifecycle",
            repository=repo.name,
            policy=ecr_lifecycle_policy(boot.ecr_keep_images),
            opts=child,
        )

        # --- service-level alarm (every lane together)
        for spec in alarms.service_alarms(
            service, env, alb.arn_suffix, svc.alarms, topic_arn=args.infra.alarm_topic_arn
        ):
            aws.cloudwatch.MetricAlarm(spec.key, spec.args, opts=child)

        self.load_balancer_arn = alb.arn
        self.load_balancer_dns_name = alb.dns_name
        self.http_listener_arn = lane_listener.arn
        self.default_target_group_arn = default_tg.arn
        self.log_group_name = log_group.name
        self.service_discovery_service_arn = discovery.arn
        self.alb_security_group_id = alb_sg.id
        self.service_security_group_id = svc_sg.id
        self.repository_url = repo.repository_url
        self.register_outputs(self.outputs().exports())

    def outputs(self) -> BootOutputs:
        """The contract's boot outputs."""
        return BootOutputs(
            load_balancer_arn=self.load_balancer_arn,
            load_balancer_dns_name=self.load_balancer_dns_name,
            http_listener_arn=self.http_listener_arn,
            default_target_group_arn=self.default_target_group_arn,
            log_group_name=self.log_group_name,
            service_discovery_service_arn=self.service_discovery_service_arn,
            alb_security_group_id=self.alb_security_group_id,
            service_security_group_id=self.service_security_group_id,
            repository_url=self.repository_url,
        )


def build(target: BootTarget, config: StackConfig, params_dir: Path) -> BootOutputs:
    # Every params file is read and checked before the first registration.
    infra = params.load_infra(target.env, params_dir)
    boot = params.load_boot(target.env, params_dir)
    svc = params.load_service(target.service, target.env, params_dir)
    check(target, infra, boot)

    provider = aws.Provider("aws", region=infra.region)
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    component = ServiceBoot(
        "boot",
        ServiceBootArgs(
            service=target.service,
            env=target.env,
            boot=boot,
            service_params=svc,
            production=infra.production,
            infra=read_reference(BootReadsInfra, target, config.org),
            region=infra.region,
            account=identity.account_id,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return component.outputs()

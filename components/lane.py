"""Lane layer, stack ``{service}-{env}-{lane}``: one version of a service.

Reads infra (cluster, private subnets, VPC) and boot (listener, default
target group, log group, Cloud Map service, security group, repository) and
writes only the lane's own resources: task definition, execution and task
roles, ECS service, lane alarms, and, for every lane but ``default``, a
target group and the listener rule(s) that route the lane's header to it.

The lane ``default`` is the fallback: its ECS service registers in the boot
stack's default target group and Cloud Map service and it creates no rule.

Everything a user can get wrong (lane name, image, params, pinned priority)
is checked in :func:`build` before the first registration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from . import alarms, iam, naming, params, routing
from .boot import target_group_args
from .errors import MultilaneError
from .params import BootParams, ServiceParams
from .stackconfig import StackConfig
from .stackname import Target, check_lane

LAYER = "lane"
# New tasks start and turn healthy before old ones stop (the cutover model
# in bench/cutover.py): never below the desired count during a deploy.
MIN_HEALTHY_PERCENT = 100
MAX_PERCENT = 200


def resolve_image(target: Target, config: StackConfig, svc: ServiceParams) -> str:
    """The lane's image: stack config, else the service's bootstrap image."""
    if config.image_uri:
        return config.image_uri
    if svc.bootstrap_image:
        return svc.bootstrap_image
    raise MultilaneError(
        f"lane stack {target.stack} has no image: set multilane:imageUri in stacks/Pulumi.{target.stack}.yaml "
        f"(the runner sets it from the build's parameter file) or bootstrapImage in "
        f"params/{target.service}-{target.env}.json"
    )


BOOTSTRAP_WORK_DIR = "/tmp"


def bootstrap_command(port: int) -> list[str]:
    """Command for a params bootstrapImage (an nginx image, params.BOOTSTRAP_REPOSITORIES):
    listen on the service's containerPort and answer 200 on every path, so the
    target group's health check on healthCheckPath passes before the app's
    first build exists. Config, pid and temp files live in /tmp and logs go to
    stdout/stderr, so it also runs hardened (read-only root with /tmp
    writable, non-root user on a port above 1024)."""
    t = BOOTSTRAP_WORK_DIR
    temp = " ".join(f"{kind}_temp_path {t}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = (
        f"pid {t}/nginx.pid; error_log /dev/stderr; events {{}} "
        f"http {{ access_log /dev/stdout; {temp} "
        f"server {{ listen {port}; location / {{ return 200 'multilane bootstrap'; }} }} }}"
    )
    return [
        "sh",
        "-c",
        f'printf "%s\\n" "{conf}" > {t}/nginx.conf && exec nginx -e /dev/stderr -c {t}/nginx.conf -g "daemon off;"',
    ]


def container_definitions(
    *,
    service: str,
    lane: str,
    image: str,
    svc: ServiceParams,
    log_group_name: str,
    region: str,
    production: bool = False,
) -> str:
    """The task definition's one container, as the JSON ECS expects.

    Secrets travel as ``valueFrom`` ARNs: ECS resolves them at start, the
    values never appear in params, state or the task definition. Hardening
    (read-only root, non-root user) follows :func:`hardening`.
    """
    container: dict[str, Any] = {
        "name": naming.container_name(service),
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": svc.container_port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(svc.environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(svc.secrets.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": region,
                # The article's per-lane log streams: {lane}/{container}/{task}.
                "awslogs-stream-prefix": lane,
            },
        },
    }
    readonly, user = hardening(svc, production)
    if svc.bootstrap_image and image == svc.bootstrap_image:
        container["command"] = bootstrap_command(svc.container_port)
    if readonly:
        container["readonlyRootFilesystem"] = True
        container["mountPoints"] = [
            {"sourceVolume": naming.writable_volume_name(i), "containerPath": path, "readOnly": False}
            for i, path in enumerate(svc.writable_paths)
        ]
    if user:
        container["user"] = user
    return json.dumps([container], sort_keys=True)


def hardening(svc: ServiceParams, production: bool) -> tuple[bool, str | None]:
    """(read-only root filesystem, user to run as) for one service: each on
    by default where the env is production, off elsewhere; params decide."""
    readonly = production if svc.readonly_root_filesystem is None else svc.readonly_root_filesystem
    non_root = production if svc.run_as_non_root is None else svc.run_as_non_root
    return readonly, svc.user if non_root else None


def task_volumes(svc: ServiceParams, production: bool) -> list[dict[str, str]]:
    """One task volume (Fargate ephemeral storage) per writable path of a read-only container."""
    if not hardening(svc, production)[0]:
        return []
    return [{"name": naming.writable_volume_name(i)} for i in range(len(svc.writable_paths))]


INFRA_PRIVATE_SUBNETS_PROP = "infraPrivateSubnetIds"


@dataclass
class AppLaneArgs:
    service: str
    env: str
    lane: str
    image: str
    region: str
    service_params: ServiceParams
    boot_params: BootParams
    production: bool
    # Plain routing decisions, made before anything registers.
    rule_conditions: list[list[dict]]
    rule_priorities: list[int]
    # infra outputs
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    # boot outputs
    listener_arn: pulumi.Input[str]
    load_balancer_arn: pulumi.Input[str]
    default_target_group_arn: pulumi.Input[str]
    log_group_name: pulumi.Input[str]
    service_discovery_service_arn: pulumi.Input[str]
    service_security_group_id: pulumi.Input[str]
    repository_url: pulumi.Input[str]


class AppLane(pulumi.ComponentResource):
    lane: str
    service_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    listener_rule_arns: pulumi.Output[list[str]]
    rule_priority: int
    task_definition_arn: pulumi.Output[str]
    image_uri: str
    route_header: str

    def __init__(self, name: str, args: AppLaneArgs, opts: pulumi.ResourceOptions | None = None):
        # The infra reference's private subnets, as a component input: the
        # real engine does not show StackReference reads to policy packs, so
        # this is where the pack's private-subnet check finds them.
        super().__init__("multilane:lane:AppLane", name, {INFRA_PRIVATE_SUBNETS_PROP: args.private_subnet_ids}, opts)
        service, env, lane, svc = args.service, args.env, args.lane, args.service_params
        is_default = lane == naming.DEFAULT_LANE
        tags = naming.tags(env, LAYER, service, lane)
        child = pulumi.ResourceOptions(parent=self)
        ecs_name = naming.ecs_service_name(service, lane)
        container = naming.container_name(service)

        # --- roles: the execution role starts the task, the task role is the
        # app's own identity (no permissions until the app needs some).
        cluster_arn = pulumi.Output.from_input(args.cluster_arn)
        arn_fields = cluster_arn.apply(iam.arn_parts)  # partition, service, region, account, resource
        assume = arn_fields.apply(lambda f: json.dumps(iam.ecs_tasks_assume_role_policy(f[0], f[2], f[3])))
        # The service's permissions boundary (pipelines layer): the app deploy
        # role may create lane roles only with it, and it caps what they can do.
        boundary = arn_fields.apply(lambda f: iam.lane_boundary_arn(f[0], f[3], service, env))
        exec_role = aws.iam.Role(
            "execution-role",
            name=naming.lane_role_name(service, env, lane, "exec"),
            # The app pipeline may manage and pass only roles under this path.
            path=naming.lane_role_path(service, env),
            description=f"ECS starts {service} lane {lane} ({env}) tasks with this role",
            assume_role_policy=assume,
            permissions_boundary=boundary,
            tags=tags,
            opts=child,
        )
        secret_arns = list(svc.secrets.values())
        exec_policy = pulumi.Output.all(arn_fields, args.repository_url, args.log_group_name).apply(
            lambda a: json.dumps(
                iam.lane_execution_policy(
                    partition=a[0][0],
                    region=a[0][2],
                    account_id=a[0][3],
                    repository_name=iam.repository_name_from_url(a[1]),
                    log_group_name=a[2],
                    lane=lane,
                    secret_arns=secret_arns,
                    kms_key_arn=svc.secrets_kms_key_arn,
                )
            )
        )
        aws.iam.RolePolicy("execution-policy", role=exec_role.id, policy=exec_policy, opts=child)
        task_role = aws.iam.Role(
            "task-role",
            name=naming.lane_role_name(service, env, lane, "task"),
            path=naming.lane_role_path(service, env),
            description=f"identity of {service} lane {lane} ({env}) application code",
            assume_role_policy=assume,
            permissions_boundary=boundary,
            tags=tags,
            opts=child,
        )

        # --- task definition
        containers = pulumi.Output.from_input(args.log_group_name).apply(
            lambda group: container_definitions(
                service=service,
                lane=lane,
                image=args.image,
                svc=svc,
                log_group_name=group,
                region=args.region,
                production=args.production,
            )
        )
        task_def = aws.ecs.TaskDefinition(
            "task",
            family=naming.task_family(service, env, lane),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(svc.cpu),
            memory=str(svc.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": svc.cpu_architecture},
            execution_role_arn=exec_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=containers,
            volumes=task_volumes(svc, args.production) or None,
            tags=tags,
            opts=child,
        )

        # --- traffic: default lane = boot's default TG; others = own TG + rules
        rules: list[aws.lb.ListenerRule] = []
        lb_suffix = pulumi.Output.from_input(args.load_balancer_arn).apply(alarms.arn_suffix)
        if is_default:
            tg_arn = pulumi.Output.from_input(args.default_target_group_arn)
            tg_suffix = tg_arn.apply(alarms.arn_suffix)
        else:
            tg_args = target_group_args(args.boot_params, svc)
            tg = aws.lb.TargetGroup(
                "tg",
                # The name hashes the replace-forcing settings: a replacement
                # gets a new name, so create-before-delete works while the
                # rule still forwards to the old group.
                name=naming.target_group_name(
                    service,
                    env,
                    lane,
                    port=tg_args["port"],
                    protocol=tg_args["protocol"],
                    target_type=tg_args["target_type"],
                ),
                vpc_id=args.vpc_id,
                tags=tags,
                **tg_args,
                opts=child,
            )
            tg_arn = tg.arn
            tg_suffix = tg.arn_suffix
            for i, (conditions, priority) in enumerate(zip(args.rule_conditions, args.rule_priorities, strict=True)):
                rules.append(
                    aws.lb.ListenerRule(
                        f"rule-{i}",
                        listener_arn=args.listener_arn,
                        priority=priority,
                        conditions=conditions,
                        actions=[{"type": "forward", "target_group_arn": tg.arn}],
                        tags=tags,
                        opts=child,
                    )
                )

        # --- alarms first: the ECS deployment watches them by name
        lane_alarms = [
            aws.cloudwatch.MetricAlarm(spec.key, **spec.args, opts=child)
            for spec in alarms.lane_alarms(
                service,
                env,
                lane,
                load_balancer_suffix=lb_suffix,
                target_group_suffix=tg_suffix,
                cluster_name=args.cluster_name,
                ecs_service_name=ecs_name,
                thresholds=svc.alarms,
                topic_arn=args.alarm_topic_arn,
            )
        ]

        desired = svc.desired_count.default if is_default else svc.desired_count.lane
        # A capacity provider strategy, not launchType: the cluster registers
        # FARGATE and FARGATE_SPOT, and launchType would ignore both.
        provider = svc.capacity_provider.default if is_default else svc.capacity_provider.lane
        service_args: dict[str, Any] = {}
        if is_default:
            service_args["service_registries"] = {"registry_arn": args.service_discovery_service_arn}
        ecs_service = aws.ecs.Service(
            "service",
            name=ecs_name,
            cluster=args.cluster_arn,
            task_definition=task_def.arn,
            desired_count=desired,
            capacity_provider_strategies=[{"capacity_provider": provider, "weight": 1, "base": 0}],
            network_configuration={
                "subnets": args.private_subnet_ids,
                "security_groups": [args.service_security_group_id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {"target_group_arn": tg_arn, "container_name": container, "container_port": svc.container_port}
            ],
            health_check_grace_period_seconds=svc.health_check_grace_period_seconds,
            deployment_minimum_healthy_percent=MIN_HEALTHY_PERCENT,
            deployment_maximum_percent=MAX_PERCENT,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            # The article's defect 4: alarms roll a deploy back too.
            alarms={"alarm_names": [a.name for a in lane_alarms], "enable": True, "rollback": True},
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # `pulumi up` fails when ECS rolls the deploy back, so the
            # pipeline run shows the failure.
            wait_for_steady_state=True,
            tags=tags,
            **service_args,
            # ECS rejects a target group no listener forwards to yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(rules)),
        )

        self.lane = lane
        self.service_name = ecs_service.name
        self.target_group_arn = tg_arn
        self.listener_rule_arns = pulumi.Output.all(*[r.arn for r in rules]).apply(list)
        # 0 = no rule: the default lane is the listener's default action.
        self.rule_priority = args.rule_priorities[0] if args.rule_priorities else 0
        self.task_definition_arn = task_def.arn
        self.image_uri = args.image
        self.route_header = routing.route_header(lane)
        # Beside the contract's outputs, the infra reference's private subnets:
        # the real engine shows policy packs a component's registered outputs
        # but not StackReference reads, so the pack's private-subnet check
        # finds them here.
        self.register_outputs({**self.outputs(), INFRA_PRIVATE_SUBNETS_PROP: args.private_subnet_ids})

    def outputs(self) -> dict[str, pulumi.Input]:
        """The contract's lane output keys."""
        return {
            "Lane": self.lane,
            "ServiceName": self.service_name,
            "TargetGroupArn": self.target_group_arn,
            "ListenerRuleArns": self.listener_rule_arns,
            "RulePriority": self.rule_priority,
            "TaskDefinitionArn": self.task_definition_arn,
            "ImageUri": self.image_uri,
            "RouteHeader": self.route_header,
        }


def build(target: Target, config: StackConfig, params_dir: Path) -> dict[str, pulumi.Input]:
    assert target.service is not None and target.lane is not None
    service, env, lane = target.service, target.env, target.lane
    # Everything a user can get wrong fails here, before the first registration.
    check_lane(lane, where=f"lane of stack {target.stack!r}")
    infra = params.load_infra(env, params_dir)
    boot = params.load_boot(env, params_dir)
    svc = params.load_service(service, env, params_dir)
    image = resolve_image(target, config, svc)
    kind = "default" if lane == naming.DEFAULT_LANE else "lane"
    if (
        image == svc.bootstrap_image
        and hardening(svc, infra.production)[0]
        and BOOTSTRAP_WORK_DIR not in svc.writable_paths
    ):
        raise MultilaneError(
            f"params/{service}-{env}.json: the bootstrap image needs {BOOTSTRAP_WORK_DIR} writable under a read-only "
            f"root filesystem; add {BOOTSTRAP_WORK_DIR!r} to writablePaths or set readonlyRootFilesystem to false"
        )
    provider = getattr(svc.capacity_provider, kind)
    if provider not in infra.cluster.capacity_providers:
        raise MultilaneError(
            f"params/{service}-{env}.json: capacityProvider.{kind} is {provider}, but the cluster of {env} "
            f"registers only {', '.join(infra.cluster.capacity_providers)} (cluster.capacityProviders in "
            f"params/infra-{env}.json); add it there or pick one of those"
        )
    conditions = routing.lane_rule_conditions(lane, svc.lane_carriers, svc.lane_header_source_cidrs)
    if conditions:
        priorities = routing.allocate_priorities(service, lane, len(conditions), taken={}, pinned=config.priority)
    elif config.priority is not None:
        raise MultilaneError(
            f"stacks/Pulumi.{target.stack}.yaml: multilane:priority is {config.priority} but lane {lane!r} "
            "creates no listener rule (it is the listener's default action); remove the setting"
        )
    else:
        priorities = []

    provider = aws.Provider("aws", region=infra.region)
    infra_ref = pulumi.StackReference(naming.stack_ref(naming.infra_stack(env), config.org))
    boot_ref = pulumi.StackReference(naming.stack_ref(naming.boot_stack(service, env), config.org))
    component = AppLane(
        "lane",
        AppLaneArgs(
            service=service,
            env=env,
            lane=lane,
            image=image,
            region=infra.region,
            service_params=svc,
            boot_params=boot,
            production=infra.production,
            rule_conditions=conditions,
            rule_priorities=priorities,
            vpc_id=infra_ref.require_output("VpcId"),
            private_subnet_ids=infra_ref.require_output("PrivateSubnetIds"),
            cluster_name=infra_ref.require_output("ClusterName"),
            cluster_arn=infra_ref.require_output("ClusterArn"),
            alarm_topic_arn=infra_ref.require_output("AlarmTopicArn"),
            listener_arn=boot_ref.require_output("HttpListenerArn"),
            load_balancer_arn=boot_ref.require_output("LoadBalancerArn"),
            default_target_group_arn=boot_ref.require_output("DefaultTargetGroupArn"),
            log_group_name=boot_ref.require_output("LogGroupName"),
            service_discovery_service_arn=boot_ref.require_output("ServiceDiscoveryServiceArn"),
            service_security_group_id=boot_ref.require_output("ServiceSecurityGroupId"),
            repository_url=boot_ref.require_output("RepositoryUrl"),
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return component.outputs()

"""ECS (cluster, capacity providers, task definitions, services) and Cloud Map."""

from __future__ import annotations

import json
from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates


def _ecs_tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in (tags or {}).items()]


def _one(found: dict[str, Any], key: str, what: str) -> Any:
    items = found.get(key) or []
    if not items:
        raise EmulationError(f"{what} is gone: {found.get('failures')}")
    return items[0]


def _active(described: dict[str, Any], what: str) -> dict[str, Any]:
    # ECS keeps deleted services and deregistered revisions describable as INACTIVE.
    if described.get("status") == "INACTIVE":
        raise EmulationError(f"{what} is INACTIVE (deleted)")
    return described


def _configuration(cluster: dict[str, Any]) -> dict[str, Any]:
    # Task and service counters are the cluster's load, not its configuration:
    # they change whenever any lane's service comes or goes.
    return {k: v for k, v in cluster.items() if not k.endswith("Count")}


@emulates("aws:ecs/cluster:Cluster")
def cluster(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    c = req.call(
        "ecs",
        "create_cluster",
        clusterName=name,
        **drop_none(
            settings=[{"name": s["name"], "value": s["value"]} for s in i.get("settings", [])] or None,
            tags=_ecs_tags(i.get("tags")) or None,
        ),
    )["cluster"]
    arn = c["clusterArn"]
    return Emulated(
        arn,
        req.state(arn=arn, name=name),
        delete=lambda: req.call("ecs", "delete_cluster", cluster=arn),
        probe=lambda: _configuration(_one(req.call("ecs", "describe_clusters", clusters=[arn]), "clusters", name)),
    )


@emulates("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
def cluster_capacity_providers(req: Request) -> Emulated:
    i = req.inputs
    name = i["clusterName"]
    strategy = [
        drop_none(capacityProvider=s["capacityProvider"], weight=s.get("weight"), base=s.get("base"))
        for s in i.get("defaultCapacityProviderStrategies", [])
    ]
    req.call(
        "ecs",
        "put_cluster_capacity_providers",
        cluster=name,
        capacityProviders=list(i.get("capacityProviders", [])),
        defaultCapacityProviderStrategy=strategy,
    )
    return Emulated(
        name,
        req.state(),
        delete=lambda: req.call(
            "ecs",
            "put_cluster_capacity_providers",
            cluster=name,
            capacityProviders=[],
            defaultCapacityProviderStrategy=[],
        ),
        probe=lambda: _one(req.call("ecs", "describe_clusters", clusters=[name]), "clusters", f"cluster {name}")[
            "capacityProviders"
        ],
    )


@emulates("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
def private_dns_namespace(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    op = req.call(
        "servicediscovery",
        "create_private_dns_namespace",
        **drop_none(
            Name=name,
            Vpc=i["vpc"],
            Description=i.get("description"),
            Tags=[{"Key": k, "Value": v} for k, v in (i.get("tags") or {}).items()] or None,
        ),
    )
    ns_id = req.call("servicediscovery", "get_operation", OperationId=op["OperationId"])["Operation"]["Targets"][
        "NAMESPACE"
    ]
    ns = req.call("servicediscovery", "get_namespace", Id=ns_id)["Namespace"]
    zone = ns.get("Properties", {}).get("DnsProperties", {}).get("HostedZoneId", "")
    return Emulated(
        ns_id,
        req.state(arn=ns["Arn"], name=name, hostedZone=zone),
        delete=lambda: req.call("servicediscovery", "delete_namespace", Id=ns_id),
        probe=lambda: req.call("servicediscovery", "get_namespace", Id=ns_id)["Namespace"],
    )


@emulates("aws:servicediscovery/service:Service")
def discovery_service(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=127)
    dns = i.get("dnsConfig")
    namespace_id = i.get("namespaceId") or (dns or {}).get("namespaceId")
    hc_custom = i.get("healthCheckCustomConfig")
    svc = req.call(
        "servicediscovery",
        "create_service",
        Name=name,
        **drop_none(
            NamespaceId=namespace_id,
            Description=i.get("description"),
            Type=i.get("type"),
            DnsConfig=drop_none(
                NamespaceId=dns.get("namespaceId"),
                RoutingPolicy=dns.get("routingPolicy"),
                DnsRecords=[{"Type": r["type"], "TTL": r["ttl"]} for r in dns["dnsRecords"]],
            )
            if dns
            else None,
            HealthCheckCustomConfig=drop_none(FailureThreshold=hc_custom.get("failureThreshold"))
            if hc_custom is not None
            else None,
            Tags=[{"Key": k, "Value": v} for k, v in (i.get("tags") or {}).items()] or None,
        ),
    )["Service"]
    sid = svc["Id"]
    return Emulated(
        sid,
        req.state(arn=svc["Arn"], name=name),
        delete=lambda: req.call("servicediscovery", "delete_service", Id=sid),
        probe=lambda: req.call("servicediscovery", "get_service", Id=sid)["Service"],
    )


@emulates("aws:ecs/taskDefinition:TaskDefinition")
def task_definition(req: Request) -> Emulated:
    i = req.inputs
    family = i["family"]
    td = req.call(
        "ecs",
        "register_task_definition",
        family=family,
        containerDefinitions=json.loads(i["containerDefinitions"]),
        **drop_none(
            taskRoleArn=i.get("taskRoleArn"),
            executionRoleArn=i.get("executionRoleArn"),
            networkMode=i.get("networkMode"),
            requiresCompatibilities=i.get("requiresCompatibilities"),
            cpu=i.get("cpu"),
            memory=i.get("memory"),
            runtimePlatform=i.get("runtimePlatform"),
            ephemeralStorage=i.get("ephemeralStorage"),
            tags=_ecs_tags(i.get("tags")) or None,
        ),
    )["taskDefinition"]
    arn = td["taskDefinitionArn"]
    return Emulated(
        # The provider's id is the family; revisions make it unique in moto's ledger.
        f"{family}:{td['revision']}",
        req.state(arn=arn, arnWithoutRevision=arn.rsplit(":", 1)[0], revision=td["revision"]),
        delete=lambda: req.call("ecs", "deregister_task_definition", taskDefinition=arn),
        probe=lambda: _active(req.call("ecs", "describe_task_definition", taskDefinition=arn)["taskDefinition"], arn),
    )


def _service_params(i: dict[str, Any]) -> dict[str, Any]:
    """The ECS API's shape of an aws.ecs.Service's inputs (shared by create and update)."""
    net = i.get("networkConfiguration")
    deployment = drop_none(
        maximumPercent=i.get("deploymentMaximumPercent"),
        minimumHealthyPercent=i.get("deploymentMinimumHealthyPercent"),
        deploymentCircuitBreaker=drop_none(
            enable=i["deploymentCircuitBreaker"]["enable"], rollback=i["deploymentCircuitBreaker"]["rollback"]
        )
        if i.get("deploymentCircuitBreaker")
        else None,
        alarms=drop_none(
            alarmNames=i["alarms"]["alarmNames"], enable=i["alarms"]["enable"], rollback=i["alarms"]["rollback"]
        )
        if i.get("alarms")
        else None,
    )
    registries = i.get("serviceRegistries")
    return drop_none(
        taskDefinition=i["taskDefinition"],
        desiredCount=i.get("desiredCount"),
        capacityProviderStrategy=[
            drop_none(capacityProvider=s["capacityProvider"], weight=s.get("weight"), base=s.get("base"))
            for s in i["capacityProviderStrategies"]
        ]
        if i.get("capacityProviderStrategies")
        else None,
        platformVersion=i.get("platformVersion"),
        networkConfiguration={
            "awsvpcConfiguration": drop_none(
                subnets=net["subnets"],
                securityGroups=net.get("securityGroups"),
                assignPublicIp="ENABLED" if net.get("assignPublicIp") else "DISABLED",
            )
        }
        if net
        else None,
        loadBalancers=[
            drop_none(
                targetGroupArn=lb.get("targetGroupArn"),
                containerName=lb["containerName"],
                containerPort=lb["containerPort"],
            )
            for lb in i["loadBalancers"]
        ]
        if i.get("loadBalancers")
        else None,
        serviceRegistries=[
            drop_none(
                registryArn=registries["registryArn"],
                port=registries.get("port"),
                containerName=registries.get("containerName"),
                containerPort=registries.get("containerPort"),
            )
        ]
        if registries
        else None,
        deploymentConfiguration=deployment or None,
        healthCheckGracePeriodSeconds=i.get("healthCheckGracePeriodSeconds"),
        enableExecuteCommand=i.get("enableExecuteCommand"),
    )


@emulates("aws:ecs/service:Service")
def ecs_service(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name()
    cluster_ref = i.get("cluster", "default")
    # waitForSteadyState, forceNewDeployment, forceDelete and triggers are
    # read by the provider only; they are not API members.
    params = _service_params(i)
    svc = req.call(
        "ecs",
        "create_service",
        cluster=cluster_ref,
        serviceName=name,
        **params,
        **drop_none(
            launchType=i.get("launchType"),
            schedulingStrategy=i.get("schedulingStrategy"),
            propagateTags=i.get("propagateTags"),
            enableECSManagedTags=i.get("enableEcsManagedTags"),
            deploymentController={"type": i["deploymentController"]["type"]} if i.get("deploymentController") else None,
            tags=_ecs_tags(i.get("tags")) or None,
        ),
    )["service"]
    arn = svc["serviceArn"]

    def delete() -> None:
        req.call("ecs", "delete_service", cluster=cluster_ref, service=name, force=True)

    def update(new: Request) -> dict[str, Any]:
        # UpdateService takes load balancers and registries too (a replaced
        # target group moves the service to the new one in place).
        fresh = _service_params(new.inputs)
        new.call("ecs", "update_service", cluster=cluster_ref, service=name, **fresh)
        if new.inputs.get("tags") != i.get("tags") and new.inputs.get("tags"):
            # The lane's lifetime tags (ExpiresAt, ...) move with every deploy.
            new.call("ecs", "tag_resource", resourceArn=arn, tags=_ecs_tags(new.inputs["tags"]))
        return new.state(arn=arn, name=name, cluster=cluster_ref)

    return Emulated(
        arn,
        req.state(arn=arn, name=name),
        delete=delete,
        probe=lambda: _active(
            _one(req.call("ecs", "describe_services", cluster=cluster_ref, services=[name]), "services", name), name
        ),
        update=update,
        replace_on=frozenset({"name", "cluster", "launchType", "schedulingStrategy", "deploymentController"}),
    )

"""Elastic Load Balancing v2: ALB, target groups, listeners, listener rules."""

from __future__ import annotations

from typing import Any

from .core import Emulated, EmulationError, Request, drop_none, emulates, tag_list


def _tags(req: Request) -> dict[str, Any]:
    tags = req.inputs.get("tags")
    return {"Tags": tag_list(tags)} if tags else {}


def _attributes(req: Request, call: str, arn_key: str, arn: str, attrs: dict[str, Any]) -> None:
    attrs = {k: v for k, v in attrs.items() if v is not None}
    if attrs:
        values = [{"Key": k, "Value": str(v).lower() if isinstance(v, bool) else str(v)} for k, v in attrs.items()]
        req.call("elbv2", call, **{arn_key: arn, "Attributes": values})


@emulates("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=32)
    lb = req.call(
        "elbv2",
        "create_load_balancer",
        Name=name,
        **drop_none(
            Subnets=i.get("subnets"),
            SecurityGroups=i.get("securityGroups"),
            Scheme="internal" if i.get("internal") else "internet-facing",
            Type=i.get("loadBalancerType", "application"),
            IpAddressType=i.get("ipAddressType"),
        ),
        **_tags(req),
    )["LoadBalancers"][0]
    arn = lb["LoadBalancerArn"]
    _attributes(
        req,
        "modify_load_balancer_attributes",
        "LoadBalancerArn",
        arn,
        {
            "deletion_protection.enabled": i.get("enableDeletionProtection"),
            "routing.http.drop_invalid_header_fields.enabled": i.get("dropInvalidHeaderFields"),
            "idle_timeout.timeout_seconds": i.get("idleTimeout"),
        },
    )
    return Emulated(
        arn,
        req.state(
            arn=arn,
            arnSuffix=arn.split(":loadbalancer/", 1)[1],
            dnsName=lb["DNSName"],
            zoneId=lb["CanonicalHostedZoneId"],
            vpcId=lb.get("VpcId", ""),
            name=name,
        ),
        delete=lambda: req.call("elbv2", "delete_load_balancer", LoadBalancerArn=arn),
        probe=lambda: req.call("elbv2", "describe_load_balancers", LoadBalancerArns=[arn])["LoadBalancers"][0],
    )


_HEALTH = {
    "protocol": "HealthCheckProtocol",
    "port": "HealthCheckPort",
    "enabled": "HealthCheckEnabled",
    "path": "HealthCheckPath",
    "interval": "HealthCheckIntervalSeconds",
    "timeout": "HealthCheckTimeoutSeconds",
    "healthyThreshold": "HealthyThresholdCount",
    "unhealthyThreshold": "UnhealthyThresholdCount",
}


@emulates("aws:lb/targetGroup:TargetGroup")
def target_group(req: Request) -> Emulated:
    i = req.inputs
    name = req.physical_name(limit=32)
    hc = i.get("healthCheck") or {}
    health = {api: hc[key] for key, api in _HEALTH.items() if key in hc}
    if "matcher" in hc:
        health["Matcher"] = {"HttpCode": hc["matcher"]}
    tg = req.call(
        "elbv2",
        "create_target_group",
        Name=name,
        **drop_none(
            Protocol=i.get("protocol"),
            ProtocolVersion=i.get("protocolVersion"),
            Port=i.get("port"),
            VpcId=i.get("vpcId"),
            TargetType=i.get("targetType"),
        ),
        **health,
        **_tags(req),
    )["TargetGroups"][0]
    arn = tg["TargetGroupArn"]
    _attributes(
        req,
        "modify_target_group_attributes",
        "TargetGroupArn",
        arn,
        {"deregistration_delay.timeout_seconds": i.get("deregistrationDelay")},
    )
    return Emulated(
        arn,
        req.state(arn=arn, arnSuffix=arn.split(":", 5)[5], name=name, loadBalancerArns=[]),
        delete=lambda: req.call("elbv2", "delete_target_group", TargetGroupArn=arn),
        probe=lambda: req.call("elbv2", "describe_target_groups", TargetGroupArns=[arn])["TargetGroups"][0],
    )


def _action(a: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": a["type"], **drop_none(Order=a.get("order"))}
    if a.get("targetGroupArn"):
        out["TargetGroupArn"] = a["targetGroupArn"]
    if a.get("forward"):
        f = a["forward"]
        out["ForwardConfig"] = drop_none(
            TargetGroups=[drop_none(TargetGroupArn=t["arn"], Weight=t.get("weight")) for t in f["targetGroups"]],
            TargetGroupStickinessConfig=drop_none(
                Enabled=f["stickiness"].get("enabled"), DurationSeconds=f["stickiness"].get("duration")
            )
            if f.get("stickiness")
            else None,
        )
    if a.get("fixedResponse"):
        r = a["fixedResponse"]
        out["FixedResponseConfig"] = drop_none(
            StatusCode=r["statusCode"], ContentType=r.get("contentType"), MessageBody=r.get("messageBody")
        )
    if a.get("redirect"):
        r = a["redirect"]
        out["RedirectConfig"] = drop_none(
            StatusCode=r["statusCode"],
            Protocol=r.get("protocol"),
            Port=r.get("port"),
            Host=r.get("host"),
            Path=r.get("path"),
            Query=r.get("query"),
        )
    return out


def _listener_probe(req: Request, arn: str) -> Any:
    return req.call("elbv2", "describe_listeners", ListenerArns=[arn])["Listeners"][0]


@emulates("aws:lb/listener:Listener")
def listener(req: Request) -> Emulated:
    i = req.inputs
    cert = i.get("certificateArn")
    lst = req.call(
        "elbv2",
        "create_listener",
        LoadBalancerArn=i["loadBalancerArn"],
        DefaultActions=[_action(a) for a in i["defaultActions"]],
        **drop_none(
            Protocol=i.get("protocol"),
            Port=i.get("port"),
            SslPolicy=i.get("sslPolicy"),
            Certificates=[{"CertificateArn": cert}] if cert else None,
        ),
        **_tags(req),
    )["Listeners"][0]
    arn = lst["ListenerArn"]
    return Emulated(
        arn,
        req.state(arn=arn),
        delete=lambda: req.call("elbv2", "delete_listener", ListenerArn=arn),
        probe=lambda: _listener_probe(req, arn),
    )


def _condition(c: dict[str, Any]) -> dict[str, Any]:
    kinds = [
        k
        for k in ("hostHeader", "httpHeader", "httpRequestMethod", "pathPattern", "queryStrings", "sourceIp")
        if c.get(k)
    ]
    if len(kinds) != 1:
        raise EmulationError(f"a listener rule condition needs exactly one kind, got {kinds or 'none'}")
    kind = kinds[0]
    v = c[kind]
    if kind == "httpHeader":
        # The provider expands `values` (a set) to a list even when empty;
        # moto 5.2.5 also reads HttpHeaderConfig["Values"] unconditionally.
        return {
            "Field": "http-header",
            "HttpHeaderConfig": {
                "HttpHeaderName": v["httpHeaderName"],
                "Values": list(v.get("values") or []),
                **({"RegexValues": list(v["regexValues"])} if v.get("regexValues") else {}),
            },
        }
    if kind == "hostHeader":
        return {
            "Field": "host-header",
            "HostHeaderConfig": drop_none(Values=v.get("values"), RegexValues=v.get("regexValues")),
        }
    if kind == "pathPattern":
        return {
            "Field": "path-pattern",
            "PathPatternConfig": drop_none(Values=v.get("values"), RegexValues=v.get("regexValues")),
        }
    if kind == "httpRequestMethod":
        return {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": v["values"]}}
    if kind == "sourceIp":
        return {"Field": "source-ip", "SourceIpConfig": {"Values": v["values"]}}
    return {
        "Field": "query-string",
        "QueryStringConfig": {"Values": [drop_none(Key=q.get("key"), Value=q["value"]) for q in v]},
    }


def _rules(req: Request, listener_arn: str) -> list[dict[str, Any]]:
    return req.call("elbv2", "describe_rules", ListenerArn=listener_arn)["Rules"]


@emulates("aws:lb/listenerRule:ListenerRule")
def listener_rule(req: Request) -> Emulated:
    i = req.inputs
    listener_arn = i["listenerArn"]
    priority = i.get("priority")
    if priority is None:
        # The provider's behaviour without a priority: last one plus one.
        taken = [int(r["Priority"]) for r in _rules(req, listener_arn) if r["Priority"] != "default"]
        priority = max(taken, default=0) + 1
    rule = req.call(
        "elbv2",
        "create_rule",
        ListenerArn=listener_arn,
        Priority=priority,
        Conditions=[_condition(c) for c in i["conditions"]],
        Actions=[_action(a) for a in i["actions"]],
        **_tags(req),
    )["Rules"][0]
    arn = rule["RuleArn"]

    def probe() -> Any:
        found = [r for r in _rules(req, listener_arn) if r["RuleArn"] == arn]
        if not found:
            raise EmulationError(f"listener rule {arn} is gone")
        return found[0]

    def update(new: Request) -> dict[str, Any]:
        # AWS changes a rule's conditions, actions and priority in place
        # (ModifyRule, SetRulePriorities); only its listener forces a new rule.
        n = new.inputs
        new.call(
            "elbv2",
            "modify_rule",
            RuleArn=arn,
            Conditions=[_condition(c) for c in n["conditions"]],
            Actions=[_action(a) for a in n["actions"]],
        )
        now = priority
        if n.get("priority") is not None and n["priority"] != priority:
            new.call("elbv2", "set_rule_priorities", RulePriorities=[{"RuleArn": arn, "Priority": n["priority"]}])
            now = n["priority"]
        return new.state(arn=arn, priority=int(now))

    return Emulated(
        arn,
        req.state(arn=arn, priority=int(rule["Priority"])),
        delete=lambda: req.call("elbv2", "delete_rule", RuleArn=arn),
        probe=probe,
        update=update,
        replace_on=frozenset({"listenerArn"}),
    )

"""The production shape in moto: per-AZ NAT, HTTPS listener, HTTP redirect.

boot-prod.json names a certificate; a listener on a certificate that does not
exist is refused (by AWS and by moto), so the test requests one in moto's ACM
and points a copy of the params at it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import naming, routing
from emulator import EmulationError, Emulator
from harness import alb_eval

pytestmark = pytest.mark.e2e

SERVICE, ENV = "user-api", "prod"


def _use_certificate(params_dir: Path, arn: str) -> None:
    path = params_dir / f"boot-{ENV}.json"
    data = json.loads(path.read_text())
    data["certificateArn"] = arn
    path.write_text(json.dumps(data))


def test_prod_lanes_attach_to_the_https_listener_and_http_redirects(aws: Emulator, params_dir: Path) -> None:
    infra = aws.run(naming.infra_stack(ENV), params_dir=params_dir)
    refs = {naming.stack_ref(naming.infra_stack(ENV)): infra.outputs}
    # The certificate in the example params does not exist in this account.
    with pytest.raises(EmulationError, match="CertificateNotFound"):
        aws.run(naming.boot_stack(SERVICE, ENV), references=refs, params_dir=params_dir)
    undone = aws.rollback()  # what the refused run created, newest first
    assert "aws:lb/loadBalancer:LoadBalancer" in undone and "aws:ec2/vpc:Vpc" not in undone
    aws.probe(infra)  # the layer below is untouched

    cert = aws.client("acm").request_certificate(DomainName="user-api.example.com")["CertificateArn"]
    _use_certificate(params_dir, cert)
    boot = aws.run(naming.boot_stack(SERVICE, ENV), references=refs, params_dir=params_dir)
    refs[naming.stack_ref(naming.boot_stack(SERVICE, ENV))] = boot.outputs
    gray = aws.run(
        naming.lane_stack(SERVICE, ENV, "gray"),
        references=refs,
        params_dir=params_dir,
        config={"imageUri": f"{boot.outputs['RepositoryUrl']}:sha-1a2b3c4"},
    )

    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    nats = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [infra.outputs["VpcId"]]}])["NatGateways"]
    assert len({n["SubnetId"] for n in nats}) == len(infra.outputs["PublicSubnetIds"])  # one per AZ
    listeners = {
        lst["Protocol"]: lst
        for lst in elbv2.describe_listeners(LoadBalancerArn=boot.outputs["LoadBalancerArn"])["Listeners"]
    }
    https = listeners["HTTPS"]
    assert https["ListenerArn"] == boot.outputs["HttpListenerArn"]
    assert [c["CertificateArn"] for c in https["Certificates"]] == [cert]
    (redirect,) = listeners["HTTP"]["DefaultActions"]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    (lb,) = elbv2.describe_load_balancers(LoadBalancerArns=[boot.outputs["LoadBalancerArn"]])["LoadBalancers"]
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in attributes

    stored = elbv2.describe_rules(ListenerArn=https["ListenerArn"])
    rules = routing.rules.rules_from_describe_rules(stored)
    default = routing.rules.default_target_from_describe_rules(stored)
    assert alb_eval.evaluate(rules, default, {"tracestate": "dd=s:1,ctx=lane:gray"}) == gray.outputs["TargetGroupArn"]
    assert alb_eval.evaluate(rules, default, {"tracestate": "ctx=lane:grey"}) == boot.outputs["DefaultTargetGroupArn"]

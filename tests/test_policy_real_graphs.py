"""The pack on the real layers' graphs: how it reads them, and that one
mistake in a real graph is caught.

Each test records a real example stack, changes one thing the way a bad
edit to a layer would, and asserts the exact finding.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from components import params
from harness.offline import Recording, run_stack
from policy import pipeline_roles
from policy.adapter import PackResult, run_policies, stack_args
from policy.iam import attached_documents
from policy.pack import policies

PACK = policies()


def mutate(rec: Recording, type_: str, name: str, change: Callable[[dict[str, Any]], None], **options) -> Recording:
    """A copy of ``rec`` with ``change`` applied to one resource's inputs
    (and its recorded outputs, which echo the inputs)."""
    regs = []
    hit = 0
    for reg in rec.registrations:
        if reg.type == type_ and reg.name == name:
            hit += 1
            inputs, state = copy.deepcopy(reg.inputs), copy.deepcopy(reg.state)
            change(inputs)
            change(state)
            reg = dataclasses.replace(reg, inputs=inputs, state=state, **options)
        regs.append(reg)
    assert hit == 1, f"{type_} {name} found {hit} times"
    return dataclasses.replace(rec, registrations=regs)


def findings(result: PackResult) -> list[tuple[str, str]]:
    return sorted((v.policy, v.message) for v in result.mandatory)


def test_pipeline_roles_are_classified_by_the_state_they_may_write():
    rec = run_stack("pipelines-dev")
    args = stack_args(rec)
    bucket = params.load_pipelines("dev").state_bucket
    samples = pipeline_roles.sample_stacks("dev", params.PARAMS_DIR)
    deploys = {}
    for role in (r for r in args.resources if r.resource_type == "aws:iam/role:Role"):
        docs = attached_documents(role, args.resources)
        assert docs, f"no policy document joined to {role.name}"
        deploys[role.name] = sorted(
            layer
            for layer, stacks in samples.items()
            if any(pipeline_roles._allows(docs, "s3:PutObject", pipeline_roles.state_arn(bucket, s)) for s in stacks)
        )
    assert deploys == {
        "codepipeline": [],
        "infra-deploy-role": ["infra"],
        "boot-user-api-deploy-role": ["boot"],
        "boot-order-api-deploy-role": ["boot"],
        "user-api-deploy-role": ["lane"],
        "order-api-deploy-role": ["lane"],
        "user-api-build-role": [],
        "order-api-build-role": [],
        # issue 14: the review deploy roles write only pr-* lanes, which the
        # sample stacks (default and gray lanes) do not include; the reapers
        # hold their service's lane rights; build and scheduler roles no state.
        "user-api-review-deploy-role": [],
        "order-api-review-deploy-role": [],
        "user-api-review-build-role": [],
        "order-api-review-build-role": [],
        "reaper-user-api-role": ["lane"],
        "reaper-order-api-role": ["lane"],
        "reaper-schedule-role": [],
    }


def _drop_denies(inputs: dict[str, Any]) -> None:
    doc = json.loads(inputs["policy"])
    doc["Statement"] = [s for s in doc["Statement"] if s["Effect"] != "Deny"]
    inputs["policy"] = json.dumps(doc)


def _deploy_policy_name(rec: Recording, role: str) -> str:
    """The managed guard policy attached to ``role`` (where its Denies live)."""
    role_urn = next(r.urn for r in rec.registrations if r.type == "aws:iam/role:Role" and r.name == role)
    attachment = next(
        r
        for r in rec.registrations
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        and role_urn in r.property_dependencies.get("role", [])
    )
    [policy_urn] = attachment.property_dependencies["policyArn"]
    return next(r.name for r in rec.registrations if r.urn == policy_urn)


def test_app_deploy_role_stripped_of_its_denies_is_caught():
    rec = run_stack("pipelines-dev")
    bad = mutate(rec, "aws:iam/policy:Policy", _deploy_policy_name(rec, "user-api-deploy-role"), _drop_denies)
    found = findings(run_policies(bad, PACK))
    assert found == [
        (
            "pipeline-role-cross-layer-deny",
            "role user-api-deploy-role deploys lane but is not explicitly denied boot-layer actions "
            "elasticloadbalancing:DeleteLoadBalancer, elasticloadbalancing:DeleteListener, "
            "elasticloadbalancing:ModifyListener",
        ),
        (
            "pipeline-role-cross-layer-deny",
            "role user-api-deploy-role deploys lane but is not explicitly denied infra-layer actions "
            "ec2:DeleteVpc, ec2:DeleteSubnet, ec2:DeleteRoute, ecs:DeleteCluster",
        ),
        (
            "pipeline-role-cross-layer-deny",
            "role user-api-deploy-role deploys lane but is not explicitly denied writing the state of "
            "boot-order-api-dev, boot-user-api-dev",
        ),
        (
            "pipeline-role-cross-layer-deny",
            "role user-api-deploy-role deploys lane but is not explicitly denied writing the state of infra-dev",
        ),
        (
            "pipeline-role-cross-layer-deny",
            "role user-api-deploy-role deploys lane but is not explicitly denied writing the state of pipelines-dev",
        ),
    ]


def test_build_role_stripped_of_its_denies_is_caught():
    rec = run_stack("pipelines-dev")
    bad = mutate(rec, "aws:iam/policy:Policy", _deploy_policy_name(rec, "user-api-build-role"), _drop_denies)
    found = findings(run_policies(bad, PACK))
    assert found and all(p == "pipeline-role-cross-layer-deny" for p, _ in found)
    assert (
        "pipeline-role-cross-layer-deny",
        "role user-api-build-role deploys no layer but is not explicitly denied writing the state of infra-dev",
    ) in found


def test_artifact_bucket_with_versioning_suspended_is_caught():
    rec = run_stack("pipelines-dev")
    (versioning,) = rec.of_type("aws:s3/bucketVersioning:BucketVersioning")

    def suspend(inputs):
        inputs["versioningConfiguration"]["status"] = "Suspended"

    bad = mutate(rec, versioning.type, versioning.name, suspend)
    ((policy, message),) = findings(run_policies(bad, PACK))
    assert policy == "s3-bucket-secure"
    assert message.endswith("is not versioned (no BucketVersioning with status Enabled)")


def test_production_alb_with_deletion_protection_off_is_caught():
    rec = run_stack("boot-user-api-prod")
    bad = mutate(rec, "aws:lb/loadBalancer:LoadBalancer", "alb", lambda i: i.update(enableDeletionProtection=False))
    assert findings(run_policies(bad, PACK)) == [
        ("alb-deletion-protection-production", "load balancer alb in production env 'prod' has deletion protection off")
    ]


def test_unprotected_vpc_is_caught():
    rec = run_stack("infra-prod")
    bad = mutate(rec, "aws:ec2/vpc:Vpc", "vpc", lambda i: None, protect=False)
    assert findings(run_policies(bad, PACK)) == [
        ("shared-resources-protected", "aws:ec2/vpc:Vpc vpc in infra-prod is shared by every lane but not protected")
    ]


def test_lane_task_with_public_ip_is_caught():
    rec = run_stack("user-api-dev-gray")

    def public(inputs):
        inputs["networkConfiguration"]["assignPublicIp"] = True

    bad = mutate(rec, "aws:ecs/service:Service", "service", public)
    assert findings(run_policies(bad, PACK)) == [
        (
            "ecs-no-public-ip",
            "ECS service service assigns a public IP to its tasks (networkConfiguration.assignPublicIp is true)",
        )
    ]


def test_alb_security_group_opened_beyond_the_listener_port_is_caught():
    rec = run_stack("boot-user-api-dev")
    bad = mutate(
        rec,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "alb-in-80-0",
        lambda i: i.update(fromPort=0, toPort=65535),
    )
    assert findings(run_policies(bad, PACK)) == [
        (
            "sg-world-ingress-listener-ports-only",
            "SecurityGroupIngressRule alb-in-80-0 admits 0.0.0.0/0 on port(s) 0-65535; "
            "the load balancer's listener ports are [80]",
        )
    ]


def test_https_boot_opens_both_listener_ports_without_findings():
    # boot-prod has a certificate: HTTPS on 443 plus the HTTP redirect on 80.
    rec = run_stack("boot-user-api-prod")
    assert {float(r.inputs["port"]) for r in rec.of_type("aws:lb/listener:Listener")} == {80.0, 443.0}
    assert run_policies(rec, PACK).violations == []


def test_a_wildcard_secret_on_the_real_execution_role_is_caught():
    # issue 12: params refuse it; the pack catches it should it ever get through.
    rec = run_stack("user-api-dev-gray")

    def widen(inputs):
        doc = json.loads(inputs["policy"])
        for st in doc["Statement"]:
            if st["Sid"] == "ReadListedSecrets":
                st["Resource"] = ["arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*"]
        inputs["policy"] = json.dumps(doc)

    bad = mutate(rec, "aws:iam/rolePolicy:RolePolicy", "execution-policy", widen)
    assert findings(run_policies(bad, PACK)) == [
        (
            "iam-no-wildcard-secrets",
            "aws:iam/rolePolicy:RolePolicy execution-policy: policy statement ReadListedSecrets "
            "(secretsmanager:GetSecretValue on arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:*) "
            "reads secrets by wildcard",
        )
    ]

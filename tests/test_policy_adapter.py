"""The adapter hands policies what the engine would, and the pack's entry
point constructs nothing on import.

The strongest check: the same recording goes (a) through the adapter and
(b) as engine-shaped protobuf requests through pulumi-policy's own analyzer
servicer (the code ``pulumi preview --policy-pack`` talks to); both must
produce the same diagnostics.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi_aws as aws
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, PolicyProviderResource, PolicyResource
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from components import naming
from harness.offline import Recording, run_stack
from policy import adapter
from policy.adapter import resource_args, run_policies, stack_args
from policy.pack import PACK_NAME, policies

ROOT = Path(__file__).resolve().parent.parent
PACK = policies()


def test_resource_args_have_the_engine_shape():
    rec = run_stack("user-api-dev-gray")
    by_urn = {r.urn: r for r in rec.registrations}
    rule = rec.one("aws:lb/listenerRule:ListenerRule")
    args = resource_args(rule, by_urn)
    assert args.resource_type == "aws:lb/listenerRule:ListenerRule"
    assert args.name == "rule-0" and args.urn == rule.urn
    # Numbers cross protobuf as floats, keys are the engine's camelCase.
    assert isinstance(args.props["priority"], float)
    assert args.props["conditions"][0]["httpHeader"]["httpHeaderName"] == "tracestate"
    assert type(args.props).__name__ == "_DictProxy"  # pulumi-policy's unknown-checking proxy
    assert args.opts.parent == rule.parent and args.opts.protect is False
    assert isinstance(args.provider, PolicyProviderResource)
    assert args.provider.resource_type == "pulumi:providers:aws"
    assert args.provider.props["region"] == "ap-southeast-2"


def test_stack_args_link_parents_dependencies_and_stack_references():
    rec = run_stack("user-api-dev-gray")
    args = stack_args(rec)
    by_type: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        by_type.setdefault(r.resource_type, []).append(r)
    (root,) = by_type["pulumi:pulumi:Stack"]
    refs = {r.name: r for r in by_type["pulumi:pulumi:StackReference"]}
    assert set(refs) == {naming.stack_ref("infra-dev"), naming.stack_ref("boot-user-api-dev")}
    infra = refs[naming.stack_ref("infra-dev")]
    assert infra.parent is root
    assert (
        list(infra.props["outputs"]["PrivateSubnetIds"])
        == rec.references[naming.stack_ref("infra-dev")]["PrivateSubnetIds"]
    )
    (service,) = by_type["aws:ecs/service:Service"]
    assert service.parent is not None and service.parent.resource_type == "multilane:lane:AppLane"
    # The subnets input came from the infra reference: the property dependency
    # points at the reference's resource object.
    assert {d.name for d in service.property_dependencies["networkConfiguration"]} == {
        naming.stack_ref("infra-dev"),
        naming.stack_ref("boot-user-api-dev"),
    }
    assert infra in service.property_dependencies["networkConfiguration"]
    (task,) = by_type["aws:ecs/taskDefinition:TaskDefinition"]
    assert service.property_dependencies["taskDefinition"] == [task]


def test_unknown_values_become_an_advisory_cant_run_diagnostic():
    rec = run_stack("user-api-dev-gray")
    policy_reg = rec.one("aws:iam/rolePolicy:RolePolicy")
    unknown = dataclasses.replace(policy_reg, inputs={**policy_reg.inputs, "policy": UNKNOWN_STRING_VALUE})
    preview = Recording(rec.stack, [unknown], {}, {}, [])
    result = run_policies(preview, PACK)
    (violation,) = [v for v in result.violations if v.policy == "iam-no-admin-statement"]
    assert violation.enforcement == EnforcementLevel.ADVISORY
    assert violation.message == (
        "can't run policy 'iam-no-admin-statement' during preview: string value at .policy can't be known during preview"
    )


# --- the adapter versus pulumi-policy's own analyzer servicer --------------------


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(props)))
    return s


def _options(reg) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=reg.protect, ignoreChanges=reg.ignore_changes, parent=reg.parent
    )


def _provider(reg, by_urn):
    prov = by_urn.get(reg.provider.rsplit("::", 1)[0]) if reg.provider else None
    if prov is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=prov.type, properties=_struct(prov.inputs), urn=prov.urn, name=prov.name
    )


def servicer_diagnostics(rec: Recording) -> list[tuple[str, str, str]]:
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "1.0.0", PACK, EnforcementLevel.MANDATORY)
    by_urn = {r.urn: r for r in rec.registrations}
    out = []
    for reg in rec.registrations:
        kwargs = {}
        provider = _provider(reg, by_urn)
        if provider is not None:
            kwargs["provider"] = provider
        request = analyzer_pb2.AnalyzeRequest(
            type=reg.type, properties=_struct(reg.inputs), urn=reg.urn, name=reg.name, options=_options(reg), **kwargs
        )
        # The engine files an Analyze diagnostic under the analyzed resource.
        out += [(d.policyName, d.urn or reg.urn, d.message) for d in servicer.Analyze(request, None).diagnostics]
    root = adapter.stack_urn(rec)
    resources = [analyzer_pb2.AnalyzerResource(type="pulumi:pulumi:Stack", urn=root, name=f"multilane-{rec.stack}")]
    for full_name, outputs in rec.references.items():
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type="pulumi:pulumi:StackReference",
                properties=_struct({"name": full_name, "outputs": outputs, "secretOutputNames": []}),
                urn=adapter.stack_reference_urn(rec, full_name),
                name=full_name,
                parent=root,
            )
        )
    for reg in rec.registrations:
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type=reg.type,
                properties=_struct(reg.state if reg.custom else reg.inputs),
                urn=reg.urn,
                name=reg.name,
                options=_options(reg),
                parent=reg.parent,
                dependencies=reg.depends_on,
                propertyDependencies={
                    k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in reg.property_dependencies.items()
                },
            )
        )
    stack_response = servicer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), None)
    out += [(d.policyName, d.urn, d.message) for d in stack_response.diagnostics]
    return sorted(out)


def _bad_lane_program(_stack, _params):
    tags = naming.tags("dev", "lane", "user-api", "gray")
    aws.lb.LoadBalancer("alb", subnets=["s-1", "s-2"], tags={"Env": "dev"})
    aws.iam.RolePolicy(
        "admin", role="r", policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    )
    aws.ecs.Service(
        "service",
        cluster="c",
        network_configuration={"subnets": ["subnet-0abc12345"], "assign_public_ip": True},
        tags=tags,
    )


def test_adapter_and_the_real_analyzer_servicer_agree_on_a_bad_graph():
    rec = run_stack("user-api-dev-gray", program=_bad_lane_program)
    ours = sorted((v.policy, v.urn, v.diagnostic) for v in run_policies(rec, PACK).violations)
    theirs = servicer_diagnostics(rec)
    assert ours == theirs
    assert {p for p, _, _ in ours} >= {
        "layer-boundaries",
        "required-tags",
        "iam-no-admin-statement",
        "ecs-no-public-ip",
        "ecs-private-subnets",
    }


def test_adapter_and_the_real_analyzer_servicer_agree_on_a_real_stack():
    rec = run_stack("boot-user-api-dev")
    ours = sorted((v.policy, v.urn, v.diagnostic) for v in run_policies(rec, PACK).violations)
    assert ours == servicer_diagnostics(rec)
    assert [p for p, _, _ in ours] == ["alb-deletion-protection"]


# --- the pack's entry point ----------------------------------------------------------


def test_importing_the_entry_point_constructs_nothing():
    # Would block forever (PolicyPack starts a gRPC server) if it constructed the pack.
    code = "import policy.__main__ as m; import policy.pack as p; print(len(p.policies()), m.ROOT)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    count, root = done.stdout.split()
    assert int(count) == len(PACK) and root == str(ROOT)


def test_running_the_entry_point_by_hand_explains_itself():
    done = subprocess.run([sys.executable, "policy"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pulumi preview --policy-pack policy" in done.stderr and "Traceback" not in done.stderr


def test_the_cli_policy_host_starts_the_pack_and_lists_every_policy(tmp_path):
    """What the CLI runs (``python -m pulumi.policy <engine> policy``): the
    pack starts its analyzer server, prints the port and answers
    GetAnalyzerInfo with every policy and its enforcement level."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import analyzer_pb2_grpc

    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(ROOT / "policy")],
        cwd=tmp_path,  # the CLI does not run the pack from the project root
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == PACK_NAME
        assert [p.name for p in info.policies] == [p.name for p in PACK]
        assert all(p.description for p in info.policies)
    finally:
        proc.kill()  # the process this test started, by its handle
        proc.wait(timeout=30)

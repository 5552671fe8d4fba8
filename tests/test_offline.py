"""The recording harness itself: isolation between runs, loud invokes."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from harness.offline import run_stack


def test_a_failed_run_leaves_nothing_behind_for_the_next_one() -> None:
    def refuse(args):
        if args.typ == "aws:ec2/subnet:Subnet":
            raise RuntimeError("emulator refused the subnet")
        return None

    with pytest.raises(Exception, match="emulator refused the subnet"):
        run_stack("infra-dev", resource_hook=refuse)
    # The next run in the same process is complete and unaffected.
    rec = run_stack("infra-dev")
    assert len(rec.of_type("aws:ec2/subnet:Subnet")) == 4
    assert set(rec.outputs) >= {"VpcId", "ClusterArn"}


def test_unknown_invokes_fail_loudly() -> None:
    def program(stack, params_dir):
        pulumi.export("zones", aws.get_availability_zones().names)

    with pytest.raises(Exception, match="offline harness has no answer for invoke aws:index/getAvailabilityZones"):
        run_stack("infra-dev", program=program)


def test_references_are_served_by_name_and_placeholders_are_reported() -> None:
    def program(stack, params_dir):
        ref = pulumi.StackReference("organization/multilane/infra-dev")
        other = pulumi.StackReference("organization/multilane/boot-user-api-dev")
        pulumi.export("vpc", ref.require_output("VpcId"))
        pulumi.export("listener", other.require_output("HttpListenerArn"))

    rec = run_stack(
        "user-api-dev-gray",
        program=program,
        references={"organization/multilane/infra-dev": {"VpcId": "vpc-0123456789abcdef0"}},
    )
    assert rec.outputs["vpc"] == "vpc-0123456789abcdef0"
    assert "PLACEHOLDER" in rec.outputs["listener"]
    assert rec.placeholder_references == ["organization/multilane/boot-user-api-dev"]

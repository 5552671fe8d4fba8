"""``make policy`` audits every stack that has a config file or params (issue 11, item 9)."""

from __future__ import annotations

from pathlib import Path

from components import naming, params
from components.stackconfig import STACKS_DIR
from harness.offline import run_stack
from policy import audit
from policy.adapter import run_policies
from policy.pack import policies


def test_every_stack_with_a_config_file_is_audited():
    audited = {e.stack for e in audit.examples()}
    files = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in STACKS_DIR.glob("Pulumi.*.yaml")]
    assert files and set(files) <= audited


def test_every_stack_with_params_is_audited():
    audited = {e.stack for e in audit.examples()}
    for env in params.envs():
        assert {naming.infra_stack(env), naming.pipelines_stack(env)} <= audited
        for service in params.services(env):
            assert naming.boot_stack(service, env) in audited
            assert naming.lane_stack(service, env, naming.DEFAULT_LANE) in audited


def test_a_new_stack_file_is_picked_up(tmp_path: Path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.order-api-prod-canary.yaml").write_text("config:\n  multilane:priority: 4000\n")
    found = {e.stack: e for e in audit.configured(stacks_dir=stacks)}
    canary = found["order-api-prod-canary"]
    # prod has no bootstrapImage: the audit gives the lane the image the runner would.
    assert canary.layer == "lane" and canary.config == {"imageUri": audit.example_image("order-api", "prod")}


def test_the_shipped_blue_example_passes_the_pack_with_its_pins():
    rec = run_stack("user-api-dev-blue")
    (rule,) = rec.of_type("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["priority"] == 3000  # from stacks/Pulumi.user-api-dev-blue.yaml
    assert run_policies(rec, policies()).mandatory == []

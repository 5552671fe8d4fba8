"""Every example stack passes the whole pack, and ``make policy`` says so.

The examples (policy/audit.py EXAMPLES) cover infra, boot, the default,
gray and a long-named lane, a two-carrier lane and pipelines, in both
example envs. The only finding is advisory: the dev ALBs run without
deletion protection (params/boot-dev.json), which the pack asks to
consider outside production.
"""

from __future__ import annotations

import pytest

from harness.offline import run_stack
from policy import audit
from policy.adapter import run_policies
from policy.pack import policies

PACK = policies()
EXAMPLES = audit.examples()
DEV_BOOTS = {"boot-user-api-dev", "boot-order-api-dev"}


def test_every_layer_has_examples_in_both_envs():
    layers = {(e.layer, e.stack.split("-")[-1] if e.layer != "lane" else "") for e in EXAMPLES}
    for layer in ("infra", "boot", "pipelines"):
        assert (layer, "dev") in layers and (layer, "prod") in layers
    lanes = {e.stack for e in EXAMPLES if e.layer == "lane"}
    assert {"user-api-dev-default", "user-api-dev-gray", f"user-api-dev-{audit.LONG_LANE}"} <= lanes
    assert len(audit.LONG_LANE) <= 40


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stack for e in EXAMPLES])
def test_example_stack_has_no_violation(example):
    rec = run_stack(example.stack, config=example.config)
    result = run_policies(rec, PACK)
    assert result.mandatory == [], [(v.policy, v.resource, v.message) for v in result.mandatory]
    expected = ["alb-deletion-protection"] if example.stack in DEV_BOOTS else []
    assert [v.policy for v in result.advisory] == expected
    assert result.not_applicable == []
    # The pack saw the stack's real resources, not an empty graph.
    assert len(rec.resources) >= 5


def test_lane_examples_exercise_the_lane_rule_policies():
    rec = run_stack("order-api-dev-gray")
    rules = rec.of_type("aws:lb/listenerRule:ListenerRule")
    assert len(rules) == 2  # tracestate and baggage
    assert run_policies(rec, PACK).violations == []


def test_make_policy_prints_an_empty_table_and_exits_zero(capsys):
    assert audit.main([]) == 0
    out = capsys.readouterr().out
    assert "Violations (mandatory): 0\nstack  policy  resource  message\n" in out
    assert "Advisories (not blocking): 2" in out
    for example in EXAMPLES:
        assert example.stack in out.splitlines()[0]


def test_audit_of_chosen_stacks(capsys):
    assert audit.main(["user-api-dev-gray", "infra-prod"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "policy pack over 2 stacks: user-api-dev-gray, infra-prod"


def test_make_policy_table_lists_stack_policy_resource_message():
    rows = audit.audit([audit.Example("user-api-dev-gray", {"priority": "500"}, layer="lane")])[0].mandatory
    lines = audit.table(rows).splitlines()
    assert lines[0].split() == ["stack", "policy", "resource", "message"]
    assert lines[2].startswith("user-api-dev-gray  lane-rule-priority-band  aws:lb/listenerRule:ListenerRule::rule-0  ")
    assert lines[2].endswith("has priority 500, outside the tracestate lane band 1000..20999")


def test_audit_exit_status_is_one_with_mandatory_violations(monkeypatch, capsys):
    bad = audit.Example("user-api-dev-gray", {"priority": "500"}, layer="lane")
    monkeypatch.setattr(audit, "examples", lambda names=(): [bad])
    assert audit.main([]) == 1
    assert "Violations (mandatory): 1" in capsys.readouterr().out


def test_audit_of_an_unknown_stack_is_one_sentence_and_exit_two(capsys):
    assert audit.main(["nosuch-dev-gray"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'nosuch-dev-gray' does not start with a {service}-{env} that has a params file")
    assert err.count("\n") == 1 and "Traceback" not in err

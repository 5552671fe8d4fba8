"""The runner against the fake backend: order, parallelism, retries, pre-checks, priorities."""

from __future__ import annotations

import json

import pytest

from automation.inputs import Request, build_request, parse_vars, read_params_file
from automation.priority import LiveRule
from automation.runner import READS, Runner
from automation.workspace import ConcurrentUpdateError, OperationFailedError
from components import routing
from components.errors import MultilaneError
from harness.fake import FakeBackend
from tests.runner_helpers import IMAGE, LOWER, Sleeps, events, make_runner, max_overlap, targets

LANES = ["user-api-dev-gray", "user-api-dev-blue", "user-api-dev-green", "user-api-dev-red"]


def _call(fake: FakeBackend, op: str, stack: str):
    (call,) = [c for c in fake.calls if c.op == op and c.stack == stack]
    return call


# --- order and parallelism ---------------------------------------------------------------


def test_up_runs_infra_then_boot_then_lanes_in_parallel(tmp_path):
    fake = FakeBackend(delay=0.2)
    runner = make_runner(fake, tmp_path, parallel=4)
    names = [*LANES, "boot-user-api-dev", "infra-dev"]  # given out of order on purpose
    outcomes = runner.run("up", targets(*names))
    assert [o.status for o in outcomes] == ["ok"] * 6
    infra, boot = _call(fake, "up", "infra-dev"), _call(fake, "up", "boot-user-api-dev")
    assert infra.end <= boot.start
    lane_calls = [_call(fake, "up", s) for s in LANES]
    assert all(boot.end <= c.start for c in lane_calls)
    assert max_overlap(lane_calls) == 4  # all four lanes at once


def test_parallelism_is_bounded(tmp_path):
    fake = FakeBackend.deployed(*LOWER, delay=0.1)
    runner = make_runner(fake, tmp_path, parallel=2)
    runner.run("preview", targets(*LANES))
    lane_calls = [c for c in fake.calls if c.op == "preview"]
    assert len(lane_calls) == 4
    assert max_overlap(lane_calls) == 2


def test_destroy_runs_lanes_first(tmp_path):
    fake = FakeBackend.deployed("infra-dev", "boot-user-api-dev", "user-api-dev-gray")
    runner = make_runner(fake, tmp_path)
    req = Request(targets=targets("infra-dev", "boot-user-api-dev", "user-api-dev-gray"))
    runner.prepare("destroy", req)
    runner.run("destroy", req.targets)
    assert fake.ops("destroy") == [
        ("destroy", "user-api-dev-gray"),
        ("destroy", "boot-user-api-dev"),
        ("destroy", "infra-dev"),
    ]


def test_destroy_of_a_boot_stack_that_lanes_still_read_is_refused(tmp_path):
    fake = FakeBackend.deployed("infra-dev", "boot-user-api-dev", "user-api-dev-gray")
    runner = make_runner(fake, tmp_path)
    with pytest.raises(MultilaneError, match=r"boot-user-api-dev is still read by user-api-dev-gray"):
        runner.prepare("destroy", Request(targets=targets("boot-user-api-dev")))
    assert fake.calls == []


def test_a_failed_phase_stops_the_later_phases(tmp_path):
    fake = FakeBackend.deployed("infra-dev", failures={("up", "boot-user-api-dev"): [OperationFailedError("boom")]})
    runner = make_runner(fake, tmp_path)
    outcomes = {o.stack: o for o in runner.run("up", targets("boot-user-api-dev", "user-api-dev-gray"))}
    assert outcomes["boot-user-api-dev"].status == "failed"
    assert outcomes["user-api-dev-gray"].status == "skipped"
    assert "boot-user-api-dev failed" in outcomes["user-api-dev-gray"].message
    assert ("up", "user-api-dev-gray") not in fake.ops()


# --- pre-checks ----------------------------------------------------------------------------


def test_lane_without_its_boot_stack_stops_with_the_command_that_creates_it(tmp_path):
    fake = FakeBackend.deployed("infra-dev")
    outcome = make_runner(fake, tmp_path).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "failed"
    assert "boot-user-api-dev, which does not exist" in outcome.message
    assert "`python -m automation up boot-user-api-dev`" in outcome.message
    assert fake.ops("up") == []


def test_lane_stops_when_boot_lacks_an_output_it_reads(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    del fake.stacks["boot-user-api-dev"].outputs["HttpListenerArn"]
    outcome = make_runner(fake, tmp_path).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "failed"
    assert "reads HttpListenerArn from boot-user-api-dev" in outcome.message
    assert fake.ops("up") == []


def test_boot_checks_infra(tmp_path):
    fake = FakeBackend()
    outcome = make_runner(fake, tmp_path).run("up", targets("boot-user-api-dev"))[0]
    assert outcome.status == "failed" and "`python -m automation up infra-dev`" in outcome.message


# --- retries ---------------------------------------------------------------------------------


def test_concurrent_update_is_retried_with_backoff(tmp_path):
    fake = FakeBackend.deployed(*LOWER, failures={("up", "user-api-dev-gray"): [ConcurrentUpdateError()] * 2})
    sleeps = Sleeps()
    outcome = make_runner(fake, tmp_path, sleep=sleeps).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok"
    assert sleeps == [2.0, 4.0]
    assert fake.ops("up") == [("up", "user-api-dev-gray")] * 3


def test_concurrent_update_gives_up_after_the_bound(tmp_path):
    fake = FakeBackend.deployed(*LOWER, failures={("up", "user-api-dev-gray"): [ConcurrentUpdateError()] * 9})
    sleeps = Sleeps()
    outcome = make_runner(fake, tmp_path, sleep=sleeps).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "failed"
    assert "locked by another update after 5 attempts" in outcome.message
    assert "pulumi cancel --stack user-api-dev-gray" in outcome.message
    assert sleeps == [2.0, 4.0, 8.0, 16.0]
    assert len(fake.ops("up")) == 5


# --- priorities --------------------------------------------------------------------------------


def _home(lane: str) -> int:
    return routing.priorities.allocate_priorities("user-api", lane, 1)[0]


def test_priority_taken_by_another_lane_is_pinned_to_a_free_one(tmp_path):
    home = _home("gray")
    rules = [LiveRule("arn:rule/blue", home, "blue")]
    fake = FakeBackend.deployed(*LOWER)
    seen = []
    outcome = make_runner(fake, tmp_path, rules_source=lambda arn: seen.append(arn) or rules).run(
        "up", targets("user-api-dev-gray")
    )[0]
    assert outcome.status == "ok"
    assert seen == [fake.stacks["boot-user-api-dev"].outputs["HttpListenerArn"]]
    pinned = int(_call(fake, "up", "user-api-dev-gray").config["multilane:priority"])
    assert pinned != home
    assert pinned == routing.priorities.allocate_priorities("user-api", "gray", 1, taken={home: "blue"})[0]
    assert fake.stacks["user-api-dev-gray"].outputs["RulePriority"] == pinned


def test_free_or_own_priority_is_not_pinned(tmp_path):
    home = _home("gray")
    fake = FakeBackend.deployed(*LOWER)
    rules = [LiveRule("arn:rule/gray", home, "gray"), LiveRule("arn:rule/blue", home + 1, "blue")]
    make_runner(fake, tmp_path, rules_source=lambda arn: rules).run("up", targets("user-api-dev-gray"))
    assert "multilane:priority" not in _call(fake, "up", "user-api-dev-gray").config


def test_lane_keeps_its_live_priority_after_an_earlier_pin(tmp_path):
    # gray was pinned away from its home slot earlier; a fresh checkout has no pin file.
    home = _home("gray")
    rules = [LiveRule("arn:rule/blue", home, "blue"), LiveRule("arn:rule/gray", home + 7, "gray")]
    fake = FakeBackend.deployed(*LOWER)
    make_runner(fake, tmp_path, rules_source=lambda arn: rules).run("up", targets("user-api-dev-gray"))
    assert _call(fake, "up", "user-api-dev-gray").config["multilane:priority"] == str(home + 7)


def test_priority_check_is_skipped_without_credentials(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    runner = make_runner(fake, tmp_path, rules_source=lambda arn: None)
    outcome = runner.run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok"
    assert "multilane:priority" not in _call(fake, "up", "user-api-dev-gray").config
    steps = [line.get("step", "") for line in runner.progress.lines]
    assert any("priority check skipped: no AWS credentials" in s for s in steps)


def test_default_lane_has_no_priority_check(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    asked = []
    make_runner(fake, tmp_path, rules_source=lambda arn: asked.append(arn) or []).run(
        "up", targets("user-api-dev-default")
    )
    assert asked == []


def test_priority_in_use_reallocates_and_retries_once(tmp_path):
    recorded = events("up-user-api-dev-gray-priority-in-use.json")
    served = []

    def replay(op, stack):
        served.append(stack)
        return recorded if len(served) == 1 else []

    fake = FakeBackend.deployed(*LOWER, events=replay)
    outcome = make_runner(fake, tmp_path).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok"
    first, second = [c for c in fake.calls if c.op == "up"]
    assert "multilane:priority" not in first.config
    assert int(second.config["multilane:priority"]) != _home("gray")
    assert any("PriorityInUse" in n for n in outcome.notes)


def test_priority_in_use_twice_fails(tmp_path):
    recorded = events("up-user-api-dev-gray-priority-in-use.json")
    fake = FakeBackend.deployed(*LOWER, events={"up:user-api-dev-gray": recorded})
    outcome = make_runner(fake, tmp_path).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "failed"
    assert "PriorityInUse" in outcome.message
    assert len(fake.ops("up")) == 2


def test_pinned_priority_that_collides_fails_with_a_sentence(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.user-api-dev-gray.yaml").write_text("config:\n  multilane:priority: 2000\n")
    fake = FakeBackend.deployed(*LOWER)
    outcome = make_runner(fake, tmp_path, rules_source=lambda arn: [LiveRule("arn", 2000, "blue")]).run(
        "up", targets("user-api-dev-gray")
    )[0]
    assert outcome.status == "failed"
    assert "collides with lane 'blue' at priority 2000" in outcome.message
    assert fake.ops("up") == []


# --- previews of new stacks, images ------------------------------------------------------------


def test_preview_of_a_new_stack_removes_it_again(tmp_path):
    fake = FakeBackend.deployed(*LOWER, events={"preview:user-api-dev-gray": events("preview-user-api-dev-gray.json")})
    outcome = make_runner(fake, tmp_path).run("preview", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok"
    assert outcome.changes.counts["create"] == 11
    assert fake.ops() == [("preview", "user-api-dev-gray"), ("rm", "user-api-dev-gray")]
    assert not fake.stack_exists("user-api-dev-gray")


def test_preview_failure_carries_the_engine_error(tmp_path):
    fake = FakeBackend.deployed(
        "infra-dev", "boot-user-api-dev", events={"preview:boot-user-api-dev": events("preview-boot-user-api-dev.json")}
    )
    outcome = make_runner(fake, tmp_path).run("preview", targets("boot-user-api-dev"))[0]
    assert outcome.status == "failed"
    assert outcome.message.startswith("error: aws:lb/listener:Listener resource 'https'")
    assert "\x1b" not in outcome.message


def test_lane_image_comes_from_the_parameter_file_then_what_runs_now(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE})
    runner = make_runner(fake, tmp_path)
    gray = targets("user-api-dev-gray")
    assert runner.prepare("up", Request(gray))["user-api-dev-gray"] == {"multilane:imageUri": IMAGE}
    newer = IMAGE.replace("sha-abc123", "sha-def456")
    req = Request(gray, image=newer, image_stack="user-api-dev-gray")
    assert runner.prepare("up", req)["user-api-dev-gray"] == {"multilane:imageUri": newer}


def test_lane_without_any_image_is_refused_before_anything_runs(tmp_path):
    fake = FakeBackend.deployed("infra-prod", "boot-user-api-prod")
    runner = make_runner(fake, tmp_path)
    with pytest.raises(MultilaneError, match=r"lane stack user-api-prod-gray has no image"):
        runner.prepare("up", Request(targets("user-api-prod-gray")))
    assert fake.calls == []


# --- inputs ----------------------------------------------------------------------------------


def test_vars_name_the_lane_stack_with_app_env(tmp_path):
    req = build_request([], ["SERVICE=user-api", "LANE=gray", "BRANCH=release/1.2.3"], None, {"APP_ENV": "dev"})
    assert [t.stack for t in req.targets] == ["user-api-dev-gray"]
    assert req.branch == "release/1.2.3" and "branch release/1.2.3" in req.message


def test_params_file_image_goes_to_the_lane_it_names(tmp_path):
    path = tmp_path / "cfn-params.json"
    parameters = {"ServiceName": "user-api", "Env": "dev", "Lane": "gray", "ImageUri": IMAGE}
    path.write_text(json.dumps({"Parameters": parameters}))
    req = build_request([], [], str(path), {})
    assert [t.stack for t in req.targets] == ["user-api-dev-gray"]
    assert (req.image, req.image_stack) == (IMAGE, "user-api-dev-gray")
    assert read_params_file(str(path)) == {"SERVICE": "user-api", "ENV": "dev", "LANE": "gray", "IMAGE_URI": IMAGE}


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        (["LANE"], "is not KEY=VALUE"),
        (["=gray"], "is not KEY=VALUE"),
        (["COLOR=blue"], "not a runner variable"),
        (["LANE="], "is empty"),
        (["LANE=gray", "LANE=blue"], "given twice"),
    ],
)
def test_malformed_vars(items, fragment):
    with pytest.raises(MultilaneError, match=fragment):
        parse_vars(items)


def test_vars_disagreeing_with_the_parameter_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"Parameters": {"ServiceName": "user-api", "Env": "dev", "Lane": "gray"}}')
    with pytest.raises(MultilaneError, match=r"--var LANE=blue disagrees with the parameter file's value 'gray'"):
        build_request([], ["LANE=blue"], str(path), {})


def test_parallel_out_of_range():
    with pytest.raises(MultilaneError, match="--parallel 0 is out of range"):
        Runner(FakeBackend(), parallel=0)


def test_independent_previews_share_one_bounded_pool(tmp_path):
    # pr-preview: previews change nothing, so layers do not wait for each other.
    fake = FakeBackend.deployed(*LOWER, *LANES, delay=0.1)
    runner = make_runner(fake, tmp_path, parallel=3)
    runner.run("preview", targets("infra-dev", "boot-user-api-dev", *LANES), independent=True)
    calls = [c for c in fake.calls if c.op == "preview"]
    assert len(calls) == 6 and max_overlap(calls) == 3
    infra = _call(fake, "preview", "infra-dev")
    assert any(c.start < infra.end for c in calls if c.stack in LANES)


def test_an_aws_error_fails_that_stack_only(tmp_path):
    def denied(arn):
        raise PermissionError("AccessDenied: elasticloadbalancing:DescribeRules")

    fake = FakeBackend.deployed(*LOWER)
    outcomes = make_runner(fake, tmp_path, rules_source=denied).run(
        "up", targets("user-api-dev-default", "user-api-dev-gray")
    )
    assert [o.status for o in outcomes] == ["ok", "failed"]
    assert outcomes[1].message == "PermissionError: AccessDenied: elasticloadbalancing:DescribeRules"
    assert fake.ops("up") == [("up", "user-api-dev-default")]


@pytest.mark.parametrize(
    "stack", ["infra-dev", "boot-user-api-dev", "user-api-dev-default", "user-api-dev-gray", "pipelines-dev"]
)
def test_pre_check_keys_are_what_the_programs_really_read(stack, monkeypatch):
    # The offline run of the real program records every stack output it
    # requires; the runner's pre-check (READS, from the contract) must ask
    # for exactly those, per referenced stack.
    import pulumi

    from components import contract
    from components.stackname import resolve
    from harness.offline import run_stack

    required: dict[str, set[str]] = {}
    real = pulumi.StackReference.require_output

    def recording(self, name):
        required.setdefault(self.pulumi_resource_name.rsplit("/", 1)[-1], set()).add(name)
        return real(self, name)

    def unexpected(self, name):
        raise AssertionError(f"{stack} reads {name} with get_output; the contract reads require every key")

    monkeypatch.setattr(pulumi.StackReference, "require_output", recording)
    monkeypatch.setattr(pulumi.StackReference, "get_output", unexpected)
    run_stack(stack)
    target = resolve(stack)
    expected = {lower: set(READS[(target.layer, r.LAYER)]) for lower, r in contract.references(target).items()}
    assert required == expected


@pytest.mark.parametrize("rules", [None, []], ids=["no-credentials", "listener-read"])
def test_a_redeploy_keeps_the_lanes_priority_without_the_stack_file(tmp_path, rules):
    # An earlier run pinned gray to 12345 (in stacks/Pulumi.user-api-dev-gray.yaml,
    # which CodeBuild throws away with its working tree).
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE, "multilane:priority": "12345"})
    assert fake.stacks["user-api-dev-gray"].outputs["RulePriority"] == 12345
    fake.stacks["user-api-dev-gray"].config.clear()  # a fresh checkout: no config file
    outcome = make_runner(fake, tmp_path, rules_source=lambda arn: rules).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok", outcome.message
    assert _call(fake, "up", "user-api-dev-gray").config["multilane:priority"] == "12345"
    assert fake.stacks["user-api-dev-gray"].outputs["RulePriority"] == 12345


def test_a_new_lane_has_no_last_priority_to_keep(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    make_runner(fake, tmp_path, rules_source=lambda arn: []).run("up", targets("user-api-dev-gray"))
    assert "multilane:priority" not in _call(fake, "up", "user-api-dev-gray").config


def test_a_stale_last_priority_held_by_another_lane_is_not_kept(tmp_path):
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE, "multilane:priority": "12345"})
    fake.stacks["user-api-dev-gray"].config.clear()
    rules = [LiveRule("arn:rule/blue", 12345, "blue")]
    outcome = make_runner(fake, tmp_path, rules_source=lambda arn: rules).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok", outcome.message
    assert fake.stacks["user-api-dev-gray"].outputs["RulePriority"] != 12345


def test_priority_in_use_after_keeping_the_last_priority_moves_away_from_it(tmp_path):
    recorded = events("up-user-api-dev-gray-priority-in-use.json")
    served = []

    def replay(op, stack):
        if op == "up" and stack == "user-api-dev-gray":
            served.append(stack)
            return recorded if len(served) == 1 else []
        return []

    fake = FakeBackend.deployed(*LOWER, events=replay)
    fake.seed("user-api-dev-gray", {"multilane:imageUri": IMAGE, "multilane:priority": "12345"})
    fake.stacks["user-api-dev-gray"].config.clear()
    outcome = make_runner(fake, tmp_path).run("up", targets("user-api-dev-gray"))[0]
    assert outcome.status == "ok", outcome.message
    first, second = [c for c in fake.calls if c.op == "up" and c.stack == "user-api-dev-gray"]
    assert first.config["multilane:priority"] == "12345"
    assert second.config["multilane:priority"] != "12345"

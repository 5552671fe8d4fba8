"""promote, rollback and lanes against the fake backend."""

from __future__ import annotations

import pytest

from automation import lifecycle
from automation.workspace import OperationFailedError
from components.errors import MultilaneError
from harness.fake import FakeBackend
from tests.runner_helpers import IMAGE, LOWER, make_runner

GRAY_IMAGE = IMAGE.replace("sha-abc123", "sha-9a7e11")
OLD_IMAGE = IMAGE.replace("sha-abc123", "sha-0001")


def _service() -> FakeBackend:
    fake = FakeBackend.deployed(*LOWER)
    fake.seed("user-api-dev-default", {"multilane:imageUri": OLD_IMAGE})
    fake.seed("user-api-dev-gray", {"multilane:imageUri": GRAY_IMAGE})
    return fake


class Waiter:
    def __init__(self, fake: FakeBackend, fail: bool = False) -> None:
        self.fake, self.fail, self.calls = fake, fail, []

    def __call__(self, cluster: str, service: str) -> str:
        # Record what had happened by the time the waiter ran.
        self.calls.append((cluster, service, list(self.fake.ops())))
        if self.fail:
            raise TimeoutError("Waiter ServicesStable failed: Max attempts exceeded")
        return f"ECS service {service} is stable"


def test_promote_updates_default_then_waits_then_removes_the_source(tmp_path):
    fake = _service()
    waiter = Waiter(fake)
    runner = make_runner(fake, tmp_path)
    outcomes = lifecycle.promote(runner, "user-api", "dev", "gray", keep_source=False, waiter=waiter)
    assert [(o.op, o.stack, o.status) for o in outcomes] == [
        ("up", "user-api-dev-default", "ok"),
        ("destroy", "user-api-dev-gray", "ok"),
    ]
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE
    # The new state existed and was stable before the old one was touched.
    assert fake.ops() == [("up", "user-api-dev-default"), ("destroy", "user-api-dev-gray"), ("rm", "user-api-dev-gray")]
    ((cluster, service, ops_then),) = waiter.calls
    assert ops_then == [("up", "user-api-dev-default")]
    assert cluster == fake.stacks["infra-dev"].outputs["ClusterArn"] and service == "user-api-default"
    assert not fake.stack_exists("user-api-dev-gray")


def test_promote_keep_source(tmp_path):
    fake = _service()
    outcomes = lifecycle.promote(
        make_runner(fake, tmp_path), "user-api", "dev", "gray", keep_source=True, waiter=Waiter(fake)
    )
    assert len(outcomes) == 1 and fake.stack_exists("user-api-dev-gray")
    assert fake.ops("destroy") == []


def test_promote_keeps_the_source_when_default_fails_or_is_not_stable(tmp_path):
    fake = _service()
    fake.failures[("up", "user-api-dev-default")] = [OperationFailedError("error: ECS deployment failed")]
    outcomes = lifecycle.promote(
        make_runner(fake, tmp_path), "user-api", "dev", "gray", keep_source=False, waiter=Waiter(fake)
    )
    assert outcomes[0].status == "failed" and fake.ops("destroy") == []

    fake = _service()
    outcomes = lifecycle.promote(
        make_runner(fake, tmp_path), "user-api", "dev", "gray", keep_source=False, waiter=Waiter(fake, fail=True)
    )
    assert outcomes[0].status == "failed" and "did not become stable" in outcomes[0].message
    assert fake.ops("destroy") == [] and fake.stack_exists("user-api-dev-gray")


@pytest.mark.parametrize(
    ("lane", "fragment"),
    [
        ("purple", "lane 'purple' of user-api-dev has no stack user-api-dev-purple"),
        ("default", "cannot promote user-api-dev's default lane onto itself"),
        ("Bad_Lane", "is not a lane name"),
    ],
)
def test_promote_refusals_change_nothing(tmp_path, lane, fragment):
    fake = _service()
    with pytest.raises(MultilaneError, match=fragment):
        lifecycle.promote(make_runner(fake, tmp_path), "user-api", "dev", lane, keep_source=False, waiter=Waiter(fake))
    assert fake.calls == []


def test_rollback_redeploys_the_previous_image_from_history(tmp_path):
    fake = _service()
    runner = make_runner(fake, tmp_path)
    lifecycle.promote(runner, "user-api", "dev", "gray", keep_source=True, waiter=Waiter(fake))
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE
    outcome = lifecycle.rollback(make_runner(fake, tmp_path), "user-api", "dev")[0]
    assert outcome.status == "ok"
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == OLD_IMAGE
    assert fake.calls[-1].message == f"rollback to {OLD_IMAGE}"


def test_rollback_skips_failed_updates_and_same_image_redeploys():
    from automation.workspace import HistoryEntry

    key = "multilane:imageUri"
    history = [
        HistoryEntry(5, "update", "succeeded", {key: "c"}),
        HistoryEntry(4, "update", "failed", {key: "x"}),
        HistoryEntry(3, "update", "succeeded", {key: "c"}),
        HistoryEntry(2, "destroy", "succeeded", {key: "y"}),
        HistoryEntry(1, "update", "succeeded", {key: "b"}),
    ]
    assert lifecycle.rollback_image(history) == ("c", "b")
    with pytest.raises(MultilaneError, match="no image before the current one"):
        lifecycle.rollback_image(history[:3])


def test_rollback_without_a_default_stack(tmp_path):
    with pytest.raises(MultilaneError, match="user-api-dev-default does not exist"):
        lifecycle.rollback(make_runner(FakeBackend.deployed(*LOWER), tmp_path), "user-api", "dev")


def test_lanes_lists_only_this_services_lanes():
    fake = _service()
    fake.seed("user-api-dev-blue", {"multilane:imageUri": IMAGE, "multilane:priority": "30000"})
    fake.seed("order-api-dev-gray", {})
    fake.seed("user-api-prod-default", {})
    rows = lifecycle.lanes(fake, "user-api", "dev")
    assert [r.lane for r in rows] == ["default", "blue", "gray"]
    blue = rows[1]
    assert (blue.image, blue.priority, blue.route_header) == (IMAGE, 30000, "tracestate: ctx=lane:blue")
    assert rows[0].priority is None and rows[0].last_update is not None
    text = lifecycle.render_lanes("user-api", "dev", rows)
    assert text.splitlines()[0].split() == [
        "lane",
        "image",
        "priority",
        "route",
        "header",
        "last",
        "update",
        "age",
        "last",
        "deploy",
        "expires",
    ]
    assert "30000" in text and "(default)" in text


def test_service_env_unknown():
    with pytest.raises(MultilaneError, match=r"'billing-dev' is not a \{service\}-\{env\} with a params file; known: "):
        lifecycle.service_env("billing-dev")


def test_promote_with_outputs_from_the_real_program(tmp_path):
    """The fake's stack outputs come from the real layer programs (offline harness),
    so the image promote reads and writes goes through components/layers/lane/."""
    from components import naming
    from harness.offline import run_stack

    fake = FakeBackend()

    def program_outputs(stack, config):
        short = {k.split(":", 1)[1]: v for k, v in config.items() if v}
        refs = {naming.stack_ref(name): st.outputs for name, st in fake.stacks.items()}
        return run_stack(stack, config=short, references=refs, stacks_dir=tmp_path).outputs

    fake.outputs_for = program_outputs
    for stack in (*LOWER, "user-api-dev-default"):
        fake.seed(stack)
    fake.seed("user-api-dev-gray", {"multilane:imageUri": GRAY_IMAGE})
    gray = fake.stacks["user-api-dev-gray"].outputs
    assert gray["ImageUri"] == GRAY_IMAGE and gray["RouteHeader"] == "tracestate: ctx=lane:gray"
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] != GRAY_IMAGE  # the bootstrap image

    lifecycle.promote(make_runner(fake, tmp_path), "user-api", "dev", "gray", keep_source=False, waiter=Waiter(fake))
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == GRAY_IMAGE
    assert not fake.stack_exists("user-api-dev-gray")
    rows = lifecycle.lanes(fake, "user-api", "dev")
    assert [(r.lane, r.image) for r in rows] == [("default", GRAY_IMAGE)]


def _images(n: int) -> list[str]:
    return [IMAGE.replace("sha-abc123", f"sha-{i:04d}") for i in range(1, n + 1)]


@pytest.mark.parametrize("lane", ["default", "gray"])
def test_repeated_rollbacks_walk_back_through_history(tmp_path, lane):
    a, b, c = _images(3)
    fake = FakeBackend.deployed(*LOWER)
    stack = f"user-api-dev-{lane}"
    runner = make_runner(fake, tmp_path)
    for image in (a, b, c):
        fake.up(stack, {"multilane:imageUri": image}, lambda e: None, f"image {image}")
    lifecycle.rollback(runner, "user-api", "dev", lane)
    assert fake.stacks[stack].outputs["ImageUri"] == b
    lifecycle.rollback(runner, "user-api", "dev", lane)
    assert fake.stacks[stack].outputs["ImageUri"] == a
    # Nothing older: no oscillation back to b or c.
    with pytest.raises(MultilaneError, match="nothing to roll back to"):
        lifecycle.rollback(runner, "user-api", "dev", lane)
    assert fake.stacks[stack].outputs["ImageUri"] == a


def test_two_rollbacks_after_a_then_b_do_not_oscillate(tmp_path):
    a, b = _images(2)
    fake = FakeBackend.deployed(*LOWER)
    runner = make_runner(fake, tmp_path)
    for image in (a, b):
        fake.up("user-api-dev-default", {"multilane:imageUri": image}, lambda e: None, "")
    lifecycle.rollback(runner, "user-api", "dev")
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == a
    with pytest.raises(MultilaneError, match="nothing to roll back to"):
        lifecycle.rollback(runner, "user-api", "dev")
    assert fake.stacks["user-api-dev-default"].outputs["ImageUri"] == a


def test_a_deploy_after_a_rollback_rolls_back_past_the_bad_image():
    from automation.workspace import HistoryEntry

    key = "multilane:imageUri"
    history = [  # newest first: a, b, rollback to a, c
        HistoryEntry(4, "update", "succeeded", {key: "c"}, "image c"),
        HistoryEntry(3, "update", "succeeded", {key: "a"}, lifecycle.rollback_message("a")),
        HistoryEntry(2, "update", "succeeded", {key: "b"}, "image b"),
        HistoryEntry(1, "update", "succeeded", {key: "a"}, "image a"),
    ]
    assert lifecycle.rollback_image(history) == ("c", "a")


def test_rollback_of_a_lane_keeps_its_rule_priority_check(tmp_path):
    a, b = _images(2)
    fake = FakeBackend.deployed(*LOWER)
    for image in (a, b):
        fake.up("user-api-dev-gray", {"multilane:imageUri": image}, lambda e: None, "")
    outcome = lifecycle.rollback(make_runner(fake, tmp_path), "user-api", "dev", "gray")[0]
    assert outcome.status == "ok" and fake.calls[-1].message == f"rollback to {a}"

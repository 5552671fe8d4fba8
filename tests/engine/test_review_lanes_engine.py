"""Review lanes on the real engine in the sandbox: a pull request opened,
pushed, closed; then the reaper. The runner's real adapter, the real CLI and
file backend, AWS emulated by the sandbox's moto (nothing here is GitHub: the
PR comment goes to a folder, every write logged)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from automation.review_comment import DirectoryComments
from components import naming

from .conftest import Sandbox
from .test_deploy import reaches

pytestmark = pytest.mark.engine

BASE = ("infra-dev", "boot-user-api-dev", "user-api-dev-default")
PR_STACK = "user-api-dev-pr-7"
PAST = "2020-01-01T00:00:00Z"


def stack_names(sb: Sandbox) -> set[str]:
    return {s["name"] for s in json.loads(sb.pulumi("stack", "ls", "--json").stdout)}


def stack_tags(sb: Sandbox, stack: str) -> dict[str, str]:
    return json.loads(sb.pulumi("stack", "tag", "ls", "-s", stack, "--json").stdout)


def review(sb: Sandbox, comments: Path, event: str, image: str | None = None, pr: int = 7) -> Any:
    args = ["review", "user-api-dev", "--pr", str(pr), "--event", event, "--comment-dir", str(comments), "--json"]
    if image:
        args += ["--image", image]
    return json.loads(sb.runner(*args).stdout)


def scheduled(sb: Sandbox, ecs_service: str) -> dict[str, dict[str, Any]]:
    rid = naming.ecs_scalable_resource_id(naming.cluster_name("dev"), ecs_service)
    found = sb.client("application-autoscaling").describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=rid)
    return {a["ScheduledActionName"]: a for a in found["ScheduledActions"]}


def test_pull_request_opened_pushed_closed(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.runner("up", *BASE)
    boot = sandbox.outputs("boot-user-api-dev")
    listener = boot["HttpListenerArn"]
    first, second = f"{boot['RepositoryUrl']}:sha-aaaaaaa-b1", f"{boot['RepositoryUrl']}:sha-bbbbbbb-b2"
    comments = tmp_path / "comments"

    # opened: the lane is created with the commit's image and answers its header
    opened = review(sandbox, comments, "opened", first)
    assert [s["op"] for s in opened["stacks"]] == ["up"] and opened["ok"]
    lane = sandbox.outputs(PR_STACK)
    assert lane["ImageUri"] == first and lane["Lane"] == "pr-7"
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:pr-7"}) == {lane["TargetGroupArn"]}
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:pr-77"}) == {boot["DefaultTargetGroupArn"]}
    tags = stack_tags(sandbox, PR_STACK)
    assert {"multilane:createdAt", "multilane:lastDeployAt", "multilane:expiresAt"} <= set(tags)
    assert tags["multilane:protected"] == "false"
    ecs = sandbox.client("ecs")
    svc_arn = ecs.describe_services(cluster=naming.cluster_name("dev"), services=["user-api-pr-7"])["services"][0][
        "serviceArn"
    ]
    ecs_tags = {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=svc_arn)["tags"]}
    assert ecs_tags["CostLane"] == PR_STACK and ecs_tags["ExpiresAt"] == tags["multilane:expiresAt"]
    assert ecs_tags["CreatedAt"] == tags["multilane:createdAt"]
    # the sleep schedule of params/infra-dev.json, in moto
    actions = scheduled(sandbox, "user-api-pr-7")
    assert {n: (a["Schedule"], a["ScalableTargetAction"]) for n, a in actions.items()} == {
        "user-api-dev-pr-7-sleep": ("cron(0 20 ? * MON-FRI *)", {"MinCapacity": 0, "MaxCapacity": 0}),
        "user-api-dev-pr-7-wake": ("cron(0 8 ? * MON-FRI *)", {"MinCapacity": 1, "MaxCapacity": 1}),
    }

    # a push: the same lane updated in place with the new image
    pushed = review(sandbox, comments, "synchronize", second)
    assert pushed["ok"] and pushed["stacks"][0]["changes"]["create"] == 0
    again = sandbox.outputs(PR_STACK)
    assert again["ImageUri"] == second and again["TargetGroupArn"] == lane["TargetGroupArn"]
    assert stack_tags(sandbox, PR_STACK)["multilane:createdAt"] == tags["multilane:createdAt"]
    history = json.loads(sandbox.pulumi("stack", "history", "-s", PR_STACK, "--json").stdout)
    assert [h["kind"] for h in history if h["result"] == "succeeded"].count("update") == 2

    # closed: the lane and its stack are gone, its header reaches the default lane
    closed = review(sandbox, comments, "closed")
    assert closed["ok"] and [s["op"] for s in closed["stacks"]] == ["destroy"]
    assert PR_STACK not in stack_names(sandbox)
    assert reaches(sandbox, listener, {"tracestate": "ctx=lane:pr-7"}) == {boot["DefaultTargetGroupArn"]}
    assert not ecs.describe_services(cluster=naming.cluster_name("dev"), services=["user-api-pr-7"])["services"] or (
        ecs.describe_services(cluster=naming.cluster_name("dev"), services=["user-api-pr-7"])["services"][0]["status"]
        == "INACTIVE"
    )
    assert scheduled(sandbox, "user-api-pr-7") == {}

    # one comment, written once per event: created, then edited in place twice
    writes = DirectoryComments(comments).writes()
    assert [w["kind"] for w in writes] == ["created", "edited", "edited"]
    assert len(list(comments.glob("*.md"))) == 1
    assert "🗑️ removed" in next(comments.glob("*.md")).read_text()


def test_reap_destroys_expired_lanes_only(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.runner("up", *BASE, "pipelines-dev")
    # the pipelines layer's scheduled reaper and review pipeline, deployed by the real engine
    sched = sandbox.client("scheduler").get_schedule(Name=naming.reaper_schedule_name("dev"))
    assert sched["Target"]["Arn"].endswith(f":{naming.reaper_pipeline_name('dev')}")
    assert sched["ScheduleExpression"] == "cron(17 * * * ? *)"
    review_pipe = sandbox.client("codepipeline").get_pipeline(name=naming.review_pipeline_name("user-api", "dev"))
    stages = {st["name"]: st for st in review_pipe["pipeline"]["stages"]}
    assert stages["Remove"]["beforeEntry"]["conditions"][0]["rules"][0]["configuration"]["Value"] == "closed"
    assert [v["name"] for v in review_pipe["pipeline"]["variables"]] == ["PR_NUMBER", "PR_EVENT"]
    boot = sandbox.outputs("boot-user-api-dev")
    image = f"{boot['RepositoryUrl']}:sha-ccccccc-b3"
    comments = tmp_path / "comments"
    review(sandbox, comments, "opened", image, pr=8)  # will be expired
    review(sandbox, comments, "opened", image, pr=9)  # stays fresh
    (sandbox.project / "stacks" / "Pulumi.user-api-dev-gray.yaml").write_text(
        'config:\n  multilane:protected: "true"\n'
    )
    sandbox.runner("up", "user-api-dev-gray", "--var", f"IMAGE_URI={image}")
    assert stack_tags(sandbox, "user-api-dev-gray")["multilane:protected"] == "true"
    # time passes: pr-8's and gray's expiry lie in the past (the runner's clock is real)
    for stack in ("user-api-dev-pr-8", "user-api-dev-gray"):
        sandbox.pulumi("stack", "tag", "set", "multilane:expiresAt", PAST, "-s", stack)

    dry = json.loads(sandbox.runner("reap", "dev", "--dry-run", "--json").stdout)
    assert {lane["stack"]: lane["action"] for lane in dry["lanes"]} == {
        "user-api-dev-default": "keep",
        "user-api-dev-gray": "keep",
        "user-api-dev-pr-8": "destroy",
        "user-api-dev-pr-9": "keep",
    }
    assert "user-api-dev-pr-8" in stack_names(sandbox)

    done = json.loads(sandbox.runner("reap", "dev", "--json").stdout)
    assert done["ok"] and [s["stack"] for s in done["stacks"]] == ["user-api-dev-pr-8"]
    left = stack_names(sandbox)
    assert "user-api-dev-pr-8" not in left
    assert {"user-api-dev-default", "user-api-dev-gray", "user-api-dev-pr-9"} <= left
    assert sandbox.outputs("user-api-dev-gray")["ImageUri"] == image
    listed = {row["lane"]: row for row in json.loads(sandbox.runner("lanes", "user-api-dev", "--json").stdout)["lanes"]}
    assert listed["gray"]["expires"] == "protected" and listed["pr-9"]["expires"].endswith("Z")
    assert listed["default"]["expires"] == "never (no TTL)"

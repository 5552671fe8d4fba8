"""Review lanes in the plans: the review pipeline (variables, entry conditions,
no trigger), the app workflow that starts it, the reaper schedule, the sleep
schedule and tags of a lane, and the review role's least privilege."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pulumi_aws as aws
import pytest
import yaml

from components import iam, naming, params
from harness.offline import ACCOUNT, REGION, run_stack
from tests.iam_eval import ALLOW, evaluate, matching_sids
from tests.test_iam import SCOPE, _lane_requests

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TARGET = "aws:appautoscaling/target:Target"
ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"
ECS = "aws:ecs/service:Service"
CREATED, EXPIRES = "2026-12-03T10:00:00Z", "2026-12-06T10:00:00Z"


@pytest.fixture(scope="module")
def pipelines_dev():
    return run_stack("pipelines-dev")


def _pipeline(rec, name: str) -> dict:
    (found,) = [r for r in rec.of_type(PIPELINE) if r.inputs["name"] == name]
    return found.inputs


def test_review_pipeline_variables_conditions_and_no_trigger(pipelines_dev) -> None:
    p = _pipeline(pipelines_dev, "pr-user-api-dev")
    assert (p["pipelineType"], p["executionMode"]) == ("V2", "PARALLEL")
    # both variables required: no default, so a run without them cannot start
    assert [(v["name"], "defaultValue" in v) for v in p["variables"]] == [("PR_NUMBER", False), ("PR_EVENT", False)]
    # a CodePipeline pull-request trigger would start runs without a PR number: none here
    assert not p.get("triggers")
    sources = p["stages"][0]["actions"]
    assert {a["name"]: a["configuration"]["DetectChanges"] for a in sources} == {
        "InfraSource": "false",
        "AppSource": "false",
    }
    app = next(a for a in sources if a["name"] == "AppSource")
    assert app["configuration"]["FullRepositoryId"] == "acme/user-api"
    stages = {s["name"]: s for s in p["stages"]}
    assert list(stages) == ["Source", "Remove", "Build", "Deploy"]

    def check(stage: str) -> tuple[str, str, str, str]:
        cond = stages[stage]["beforeEntry"]["condition"]
        (rule,) = cond["rules"]
        c = rule["configuration"]
        assert rule["ruleTypeId"] == {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"}
        return cond["result"], c["Variable"], c["Operator"], c["Value"]

    assert check("Remove") == ("SKIP", "#{variables.PR_EVENT}", "EQ", "closed")
    assert check("Build") == ("SKIP", "#{variables.PR_EVENT}", "NE", "closed")
    assert check("Deploy") == ("SKIP", "#{variables.PR_EVENT}", "NE", "closed")
    build_env = {
        e["name"]: e["value"]
        for e in json.loads(stages["Build"]["actions"][0]["configuration"]["EnvironmentVariables"])
    }
    assert build_env["LANE"] == "pr-#{variables.PR_NUMBER}"
    deploy_env = {
        e["name"]: e["value"]
        for e in json.loads(stages["Deploy"]["actions"][0]["configuration"]["EnvironmentVariables"])
    }
    assert deploy_env["IMAGE_URI"] == "#{BuildVariables.IMAGE_TAG_URI}"
    assert (deploy_env["PR_NUMBER"], deploy_env["PR_EVENT"]) == ("#{variables.PR_NUMBER}", "#{variables.PR_EVENT}")
    assert stages["Deploy"]["actions"][0]["configuration"]["ProjectName"] == "multilane-dev-user-api-review-deploy"
    assert stages["Remove"]["actions"][0]["configuration"]["ProjectName"] == "multilane-dev-user-api-review-deploy"


def test_the_app_workflow_filters_pull_requests_and_starts_the_review_pipeline() -> None:
    wf = yaml.safe_load((ROOT / "ci" / "app-review-workflow.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as a boolean
    assert on["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    assert on["pull_request"]["branches"] == [params.load_service("user-api", "dev").app.branch]
    job = wf["jobs"]["start"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"  # no fork builds
    run = job["steps"][-1]["run"]
    env = job["steps"][-1]["env"]
    assert env == {
        "PIPELINE": "${{ vars.MULTILANE_REVIEW_PIPELINE }}",
        "PR_NUMBER": "${{ github.event.number }}",
        "PR_EVENT": "${{ github.event.action }}",
        "HEAD_SHA": "${{ github.event.pull_request.head.sha }}",
    }
    assert '"name=PR_NUMBER,value=$PR_NUMBER" "name=PR_EVENT,value=$PR_EVENT"' in run
    assert '"actionName=AppSource,revisionType=COMMIT_ID,revisionValue=$HEAD_SHA"' in run
    assert wf["permissions"] == {"contents": "read", "id-token": "write"}


def test_the_reaper_schedule_starts_only_the_reaper_pipeline(pipelines_dev) -> None:
    (sched,) = pipelines_dev.of_type(SCHEDULE)
    i = sched.inputs
    assert (i["name"], i["scheduleExpression"], i["scheduleExpressionTimezone"]) == (
        "multilane-dev-reaper",
        "cron(17 * * * ? *)",
        "UTC",
    )
    reaper = _pipeline(pipelines_dev, "reaper-dev")
    assert reaper["executionMode"] == "QUEUED"
    reap = next(s for s in reaper["stages"] if s["name"] == "Reap")
    assert sorted(a["configuration"]["ProjectName"] for a in reap["actions"]) == [
        "multilane-dev-order-api-reaper",
        "multilane-dev-user-api-reaper",
    ]
    (role,) = [r for r in pipelines_dev.of_type("aws:iam/role:Role") if r.name == "reaper-schedule-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == [
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/multilane-dev-reaper"
    ]
    policy = iam.pipeline_roles.scheduler_policy(SCOPE)
    mine = f"arn:aws:codepipeline:{SCOPE.region}:{SCOPE.account}:reaper-dev"
    assert evaluate([policy], "codepipeline:StartPipelineExecution", mine, {}) == ALLOW
    for other in ("user-api-dev", "pr-user-api-dev", "infra-dev"):
        arn = f"arn:aws:codepipeline:{SCOPE.region}:{SCOPE.account}:{other}"
        assert evaluate([policy], "codepipeline:StartPipelineExecution", arn, {}) != ALLOW
    assert evaluate([policy], "s3:PutObject", f"arn:aws:s3:::{SCOPE.state_bucket}/x", {}) != ALLOW


# --- the lane plan: sleep schedule and tags --------------------------------------------------


def _lane(stack: str, **config: str):
    return run_stack(stack, config={"createdAt": CREATED, "expiresAt": EXPIRES, **config})


def test_a_dev_lane_sleeps_outside_working_hours() -> None:
    rec = _lane("user-api-dev-pr-7", imageUri="123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-1")
    target = rec.one(TARGET).inputs
    assert (target["serviceNamespace"], target["scalableDimension"]) == ("ecs", "ecs:service:DesiredCount")
    assert target["resourceId"] == f"service/{naming.cluster_name('dev')}/user-api-pr-7"
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 1)
    actions = {r.name: r.inputs for r in rec.of_type(ACTION)}
    assert {k: (v["schedule"], v["timezone"], v["scalableTargetAction"]) for k, v in actions.items()} == {
        "sleep": ("cron(0 20 ? * MON-FRI *)", "Australia/Sydney", {"minCapacity": 0, "maxCapacity": 0}),
        "wake": ("cron(0 8 ? * MON-FRI *)", "Australia/Sydney", {"minCapacity": 1, "maxCapacity": 1}),
    }
    assert all(v["resourceId"] == target["resourceId"] for v in actions.values())
    assert actions["sleep"]["name"] == "user-api-dev-pr-7-sleep"


def test_the_default_lane_and_prod_lanes_never_sleep() -> None:
    assert not _lane("user-api-dev-default").of_type(TARGET)
    prod = run_stack(
        "user-api-prod-gray",
        config={"imageUri": "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/prod/user-api:sha-1"},
    )
    assert not prod.of_type(TARGET) and not prod.of_type(ACTION)


def test_every_lane_resource_carries_the_cost_tag_and_only_the_service_the_expiry() -> None:
    rec = _lane("user-api-dev-pr-7", imageUri="123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-1")
    taggable = [
        r for r in rec.resources if r.custom and "tags" in inspect.signature(_cls(r.type)._internal_init).parameters
    ]
    assert len(taggable) >= 8
    for r in taggable:
        tags = r.inputs.get("tags") or {}
        assert tags.get("CostLane") == "user-api-dev-pr-7", r.name
        assert tags.get("CreatedAt") == CREATED, r.name
        assert ("ExpiresAt" in tags) == (r.type == ECS), r.name
    assert rec.one(ECS).inputs["tags"]["ExpiresAt"] == EXPIRES
    assert rec.one(ECS).inputs["propagateTags"] == "SERVICE"  # tasks (the Fargate bill) carry them too


def _cls(type_: str):
    module, name = type_.split(":")[1].split("/")[0], type_.split(":")[2]
    return getattr(getattr(aws, module), name)


def test_a_lane_deployed_by_hand_has_no_lifetime_tags_but_the_cost_tag() -> None:
    rec = run_stack("user-api-dev-gray")
    svc = rec.one(ECS).inputs["tags"]
    assert svc["CostLane"] == "user-api-dev-gray" and "ExpiresAt" not in svc and "CreatedAt" not in svc


# --- the review role: review lanes only -------------------------------------------------------


def _scope():
    return iam.pipeline_roles.Scope(**{**SCOPE.__dict__, "account": ACCOUNT, "region": REGION})


def _review_policy():
    return iam.pipeline_roles.app_deploy_policy(
        _scope(), "user-api", "p", lane_prefix="pr-", pipeline="pr-user-api-dev"
    )


def _scaling_requests(rec) -> list[tuple[str, str, dict]]:
    arn = f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0123456789abcdef"
    tags = rec.one(TARGET).inputs["tags"]
    request = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    resource = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    return [
        ("application-autoscaling:RegisterScalableTarget", arn, request),
        ("application-autoscaling:PutScheduledAction", arn, resource),
        ("application-autoscaling:DeleteScheduledAction", arn, resource),
        ("application-autoscaling:DeregisterScalableTarget", arn, resource),
    ]


CREATES = {
    "ecs:CreateService",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:CreateRule",
    "cloudwatch:PutMetricAlarm",
}


def _as_created(rec, requests):
    """tests/test_iam.py's requests give a create no context; a create that
    sends tags (the program tags everything) carries them as aws:RequestTag."""
    tags = {k: v for k, v in rec.one(ECS).inputs["tags"].items() if k != "ExpiresAt"}
    request = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    return [(a, r, request if a in CREATES and not c else c) for a, r, c in requests]


def test_the_review_role_can_deploy_and_remove_a_review_lane() -> None:
    rec = _lane("user-api-dev-pr-7", imageUri="123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/dev/user-api:sha-1")
    policy = _review_policy()
    requests = _as_created(rec, _lane_requests(rec, "dev")) + _scaling_requests(rec)
    for action, resource, context in requests:
        assert evaluate([policy], action, resource, context) == ALLOW, (
            f"{action} {resource}: {matching_sids([policy], action, resource, context)}"
        )
    state = _scope().state("user-api-dev-pr-7")[0]
    assert evaluate([policy], "s3:PutObject", state.replace("*", "json"), {}) == ALLOW


def test_the_app_role_can_manage_the_sleep_schedule_of_its_lanes_only() -> None:
    rec = _lane("user-api-dev-gray")
    mine = iam.pipeline_roles.app_deploy_policy(_scope(), "user-api", "p")
    other = iam.pipeline_roles.app_deploy_policy(_scope(), "order-api", "p")
    for action, resource, context in _scaling_requests(rec):
        assert evaluate([mine], action, resource, context) == ALLOW, action
        assert evaluate([other], action, resource, context) != ALLOW, action


@pytest.mark.parametrize("lane", ["gray", "default"])
def test_the_review_role_cannot_touch_other_lanes(lane: str) -> None:
    rec = _lane(f"user-api-dev-{lane}")
    policy = _review_policy()
    requests = _as_created(rec, _lane_requests(rec, "dev")) + (_scaling_requests(rec) if lane == "gray" else [])
    for action, resource, context in requests:
        if action.startswith("iam:"):
            continue  # lane roles share the service's IAM path: scoped by path and boundary, not by lane
        if resource == "*":
            continue  # ecs:DeregisterTaskDefinition: AWS cannot scope it (docs/security.md, item 7)
        assert evaluate([policy], action, resource, context) != ALLOW, f"{action} {resource}"
    for key in _scope().state(f"user-api-dev-{lane}"):
        assert evaluate([policy], "s3:PutObject", key.replace("*", "x"), {}) != ALLOW, key


TOKEN = "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:dev/github-review-token-AbCdEf"


def _params_with(tmp_path: Path, **pipelines: object) -> Path:
    import shutil

    dest = tmp_path / "params"
    shutil.copytree(params.PARAMS_DIR, dest)
    data = json.loads((dest / "pipelines-dev.json").read_text())
    data.update(pipelines)
    (dest / "pipelines-dev.json").write_text(json.dumps(data))
    return dest


def test_the_review_deploy_project_reads_the_comment_token_from_secrets_manager(tmp_path: Path) -> None:
    rec = run_stack("pipelines-dev", params_dir=_params_with(tmp_path, reviewCommentTokenSecretArn=TOKEN))
    (project,) = [
        r
        for r in rec.of_type("aws:codebuild/project:Project")
        if r.inputs["name"] == "multilane-dev-user-api-review-deploy"
    ]
    env = {v["name"]: (v["value"], v["type"]) for v in project.inputs["environment"]["environmentVariables"]}
    assert env["GITHUB_TOKEN"] == (TOKEN, "SECRETS_MANAGER")
    policy = iam.pipeline_roles.app_deploy_policy(
        SCOPE, "user-api", "p", lane_prefix="pr-", pipeline="pr-user-api-dev", read_secrets=[TOKEN]
    )
    assert evaluate([policy], "secretsmanager:GetSecretValue", TOKEN, {}) == ALLOW
    assert evaluate([policy], "secretsmanager:GetSecretValue", TOKEN.replace("github", "db"), {}) != ALLOW
    without = run_stack("pipelines-dev")
    for r in without.of_type("aws:codebuild/project:Project"):
        assert "GITHUB_TOKEN" not in {v["name"] for v in r.inputs["environment"].get("environmentVariables", [])}


def test_a_wildcard_comment_token_is_refused_in_one_sentence(tmp_path: Path) -> None:
    from components.errors import MultilaneError

    with pytest.raises(MultilaneError) as err:
        params.load_pipelines("dev", _params_with(tmp_path, reviewCommentTokenSecretArn=TOKEN[:-6] + "*"))
    assert "reviewCommentTokenSecretArn" in str(err.value) and "no wildcards" in str(err.value)

"""The review pipeline ``pr-{service}-{env}`` and the env's reaper schedule: pure structure.

Why a pipeline started by the app repository's workflow, not a CodePipeline
pull-request trigger. CodePipeline V2 triggers do take pull-request filters
(``GitPullRequestFilter``: events OPEN, UPDATED, CLOSED; branches and file
paths; the execution builds the PR's source-branch commit). But an execution
they start exposes only the source action's output variables (AuthorDate,
BranchName, CommitId, CommitMessage, ConnectionArn, FullRepositoryName): no
pull-request number and no event type. A lane cannot be named ``pr-<n>``
from that, and a CLOSED execution cannot be told from an UPDATED one, so the
lane could never be removed on close. The app repository's workflow
(ci/app-review-workflow.yml) has both (``github.event.number``,
``github.event.action``) and starts this pipeline with them as pipeline
variables and the PR's head commit as the AppSource revision; it holds only
``codepipeline:StartPipelineExecution`` on this one pipeline.

Stages (PARALLEL: PRs never supersede each other; two events of one PR meet
at the lane stack's lock):

- Source: InfraSource (this repository) and AppSource (the app repository at
  the commit the workflow names); neither detects changes.
- Remove: entered only when ``PR_EVENT`` is ``closed`` (a VariableCheck entry
  condition; otherwise SKIP): the runner destroys lane ``pr-<n>``, removes
  its stack and edits the PR comment.
- Build: skipped when ``PR_EVENT`` is ``closed``: ci/buildspec.yaml with LANE
  ``pr-<n>``, the image of exactly that commit.
- Deploy: skipped when ``PR_EVENT`` is ``closed``: the runner deploys the
  lane with that image (``python -m automation review``) and edits the comment.
"""

from __future__ import annotations

from typing import Any

from . import naming
from .params import PipelinesParams, ServiceParams

PR_NUMBER, PR_EVENT = "PR_NUMBER", "PR_EVENT"
CLOSED = "closed"
REVIEW_BUILDSPEC = "ci/review-buildspec.yaml"
REAPER_BUILDSPEC = "ci/reaper-buildspec.yaml"
# The reaper's schedule (EventBridge Scheduler, UTC): hourly.
REAPER_SCHEDULE = "cron(17 * * * ? *)"
# The events the app workflow forwards (GitHub pull_request activity types).
WORKFLOW_EVENTS = ("opened", "synchronize", "reopened", "closed")


def review_variables() -> list[dict[str, Any]]:
    """Both required (no default): a run without them fails before any stage."""
    return [
        {"name": PR_NUMBER, "description": "the app pull request's number; its lane is pr-<number>"},
        {"name": PR_EVENT, "description": "opened | synchronize | reopened | closed (GitHub's pull_request action)"},
    ]


def closed_condition(*, run_when_closed: bool) -> dict[str, Any]:
    """A stage's entry condition on PR_EVENT: SKIP the stage unless it applies."""
    return {
        "condition": {
            "result": "SKIP",
            "rules": [
                {
                    "name": "RunOnClose" if run_when_closed else "SkipOnClose",
                    "rule_type_id": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
                    "configuration": {
                        "Variable": f"#{{variables.{PR_EVENT}}}",
                        "Operator": "EQ" if run_when_closed else "NE",
                        "Value": CLOSED,
                    },
                }
            ],
        }
    }


def review_stages(
    service: str, env: str, svc: ServiceParams, pp: PipelinesParams, build_project: str, deploy_project: str
) -> list[dict[str, Any]]:
    from .layers.pipelines import stages as p

    assert svc.app is not None
    lane = f"{naming.REVIEW_LANE_PREFIX}#{{variables.{PR_NUMBER}}}"
    common = {
        "SERVICE_NAME": service,
        "APP_ENV": env,
        PR_NUMBER: p.variable(PR_NUMBER),
        PR_EVENT: p.variable(PR_EVENT),
    }
    return [
        {
            "name": "Source",
            "actions": [
                p.infra_source(pp, detect_changes=False),
                p.source_action(
                    p.APP_SOURCE, p.APP_OUT, svc.app.repository, svc.app.branch, pp.connection_arn, detect_changes=False
                ),
            ],
        },
        {
            "name": "Remove",
            "before_entry": closed_condition(run_when_closed=True),
            "actions": [p.codebuild_action("Remove", "Build", deploy_project, [p.INFRA_OUT], common)],
        },
        {
            "name": "Build",
            "before_entry": closed_condition(run_when_closed=False),
            "actions": [
                p.codebuild_action(
                    "Build",
                    "Build",
                    build_project,
                    [p.INFRA_OUT, p.APP_OUT],
                    {
                        "SERVICE_NAME": service,
                        "APP_ENV": env,
                        "SERVICE": service,
                        "LANE": lane,
                        "APP_BRANCH": f"#{{{p.APP_SOURCE_NAMESPACE}.BranchName}}",
                        "APP_COMMIT": f"#{{{p.APP_SOURCE_NAMESPACE}.CommitId}}",
                    },
                    outputs=[p.BUILD_OUT],
                    namespace=p.BUILD_NAMESPACE,
                )
            ],
        },
        {
            "name": "Deploy",
            "before_entry": closed_condition(run_when_closed=False),
            "actions": [
                p.codebuild_action(
                    "Deploy",
                    "Build",
                    deploy_project,
                    [p.INFRA_OUT],
                    {**common, "IMAGE_URI": f"#{{{p.BUILD_NAMESPACE}.IMAGE_TAG_URI}}"},
                )
            ],
        },
    ]


def review_project_names(service: str, env: str) -> tuple[str, str]:
    """(build, deploy) CodeBuild projects of a service's review pipeline."""
    return (
        naming.app_codebuild_project_name(service, env, "review-build"),
        naming.app_codebuild_project_name(service, env, "review-deploy"),
    )

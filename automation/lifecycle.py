"""Promote a lane to default, roll the default lane back, list a service's lanes.

Promotion (the article's "gray becomes default", by hand there): read the
source lane's image from its stack outputs, ``up`` the default lane with it,
wait until the default ECS service is stable, and only then destroy the
source lane and remove its stack (``keep_source`` keeps it). The new state
exists before the old one is removed; a failure at any step leaves the source
lane running.

Rollback reads a lane's image history back from the stack's own update
history (``pulumi stack history``: every update records the config it ran
with, including ``multilane:imageUri``, and its message), so no extra store
is needed and it works on every backend. It replays that history as a stack
of deployed images where a rollback update pops the image it rolled away
from, and re-deploys the image below the current one: two rollbacks after
A, B, C give B and then A (never B, C, B, ...). Any lane can be rolled back,
``default`` unless another is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from automation.progress import StackOutcome
from automation.runner import Runner, live_lanes, remove_after_destroy
from automation.workspace import Backend
from components import naming, params, stackname
from components.contract import InfraOutputs, LaneOutputs, rule_priority
from components.errors import MultilaneError
from components.stackname import LaneTarget

Waiter = Callable[[str, str], str]  # (cluster ARN, ECS service name) -> what it saw
IMAGE_KEY = "multilane:imageUri"


def service_env(text: str, params_dir: Path = params.PARAMS_DIR) -> tuple[str, str]:
    """``user-api-dev`` -> ("user-api", "dev"), when params/user-api-dev.json exists (stackname parses it)."""
    return stackname.resolve_service_env(text, params_dir)


def lane_target(service: str, env: str, lane: str) -> LaneTarget:
    return LaneTarget.of(service, env, lane)


def ecs_waiter(cluster: str, service: str) -> str:
    """Wait for ECS to report the service stable (boto3's services_stable waiter)."""
    import boto3

    session = boto3.session.Session()
    if session.get_credentials() is None:
        return (
            "stability wait skipped: no AWS credentials (the ECS deployment circuit breaker still guards the rollout)"
        )
    region = cluster.split(":")[3] if cluster.startswith("arn:") else session.region_name
    ecs = session.client("ecs", region_name=region)
    ecs.get_waiter("services_stable").wait(
        cluster=cluster, services=[service], WaiterConfig={"Delay": 10, "MaxAttempts": 90}
    )
    return f"ECS service {service} is stable"


def promote(
    runner: Runner, service: str, env: str, from_lane: str, *, keep_source: bool, waiter: Waiter | None = None
) -> list[StackOutcome]:
    backend = runner.backend
    stackname.check_lane(from_lane, where="lane to promote")
    if from_lane == naming.DEFAULT_LANE:
        raise MultilaneError(f"cannot promote {service}-{env}'s default lane onto itself; name another lane, e.g. gray")
    source = lane_target(service, env, from_lane)
    target = lane_target(service, env, naming.DEFAULT_LANE)
    if not backend.stack_exists(source.stack):
        raise MultilaneError(
            f"lane {from_lane!r} of {service}-{env} has no stack {source.stack}; "
            f"`python -m automation lanes {service}-{env}` lists the lanes"
        )
    finished = _finish_promotion(runner, source)
    if finished is not None:
        return [finished]
    image = LaneOutputs.get(backend.outputs(source.stack), "image_uri")
    if not image:
        raise MultilaneError(
            f"{source.stack} exports no {LaneOutputs.key('image_uri')}, so there is no image to promote; deploy it with `python -m automation up {source.stack}`"
        )
    runner.note(f"promoting {source.stack} ({image}) to {target.stack}")
    outcomes = [runner.run_one("up", target, {IMAGE_KEY: str(image)}, f"promote {from_lane} -> default: image {image}")]
    if outcomes[0].status != "ok":
        runner.note(f"{target.stack} did not update, so {source.stack} stays as it is")
        return outcomes
    try:
        infra = backend.outputs(naming.infra_stack(env))
        seen = (waiter or ecs_waiter)(
            str(InfraOutputs.get(infra, "cluster_arn") or InfraOutputs.get(infra, "cluster_name")),
            naming.ecs_service_name(service, naming.DEFAULT_LANE),
        )
    except Exception as err:  # the waiter's own failure (timeout, AWS error) must not remove the source
        outcomes[0].status = "failed"
        outcomes[0].message = f"default lane did not become stable ({err}); {source.stack} is kept"
        runner.note(outcomes[0].message)
        return outcomes
    runner.note(seen)
    if keep_source:
        runner.note(f"--keep-source: {source.stack} stays")
        return outcomes
    removed = runner.run_one("destroy", source, {}, f"{PROMOTED_MESSAGE}{image}")
    outcomes.append(removed)
    if removed.status == "ok":
        remove_after_destroy(backend, removed, promote_command(service, env, from_lane))
    return outcomes


PROMOTED_MESSAGE = "promoted to default: image "


def promote_command(service: str, env: str, lane: str) -> str:
    return f"python -m automation promote {service}-{env} {lane}"


def _finish_promotion(runner: Runner, source: LaneTarget) -> StackOutcome | None:
    """A promotion whose destroy succeeded but whose ``stack rm`` failed left
    an empty source stack: a re-run only removes it."""
    backend = runner.backend
    if backend.outputs(source.stack):
        return None
    history = backend.history(source.stack)
    last = history[0] if history else None
    if last is None or last.kind != "destroy" or last.result != "succeeded":
        return None
    if not last.message.startswith(PROMOTED_MESSAGE):
        return None
    runner.note(f"{source.stack} was promoted and destroyed already; removing the leftover empty stack")
    outcome = StackOutcome(source.stack, "destroy", "ok")
    remove_after_destroy(backend, outcome, promote_command(source.service, source.env, source.lane))
    runner.progress.finish(outcome)
    return outcome


def _image(entry_config: dict[str, str]) -> str:
    return entry_config.get(IMAGE_KEY, "")


ROLLBACK_MESSAGE = "rollback to "


def rollback_message(image: str) -> str:
    """The update message a rollback records; :func:`rollback_image` recognises it."""
    return f"{ROLLBACK_MESSAGE}{image or 'bootstrapImage'}"


def image_stack(history: list[Any]) -> list[str]:
    """The images a lane has run, oldest first, with rolled-back ones removed.

    ``history`` is newest first. A normal update pushes its image (unless it
    is the one on top); a rollback update pops the image it rolled away from.
    """
    deployed: list[str] = []
    for entry in reversed([h for h in history if h.kind == "update" and h.result == "succeeded"]):
        image = _image(entry.config)
        if entry.message.startswith(ROLLBACK_MESSAGE) and len(deployed) > 1:
            deployed.pop()
            if deployed[-1] != image:  # rolled back somewhere else by hand: trust the record
                deployed.append(image)
        elif not deployed or deployed[-1] != image:
            deployed.append(image)
    return deployed


def rollback_image(history: list[Any], lane: str = naming.DEFAULT_LANE) -> tuple[str, str]:
    """(current image, image to roll back to) from a lane's history, newest first.

    An empty image means the service's bootstrapImage (no multilane:imageUri set).
    """
    deployed = image_stack(history)
    if not deployed:
        raise MultilaneError(f"the {lane} lane has no successful update recorded, so there is nothing to roll back to")
    if len(deployed) < 2:
        raise MultilaneError(
            f"the {lane} lane's history holds no image before the current one ({deployed[-1] or 'bootstrapImage'}) "
            "that was not already rolled back, so there is nothing to roll back to"
        )
    return deployed[-1], deployed[-2]


def rollback(runner: Runner, service: str, env: str, lane: str = naming.DEFAULT_LANE) -> list[StackOutcome]:
    stackname.check_lane(lane, where="lane to roll back")
    target = lane_target(service, env, lane)
    if not runner.backend.stack_exists(target.stack):
        raise MultilaneError(f"{target.stack} does not exist, so there is nothing to roll back")
    current, previous = rollback_image(runner.backend.history(target.stack), lane)
    if not previous and not params.load_service(service, env, runner.params_dir).bootstrap_image:
        raise MultilaneError(
            f"the previous image of {target.stack} was the service's bootstrapImage, which "
            f"params/{service}-{env}.json no longer sets; deploy an image with `python -m automation up`"
        )
    runner.note(f"rolling {target.stack} back from {current or 'bootstrapImage'} to {previous or 'bootstrapImage'}")
    return [runner.run_one("up", target, {IMAGE_KEY: previous}, rollback_message(previous))]


@dataclass(frozen=True)
class LaneRow:
    lane: str
    stack: str
    image: str
    priority: int | None
    route_header: str
    last_update: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "stack": self.stack,
            "image": self.image,
            "priority": self.priority,
            "routeHeader": self.route_header,
            "lastUpdate": self.last_update.isoformat() if self.last_update else None,
        }


def lanes(backend: Backend, service: str, env: str, params_dir: Path = params.PARAMS_DIR) -> list[LaneRow]:
    rows = []
    # Leftover empty stacks (destroyed without --remove) are no lanes.
    for t, summary in live_lanes(backend, service, env, params_dir):
        out = backend.outputs(t.stack)
        rows.append(
            LaneRow(
                t.lane,
                t.stack,
                str(LaneOutputs.get(out, "image_uri") or ""),
                rule_priority(out),
                str(LaneOutputs.get(out, "route_header") or ""),
                summary.last_update,
            )
        )
    return sorted(rows, key=lambda r: (r.lane != naming.DEFAULT_LANE, r.lane))


def render_lanes(service: str, env: str, rows: list[LaneRow]) -> str:
    if not rows:
        return f"{service}-{env} has no lane stacks; create one with `python -m automation up {service}-{env}-default`"
    table = [("lane", "image", "priority", "route header", "last update")]
    for r in rows:
        when = r.last_update.strftime("%Y-%m-%d %H:%M UTC") if r.last_update else "-"
        table.append((r.lane, r.image or "-", str(r.priority or "-"), r.route_header or "(default)", when))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table)

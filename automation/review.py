"""Review lanes and lane lifetimes: ``review``, ``reap`` and the lifetime every lane ``up`` records.

- :func:`review` runs one pull-request event for one service in one env:
  ``open``/``update`` deploy lane ``pr-<n>`` with the commit's image,
  ``close`` destroys it and removes its stack; every event writes the PR's
  one comment (automation/review_comment.py), edited in place.
- :func:`lifetime_for_up` / :func:`record_lifetime`: before a non-default
  lane's ``up`` the runner adds ``multilane:createdAt`` and
  ``multilane:expiresAt`` to its config (the lane program tags every resource
  with them); after a successful ``up`` it writes the stack tags
  ``multilane:createdAt``, ``multilane:lastDeployAt``,
  ``multilane:expiresAt`` and ``multilane:protected``.
- :func:`reap` destroys the lanes of an env that are past their expiry
  (components/lifetime.py decides), never ``default``, never a protected lane.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.progress import StackOutcome
from automation.review_comment import CommentSink, ReviewComment, marker
from components import lifetime, naming, params, review, stackname
from components.contract import BootOutputs
from components.errors import MultilaneError
from components.lifetime import Lifetime, ReapCandidate, ReapDecision
from components.routing import priorities as routing
from components.stackname import LaneTarget, Target

if TYPE_CHECKING:
    from automation.runner import Runner
    from automation.workspace import Backend

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def lane_target(service: str, env: str, lane: str) -> LaneTarget:
    return LaneTarget.of(service, env, lane)


# --- lifetime of every non-default lane ---------------------------------------------------


def stack_file_settings(stack_file: Mapping[str, str], stack: str) -> tuple[int | None, bool]:
    """(ttlHours override, protected) from a lane's stack config file."""
    where = f"stacks/Pulumi.{stack}.yaml: multilane:"
    ttl_text = stack_file.get(lifetime.TTL_HOURS_KEY)
    ttl = lifetime.parse_ttl(ttl_text, f"{where}{lifetime.TTL_HOURS_KEY}") if ttl_text else None
    flag = stack_file.get(lifetime.PROTECTED_KEY)
    protected = lifetime.parse_flag(flag, f"{where}{lifetime.PROTECTED_KEY}") if flag else False
    return ttl, protected


def ttl_hours(target: Target, stack_file: Mapping[str, str], params_dir: Path) -> int:
    override, _ = stack_file_settings(stack_file, target.stack)
    return override or params.load_infra(target.env, params_dir).lanes.ttl_hours


def current_lifetime(backend: Backend, stack: str) -> Lifetime | None:
    if not backend.stack_exists(stack):
        return None
    return Lifetime.from_tags(backend.tags(stack), stack)


def lifetime_for_up(
    backend: Backend, target: Target, stack_file: Mapping[str, str], params_dir: Path, now: datetime
) -> Lifetime | None:
    """The lifetime a non-default lane gets from this ``up`` (None for ``default`` and other layers)."""
    if not isinstance(target, LaneTarget) or target.lane == naming.DEFAULT_LANE:
        return None
    _, protected = stack_file_settings(stack_file, target.stack)
    ttl = ttl_hours(target, stack_file, params_dir)
    return lifetime.on_deploy(now, previous_lifetime(backend, target.stack), ttl, protected=protected)


def previous_lifetime(backend: Backend, stack: str) -> Lifetime | None:
    """The lifetime a deploy starts from. A malformed tag does not stop the
    deploy: it rewrites every lifetime tag (the fix reap names for it),
    keeping the creation time when that one is readable."""
    try:
        return current_lifetime(backend, stack)
    except MultilaneError:
        created = backend.tags(stack).get(lifetime.TAG_CREATED, "")
        try:
            when = lifetime.parse_time(created, lifetime.TAG_CREATED)
        except MultilaneError:
            return None
        return Lifetime(when, when, when)


def record_lifetime(backend: Backend, stack: str, life: Lifetime) -> None:
    backend.set_tags(stack, life.stack_tags())


# --- capacity: the limit and the lanes holding it, oldest first --------------------------------


def lanes_oldest_first(backend: Backend, service: str, env: str, params_dir: Path) -> list[str]:
    """A service's live lanes besides default, oldest first (creation time from the
    stack tags, else the last update; unknown last)."""
    from automation.runner import live_lanes

    far = datetime.max.replace(tzinfo=UTC)
    rows: list[tuple[datetime, str]] = []
    for t, summary in live_lanes(backend, service, env, params_dir):
        if t.lane in (None, naming.DEFAULT_LANE):
            continue
        life = Lifetime.from_tags(backend.tags(t.stack), t.stack)
        when = life.created_at if life else (summary.last_update or far)
        rows.append((when if when.tzinfo else when.replace(tzinfo=UTC), t.lane or ""))
    return [lane for _, lane in sorted(rows)]


def check_capacity(backend: Backend, target: LaneTarget, params_dir: Path) -> None:
    """Refuse a new lane that would pass the ALB's rule or target-group limit,
    naming the limit and the lanes that hold it, oldest first."""
    from automation.runner import live_lanes

    names = [t.lane for t, _ in live_lanes(backend, target.service, target.env, params_dir)]
    svc = params.load_service(target.service, target.env, params_dir)
    try:
        # A lane being promoted holds one more rule (its weighted rule), and so
        # does every lane routed by a cookie too (#15).
        from automation.promotion import lanes_with, weighted_lanes

        extra = 1 if weighted_lanes(backend, target.service, target.env, params_dir) else 0
        extra += len(lanes_with(backend, target.service, target.env, "multilane:cookie", params_dir))
        routing.check_capacity(names, list(svc.lane_carriers), lane=target.lane, extra_rules=extra)
    except MultilaneError as err:
        # Only a refusal reads every lane's stack tags (one CLI call each).
        held = lanes_oldest_first(backend, target.service, target.env, params_dir)
        raise MultilaneError(f"{err}; the lanes holding it, oldest first: {', '.join(held)}") from None


# --- review: one pull-request event ----------------------------------------------------------


@dataclass
class ReviewResult:
    lane: str
    action: str
    outcomes: list[StackOutcome] = field(default_factory=list)
    comment: str = ""  # created | edited
    body: str = ""


def review_message(pr: int, action: str, image: str = "") -> str:
    return f"review: pull request #{pr} {action}" + (f", image {image}" if image else "")


def review_command(service: str, env: str, pr: int, event: str) -> str:
    return f"python -m automation review {service}-{env} --pr {pr} --event {event}"


def review_lane_check(pr: int | str, event: str, image: str | None) -> None:
    """Bad --pr, --event or --image fail before anything else runs."""
    review.lane_for(pr)
    if review.action(event) == "close":
        return
    if not image:
        raise MultilaneError(
            f"--image is required for a pull request {event!r} event: the image the build pushed for this commit"
        )
    try:
        params.check_image(image)
    except ValueError as err:
        raise MultilaneError(f"--image {err}") from None


def run_review(
    runner: Runner,
    service: str,
    env: str,
    pr: int | str,
    event: str,
    *,
    sink: CommentSink,
    image: str | None = None,
    clock: Clock = utc_now,
) -> ReviewResult:
    from automation.runner import remove_after_destroy

    lane = review.lane_for(pr)
    number = review.pr_number(pr)
    act = review.action(event)
    target = lane_target(service, env, lane)
    stackname.resolve(target.stack, runner.params_dir)  # refuses look-alike service names, as a stack name would
    svc = params.load_service(service, env, runner.params_dir)
    backend = runner.backend
    result = ReviewResult(lane, act)
    comment = ReviewComment(service, env, number, lane, "ready", carriers=tuple(svc.lane_carriers))

    if act == "close":
        if backend.stack_exists(target.stack):
            out = runner.run_one("destroy", target, {}, review_message(number, "closed"))
            if out.status == "ok":
                remove_after_destroy(backend, out, review_command(service, env, number, "closed"))
            result.outcomes.append(out)
        else:
            out = StackOutcome(target.stack, "destroy", "ok", notes=["no lane was deployed for this pull request"])
            runner.progress.finish(out)
            result.outcomes.append(out)
        state = "removed" if out.status == "ok" else "failed"
        comment = _with(comment, state=state, detail="" if state == "removed" else out.message)
    else:
        review_lane_check(pr, event, image)
        assert image is not None
        try:
            if not backend.stack_exists(target.stack):
                check_capacity(backend, target, runner.params_dir)
        except MultilaneError as err:
            comment = _with(comment, state="refused", image=image, detail=str(err))
            result.comment = sink.upsert(number, marker(service, env), comment.render())
            raise
        out = runner.run_one("up", target, {"multilane:imageUri": image}, review_message(number, act, image))
        result.outcomes.append(out)
        life = current_lifetime(backend, target.stack) if out.status == "ok" else None
        infra = (
            backend.outputs(naming.boot_stack(service, env))
            if backend.stack_exists(naming.boot_stack(service, env))
            else {}
        )
        comment = _with(
            comment,
            state="ready" if out.status == "ok" else "failed",
            image=image,
            alb_dns=str(BootOutputs.get(infra, "load_balancer_dns_name") or ""),
            expires_at=life.expires_at if life else None,
            ttl_hours=int((life.expires_at - life.last_deploy_at).total_seconds() // 3600) if life else None,
            deployed_at=life.last_deploy_at if life else None,
            detail="" if out.status == "ok" else out.message,
        )
    result.body = comment.render()
    result.comment = sink.upsert(number, marker(service, env), result.body)
    return result


def _with(comment: ReviewComment, **changes: Any) -> ReviewComment:
    return replace(comment, **changes)


# --- reap -------------------------------------------------------------------------------------------


def reap_candidates(
    backend: Backend,
    env: str,
    params_dir: Path,
    service: str | None = None,
    stacks_dir: Path | None = None,
) -> list[ReapCandidate]:
    """Every live lane stack of ``env`` (all services, or only ``service``'s)
    with its recorded lifetime. With ``service`` no other service's stack is
    read: the reaper's per-service role may not read another service's state.
    A lane whose stack file (in ``stacks_dir``) says ``multilane:protected:
    "true"`` counts as protected even when its last deploy did not record it."""
    from automation.runner import is_empty

    out = []
    for summary in backend.list_stacks():
        try:
            t = stackname.resolve(summary.name, params_dir)
        except MultilaneError:
            continue
        if t.layer != "lane" or t.env != env or t.lane is None:
            continue
        if (service is not None and t.service != service) or is_empty(backend, summary):
            continue
        out.append(ReapCandidate(t.stack, t.lane, recorded_lifetime(backend, t.stack, stacks_dir)))
    return out


def recorded_lifetime(backend: Backend, stack: str, stacks_dir: Path | None = None) -> Lifetime | None:
    """The lifetime a lane's stack tags record; a lane whose stack file (in
    ``stacks_dir``) says ``multilane:protected: "true"`` is protected even
    when its last deploy did not record it."""
    from automation.runner import read_stack_file

    life = Lifetime.from_tags(backend.tags(stack), stack)
    if life is not None and stacks_dir is not None and not life.protected:
        _, protected = stack_file_settings(read_stack_file(stack, stacks_dir), stack)
        life = replace(life, protected=protected)
    return life


def plan_reap(
    backend: Backend,
    env: str,
    params_dir: Path,
    now: datetime,
    service: str | None = None,
    stacks_dir: Path | None = None,
) -> list[ReapDecision]:
    return lifetime.plan_reap(reap_candidates(backend, env, params_dir, service, stacks_dir), now)


def reap(
    runner: Runner, env: str, *, dry_run: bool, clock: Clock = utc_now, service: str | None = None
) -> tuple[list[ReapDecision], list[StackOutcome]]:
    """Destroy and remove every expired lane of ``env`` (``dry_run``: only decide)."""
    from automation.runner import remove_after_destroy

    if env not in params.envs(runner.params_dir):
        raise MultilaneError(
            f"env {env!r} has no params/infra-{env}.json; known envs: {', '.join(params.envs(runner.params_dir))}"
        )
    if service is not None and service not in params.services(env, runner.params_dir):
        raise MultilaneError(
            f"--service {service!r} has no params/{service}-{env}.json; services of {env}: "
            f"{', '.join(params.services(env, runner.params_dir))}"
        )
    now = clock()
    decisions = plan_reap(runner.backend, env, runner.params_dir, now, service, runner.stacks_dir)
    outcomes: list[StackOutcome] = []
    if dry_run:
        return decisions, outcomes
    for d in decisions:
        if not d.destroy:
            continue
        t = stackname.resolve(d.stack, runner.params_dir)
        out = runner.run_one("destroy", t, {}, f"reaped: {d.reason}")
        if out.status == "ok":
            remove_after_destroy(runner.backend, out, f"python -m automation reap {env}")
        outcomes.append(out)
    return decisions, outcomes


# --- lanes: age, last deploy, expiry -------------------------------------------------------------


def lifetime_columns(life: Lifetime | None, now: datetime) -> dict[str, str]:
    if life is None:
        return {"age": "-", "lastDeploy": "-", "expires": "never (no TTL)"}
    expires = "protected" if life.protected else lifetime.iso(life.expires_at)
    if not life.protected and life.expires_at <= now:
        expires += " (expired)"
    return {
        "age": lifetime.age(now, life.created_at),
        "lastDeploy": lifetime.iso(life.last_deploy_at),
        "expires": expires,
    }

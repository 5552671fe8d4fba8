"""Run up / preview / destroy over several stacks: order, parallelism, retries, pre-checks.

- Order: infra, then boot and pipelines, then lanes (destroy: the reverse).
  Stacks of one phase run in parallel, bounded by ``parallel`` (default 4);
  when a phase has a failure the later phases do not run.
- Pre-checks, right before a boot or lane stack runs: the stacks it reads
  exist and export the keys it reads; otherwise it stops with the command that
  would create them.
- A lane with no image is refused before anything runs.
- ``ConcurrentUpdateError`` is retried with exponential backoff, bounded.
- Before a lane's ``up`` the listener's live rules are checked for a priority
  collision (automation/priority.py); a PriorityInUse failure re-allocates
  and retries once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automation import priority
from automation.events import ChangeCollector, describe
from automation.inputs import Request
from automation.progress import Progress, StackOutcome
from automation.workspace import (
    Backend,
    ConcurrentUpdateError,
    OperationFailedError,
    OpResult,
    StackMissingError,
    StackSummary,
)
from components import naming, params
from components.contract import LAYERS, BootOutputs, LaneOutputs, lower_stack, references, rule_priority
from components.errors import MultilaneError
from components.stackconfig import STACKS_DIR, parse_priority, stack_file_config
from components.stackname import LaneTarget, Target

DEFAULT_PARALLEL = 4
MAX_PARALLEL = 32

ROOT_DIR = Path(__file__).resolve().parent.parent
# Deploy order and what each layer reads come from the layer contract.
PHASE = {name: spec.phase for name, spec in LAYERS.items()}
# (reader, lower) -> the output keys the reader's program requires.
READS: dict[tuple[str, str], tuple[str, ...]] = {
    (name, r.LAYER): r.output_keys() for name, spec in LAYERS.items() for r in spec.reads
}


class BlockedError(Exception):
    """A pre-check failed: the message says what is missing and how to create it."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 2.0
    cap_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2.0 ** (attempt - 1))


def _allocate(*args: Any, **kwargs: Any) -> list[int]:
    from components import routing

    return routing.priorities.allocate_priorities(*args, **kwargs)


def read_stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """``stacks/Pulumi.<stack>.yaml`` config with short keys (``imageUri``), or {}."""
    raw = stack_file_config(stack, stacks_dir)
    return {k.split(":", 1)[1]: str(v) for k, v in raw.items() if k.startswith("multilane:") and v not in (None, "")}


def up_command(stack: str) -> str:
    return f"python -m automation up {stack}"


@dataclass
class Runner:
    backend: Backend
    progress: Progress = field(default_factory=Progress)
    parallel: int = DEFAULT_PARALLEL
    params_dir: Path = params.PARAMS_DIR
    stacks_dir: Path = STACKS_DIR
    rules_source: priority.RulesSource | None = None
    allocate: priority.Allocate = _allocate
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    blocked_status: str = "failed"  # pr-preview reports a missing lower stack as "skipped"
    notes: list[str] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default_factory=lambda: _utc_now)  # lane lifetimes (automation/review.py)

    def __post_init__(self) -> None:
        if not 1 <= self.parallel <= MAX_PARALLEL:
            raise MultilaneError(f"--parallel {self.parallel} is out of range; use 1..{MAX_PARALLEL}")
        if self.rules_source is None:
            self.rules_source = priority.boto3_rules_source

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.progress.note(text)

    # --- validation (before anything runs) ------------------------------------------

    def lane_image(self, target: LaneTarget, request: Request) -> tuple[str | None, str]:
        """(image to set as config or None, where it comes from); raises when there is none.

        The precedence is the lane program's (container.pick_image); the
        program reads the stack file and bootstrapImage itself, so those set
        no config.
        """
        from components.layers.lane.container import pick_image, stack_file_name

        stack_file = stack_file_name(target.stack)

        def configured() -> Iterator[tuple[str | None, str]]:
            if request.image_stack == target.stack:
                yield request.image, "the parameter file"
            yield read_stack_file(target.stack, self.stacks_dir).get("imageUri"), stack_file
            if self.backend.stack_exists(target.stack):
                current = LaneOutputs.get(self.backend.outputs(target.stack), "image_uri")
                yield (str(current) if current else None), "the image it runs now"

        image, where = pick_image(
            target,
            configured(),
            lambda: params.load_service(target.service, target.env, self.params_dir).bootstrap_image,
            fixes="pass --params-file with Parameters.ImageUri (or --var IMAGE_URI=...), "
            f"set multilane:imageUri in {stack_file}, or set",
        )
        return (None, where) if where == stack_file or where.startswith("bootstrapImage") else (image, where)

    def prepare(self, op: str, request: Request) -> dict[str, dict[str, str]]:
        """Per-stack config to set; raises MultilaneError before anything changes."""
        configs: dict[str, dict[str, str]] = {t.stack: {} for t in request.targets}
        if op == "destroy":
            for t in request.targets:
                if not self.backend.stack_exists(t.stack):
                    raise MultilaneError(
                        f"stack {t.stack} does not exist in the backend, so there is nothing to destroy"
                    )
            self._check_no_dependents(request.targets)
            return configs
        for t in request.targets:
            if isinstance(t, LaneTarget):
                if op == "up":
                    self._check_capacity(t)
                image, source = self.lane_image(t, request)
                if image:
                    configs[t.stack]["multilane:imageUri"] = image
                self.progress.step(t.stack, op, f"image from {source}")
        return configs

    def _check_capacity(self, target: LaneTarget) -> None:
        """One more lane must fit the ALB; the refusal names the lanes holding it, oldest first."""
        from automation import review

        review.check_capacity(self.backend, target, self.params_dir)

    def _check_no_dependents(self, targets: list[Target]) -> None:
        """Refuse to destroy a lower stack that stacks outside this run still read."""
        leaving = {t.stack for t in targets}
        existing = [s.name for s in self.backend.list_stacks()]
        for t in targets:
            readers = [s for s in existing if s not in leaving and s in self._readers(t, existing)]
            if readers:
                raise MultilaneError(
                    f"stack {t.stack} is still read by {', '.join(sorted(readers))}; destroy those first "
                    f"(or name them in the same command)"
                )

    def _readers(self, target: Target, existing: list[str]) -> set[str]:
        from components.stackname import resolve

        out: set[str] = set()
        for name in existing:
            try:
                other = resolve(name, self.params_dir)
            except MultilaneError:
                continue
            if target.stack in references(other):
                out.add(name)
        return out

    # --- pre-checks --------------------------------------------------------------------

    def _require(self, reader: str, stack: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not self.backend.stack_exists(stack):
            raise BlockedError(f"{reader} reads {stack}, which does not exist; create it with `{up_command(stack)}`")
        outputs = self.backend.outputs(stack)
        missing = [k for k in keys if k not in outputs]
        if missing:
            raise BlockedError(
                f"{reader} reads {', '.join(missing)} from {stack}, which does not export "
                f"{'it' if len(missing) == 1 else 'them'}; update it with `{up_command(stack)}`"
            )
        return outputs

    def precheck(self, target: Target) -> dict[str, dict[str, Any]]:
        """Outputs of the stacks ``target`` reads, or BlockedError."""
        return {stack: self._require(target.stack, stack, r.output_keys()) for stack, r in references(target).items()}

    # --- priority ------------------------------------------------------------------------

    def check_priority(
        self, target: LaneTarget, config: dict[str, str], boot_outputs: Mapping[str, Any], *, retrying: bool = False
    ) -> None:
        """Pin multilane:priority when the program's slot is taken on the live listener.

        ``retrying``: the last ``up`` failed with PriorityInUse, so the slot it
        used is treated as taken even if the rule list does not show it yet.
        """
        assert self.rules_source is not None  # __post_init__ sets it
        service = params.load_service(target.service, target.env, self.params_dir)
        carriers = list(service.lane_carriers)
        if config.get("multilane:priority"):
            pinned = parse_priority(config["multilane:priority"], f"{target.stack}: multilane:")
        else:
            pinned = parse_priority(
                read_stack_file(target.stack, self.stacks_dir).get("priority"),
                f"stacks/Pulumi.{target.stack}.yaml: multilane:",
            )
        # Stack config files do not survive a CodeBuild run: without a pin, the
        # lane's last deployed priority (its RulePriority output) is the one to keep.
        kept = self.last_priority(target) if pinned is None else None
        rules = self.rules_source(str(BootOutputs.get(boot_outputs, "http_listener_arn") or ""))
        if kept is not None and rules and priority.taken_map(rules).get(kept) not in (None, target.lane):
            kept = None  # a stale output: another rule holds that slot now; allocate as for a new lane
        if kept is not None and not retrying:
            pinned = kept
            config["multilane:priority"] = str(kept)
            self.progress.step(target.stack, "up", f"keeping priority {kept} from the stack's RulePriority output")
        avoid: dict[int, str] | None = None
        if retrying:
            collided = pinned or kept or self.allocate(target.service, target.lane, carriers, taken={}, pinned=None)[0]
            avoid = {collided: "a rule created while this lane deployed"}
            pinned = None
            rules = rules or []
        elif rules is None:
            self.progress.step(
                target.stack, "up", "priority check skipped: no AWS credentials to read the listener's rules"
            )
            return
        result = priority.plan(self.allocate, target.service, target.lane, carriers, rules, pinned, avoid=avoid)
        if result.pin is not None:
            config["multilane:priority"] = str(result.pin)
        elif retrying:
            config["multilane:priority"] = str(result.live[0])
        self.progress.step(target.stack, "up", result.reason)

    def last_priority(self, target: LaneTarget) -> int | None:
        """The lane stack's RulePriority output when it exists and is a rule priority."""
        if not self.backend.stack_exists(target.stack):
            return None
        return rule_priority(self.backend.outputs(target.stack))

    # --- one stack -------------------------------------------------------------------------

    def _with_retry(self, target: Target, op: str, call: Callable[[], Any]) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return call()
            except ConcurrentUpdateError:
                if attempt == self.retry.attempts:
                    raise OperationFailedError(
                        f"{target.stack} is locked by another update after {self.retry.attempts} attempts; "
                        f"wait for it to finish, or if it crashed run `pulumi cancel --stack {target.stack}`"
                    ) from None
                wait = self.retry.delay(attempt)
                self.progress.step(
                    target.stack,
                    op,
                    f"another update holds the lock; retry {attempt + 1}/{self.retry.attempts} in {wait:.0f}s",
                )
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _operate(
        self, op: str, target: Target, config: dict[str, str], message: str, collector: ChangeCollector
    ) -> OpResult:
        def on_event(event: Any) -> None:
            collector(event)
            line = describe(event)
            if line:
                self.progress.step(target.stack, op, line)

        if op == "up":
            return self.backend.up(target.stack, config, on_event, message)
        if op == "preview":
            return self.backend.preview(target.stack, config, on_event, message)
        if op == "destroy":
            return self.backend.destroy(target.stack, on_event, message)
        raise ValueError(op)

    def _record_first_lifetime(self, target: Target, life: Any) -> None:
        """A failed ``up`` of a lane with no recorded lifetime: record one, so
        what the failed deploy created expires and the reaper removes it. A
        lane that has one keeps it (a failed push does not extend it)."""
        from automation import review

        try:
            if self.backend.stack_exists(target.stack) and review.previous_lifetime(self.backend, target.stack) is None:
                review.record_lifetime(self.backend, target.stack, life)
        except (MultilaneError, OperationFailedError, StackMissingError):
            pass  # the outcome already says the deploy failed

    def run_one(self, op: str, target: Target, config: dict[str, str], message: str = "") -> StackOutcome:
        config = dict(config)
        self.progress.start(target.stack, op)
        outcome = StackOutcome(target.stack, op, "ok")
        collector = ChangeCollector()
        created_for_preview = False
        life = None
        try:
            read: dict[str, dict[str, Any]] = {}
            if op in ("up", "preview"):
                self.progress.step(target.stack, op, "pre-check")
                read = self.precheck(target)
            rule_lane = target if isinstance(target, LaneTarget) and target.lane != naming.DEFAULT_LANE else None
            if op == "up" and rule_lane is not None:
                self.check_priority(rule_lane, config, read[lower_stack(rule_lane, "boot")])
            if op == "up":
                from automation import review

                life = review.lifetime_for_up(
                    self.backend, target, read_stack_file(target.stack, self.stacks_dir), self.params_dir, self.clock()
                )
                config.update(life.config() if life else {})
            if op == "preview" and not self.backend.stack_exists(target.stack):
                created_for_preview = True
                outcome.notes.append("new stack: previewed as a fresh stack, then removed again")
            self.progress.step(target.stack, op, f"{op} running")
            try:
                result = self._with_retry(target, op, lambda: self._operate(op, target, config, message, collector))
            except OperationFailedError as err:
                if not (
                    op == "up"
                    and rule_lane is not None
                    and "PriorityInUse" in (str(err) + " ".join(collector.result().errors))
                ):
                    raise
                self.progress.step(target.stack, op, "PriorityInUse: re-allocating the priority and retrying once")
                self.check_priority(rule_lane, config, read[lower_stack(rule_lane, "boot")], retrying=True)
                collector = ChangeCollector()
                result = self._with_retry(target, op, lambda: self._operate(op, target, config, message, collector))
                outcome.notes.append(
                    f"PriorityInUse on the first attempt; re-allocated to {config.get('multilane:priority')}"
                )
            outcome.outputs = dict(result.outputs)
            if life is not None:
                review.record_lifetime(self.backend, target.stack, life)
            if config.get("multilane:priority") and op == "up":
                outcome.notes.append(f"multilane:priority pinned to {config['multilane:priority']}")
        except BlockedError as err:
            outcome.status = self.blocked_status
            outcome.message = str(err)
        except (OperationFailedError, StackMissingError) as err:
            outcome.status = "failed"
            errors = collector.result().errors
            outcome.message = errors[0] if errors else _first_line(str(err))
        except MultilaneError as err:
            outcome.status = "failed"
            outcome.message = str(err)
        except Exception as err:  # e.g. an AWS API error while reading the listener: fail this stack, not the run
            outcome.status = "failed"
            outcome.message = f"{type(err).__name__}: {_first_line(str(err))}"
        finally:
            if life is not None and outcome.status == "failed":
                self._record_first_lifetime(target, life)
            if created_for_preview:
                try:
                    self.backend.remove_stack(target.stack)
                except StackMissingError:
                    pass  # nothing left over
                except OperationFailedError as err:
                    # A leftover empty stack would show up as a lane: say so and fail.
                    outcome.status = "failed"
                    outcome.message = (
                        f"the preview ran, but the stack {target.stack} it created could not be removed "
                        f"({_first_line(str(err))}); remove it with `pulumi stack rm {target.stack} --yes`"
                        + (f"; the preview itself: {outcome.message}" if outcome.message else "")
                    )
        outcome.changes = collector.result()
        outcome.elapsed = self.progress.elapsed(target.stack)
        self.progress.finish(outcome)
        return outcome

    # --- many stacks ------------------------------------------------------------------------

    def run(
        self,
        op: str,
        targets: list[Target],
        configs: Mapping[str, dict[str, str]] | None = None,
        message: str = "",
        *,
        independent: bool = False,
    ) -> list[StackOutcome]:
        """Run ``op`` on every target, phase by phase; ``independent`` runs them
        all in one batch (previews for a PR comment: nothing depends on them)."""
        configs = configs or {}

        def phase_of(t: Target) -> int:
            return 0 if independent else PHASE[t.layer]

        phases = sorted({phase_of(t) for t in targets}, reverse=(op == "destroy"))
        outcomes: dict[str, StackOutcome] = {}
        failed_before: list[str] = []
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="stack") as pool:
            for phase in phases:
                batch = [t for t in targets if phase_of(t) == phase]
                if failed_before:
                    for t in batch:
                        outcomes[t.stack] = StackOutcome(
                            t.stack, op, "skipped", message=f"not run because {', '.join(failed_before)} failed"
                        )
                        self.progress.finish(outcomes[t.stack])
                    continue
                futures = {t.stack: pool.submit(self.run_one, op, t, configs.get(t.stack, {}), message) for t in batch}
                for stack, future in futures.items():
                    outcomes[stack] = future.result()
                failed_before += [s for s, o in outcomes.items() if o.status == "failed" and s in futures]
        return [outcomes[t.stack] for t in targets]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def is_empty(backend: Backend, summary: StackSummary) -> bool:
    """A stack with no resources: destroyed without ``--remove``, or created
    for a preview and never removed. It is no lane."""
    if summary.resource_count is not None:
        return summary.resource_count == 0
    try:
        return not backend.outputs(summary.name)
    except StackMissingError:
        return True


def live_lanes(
    backend: Backend, service: str, env: str, params_dir: Path = params.PARAMS_DIR
) -> list[tuple[LaneTarget, StackSummary]]:
    """The lane stacks of exactly ``service`` in ``env`` that hold resources.

    Names are resolved with components/stackname.py (the longest
    ``{service}-{env}`` with a params file wins), never by prefix: with
    services ``user`` and ``user-dev-tools``, ``user-dev-tools-dev-gray`` is
    ``user-dev-tools``'s lane, not ``user``'s lane ``tools-dev-gray``.
    """
    from components.stackname import resolve

    out = []
    for summary in backend.list_stacks():
        try:
            t = resolve(summary.name, params_dir)
        except MultilaneError:
            continue  # a stack of another project or an old params layout
        if not isinstance(t, LaneTarget) or t.service != service or t.env != env:
            continue
        if is_empty(backend, summary):
            continue
        out.append((t, summary))
    return out


def remove_after_destroy(backend: Backend, outcome: StackOutcome, rerun: str) -> None:
    """``stack rm`` after a successful destroy; a failure fails ``outcome`` with
    a sentence and leaves an empty stack that ``rerun`` finishes."""
    try:
        backend.remove_stack(outcome.stack)
    except StackMissingError:
        outcome.notes.append("stack already removed")
        return
    except (OperationFailedError, ConcurrentUpdateError) as err:
        outcome.status = "failed"
        outcome.message = (
            f"the resources of {outcome.stack} are destroyed, but removing the stack failed "
            f"({_first_line(str(err)) if str(err).strip() else type(err).__name__}); "
            f"run `{rerun}` again to finish (the empty stack is not counted as a lane)"
        )
        return
    outcome.notes.append("stack removed")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error:"):
            return line
    return lines[-1] if lines else "failed"

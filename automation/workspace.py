"""The one seam over ``pulumi.automation``: a small Backend protocol and its adapter.

Everything the runner needs from Pulumi goes through :class:`Backend`, so the
ordering, parallelism, retries, pre-checks, promotion and rollback logic can be
tested against a fake (harness/fake.py) that replays recorded engine
events. :class:`PulumiBackend` is the only code that talks to the CLI; it
translates Pulumi's exceptions into the three below and nothing else.

State backend: ``PULUMI_BACKEND_URL`` when set (an S3 bucket in CI), else a
local file backend under the repo (``.pulumi-state/``, git-ignored), and the
runner says which one it uses. ``MULTILANE_SECRETS_PROVIDER`` (set by the
pipelines' CodeBuild projects, e.g. ``awskms://...``) is the secrets provider
of stacks the runner creates; without it the passphrase provider is used.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pulumi.automation.events import EngineEvent

from components.errors import MultilaneError

if TYPE_CHECKING:  # imported lazily at run time: plan and the tests never need them
    from pulumi.automation import LocalWorkspace, Stack

_T = TypeVar("_T")

ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = ROOT / ".pulumi-state"
PULUMI_VERSION = "3.272.0"

OnEvent = Callable[[EngineEvent], None]


# --- what the runner sees ---------------------------------------------------------


class ConcurrentUpdateError(Exception):
    """Another update holds the stack's lock (Pulumi's ConcurrentUpdateError)."""


class StackMissingError(Exception):
    """The stack does not exist in the backend."""


class OperationFailedError(Exception):
    """The engine ran and failed; ``str(err)`` is the CLI's error text."""


@dataclass(frozen=True)
class StackSummary:
    name: str
    last_update: datetime | None = None
    resource_count: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One past operation on a stack, newest first in ``Backend.history``."""

    version: int
    kind: str  # update | destroy | preview | refresh ...
    result: str  # succeeded | failed | in-progress
    config: dict[str, str] = field(default_factory=dict)
    message: str = ""
    end_time: datetime | None = None


@dataclass
class OpResult:
    """What an operation returns; change counts come from the engine events."""

    outputs: dict[str, Any] = field(default_factory=dict)
    change_summary: dict[str, int] = field(default_factory=dict)


def _counts(changes: Mapping[Any, int] | None) -> dict[str, int]:
    """Operation -> count, keyed by the operation's name (the SDK keys by its OpType enum)."""
    return {str(getattr(op, "value", op)): n for op, n in (changes or {}).items()}


class Backend(Protocol):
    """The runner's whole view of Pulumi. Every method is safe to call from
    several threads at once for different stacks."""

    def describe(self) -> str: ...

    def list_stacks(self) -> list[StackSummary]: ...

    def stack_exists(self, stack: str) -> bool: ...

    def outputs(self, stack: str) -> dict[str, Any]:
        """Current outputs; raises StackMissingError."""
        ...

    def history(self, stack: str) -> list[HistoryEntry]:
        """Past operations, newest first; raises StackMissingError."""
        ...

    def up(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult:
        """Create the stack if needed, set ``config`` (full keys), run up."""
        ...

    def preview(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult: ...

    def destroy(self, stack: str, on_event: OnEvent, message: str = "") -> OpResult:
        """Destroy the resources; raises StackMissingError."""
        ...

    def remove_stack(self, stack: str) -> None: ...

    def tags(self, stack: str) -> dict[str, str]:
        """The stack's tags (``pulumi stack tag ls``); raises StackMissingError."""
        ...

    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None:
        """Set stack tags (``pulumi stack tag set``), keeping the others."""
        ...


# --- backend selection ------------------------------------------------------------


@dataclass(frozen=True)
class BackendChoice:
    url: str
    local: bool
    # Secrets provider for new stacks (e.g. awskms://alias/x?region=...); the
    # pipelines' CodeBuild projects set MULTILANE_SECRETS_PROVIDER.
    secrets_provider: str | None = None

    @property
    def note(self) -> str:
        if self.local:
            return (
                f"PULUMI_BACKEND_URL is not set: using the local file backend {self.url} "
                "(state stays on this machine; CI sets an S3 bucket)"
            )
        return f"state backend: {self.url}"


def choose_backend(env: Mapping[str, str] | None = None) -> BackendChoice:
    env = os.environ if env is None else env
    url = env.get("PULUMI_BACKEND_URL", "").strip()
    secrets = env.get("MULTILANE_SECRETS_PROVIDER", "").strip() or None
    if url:
        return BackendChoice(url, local=False, secrets_provider=secrets)
    return BackendChoice(f"file://{LOCAL_STATE_DIR}", local=True, secrets_provider=secrets)


# --- the real adapter ---------------------------------------------------------------


def _config_text(value: Any) -> str:
    return value.value if hasattr(value, "value") else str(value)


class PulumiBackend:
    """Backend over ``pulumi.automation.LocalWorkspace`` on this repo's program.

    One LocalWorkspace per call: workspaces hold per-stack state, and the
    runner calls from several threads.
    """

    def __init__(self, choice: BackendChoice | None = None, work_dir: Path = ROOT) -> None:
        self.choice = choice or choose_backend()
        self.work_dir = work_dir
        self._lock = threading.Lock()
        if shutil.which("pulumi") is None:
            raise MultilaneError(
                "the Pulumi CLI is not on PATH; run `make engine` and put .engine/bin on PATH, "
                f"or install Pulumi {PULUMI_VERSION} or newer (`python -m automation plan` works without it)"
            )

    def describe(self) -> str:
        return self.choice.note

    def _env(self) -> dict[str, str]:
        env = {"PULUMI_BACKEND_URL": self.choice.url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        if self.choice.local:
            Path(self.choice.url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
            # The local backend encrypts config secrets with a passphrase; the
            # program has no secrets, so an empty one unless the user sets it.
            if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
                env["PULUMI_CONFIG_PASSPHRASE"] = ""
        return env

    def _workspace(self) -> LocalWorkspace:
        from pulumi.automation import LocalWorkspace

        return LocalWorkspace(
            work_dir=str(self.work_dir), env_vars=self._env(), secrets_provider=self.choice.secrets_provider
        )

    def _select(self, stack: str) -> Stack:
        from pulumi.automation import Stack

        return self._run(lambda: Stack.select(stack, self._workspace()))

    def _create_or_select(self, stack: str) -> Stack:
        from pulumi.automation import Stack

        return self._run(lambda: Stack.create_or_select(stack, self._workspace()))

    @staticmethod
    def _run(fn: Callable[[], _T]) -> _T:
        from pulumi.automation import errors as pulumi_errors

        try:
            return fn()
        except pulumi_errors.ConcurrentUpdateError as err:
            raise ConcurrentUpdateError(str(err)) from None
        except pulumi_errors.StackNotFoundError as err:
            raise StackMissingError(str(err)) from None
        except pulumi_errors.CommandError as err:
            raise OperationFailedError(str(err)) from None
        except ValueError as err:  # e.g. `pulumi stack ls --json` printed something that is not JSON
            raise OperationFailedError(f"error: the Pulumi CLI printed output that is not JSON ({err})") from None

    def list_stacks(self) -> list[StackSummary]:
        stacks = self._run(lambda: self._workspace().list_stacks())
        return [
            StackSummary(s.name.rsplit("/", 1)[-1], s.last_update, s.resource_count)
            for s in sorted(stacks, key=lambda s: s.name)
        ]

    def stack_exists(self, stack: str) -> bool:
        return any(s.name == stack for s in self.list_stacks())

    def outputs(self, stack: str) -> dict[str, Any]:
        st = self._select(stack)
        return {k: v.value for k, v in self._run(st.outputs).items()}

    def history(self, stack: str) -> list[HistoryEntry]:
        st = self._select(stack)
        entries = self._run(st.history)
        return [
            HistoryEntry(
                version=e.version or 0,
                kind=e.kind,
                result=e.result,
                config={k: _config_text(v) for k, v in (e.config or {}).items()},
                message=e.message or "",
                end_time=e.end_time,
            )
            for e in entries
        ]

    def _configure(self, st: Any, config: Mapping[str, str]) -> None:
        from pulumi.automation import ConfigValue

        if config:
            st.set_all_config({k: ConfigValue(value=v) for k, v in config.items()})

    def up(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult:
        def go() -> OpResult:
            st = self._create_or_select(stack)
            self._configure(st, config)
            res = st.up(on_event=on_event, message=message or None, color="never")
            return OpResult(
                outputs={k: v.value for k, v in res.outputs.items()},
                change_summary=_counts(res.summary.resource_changes),
            )

        return self._run(go)

    def preview(self, stack: str, config: Mapping[str, str], on_event: OnEvent, message: str = "") -> OpResult:
        def go() -> OpResult:
            st = self._create_or_select(stack)
            self._configure(st, config)
            res = st.preview(on_event=on_event, message=message or None, color="never")
            return OpResult(change_summary=_counts(res.change_summary))

        return self._run(go)

    def destroy(self, stack: str, on_event: OnEvent, message: str = "") -> OpResult:
        def go() -> OpResult:
            st = self._select(stack)
            res = st.destroy(on_event=on_event, message=message or None, color="never")
            return OpResult(change_summary=_counts(res.summary.resource_changes))

        return self._run(go)

    def remove_stack(self, stack: str) -> None:
        self._run(lambda: self._workspace().remove_stack(stack))

    def tags(self, stack: str) -> dict[str, str]:
        self._select(stack)  # StackMissingError for a stack that does not exist
        return dict(self._run(lambda: self._workspace().list_tags(stack)) or {})

    def set_tags(self, stack: str, tags: Mapping[str, str]) -> None:
        ws = self._workspace()
        for key, value in tags.items():
            self._run(functools.partial(ws.set_tag, stack, key, value))

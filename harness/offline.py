"""The recording mock runtime: the real program, no engine, no cloud.

``run_stack`` runs components/program.py for one stack under Pulumi's mock
runtime (``pulumi.runtime.set_mocks``) and records every registration (type,
logical name, inputs, options, parent) plus the stack outputs. ``plan`` and
the tests both use it, so they never diverge.

Stack references are served per referenced stack, keyed by the reference's
``name`` input. References the caller does not supply are filled with
obviously fake placeholders (``PLACEHOLDER`` in every value) derived from the
referenced stack's layer, and the recording says which ones were.

Each run happens in a fresh ``contextvars.Context``: Pulumi keeps its runtime
settings in context variables, so runs never leak into each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from components import contract, naming, params
from components.errors import MultilaneError
from components.stackconfig import STACKS_DIR, stack_file_config
from components.stackname import resolve

ACCOUNT = contract.PLACEHOLDER_ACCOUNT
REGION = contract.PLACEHOLDER_REGION
PLACEHOLDER = contract.PLACEHOLDER
STACK_REFERENCE = "pulumi:pulumi:StackReference"
PROVIDER_PREFIX = "pulumi:providers:"


@dataclass
class Registration:
    """One RegisterResource call, as the engine would have received it."""

    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    custom: bool
    protect: bool
    delete_before_replace: bool
    depends_on: list[str]
    provider: str
    ignore_changes: list[str]
    replace_on_changes: list[str]
    id: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    # Input property -> URNs it came from (what the engine hands a policy
    # pack as PolicyResource.property_dependencies).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_component(self) -> bool:
        return not self.custom

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_PREFIX)


@dataclass
class Recording:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    references: dict[str, dict[str, Any]]
    placeholder_references: list[str]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> Registration | None:
        return next((r for r in self.registrations if r.urn == urn), None)

    @property
    def resources(self) -> list[Registration]:
        """Cloud resources: custom, not providers, not stack references."""
        return [r for r in self.registrations if r.custom and not r.is_provider and r.type != STACK_REFERENCE]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


# --- fake cloud state ---------------------------------------------------------

_SERVICE_OF_MODULE = {
    "lb": "elasticloadbalancing",
    "alb": "elasticloadbalancing",
    "servicediscovery": "servicediscovery",
    "cloudwatch": "logs",
    "codestarconnections": "codeconnections",
}


def _module(type_: str) -> str:
    # "aws:ec2/vpc:Vpc" -> "ec2"
    return type_.split(":")[1].split("/")[0] if ":" in type_ else type_


def fake_arn(type_: str, name: str) -> str:
    module = _module(type_)
    service = _SERVICE_OF_MODULE.get(module, module)
    kind = type_.rsplit(":", 1)[-1].lower()
    if module == "iam":
        return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"
    if module == "s3":
        return f"arn:aws:s3:::{name}"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}/{name}"


def fake_state(type_: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Inputs echoed back plus the computed attributes our code reads."""
    physical = inputs.get("name") or inputs.get("bucket") or name
    if isinstance(physical, str) and inputs.get("namePrefix"):
        physical = f"{inputs['namePrefix']}mock"
    if not inputs.get("name") and inputs.get("bucketPrefix"):
        physical = f"{inputs['bucketPrefix']}mock"
    state: dict[str, Any] = dict(inputs)
    arn = fake_arn(type_, str(physical))
    state.setdefault("arn", arn)
    state.setdefault("name", physical)
    extra: dict[str, Any] = {}
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        extra = {
            "dnsName": f"{physical}-1234567890.{REGION}.elb.amazonaws.com",
            "arnSuffix": f"app/{physical}/50dc6c495c0c9188",
            "zoneId": "Z1GM3OXH4ZPM65",
        }
    elif type_ == "aws:lb/targetGroup:TargetGroup":
        extra = {"arnSuffix": f"targetgroup/{physical}/6d0ecf831eec9f09"}
    elif type_ == "aws:ecr/repository:Repository":
        extra = {"repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{physical}", "registryId": ACCOUNT}
    elif type_ == "aws:ecs/taskDefinition:TaskDefinition":
        family = inputs.get("family", physical)
        extra = {
            "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1",
            "arnWithoutRevision": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}",
            "revision": 1,
        }
    elif type_ == "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
        extra = {"hostedZone": "Z0MOCKZONE"}
    elif type_ == "aws:s3/bucket:Bucket":
        extra = {"bucket": physical, "bucketDomainName": f"{physical}.s3.amazonaws.com"}
    elif type_ == "aws:codebuild/project:Project":
        extra = {"badgeUrl": ""}
    state.update({k: v for k, v in extra.items() if k not in inputs or k == "arn"})
    return f"{physical}-id", state


# --- placeholders for lower layers ------------------------------------------------


def placeholder_outputs(stack: str, params_dir: Path = params.PARAMS_DIR) -> dict[str, Any]:
    """Obviously fake outputs for a stack the caller did not supply (the contract makes them)."""
    return contract.placeholder_outputs(resolve(stack, params_dir))


# --- the mocks --------------------------------------------------------------------

ResourceHook = Callable[[pulumi.runtime.MockResourceArgs], "tuple[str, dict[str, Any]] | None"]
CallHook = Callable[[pulumi.runtime.MockCallArgs], "dict[str, Any] | None"]


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs, add fake computed attributes, serve stack references.

    ``resource_hook`` and ``call_hook`` let another tier (the moto tier) answer
    instead; returning None falls back to the fakes here.
    """

    def __init__(
        self,
        references: Mapping[str, Mapping[str, Any]],
        params_dir: Path,
        resource_hook: ResourceHook | None = None,
        call_hook: CallHook | None = None,
    ) -> None:
        self.references = {k: dict(v) for k, v in references.items()}
        self.params_dir = params_dir
        self.resource_hook = resource_hook
        self.call_hook = call_hook
        self.served: dict[str, dict[str, Any]] = {}
        self.placeholders: list[str] = []

    def _reference(self, full_name: str) -> dict[str, Any]:
        if full_name in self.references:
            return self.references[full_name]
        stack = full_name.rsplit("/", 1)[-1]
        self.placeholders.append(full_name)
        return placeholder_outputs(stack, self.params_dir)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            full_name = args.inputs["name"]
            outputs = self._reference(full_name)
            self.served[full_name] = outputs
            return full_name, {"name": full_name, "outputs": outputs, "secretOutputNames": []}
        if self.resource_hook is not None:
            answer = self.resource_hook(args)
            if answer is not None:
                return answer
        if args.typ.startswith(PROVIDER_PREFIX) or not args.custom:
            return f"{args.name}-id", dict(args.inputs)
        return fake_state(args.typ, args.name, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # The failures list must be a list: MockMonitor iterates it (None breaks invokes).
        if self.call_hook is not None:
            answer = self.call_hook(args)
            if answer is not None:
                return answer, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/mock",
                "userId": "MOCK",
                "id": ACCOUNT,
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        # Never pass an unknown invoke through silently.
        raise NotImplementedError(f"offline harness has no answer for invoke {args.token}")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also keeps the options of every registration."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registered = self.resources[response.urn]
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                inputs=_plain(inputs),
                custom=bool(request.custom),
                protect=bool(getattr(request, "protect", False)),
                delete_before_replace=bool(request.deleteBeforeReplace),
                depends_on=list(request.dependencies),
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                id=registered.id or "",
                state=_plain(registered.state),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            )
        )
        return response


def _plain(value: Any) -> Any:
    """Deep-copy to plain dicts and lists (protobuf containers and all)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.copy(value)


def config_for(stack: str, config: Mapping[str, Any] | None) -> dict[str, str]:
    """Stack config as Pulumi stores it ("multilane:key" -> string)."""
    out: dict[str, str] = {}
    for key, value in (config or {}).items():
        full = key if ":" in key else f"multilane:{key}"
        out[full] = value if isinstance(value, str) else str(value)
    return out


def run_stack(
    stack: str,
    *,
    config: Mapping[str, Any] | None = None,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    params_dir: Path = params.PARAMS_DIR,
    preview: bool = False,
    resource_hook: ResourceHook | None = None,
    call_hook: CallHook | None = None,
    program: Callable[[str, Path], Any] | None = None,
    stacks_dir: Path = STACKS_DIR,
) -> Recording:
    """Run the real program for ``stack`` under the recording mocks.

    ``config`` keys may omit the ``multilane:`` namespace; they override the
    stack's ``stacks/Pulumi.<stack>.yaml`` (read when ``stacks_dir`` has one,
    as ``pulumi up`` would). ``references`` maps
    full reference names (``organization/multilane/infra-dev``) to outputs.
    A MultilaneError from validation propagates with ``err.registered`` set
    to the registrations made before it (tests assert that list is empty).
    """
    from components import program as real_program

    run_program = program or real_program.run
    mocks = RecordingMocks(references or {}, params_dir, resource_hook, call_hook)
    monitor = RecordingMonitor(mocks)

    merged = {**config_for(stack, stack_file_config(stack, stacks_dir)), **config_for(stack, config)}

    def _run() -> Recording:
        pulumi.runtime.set_mocks(
            mocks, project=naming.PROJECT, stack=stack, preview=preview, monitor=monitor, organization="organization"
        )
        pulumi.runtime.set_all_config(merged)
        try:
            run_program(stack, params_dir)
        except MultilaneError as err:
            # Let registrations already queued reach the monitor, so the
            # list really is everything the program registered.
            with contextlib.suppress(Exception):
                _sync_await(wait_for_rpcs())
            err.registered = list(monitor.registrations)
            raise
        _sync_await(wait_for_rpcs())
        root = pulumi.runtime.get_root_resource()
        raw = dict(getattr(root, "outputs", {}) or {})
        outputs = {k: _sync_await(pulumi.Output.from_input(v).future()) for k, v in raw.items()}
        return Recording(
            stack=stack,
            registrations=monitor.registrations,
            outputs=_plain(outputs),
            references=dict(mocks.served),
            placeholder_references=sorted(set(mocks.placeholders)),
        )

    return _isolated(lambda: contextvars.Context().run(_run))


def _isolated(fn: Callable[[], Recording]) -> Recording:
    """Run ``fn`` on an event loop of its own and leave no Pulumi leftovers.

    Pulumi drives the program on the thread's current loop, and its
    ``SETTINGS.outputs`` and ``rpc_manager`` default to objects shared by every
    fresh context. A run that fails (a refused registration, a bug) leaves its
    tasks and exception there; the next run in the process would wait on them
    or fail. A run that succeeds leaves them empty, so clearing is safe.
    """
    # The thread's loop, without creating one: get_event_loop() would make a
    # loop that nobody closes, and its __del__ at exit prints "Exception
    # ignored in BaseEventLoop.__del__ ... Invalid file descriptor".
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    previous = getattr(local, "_loop", None)
    set_called = getattr(local, "_set_called", None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The mock monitor runs in the loop's executor threads, and Pulumi gives
    # each such thread an event loop of its own (sync_await._ensure_event_loop);
    # create those here so they can be closed with the run.
    worker_loops: list[asyncio.AbstractEventLoop] = []

    def _worker_loop() -> None:
        worker = asyncio.new_event_loop()
        asyncio.set_event_loop(worker)
        worker_loops.append(worker)

    executor = ThreadPoolExecutor(thread_name_prefix="offline", initializer=_worker_loop)
    loop.set_default_executor(executor)
    try:
        return fn()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        executor.shutdown(wait=True)
        # What is left of a failed run (its error already raised) stays quiet
        # when collected later, as it did on the loop Pulumi used to create.
        loop.set_exception_handler(lambda _loop, _context: None)
        for worker in worker_loops:
            worker.close()
        # Free them now, not in some later garbage collection (a finalizer
        # running inside CPython 3.11's AST builder makes it fail).
        worker_loops.clear()
        loop.close()
        asyncio.set_event_loop(previous)
        if local is not None and previous is None and set_called is not None:
            local._set_called = set_called  # as it was: no loop, none forced
        contextvars.Context().run(_forget_pulumi_leftovers)


def _forget_pulumi_leftovers() -> None:
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()

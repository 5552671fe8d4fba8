"""The emulator: answers each Pulumi registration by creating it in moto.

``Emulator.run(stack, ...)`` runs the real program through
``harness.offline.run_stack`` with :meth:`Emulator.resource_hook`. Each
custom resource goes to the handler registered for its type (``@emulates``),
which calls the AWS API through boto3 (moto in-process, or moto's server via
``endpoint_url``) and returns the id and the state in Pulumi property names
with the attributes moto assigned. A type with no handler fails the run with
its name; nothing passes through.

Every API call is first validated against the botocore service model
(``model.validate``): moto tolerates some values AWS rejects (enum members,
maximum lengths), the model does not.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import pulumi
from botocore.config import Config
from botocore.parsers import ResponseParserError

from harness.offline import PROVIDER_PREFIX, Recording, Registration, run_stack

from . import model

REGION = "ap-southeast-2"
ACCOUNT = "123456789012"  # moto's default account


class EmulationError(RuntimeError):
    """A registration moto (or the service model) refused, or could not emulate."""


class UnemulatedTypeError(EmulationError):
    """A resource type with no handler: the run must fail, loudly, by name."""


@dataclass
class Emulated:
    """What a handler created: the Pulumi id and state, and how to undo it."""

    id: str
    state: dict[str, Any]
    delete: Callable[[], None]
    # Describes the resource as moto holds it now (raises once it is gone).
    probe: Callable[[], Any]
    # In-place update (an update step); None: a change means replacement.
    update: Callable[[Request], dict[str, Any]] | None = None
    # With an update: the inputs AWS cannot change in place (the provider's
    # Diff reports them as replacements). Without one, every input does.
    replace_on: frozenset[str] = frozenset()
    emulated: bool = True  # False: inputs validated against the model only


@dataclass
class Request:
    """One registration as a handler sees it."""

    emulator: Emulator
    type: str
    name: str  # Pulumi logical name
    inputs: dict[str, Any]
    region: str

    def call(self, service: str, operation: str, /, **params: Any) -> dict[str, Any]:
        return self.emulator.call(service, operation, region=self.region, **params)

    def client(self, service: str) -> Any:
        return self.emulator.client(service, self.region)

    def physical_name(self, key: str = "name", *, prefix_key: str | None = "namePrefix", limit: int = 255) -> str:
        """The name the engine would give: the input, or Pulumi's autoname."""
        value = self.inputs.get(key)
        if value:
            return str(value)
        if prefix_key and self.inputs.get(prefix_key):
            return f"{self.inputs[prefix_key]}{secrets.token_hex(13)}"[:limit]
        return f"{self.name}-{secrets.token_hex(4)[:7]}"[:limit]

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        where = self.region if region else ""
        return f"arn:aws:{service}:{where}:{ACCOUNT}:{resource}"

    def state(self, **computed: Any) -> dict[str, Any]:
        """Inputs echoed (as a provider does) plus what AWS computed."""
        out = dict(self.inputs)
        if "tags" in out:
            out["tagsAll"] = dict(out["tags"] or {})
        out.update(computed)
        return out


Handler = Callable[[Request], Emulated]
HANDLERS: dict[str, Handler] = {}


def emulates(*types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for type_ in types:
            if type_ in HANDLERS:
                raise RuntimeError(f"two emulations for {type_}")
            HANDLERS[type_] = fn
        return fn

    return register


def tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def drop_none(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


@cache
def _boto3_session() -> boto3.session.Session:
    # One per process, on the validator's botocore session: boto3 registers
    # its S3 method injections on the botocore session once per boto3
    # session, and a second registration breaks every new S3 client.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", botocore_session=model.session()
    )


def _whole_numbers(value: Any) -> Any:
    """Pulumi's wire format carries every number as a double; the APIs want ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


@dataclass
class Ledger:
    """What one emulator created, by (type, id), in creation order."""

    entries: dict[tuple[str, str], Emulated] = field(default_factory=dict)

    def add(self, type_: str, created: Emulated) -> None:
        key = (type_, created.id)
        if key in self.entries:
            raise EmulationError(f"{type_} {created.id} was created twice")
        self.entries[key] = created

    def pop(self, reg: Registration) -> Emulated:
        try:
            return self.entries.pop((reg.type, reg.id))
        except KeyError:
            raise EmulationError(f"{reg.type} {reg.name} ({reg.id}) was not created by this emulator") from None

    def get(self, reg: Registration) -> Emulated:
        return self.entries[(reg.type, reg.id)]


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


# pulumi-aws updates tags in place on every resource type (TagResource and
# the like), never by replacement.
TAG_INPUTS = frozenset({"tags", "tagsAll"})


def replacing(existing: Emulated | None, changed: list[str]) -> list[str]:
    """Which of the changed inputs force a new resource (all but tags without an update)."""
    if existing is None:
        return list(changed)
    if existing.update is None:
        return [k for k in changed if k not in TAG_INPUTS]
    return [k for k in changed if k in existing.replace_on]


def retag(existing: Emulated, request: Request) -> dict[str, Any]:
    """A tags-only change of a resource whose handler has no update: the new
    tags go into the state the engine keeps. moto's copy keeps the tags the
    resource was created with (the emulator has no generic TagResource);
    handlers that need the new tags in moto implement ``update``."""
    state = dict(existing.state)
    for key in TAG_INPUTS:
        if key in request.inputs:
            state[key] = request.inputs[key]
    if "tags" in request.inputs:
        state["tagsAll"] = dict(request.inputs["tags"] or {})
    return state


SERVER_RACE_ATTEMPTS = 4


class Emulator:
    """Creates registrations in moto; one instance per moto account state."""

    def __init__(self, *, endpoint_url: str | None = None, region: str = REGION) -> None:
        self.endpoint_url = endpoint_url
        self.default_region = region
        self.ledger = Ledger()
        self.calls: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._provider_regions: dict[str, str] = {}
        # Update runs: the stack's previous resources by (type, logical name).
        self._previous: dict[tuple[str, str], Registration] = {}
        self._seen: set[tuple[str, str]] = set()
        self._replaced: set[tuple[str, str]] = set()
        self._created_by_last_run: list[tuple[str, str]] = []
        # Pulumi registers from executor threads; moto in-process and our
        # ledger are not meant for concurrent writers.
        self._lock = threading.RLock()
        self._session = _boto3_session()

    # --- AWS calls ---------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
                )
            return self._clients[key]

    def call(self, service: str, operation: str, /, *, region: str | None = None, **params: Any) -> dict[str, Any]:
        """``operation`` is the boto3 method name (create_vpc)."""
        client = self.client(service, region)
        api_name = client.meta.method_to_api_mapping[operation]
        model.validate(client.meta.service_model.service_name, api_name, params)
        self.calls.append((service, operation))
        for attempt in range(SERVER_RACE_ATTEMPTS):
            try:
                return getattr(client, operation)(**params)
            except ResponseParserError:
                # moto's threaded server is not thread-safe everywhere (seen:
                # IAM get_role iterating a dict another request grows) and
                # answers such a race with an HTML 500 page. That is the
                # emulator's defect, not AWS behaviour: retry it, server only.
                if self.endpoint_url is None or attempt == SERVER_RACE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    # --- Pulumi hooks ------------------------------------------------------

    def _region_of(self, provider_ref: str | None) -> str:
        if provider_ref:
            # "urn:pulumi:stack::project::pulumi:providers:aws::name::id"
            urn = provider_ref.rsplit("::", 1)[0]
            name = urn.rsplit("::", 1)[-1]
            return self._provider_regions.get(name, self.default_region)
        return self.default_region

    def resource_hook(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            if args.typ.startswith(PROVIDER_PREFIX):
                if args.typ == f"{PROVIDER_PREFIX}aws" and args.inputs.get("region"):
                    self._provider_regions[args.name] = args.inputs["region"]
                return None  # the harness's own provider fake
            if not args.custom:
                return None  # components are logical only
            handler = HANDLERS.get(args.typ)
            try:
                if handler is None:
                    raise UnemulatedTypeError(
                        f"no moto emulation for resource type {args.typ} ({args.name}): add a handler "
                        "in emulator/ or list it in not_emulated.py"
                    )
                inputs = _whole_numbers(dict(args.inputs))
                request = Request(self, args.typ, args.name, inputs, self._region_of(args.provider))
                prior = self._previous.get((args.typ, args.name))
                if prior is not None:
                    return self._step(prior, request, handler)
                created = handler(request)
            except Exception as exc:
                self.errors.append(f"{args.typ} {args.name}: {type(exc).__name__}: {exc}")
                raise
            self.ledger.add(args.typ, created)
            self._created_by_last_run.append((args.typ, created.id))
            return created.id, created.state

    def _step(self, prior: Registration, request: Request, handler: Handler) -> tuple[str, dict[str, Any]]:
        """A resource the stack already has: same, update in place, or replace."""
        key = (prior.type, prior.name)
        self._seen.add(key)
        existing = self.ledger.get(prior)
        if _whole_numbers(prior.inputs) == request.inputs:
            return prior.id, existing.state
        if not replacing(existing, changed_keys(_whole_numbers(prior.inputs), request.inputs)):
            existing.state = existing.update(request) if existing.update is not None else retag(existing, request)
            return prior.id, existing.state
        # Replacement, create-before-delete (Pulumi's default): the old one
        # goes once the run has finished.
        created = handler(request)
        self.ledger.add(prior.type, created)
        self._created_by_last_run.append((prior.type, created.id))
        self._replaced.add(key)
        return created.id, created.state

    def call_hook(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any] | None:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return self.invoke(args.token, self.default_region)
        return None  # the harness answers the rest or fails loudly

    def invoke(self, token: str, region: str) -> dict[str, Any]:
        """The data sources the layers call, answered from moto."""
        with self._lock:
            if token == "aws:index/getCallerIdentity:getCallerIdentity":
                me = self.call("sts", "get_caller_identity", region=region)
                return {"accountId": me["Account"], "arn": me["Arn"], "userId": me["UserId"], "id": me["Account"]}
            if token == "aws:index/getRegion:getRegion":
                return {"name": region, "region": region, "id": region}
            if token == "aws:index/getPartition:getPartition":
                return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise UnemulatedTypeError(f"the emulated AWS provider has no emulation for function {token}")

    # --- the provider front end (emulator/provider.py) ----------------------
    # The real engine keeps state itself and asks per resource; these answer
    # by (type, id) from the same ledger and the same handlers as the hooks.

    def create(self, type_: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        handler = HANDLERS.get(type_)
        if handler is None:
            raise UnemulatedTypeError(f"the emulated AWS provider has no emulation for resource type {type_} ({name})")
        with self._lock:
            created = handler(Request(self, type_, name, _whole_numbers(dict(inputs)), region))
            self.ledger.add(type_, created)
            return created.id, created.state

    def known(self, type_: str, id_: str) -> Emulated | None:
        return self.ledger.entries.get((type_, id_))

    def update(self, type_: str, id_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
        with self._lock:
            existing = self.ledger.entries.get((type_, id_))
            if existing is None:
                raise EmulationError(f"{type_} {id_} cannot be updated in place by the emulator")
            request = Request(self, type_, name, _whole_numbers(dict(inputs)), region)
            existing.state = existing.update(request) if existing.update is not None else retag(existing, request)
            return existing.state

    def delete(self, type_: str, id_: str) -> bool:
        """Delete one resource; False when this emulator never made it (e.g. moto restarted)."""
        with self._lock:
            existing = self.ledger.entries.pop((type_, id_), None)
            if existing is None:
                return False
            existing.delete()
            return True

    def exists(self, type_: str, id_: str) -> bool:
        """True while moto still describes the resource."""
        with self._lock:
            existing = self.ledger.entries.get((type_, id_))
            if existing is None:
                return False
            try:
                existing.probe()
            except Exception:
                return False
            return True

    # --- stacks ------------------------------------------------------------

    def run(self, stack: str, *, previous: Recording | None = None, **kwargs: Any) -> Recording:
        """Run ``stack`` against moto; fail if any registration was refused.

        With ``previous`` (the stack's last recording) the run is an update:
        unchanged resources stay, changed ones are updated in place or
        replaced (create, then delete the old one), and resources the program
        no longer declares are deleted, dependents first.
        """
        self.errors = []
        self._created_by_last_run = []
        self._previous, self._seen, self._replaced = {}, set(), set()
        if previous is not None:
            for reg in previous.resources:
                key = (reg.type, reg.name)
                if key in self._previous:
                    raise EmulationError(f"{stack}: two {reg.type} named {reg.name}; updates match by type and name")
                self._previous[key] = reg
        try:
            # run_stack isolates each run (own event loop, no Pulumi leftovers),
            # so a refused registration cannot leak into the next run.
            recording = run_stack(stack, resource_hook=self.resource_hook, call_hook=self.call_hook, **kwargs)
        except Exception as exc:
            if self.errors:
                raise EmulationError(f"{stack}: " + "; ".join(self.errors)) from exc
            raise
        finally:
            previous_regs = list(self._previous.values())
            seen, replaced = self._seen, self._replaced
            self._previous, self._seen, self._replaced = {}, set(), set()
        if self.errors:
            raise EmulationError(f"{stack}: " + "; ".join(self.errors))
        with self._lock:
            for reg in reversed(previous_regs):
                key = (reg.type, reg.name)
                if key not in seen or key in replaced:
                    self.ledger.pop(reg).delete()
        return recording

    def destroy(self, recording: Recording) -> list[str]:
        """Delete what ``recording`` created, dependents first; return the types deleted in order."""
        order: list[str] = []
        with self._lock:
            for reg in reversed(recording.resources):
                created = self.ledger.pop(reg)
                created.delete()
                order.append(reg.type)
        return order

    def rollback(self) -> list[str]:
        """Delete what the last run created, newest first (a failed run's leftovers)."""
        order: list[str] = []
        with self._lock:
            for key in reversed(self._created_by_last_run):
                created = self.ledger.entries.pop(key, None)
                if created is not None:
                    created.delete()
                    order.append(key[0])
            self._created_by_last_run = []
        return order

    def probe(self, recording: Recording) -> dict[str, Any]:
        """moto's current description of every resource of ``recording``, by URN."""
        with self._lock:
            return {reg.urn: self.ledger.get(reg).probe() for reg in recording.resources}

"""What a policy may know besides the resource it is shown.

The engine hands a policy only the resource (type, inputs, URN, options) or
the whole stack's resources. Everything else a multilane policy needs comes
from the stack name, which the URN carries
(``urn:pulumi:{stack}::{project}::{type path}::{name}``), resolved exactly as
``__main__.py`` does (``components.stackname.resolve``), and from the
checked-in ``params/`` files. No function here talks to AWS or the engine.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from components import params
from components.errors import MultilaneError
from components.params import BootParams, InfraParams, ServiceParams
from components.stackname import Target, resolve

_P = TypeVar("_P")

STACK_REFERENCE = "pulumi:pulumi:StackReference"
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def stack_of_urn(urn: str) -> str:
    """``urn:pulumi:{stack}::{project}::...`` -> ``{stack}``."""
    head = urn.split("::", 1)[0]
    parts = head.split(":")
    if len(parts) < 3 or parts[0] != "urn" or parts[1] != "pulumi":
        raise ValueError(f"{urn!r} is not a Pulumi URN")
    return parts[-1]


def normalize_type(type_: str) -> str:
    """Collapse pulumi-aws's alias modules: ``aws:alb/...`` is ``aws:lb/...``."""
    if type_.startswith("aws:alb/"):
        return "aws:lb/" + type_[len("aws:alb/") :]
    return type_


@dataclass(frozen=True)
class PackContext:
    """Where the policies read params from (the repository's params/ by
    default; tests point it at a scratch copy)."""

    params_dir: Path = params.PARAMS_DIR

    def target(self, urn: str) -> Target | None:
        """The layer, env, service and lane of the stack ``urn`` belongs to,
        or None when the stack name is not a multilane stack."""
        return _target(stack_of_urn(urn), self.params_dir)

    def target_error(self, urn: str) -> str | None:
        """Why the stack of ``urn`` does not resolve (None when it does)."""
        try:
            resolve(stack_of_urn(urn), self.params_dir)
        except MultilaneError as err:
            return str(err)
        return None

    def infra(self, env: str) -> InfraParams | None:
        return _load_infra(env, self.params_dir)

    def boot(self, env: str) -> BootParams | None:
        return _load_boot(env, self.params_dir)

    def service(self, service: str, env: str) -> ServiceParams | None:
        return _load_service(service, env, self.params_dir)

    def production(self, env: str) -> bool:
        infra = self.infra(env)
        return bool(infra and infra.production)


@lru_cache(maxsize=256)
def _target(stack: str, params_dir: Path) -> Target | None:
    try:
        return resolve(stack, params_dir)
    except MultilaneError:
        return None


def _quiet(load: Callable[[], _P]) -> _P | None:
    try:
        return load()
    except MultilaneError:
        # The program fails on the same file before registering anything;
        # a policy has nothing to add.
        return None


@lru_cache(maxsize=64)
def _load_infra(env: str, params_dir: Path) -> InfraParams | None:
    return _quiet(lambda: params.load_infra(env, params_dir))


@lru_cache(maxsize=64)
def _load_boot(env: str, params_dir: Path) -> BootParams | None:
    return _quiet(lambda: params.load_boot(env, params_dir))


@lru_cache(maxsize=256)
def _load_service(service: str, env: str, params_dir: Path) -> ServiceParams | None:
    return _quiet(lambda: params.load_service(service, env, params_dir))


def clear_caches() -> None:
    """Forget resolved stacks and params (tests that edit params call this)."""
    _target.cache_clear()
    _load_infra.cache_clear()
    _load_boot.cache_clear()
    _load_service.cache_clear()


# --- reading props (plain dicts or pulumi-policy's unknown-checking proxies) ---


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """``props[path[0]][path[1]]...`` or ``default`` when any step is missing."""
    cur = props
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, Sequence) or isinstance(cur, str) or key >= len(cur):
                return default
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping) or key not in cur:
                return default
            cur = cur[key]
        if cur is None:
            return default
    return cur


def as_list(value: Any) -> list[Any]:
    """A value that may be one item or a list of items, as a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def truthy(value: Any) -> bool:
    """Booleans as the engine may send them (a bool, or "true"/"false")."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


# --- taggable types -------------------------------------------------------------


@lru_cache(maxsize=1024)
def taggable(type_: str) -> bool | None:
    """Whether a pulumi-aws resource type takes a ``tags`` input.

    Read from the pulumi-aws SDK itself (the resource class's signature), so
    the answer follows the pinned provider version. None when the type is
    not a pulumi-aws resource this SDK knows.
    """
    if not type_.startswith("aws:") or type_.count(":") != 2:
        return None
    module_path, class_name = type_.split(":")[1], type_.split(":")[2]
    module = module_path.split("/")[0]
    try:
        mod = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
        cls = getattr(mod, class_name)
        return "tags" in inspect.signature(cls._internal_init).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


# --- IAM documents --------------------------------------------------------------

# Resource type -> input properties that hold a permissions policy document.
# Trust policies (assumeRolePolicy) grant no permissions and are not listed.
POLICY_DOCUMENT_PROPS: dict[str, tuple[str, ...]] = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
}


def parse_document(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string or a mapping (None if neither)."""
    if isinstance(value, Mapping):
        plain: dict[str, Any] = _plain(value)  # a mapping stays a dict
        return plain
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return None
        return doc if isinstance(doc, dict) else None
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def documents(type_: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(where, raw document) for every permissions policy a resource carries.

    Roles may carry inline policies (``inlinePolicies[i].policy``).
    """
    out: list[tuple[str, Any]] = []
    for prop in POLICY_DOCUMENT_PROPS.get(normalize_type(type_), ()):
        if prop in props and props[prop] is not None:
            out.append((prop, props[prop]))
    if type_ == "aws:iam/role:Role":
        for i, inline in enumerate(as_list(get(props, "inlinePolicies"))):
            doc = get(inline, "policy")
            if doc is not None:
                out.append((f"inlinePolicies[{i}].policy", doc))
    return out


def statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def resource_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: case-sensitive, ``*`` and ``?`` wildcards."""
    return fnmatch.fnmatchcase(arn, pattern)


def statement_covers(st: Mapping[str, Any], action: str, resource: str = "*") -> bool:
    """Whether one statement applies to ``action`` on ``resource`` (any
    condition aside). ``resource="*"`` asks for every resource: only a
    statement on ``"*"`` covers that."""
    actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
    not_actions = [a for a in as_list(st.get("NotAction")) if isinstance(a, str)]
    if actions and not any(action_matches(p, action) for p in actions):
        return False
    if not actions and (not not_actions or any(action_matches(p, action) for p in not_actions)):
        return False
    resources = [r for r in as_list(st.get("Resource")) if isinstance(r, str)]
    not_resources = [r for r in as_list(st.get("NotResource")) if isinstance(r, str)]
    if resources:
        return "*" in resources or (resource != "*" and any(resource_matches(p, resource) for p in resources))
    if not_resources:
        return resource != "*" and not any(resource_matches(p, resource) for p in not_resources)
    return False


def denies(doc_statements: Iterable[Mapping[str, Any]], action: str, resource: str = "*") -> bool:
    """Whether an unconditional Deny statement covers ``action`` on ``resource``."""
    return any(
        st.get("Effect") == "Deny" and not st.get("Condition") and statement_covers(st, action, resource)
        for st in doc_statements
    )

"""Run the policy pack over a recorded program run, without the engine.

``pulumi preview --policy-pack policy`` hands every resource to the pack's
analyzer (``pulumi_policy.policy._PolicyAnalyzerServicer``): ``Analyze`` once
per resource for the resource policies, ``AnalyzeStack`` once for the stack
policies. This module builds the same arguments from what the offline
harness recorded (``harness.offline.Recording``) and calls the same
``validate`` methods, the way the servicer does:

- props go through protobuf (``struct_pb2.Struct`` -> ``MessageToDict``, so
  numbers arrive as floats), ``pulumi_policy``'s ``deserialize_properties``
  and ``unknown_checking_proxy``, so an unknown value raises
  ``UnknownValueError`` exactly as during a real preview;
- ``ResourceValidationArgs(type, props, urn, name, PolicyResourceOptions,
  PolicyProviderResource | None, config, stack_tags)``;
- ``StackValidationArgs([PolicyResource ...], config, stack_tags)`` with
  parents, dependencies and property dependencies linked to the resource
  objects. Stack resource props are the resources' outputs (the harness's
  mock state), the ``pulumi:pulumi:Stack`` root is included, and every stack
  reference the program read is included as a ``pulumi:pulumi:StackReference``
  resource with its ``outputs``, as in the engine's snapshot;
- a violation's message is the policy's description, a newline and the
  reported message; an ``UnknownValueError`` becomes an advisory
  "can't run policy ... during preview" and ``not_applicable`` is recorded.

What the harness cannot know: aliases, custom timeouts and additional secret
outputs (the options we pass are empty, which is what the program sets), and
whether ``deleteBeforeReplace`` was set to False explicitly (we pass None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components import naming
from harness.offline import Recording, Registration

from .facts import STACK_REFERENCE, STACK_TYPE


@dataclass(frozen=True)
class Violation:
    stack: str
    policy: str
    enforcement: EnforcementLevel
    urn: str  # "" for a stack-wide violation
    message: str  # what the policy reported
    description: str  # the policy's description (what it protects, how to fix)

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY

    @property
    def resource(self) -> str:
        """``type::name`` of the resource, from the URN ("(stack)" if none)."""
        if not self.urn:
            return "(stack)"
        _, _, tail = self.urn.partition("::")
        _, _, tail = tail.partition("::")
        type_path, _, name = tail.rpartition("::")
        return f"{type_path.split('$')[-1]}::{name}"

    @property
    def diagnostic(self) -> str:
        """The text the CLI prints: description, newline, message."""
        return f"{self.description}\n{self.message}" if self.message else self.description


@dataclass
class PackResult:
    stack: str
    violations: list[Violation]
    not_applicable: list[tuple[str, str]]  # (policy, reason)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]


# --- engine-shaped values -------------------------------------------------------


def engine_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """Props as a policy sees them: protobuf round trip, then pulumi-policy's
    deserializer and unknown-checking proxy (what ``Analyze`` does)."""
    struct = struct_pb2.Struct()
    struct.update(_protobuf_ready(props))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _protobuf_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _protobuf_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_protobuf_ready(v) for v in value]
    return value


def options_of(reg: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        reg.protect,
        list(reg.ignore_changes),
        True if reg.delete_before_replace else None,
        [],
        PolicyCustomTimeouts(0, 0, 0),
        [],
        reg.parent or None,
    )


def _provider_urn(reference: str) -> str:
    # A provider reference is "{urn}::{id}"; the id never contains "::".
    return reference.rsplit("::", 1)[0] if reference else ""


def provider_of(reg: Registration, by_urn: Mapping[str, Registration]) -> PolicyProviderResource | None:
    prov = by_urn.get(_provider_urn(reg.provider))
    if prov is None:
        return None
    return PolicyProviderResource(prov.type, engine_props(prov.inputs), prov.urn, prov.name)


def stack_urn(recording: Recording) -> str:
    return f"urn:pulumi:{recording.stack}::{naming.PROJECT}::{STACK_TYPE}::{naming.PROJECT}-{recording.stack}"


def stack_reference_urn(recording: Recording, full_name: str) -> str:
    return f"urn:pulumi:{recording.stack}::{naming.PROJECT}::{STACK_TYPE}${STACK_REFERENCE}::{full_name}"


def resource_args(reg: Registration, by_urn: Mapping[str, Registration]) -> ResourceValidationArgs:
    """What ``Analyze`` passes a resource policy for one registration."""
    return ResourceValidationArgs(
        reg.type,
        engine_props(reg.inputs),
        reg.urn,
        reg.name,
        options_of(reg),
        provider_of(reg, by_urn),
        None,
        {},
    )


def stack_args(recording: Recording) -> StackValidationArgs:
    """What ``AnalyzeStack`` passes a stack policy for the whole recording."""
    by_urn = {r.urn: r for r in recording.registrations}
    root_urn = stack_urn(recording)
    empty_opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    resources: list[PolicyResource] = [
        PolicyResource(
            STACK_TYPE,
            engine_props({}),
            root_urn,
            f"{naming.PROJECT}-{recording.stack}",
            empty_opts,
            None,
            None,
            [],
            {},
        )
    ]
    links: list[tuple[PolicyResource, str, list[str], dict[str, list[str]]]] = []
    for full_name, outputs in sorted(recording.references.items()):
        ref_opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], root_urn)
        ref = PolicyResource(
            STACK_REFERENCE,
            engine_props({"name": full_name, "outputs": outputs, "secretOutputNames": []}),
            stack_reference_urn(recording, full_name),
            full_name,
            ref_opts,
            None,
            None,
            [],
            {},
        )
        resources.append(ref)
        links.append((ref, root_urn, [], {}))
    for reg in recording.registrations:
        # Outputs: the mock's state for custom resources; components have none
        # of their own beyond what they registered (their inputs are empty).
        props = reg.state if reg.custom else reg.inputs
        res = PolicyResource(
            reg.type, engine_props(props), reg.urn, reg.name, options_of(reg), provider_of(reg, by_urn), None, [], {}
        )
        resources.append(res)
        links.append((res, reg.parent, list(reg.depends_on), dict(reg.property_dependencies)))
    index = {r.urn: r for r in resources}
    for res, parent, deps, prop_deps in links:
        if parent in index:
            res.parent = index[parent]
        res.dependencies.extend(index[d] for d in deps if d in index)
        for key, urns in prop_deps.items():
            res.property_dependencies[key] = [index[d] for d in urns if d in index]
    return StackValidationArgs(resources, None, {})


# --- running ------------------------------------------------------------------------


def _settle(result: Any) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.ensure_future(result, loop=loop))
        finally:
            loop.close()


def _level(policy: Policy, default: EnforcementLevel) -> EnforcementLevel:
    level = policy.enforcement_level or default
    # As the servicer: a remediation that still fails validation is mandatory.
    return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level


def run_policies(
    recording: Recording,
    policies: Sequence[Policy],
    *,
    default_level: EnforcementLevel = EnforcementLevel.MANDATORY,
) -> PackResult:
    """Every resource policy on every registration, then every stack policy."""
    by_urn = {r.urn: r for r in recording.registrations}
    result = PackResult(recording.stack, [], [])

    def run_one(policy: Policy, call: Any, fixed_urn: str | None) -> None:
        level = _level(policy, default_level)

        def report(message: str, urn: str | None = None) -> None:
            if message and not isinstance(message, str):
                raise TypeError("Expected message to be a string")
            result.violations.append(
                Violation(recording.stack, policy.name, level, fixed_urn or urn or "", message, policy.description)
            )

        try:
            _settle(call(report))
        except UnknownValueError as err:
            result.violations.append(
                Violation(
                    recording.stack,
                    policy.name,
                    EnforcementLevel.ADVISORY,
                    "",
                    f"can't run policy '{policy.name}' during preview: {err.message}",
                    policy.description,
                )
            )
        except _NotApplicableError as err:
            result.not_applicable.append((policy.name, err.reason or ""))

    active = [p for p in policies if _level(p, default_level) != EnforcementLevel.DISABLED]
    for policy in active:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        for reg in recording.registrations:
            args = resource_args(reg, by_urn)
            # The servicer ignores the urn a resource policy passes.
            run_one(policy, lambda report, a=args, p=policy: p.validate(a, report), reg.urn)
    stack = stack_args(recording)
    for policy in active:
        if isinstance(policy, StackValidationPolicy):
            run_one(policy, lambda report, p=policy: p.validate(stack, report), None)
    return result


def violations_of(results: Iterable[PackResult]) -> list[Violation]:
    return [v for r in results for v in r.violations]

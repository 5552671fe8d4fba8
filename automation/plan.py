"""``plan <stack>``: the desired resource tree, offline.

Runs the real program under the recording mocks (harness/offline.py) and
prints every resource (type, logical name, parent, key inputs, protect) and
the stack outputs. Lower layers' outputs are fake placeholders unless given.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from harness.offline import PLACEHOLDER, Recording, Registration, run_stack

# Inputs worth a glance in the tree; the full inputs are in --json.
KEY_INPUTS = (
    "name",
    "namePrefix",
    "bucketPrefix",
    "cidrBlock",
    "availabilityZone",
    "internal",
    "loadBalancerType",
    "port",
    "protocol",
    "targetType",
    "priority",
    "family",
    "cpu",
    "memory",
    "desiredCount",
    "retentionInDays",
    "executionMode",
    "pipelineType",
    "natMode",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="print a stack's desired resources and outputs, offline (no CLI, no cloud)",
        description="Run the real program for STACK under Pulumi's mock runtime and print what it would register.",
    )
    p.add_argument("stack", help="stack name, e.g. infra-dev, boot-user-api-dev, user-api-dev-gray")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="stack config, e.g. imageUri=...:sha-abc (repeatable; namespace multilane: is implied)",
    )
    p.set_defaults(func=run)


def parse_config(items: list[str]) -> dict[str, str]:
    """``--config KEY=VALUE`` items -> {short key: value}; only the keys the program reads."""
    from components import naming, stackconfig
    from components.errors import MultilaneError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MultilaneError(f"--config {item!r} is not KEY=VALUE; write e.g. --config imageUri=repo/app:tag")
        short = key.removeprefix(f"{naming.PROJECT}:")
        if ":" in short:
            raise MultilaneError(
                f"--config {key}: the program reads only {naming.PROJECT}:* keys ({', '.join(stackconfig.KEYS)})"
            )
        out[stackconfig.check_key(short, "--config ")] = value
    return out


def run(args: argparse.Namespace) -> int:
    from components import stackconfig

    config = parse_config(args.config)
    stackconfig.parse(args.stack, dict(config), prefix="--config ")
    rec = run_stack(args.stack, config=config)
    if args.json:
        print(json.dumps(to_json(rec), indent=2, sort_keys=True, default=str))
    else:
        print(render(rec))
    return 0


def to_json(rec: Recording) -> dict[str, Any]:
    return {
        "stack": rec.stack,
        "placeholderReferences": rec.placeholder_references,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "custom": r.custom,
                "protect": r.protect,
                "deleteBeforeReplace": r.delete_before_replace,
                "inputs": _whole(r.inputs),
            }
            for r in rec.registrations
        ],
        "outputs": _whole(rec.outputs),
    }


def _whole(value: Any) -> Any:
    """Numbers the mock runtime hands back as floats (8080.0) as the ints they were."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def _short(value: Any) -> str:
    """A value in full (ARNs and names are never cut), whole numbers as ints."""
    value = _whole(value)
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def render(rec: Recording) -> str:
    children: dict[str, list[Registration]] = {}
    for r in rec.registrations:
        children.setdefault(r.parent, []).append(r)
    lines = [f"Stack {rec.stack}: {len(rec.resources)} resources"]
    if rec.placeholder_references:
        lines.append(
            f"NOTE: outputs of {', '.join(rec.placeholder_references)} are fake {PLACEHOLDER} values "
            "(no backend is read offline)."
        )

    def walk(parent: str, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x.type, x.name)):
            keys = ", ".join(f"{k}={_short(r.inputs[k])}" for k in KEY_INPUTS if k in r.inputs)
            flag = " [protected]" if r.protect else ""
            lines.append(f"{'  ' * depth}{r.type}  {r.name}{flag}" + (f"  ({keys})" if keys else ""))
            walk(r.urn, depth + 1)

    roots = {r.parent for r in rec.registrations if rec.by_urn(r.parent) is None}
    for root in sorted(roots):
        walk(root, 1)
    lines.append("Outputs:")
    for key, value in sorted(rec.outputs.items()):
        lines.append(f"  {key}: {_short(value) if not isinstance(value, str) else value}")
    return "\n".join(lines)

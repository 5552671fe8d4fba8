"""``make policy``: the whole pack over every example stack, as a table.

The examples are EXAMPLES plus every stack that has a config file
(``stacks/Pulumi.<stack>.yaml``) or params: infra, boot and pipelines of
every env, and the default and a gray lane of every service.

Runs each example stack's real program under the offline harness
(``harness.offline.run_stack``), feeds the recording to the pack through
the adapter and prints the violations (stack, policy, resource, message).
Mandatory violations make the exit status 1; advisory ones are listed
separately and do not fail the audit. No engine, no AWS.

    python -m policy.audit                    # every example stack
    python -m policy.audit user-api-dev-gray  # some stacks
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components import naming, params, stackname
from components.contract import Layer
from components.errors import MultilaneError
from components.stackconfig import STACKS_DIR, stack_file_config
from harness.offline import run_stack

from .adapter import PackResult, Violation, run_policies
from .pack import DEFAULT_LEVEL, policies


# An image for lanes of services without a bootstrapImage (prod params):
# what the runner would set from the build's parameter file.
def example_image(service: str, env: str) -> str:
    return f"123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/{env}/{service}:sha-abc123"


LONG_LANE = "feature-login-with-a-very-long-name"


@dataclass(frozen=True)
class Example:
    stack: str
    config: dict[str, str] = field(default_factory=dict)
    layer: Layer | None = None  # None: a stack named on the command line, resolved when it runs


EXAMPLES: tuple[Example, ...] = (
    Example("infra-dev", layer="infra"),
    Example("infra-prod", layer="infra"),
    Example("boot-user-api-dev", layer="boot"),
    Example("boot-order-api-dev", layer="boot"),
    Example("boot-user-api-prod", layer="boot"),
    Example("boot-order-api-prod", layer="boot"),
    Example("user-api-dev-default", layer="lane"),
    Example("user-api-dev-gray", layer="lane"),
    Example(f"user-api-dev-{LONG_LANE}", layer="lane"),
    Example("order-api-dev-gray", layer="lane"),
    Example("user-api-prod-default", {"imageUri": example_image("user-api", "prod")}, layer="lane"),
    Example("user-api-prod-gray", {"imageUri": example_image("user-api", "prod")}, layer="lane"),
    Example("order-api-prod-blue", {"imageUri": example_image("order-api", "prod")}, layer="lane"),
    Example("pipelines-dev", layer="pipelines"),
    Example("pipelines-prod", layer="pipelines"),
)


def available(example: Example) -> bool:
    """Whether the example's layer module exists yet in this checkout."""
    from components.contract import LAYERS

    return example.layer is not None and importlib.util.find_spec(LAYERS[example.layer].builder) is not None


def _lane_example(stack: str, params_dir: Path, stacks_dir: Path) -> Example:
    """A lane with the image the runner would give it when nothing else does."""
    target = stackname.resolve(stack, params_dir)
    if not isinstance(target, stackname.LaneTarget):
        raise ValueError(f"{stack} is not a lane stack")
    has_image = params.load_service(target.service, target.env, params_dir).bootstrap_image or (
        stack_file_config(stack, stacks_dir).get("multilane:imageUri")
    )
    return Example(stack, {} if has_image else {"imageUri": example_image(target.service, target.env)}, layer="lane")


def configured(params_dir: Path = params.PARAMS_DIR, stacks_dir: Path = STACKS_DIR) -> list[Example]:
    """Every stack that has params or a stack config file."""
    out: list[Example] = []
    for env in params.envs(params_dir):
        out += [
            Example(naming.infra_stack(env), layer="infra"),
            Example(naming.pipelines_stack(env), layer="pipelines"),
        ]
        for service in params.services(env, params_dir):
            out.append(Example(naming.boot_stack(service, env), layer="boot"))
            for lane in (naming.DEFAULT_LANE, "gray"):
                out.append(_lane_example(naming.lane_stack(service, env, lane), params_dir, stacks_dir))
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        layer = stackname.resolve(stack, params_dir).layer
        out.append(_lane_example(stack, params_dir, stacks_dir) if layer == "lane" else Example(stack, layer=layer))
    return out


def examples(names: Sequence[str] = ()) -> list[Example]:
    if names:
        known = {e.stack: e for e in EXAMPLES}
        return [known.get(n, Example(n)) for n in names]
    chosen = {e.stack: e for e in EXAMPLES}
    for e in configured():
        chosen.setdefault(e.stack, e)
    return [e for e in chosen.values() if available(e)]


def audit(items: Iterable[Example]) -> list[PackResult]:
    pack = policies()
    return [run_policies(run_stack(e.stack, config=e.config), pack, default_level=DEFAULT_LEVEL) for e in items]


def table(rows: Sequence[Violation]) -> str:
    header = ("stack", "policy", "resource", "message")
    body = [(v.stack, v.policy, v.resource, v.message.replace("\n", " ")) for v in rows]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(3)]
    lines = []
    for row in [header, *body]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if row is header:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.audit", description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", help="stacks to audit (default: every example stack)")
    args = parser.parse_args(argv)
    items = examples(args.stacks)
    try:
        results = audit(items)
    except MultilaneError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    mandatory = [v for r in results for v in r.mandatory]
    advisory = [v for r in results for v in r.advisory]
    print(f"policy pack over {len(results)} stacks: {', '.join(r.stack for r in results)}")
    print()
    print(f"Violations (mandatory): {len(mandatory)}")
    print(table(mandatory))
    if advisory:
        print()
        print(f"Advisories (not blocking): {len(advisory)}")
        print(table(advisory))
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())

"""``make policy``: the whole pack over every example stack, as a table.

Runs each example stack's real program under the offline harness
(``automation.offline.run_stack``), feeds the recording to the pack through
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

from automation.offline import run_stack
from components.errors import MultilaneError

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
    layer: str = ""


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
    return importlib.util.find_spec(f"components.{example.layer}") is not None


def examples(names: Sequence[str] = ()) -> list[Example]:
    if names:
        known = {e.stack: e for e in EXAMPLES}
        return [known.get(n, Example(n)) for n in names]
    return [e for e in EXAMPLES if available(e)]


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

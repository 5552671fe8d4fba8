"""Entry point the Pulumi CLI runs: ``pulumi preview --policy-pack policy``.

The CLI's Python policy host (``python -m pulumi.policy <addr> <dir>``) runs
this file as ``__main__``; constructing ``PolicyPack`` starts the analyzer
server and blocks. Importing this module (tests, tools) constructs nothing.
Run by hand, it says how to use the pack instead of waiting for an engine.
"""

import sys
from pathlib import Path

# The pack imports the project's components (stack name resolution, params,
# naming, routing); the CLI starts it with only policy/ on sys.path.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def main() -> None:
    from pulumi_policy import PolicyPack

    from policy.pack import DEFAULT_LEVEL, PACK_NAME, policies

    PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=DEFAULT_LEVEL)


if __name__ == "__main__":
    if "pulumi.policy" not in sys.modules:
        sys.exit(
            "policy/ is a Pulumi policy pack: run `pulumi preview --policy-pack policy -s <stack>` "
            "or, offline, `make policy`"
        )
    main()

"""Command line of the runner: ``python -m automation <command> ...``.

Each command lives in its own module with ``register(subparsers)``; that
function adds the sub-parser and sets ``func(args) -> int``. User errors
(MultilaneError) print one sentence to stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from automation.workspace import ConcurrentUpdateError, OperationFailedError, StackMissingError
from components.errors import MultilaneError

# Modules that provide commands, in the order --help lists them.
COMMAND_MODULES = [
    "automation.plan",
    "automation.commands.stackops",
    "automation.commands.lanes",
    "automation.commands.pr_preview",
    "automation.commands.review",
]

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One sentence (argparse's default adds the usage line; --help has it).
        self.exit(EXIT_USER_ERROR, f"error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m automation",
        description="multilane runner: plan offline, deploy and preview stacks, manage lanes.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MultilaneError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (OperationFailedError, StackMissingError, ConcurrentUpdateError) as err:
        # The state backend answered with an error before any stack ran (it is
        # unreachable, the credentials are wrong, the CLI printed garbage).
        print(
            f"error: the Pulumi state backend failed: {backend_reason(str(err))}; check PULUMI_BACKEND_URL, "
            "the credentials and `pulumi stack ls`, then run the command again",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR


def one_line(text: str) -> str:
    """A message as one line: newlines and other control characters escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def backend_reason(text: str) -> str:
    """The CLI's own error line from its output, or the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    found = next((line[line.index("error:") + 6 :] for line in lines if "error:" in line), None)
    return one_line((found or (lines[-1] if lines else "no output")).strip())

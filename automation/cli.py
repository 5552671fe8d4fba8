"""Command line of the runner: ``python -m automation <command> ...``.

Each command lives in its own module with ``register(subparsers)``; that
function adds the sub-parser and sets ``func(args) -> int``. User errors
(MultilaneError) print one sentence to stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from components.errors import MultilaneError

# Modules that provide commands, in the order --help lists them.
COMMAND_MODULES = [
    "automation.plan",
    "automation.commands.stackops",
    "automation.commands.lanes",
    "automation.commands.pr_preview",
]

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One sentence and the usage line; argparse's default, minus noise.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"error: {message}; see `python -m automation {self.prog.split()[-1]} --help`\n")


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
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR

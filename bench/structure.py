"""Structure of the product code (issue 13's closing-note figures).

Lines per module, the longest functions, how many places spell each stack
output key as a string literal, and the pairs of places in product code that
the ``duplicates`` command finds sharing six or more lines. Product code is
``components/``, ``automation/`` and ``policy/`` (what a deploy runs; the
harness, emulator, tests and bench are not product code).

``python -m bench structure`` gives the figures in the bench table;
``python -m bench.structure [ROOT]`` prints the full report for any checkout
(e.g. a ``git worktree`` of an older commit, to compare before and after).
No figure has a target: they describe the code, they do not gate it.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench._figure import Figure

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("components", "automation", "policy")
# The stack output keys the layers export and read: written out, not read from
# components/contract.py, so the same list measures a checkout from before the
# contract existed (the 'before' figures of issue 13).
OUTPUT_KEYS = (
    "VpcId",
    "PrivateSubnetIds",
    "ClusterName",
    "ClusterArn",
    "AlarmTopicArn",
    "HttpListenerArn",
    "LoadBalancerArn",
    "DefaultTargetGroupArn",
    "LogGroupName",
    "ServiceDiscoveryServiceArn",
    "ServiceSecurityGroupId",
    "RepositoryUrl",
    "RulePriority",
    "ImageUri",
    "TaskDefinitionArn",
    "TargetGroupArn",
    "ServiceName",
)
DUPLICATES_SECONDS = 120
TOP = 5


@dataclass(frozen=True)
class Duplicates:
    pairs: int | None  # pairs with both places in product code; None: not measured
    summary: str  # the command's first line, or why it was not run


@dataclass(frozen=True)
class Structure:
    modules: list[tuple[int, str]]  # (lines, path), largest first
    functions: list[tuple[int, str]]  # (lines, path:name), longest first
    key_spellings: dict[str, tuple[int, int]]  # key -> (in product code, in all non-test code)
    duplicates: Duplicates

    @property
    def total_lines(self) -> int:
        return sum(n for n, _ in self.modules)


def tracked_python(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "*.py"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def is_product(path: str) -> bool:
    return path.split("/")[0] in PRODUCT


def count_lines(text: str) -> int:
    return text.count("\n")


def functions_of(path: str, text: str) -> list[tuple[int, str]]:
    """(lines, ``path:name``) of every function and method, nested ones included."""
    return [
        (node.end_lineno - node.lineno + 1, f"{path}:{node.name}")
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
    ]


def key_literals(key: str, text: str) -> int:
    """How often ``key`` is written as a quoted string literal."""
    return len(re.findall(r"[\"']" + re.escape(key) + r"[\"']", text))


_ROW = re.compile(r"^D\d+ (\S+?):\d+-\d+ ~ (\S+?):\d+-\d+")


def product_pairs(report: str) -> int:
    """Rows of a ``duplicates`` report whose two places are both product code."""
    return sum(1 for line in report.splitlines() if (m := _ROW.match(line)) and is_product(m[1]) and is_product(m[2]))


def run_duplicates(root: Path) -> Duplicates:
    exe = shutil.which("duplicates")
    if exe is None:
        return Duplicates(None, "the duplicates command is missing (not on PATH): pairs not measured")
    proc = subprocess.run(
        [exe, "--repo", str(root), "--most", "200", "--seconds", str(DUPLICATES_SECONDS)],
        capture_output=True,
        text=True,
    )
    report = proc.stdout
    first = report.splitlines()[0] if report else f"duplicates printed nothing (exit {proc.returncode})"
    if "incomplete:" in report or "more pairs)" in report:
        return Duplicates(None, f"duplicates did not list every pair: {first}")
    return Duplicates(product_pairs(report), first)


def measure(root: Path = ROOT) -> Structure:
    files = tracked_python(root)
    texts = {f: (root / f).read_text(encoding="utf-8") for f in files}
    product = [f for f in files if is_product(f)]
    non_test = [f for f in files if not f.startswith("tests/")]
    modules = sorted(((count_lines(texts[f]), f) for f in product), reverse=True)
    functions = sorted((fn for f in product for fn in functions_of(f, texts[f])), reverse=True)
    spellings = {
        key: (sum(key_literals(key, texts[f]) for f in product), sum(key_literals(key, texts[f]) for f in non_test))
        for key in OUTPUT_KEYS
    }
    return Structure(modules, functions, spellings, run_duplicates(root))


def report(s: Structure) -> str:
    """The closing-note figures as text (the format of the 'before' notes)."""
    largest = ", ".join(f"{f} {n}" for n, f in s.modules[:TOP])
    longest = ", ".join(f"{f} {n}" for n, f in s.functions[:TOP])
    keys = " ".join(f"{k}={a}/{b}" for k, (a, b) in s.key_spellings.items())
    pairs = "not measured" if s.duplicates.pairs is None else str(s.duplicates.pairs)
    return "\n".join(
        [
            f"modules {len(s.modules)} total lines {s.total_lines} largest: {largest}",
            f"longest functions: {longest}",
            f"output-key string literals (product code / all non-test code): {keys}",
            f"sum {sum(a for a, _ in s.key_spellings.values())} {sum(b for _, b in s.key_spellings.values())}",
            f"duplicates pairs in product code: {pairs} (whole tree: {s.duplicates.summary})",
        ]
    )


def figures() -> list[Figure]:
    s = measure()
    (top_lines, top_module), (top_fn_lines, top_fn) = s.modules[0], s.functions[0]
    return [
        Figure("product modules", len(s.modules), unit=""),
        Figure("product lines", s.total_lines, unit="lines"),
        Figure("largest module", top_lines, unit="lines", detail=top_module),
        Figure("longest function", top_fn_lines, unit="lines", detail=top_fn),
        Figure(
            "output-key literals (product code)",
            sum(a for a, _ in s.key_spellings.values()),
            unit="",
            detail=f"{len(OUTPUT_KEYS)} keys",
        ),
        Figure(
            "duplicates pairs (product code)",
            s.duplicates.pairs,
            unit="",
            detail=s.duplicates.summary if s.duplicates.pairs is None else "",
        ),
    ]


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else ROOT
    if not (root / ".git").exists():
        print(f"error: {root} is not a git checkout; name the root of one (e.g. a git worktree)", file=sys.stderr)
        return 2
    print(report(measure(root)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

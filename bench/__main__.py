"""`python -m bench [NAME ...]`: run every benchmark module (or the named ones).

Prints one table of figures. Exit 0 unless a figure is far off its target
(bench/_figure.py: FAR_FACTOR times it); figures without a target are shown
without a verdict.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench._figure import FAR_FACTOR, Figure, table


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"error: no benchmark named {unknown[0]!r}; choose from {', '.join(names)}", file=sys.stderr)
        return 2
    figures: list[Figure] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        for figure in module.figures():
            print(f"  {figure.name}: {figure.cells()[1]} ({figure.verdict})", flush=True)
            figures.append(figure)
    print()
    print(table(figures))
    far = [f.name for f in figures if f.far_off]
    if far:
        print(f"\nbench: {', '.join(far)} at least {FAR_FACTOR:g}x over target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m bench [NAME ...]`: run every benchmark module (or the named ones)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"error: no benchmark named {unknown[0]!r}; choose from {', '.join(names)}", file=sys.stderr)
        return 2
    failed = 0
    for name in chosen:
        print(f"== {name}")
        module = importlib.import_module(f"bench.{name}")
        ok = True
        for line in module.main():
            print(f"  {line}")
            ok = ok and "FAIL" not in line
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""One measured figure of a benchmark, its target (if it has one) and a verdict.

A figure over its target is reported, not fatal: benchmarks run on shared,
loaded machines. Only a figure FAR_FACTOR times its target or more (or
"far off") makes ``python -m bench`` exit non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass

FAR_FACTOR = 2.0


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None  # None: could not be measured (detail says why)
    unit: str = "s"
    target: float | None = None  # an upper bound; None: no target is set
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.target is None:
            return "-"
        if self.value <= self.target:
            return "ok"
        return "FAR OFF" if self.far_off else "over target"

    @property
    def far_off(self) -> bool:
        return self.value is not None and self.target is not None and self.value >= FAR_FACTOR * self.target

    def cells(self) -> tuple[str, str, str, str, str]:
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.3g} {self.unit}".strip()

        target = "-" if self.target is None else f"<= {fmt(self.target)}"
        return (self.name, fmt(self.value), target, self.verdict, self.detail)


def table(figures: list[Figure]) -> str:
    rows = [("figure", "measured", "target", "verdict", "detail"), *(f.cells() for f in figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

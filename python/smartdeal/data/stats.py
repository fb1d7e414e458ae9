"""Accuracy with its 95 % Wilson score interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


@dataclass(frozen=True)
class Accuracy:
    """`hits` right out of `n`; `low`/`high` bound the true rate at 95 %."""

    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else 0.0

    @property
    def interval(self):
        return wilson(self.hits, self.n)

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.value:.1%} [{low:.1%}, {high:.1%}] (n = {self.n})"

    def as_dict(self) -> dict:
        low, high = self.interval
        return {"hits": self.hits, "n": self.n, "value": self.value,
                "low": low, "high": high}


def table_cells(acc: dict, reference: float) -> str:
    """Two markdown table cells of an `as_dict` accuracy: "v % [low, high]"
    and its difference to `reference` in points."""
    return (f"{100 * acc['value']:.1f} % [{100 * acc['low']:.1f}, {100 * acc['high']:.1f}] "
            f"| {100 * (acc['value'] - reference):+.1f}")


def wilson(hits: int, n: int, z: float = Z95):
    """Wilson score interval for a binomial rate: (low, high).

    Unlike p +- z*sqrt(p(1-p)/n) it stays inside [0, 1] and does not
    collapse to a point at 0 or n hits."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == n else min(1.0, centre + half)
    return low, high

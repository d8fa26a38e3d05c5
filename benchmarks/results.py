"""Figures, their targets, and the table they are printed in."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    """`value <op> limit`, e.g. Target("<", 1.0) for "under 1 s"."""

    op: str  # "<", "<=" or ">="
    limit: float

    def met(self, value: float) -> bool:
        if self.op == "<":
            return value < self.limit
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        raise ValueError(f"unknown comparison {self.op!r}")

    def text(self, unit: str) -> str:
        return f"{self.op} {format_value(self.limit, unit)}"


@dataclass
class Figure:
    """One row of the table: a value per run, judged by its median."""

    measurement: str
    name: str
    unit: str  # "s", "ms", "MB", "/s", "x", "" (a count)
    values: list[float] = field(default_factory=list)
    target: Target | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def result(self) -> str:
        if not self.values:
            return "n/a"
        if self.target is None:
            return "info"
        assert self.median is not None
        return "pass" if self.target.met(self.median) else "FAIL"

    def spread(self) -> str:
        if len(self.values) < 2:
            return "-"
        low, high = min(self.values), max(self.values)
        return f"{format_value(low, self.unit)} – {format_value(high, self.unit)}"


def format_value(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    magnitude = abs(value)
    if unit == "" and float(value).is_integer():
        return f"{int(value):,}"
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}" if unit not in ("", "x") else f"{text}{unit}"


def percentile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


HEADER = ("measurement", "figure", "median", "spread (min – max)", "runs", "target", "result")


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table, readable as plain text too."""
    rows = [HEADER]
    for figure in figures:
        rows.append(
            (
                figure.measurement,
                figure.name + (f" ({figure.note})" if figure.note else ""),
                format_value(figure.median, figure.unit),
                figure.spread(),
                str(len(figure.values)),
                figure.target.text(figure.unit) if figure.target else "",
                figure.result,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)

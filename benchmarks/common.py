"""Helpers shared by the benchmarks: percentiles, the table, the closing JSON line."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in [0, 1])."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def report(title: str, rows: Sequence[tuple[str, str]], figures: dict[str, object]) -> None:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
    # The last line of every benchmark: one JSON object, for machines.
    print(json.dumps(figures, sort_keys=True))

"""Charts as SVG, drawn here, on the server (the dashboard loads no chart library).

Pure functions from labels and numbers to an `<svg>` string. Colours are CSS classes
(`series-0`…, `axis`, `grid`) that the page's stylesheet fills from Telegram's theme, so a
chart follows the organiser's light or dark theme, and the markup needs no inline style
(the pages' Content-Security-Policy forbids it). Every text is escaped here; numbers come
formatted by the caller (Babel, in the reader's language).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Small enough that 12 px text stays readable on a phone, where the picture is ~360 px wide.
WIDTH = 480
HEIGHT = 260
PLOT_TOP = 12
PLOT_LEFT = 40
PLOT_RIGHT = 10
AXIS_HEIGHT = 24
LEGEND_ROW = 19
LEGEND_CHAR = 7.0  # average advance of a 13 px character, to wrap the legend
PALETTE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


Format = Callable[[float], str]


def nice_ticks(top: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least `top`;
    `whole`: steps of at least 1 and never 2.5 (the values count things)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    if whole:
        raw = max(raw, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole and power == 1 else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _legend(series: Sequence[Series], top: float, kind: str) -> tuple[list[str], float]:
    """The legend's elements, wrapped into rows under the plot, and its height."""
    parts: list[str] = []
    x, y = float(PLOT_LEFT), top + 14
    for index, item in enumerate(series):
        width = 18 + LEGEND_CHAR * len(item.name) + 16
        if x + width > WIDTH - PLOT_RIGHT and x > PLOT_LEFT:
            x, y = float(PLOT_LEFT), y + LEGEND_ROW
        colour = f"series-{index % PALETTE_SIZE}"
        if kind == "line":
            parts.append(
                f'<line class="{colour} stroke" x1="{x:.1f}" y1="{y - 4:.1f}" '
                f'x2="{x + 12:.1f}" y2="{y - 4:.1f}" stroke-width="3"/>'
            )
        else:
            parts.append(
                f'<rect class="{colour} fill" x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2"/>'
            )
        parts.append(
            f'<text class="legend" x="{x + 18:.1f}" y="{y:.1f}">{escape(item.name)}</text>'
        )
        x += width
    return parts, y - top + 8


class _Frame:
    """The plot area, its y scale and the axes, shared by every kind of chart."""

    def __init__(
        self,
        labels: Sequence[str],
        top: float,
        fmt: Format,
        legend_height: float,
        whole: bool,
    ):
        self.labels = labels
        self.ticks = nice_ticks(top, whole=whole)
        self.bottom = HEIGHT - AXIS_HEIGHT - legend_height
        self.height = self.bottom - PLOT_TOP
        self.left = float(PLOT_LEFT)
        self.width = WIDTH - PLOT_LEFT - PLOT_RIGHT
        self.fmt = fmt

    def y(self, value: float) -> float:
        return self.bottom - self.height * value / self.ticks[-1]

    def slot(self, index: int) -> tuple[float, float]:
        """The x range of the `index`th label."""
        step = self.width / max(len(self.labels), 1)
        return self.left + step * index, step

    def axes(self) -> list[str]:
        parts: list[str] = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(
                f'<line class="grid" x1="{self.left:.1f}" y1="{y:.1f}" '
                f'x2="{self.left + self.width:.1f}" y2="{y:.1f}"/>'
            )
            parts.append(
                f'<text class="axis" x="{self.left - 6:.1f}" y="{y + 4:.1f}" '
                f'text-anchor="end">{escape(self.fmt(tick))}</text>'
            )
        for index, label in enumerate(self.labels):
            x, step = self.slot(index)
            parts.append(
                f'<text class="axis" x="{x + step / 2:.1f}" y="{self.bottom + 17:.1f}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
        return parts


def _svg(title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _legend_height(series: Sequence[Series], kind: str) -> tuple[list[str], float]:
    if len(series) < 2:
        return [], 0.0
    # Laid out once to know its height, then again at its place under the axis.
    _, height = _legend(series, 0.0, kind)
    parts, _ = _legend(series, HEIGHT - height, kind)
    return parts, height


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    *,
    whole: bool = False,
) -> str:
    legend, legend_height = _legend_height(series, "line")
    top = max((value for item in series for value in item.values), default=0.0)
    frame = _Frame(labels, top, fmt, legend_height, whole)
    parts = frame.axes()
    for index, item in enumerate(series):
        colour = f"series-{index % PALETTE_SIZE}"
        points = []
        for position, value in enumerate(item.values):
            x, step = frame.slot(position)
            points.append((x + step / 2, frame.y(value), value, labels[position]))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(
            f'<polyline class="{colour} stroke" fill="none" stroke-width="2.5" '
            f'stroke-linejoin="round" points="{path}"/>'
        )
        for x, y, value, label in points:
            tip = f"{item.name} · {label} · {fmt(value)}"
            parts.append(
                f'<circle class="{colour} fill" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                f"<title>{escape(tip)}</title></circle>"
            )
    return _svg(title, [*parts, *legend])


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    *,
    whole: bool = False,
) -> str:
    legend, legend_height = _legend_height(series, "bar")
    totals = [sum(item.values[i] for item in series) for i in range(len(labels))]
    frame = _Frame(labels, max(totals, default=0.0), fmt, legend_height, whole)
    parts = frame.axes()
    for position, label in enumerate(labels):
        x, step = frame.slot(position)
        width = step * 0.6
        base = 0.0
        for index, item in enumerate(series):
            value = item.values[position]
            if value <= 0:
                continue
            y_top, y_bottom = frame.y(base + value), frame.y(base)
            tip = f"{item.name} · {label} · {fmt(value)}"
            parts.append(
                f'<rect class="series-{index % PALETTE_SIZE} fill" x="{x + (step - width) / 2:.1f}" '
                f'y="{y_top:.1f}" width="{width:.1f}" height="{y_bottom - y_top:.1f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            base += value
    return _svg(title, [*parts, *legend])


def grouped_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    *,
    whole: bool = False,
    target: tuple[str, float] | None = None,
) -> str:
    """`target`: a dashed line at that value, labelled (a challenge's weekly target)."""
    legend, legend_height = _legend_height(series, "bar")
    top = max((value for item in series for value in item.values), default=0.0)
    if target is not None:
        top = max(top, target[1])
    frame = _Frame(labels, top, fmt, legend_height, whole)
    parts = frame.axes()
    count = max(len(series), 1)
    for position, label in enumerate(labels):
        x, step = frame.slot(position)
        group = step * 0.75
        width = group / count
        for index, item in enumerate(series):
            value = item.values[position]
            y_top = frame.y(value)
            tip = f"{item.name} · {label} · {fmt(value)}"
            parts.append(
                f'<rect class="series-{index % PALETTE_SIZE} fill" '
                f'x="{x + (step - group) / 2 + width * index:.1f}" y="{y_top:.1f}" '
                f'width="{max(width - 2, 1):.1f}" height="{frame.bottom - y_top:.1f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    if target is not None:
        y = frame.y(target[1])
        right = frame.left + frame.width
        parts.append(
            f'<line class="target" x1="{frame.left:.1f}" y1="{y:.1f}" x2="{right:.1f}" '
            f'y2="{y:.1f}" stroke-dasharray="6 4" stroke-width="2"/>'
        )
        # Above the line, or under it when the line is the top of the plot.
        label_y = y + 16 if y < PLOT_TOP + 16 else y - 5
        parts.append(
            f'<text class="target-label" x="{right:.1f}" y="{label_y:.1f}" '
            f'text-anchor="end">{escape(target[0])}</text>'
        )
    return _svg(title, [*parts, *legend])

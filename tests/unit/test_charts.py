"""Server-side SVG charts (bot/ui/charts.py): well-formed, escaped, scaled to their data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from bot.ui import charts

SVG = "{http://www.w3.org/2000/svg}"
LABELS = ["5 janv.", "12 janv.", "19 janv."]


def fmt(value: float) -> str:
    return f"{value:g}"


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0.0, 1.0]),
        (3, [0.0, 1.0, 2.0, 3.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (10, [0.0, 2.5, 5.0, 7.5, 10.0]),
        (0.9, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (1234, [0.0, 500.0, 1000.0, 1500.0]),
    ],
)
def test_ticks_are_round_and_reach_the_top(top: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(top) == ticks


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (2, [0.0, 1.0, 2.0]),
        (3, [0.0, 1.0, 2.0, 3.0]),
        (10, [0.0, 5.0, 10.0]),
        (9, [0.0, 5.0, 10.0]),
        (40, [0.0, 10.0, 20.0, 30.0, 40.0]),
        (250, [0.0, 100.0, 200.0, 300.0]),
    ],
)
def test_counts_get_whole_ticks(top: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(top, whole=True) == ticks


def test_a_target_line_is_drawn_and_the_scale_reaches_it() -> None:
    svg = charts.grouped_bars(
        "t",
        LABELS,
        [charts.Series("total", [4, 3, 2])],
        fmt,
        whole=True,
        target=("Objectif : 40", 40),
    )
    root = parse(svg)
    [line] = [e for e in root.iter(f"{SVG}line") if e.get("class") == "target"]
    assert float(line.get("y1", 0)) == pytest.approx(charts.PLOT_TOP)
    assert "Objectif : 40" in [e.text for e in root.iter(f"{SVG}text")]


def tip(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    return "" if title is None else title.text or ""


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


@pytest.mark.parametrize("draw", [charts.line_chart, charts.stacked_bars, charts.grouped_bars])
def test_names_are_escaped_and_the_markup_stays_well_formed(draw: Callable[..., str]) -> None:
    hostile = '<script>alert("x")</script> & Cie'
    svg = draw(
        f"Title {hostile}",
        LABELS,
        [charts.Series(hostile, [1, 2, 3]), charts.Series("B", [3, 0, 1])],
        fmt,
    )
    root = parse(svg)
    assert "<script" not in svg
    texts = [element.text or "" for element in root.iter()]
    assert f"Title {hostile}" in texts
    assert hostile in texts  # the legend, as text
    # No style attributes: the pages' Content-Security-Policy would block them.
    assert not [e for e in root.iter() if "style" in e.attrib]


def test_stacked_bars_stack_to_the_total() -> None:
    svg = charts.stacked_bars(
        "t", LABELS, [charts.Series("a", [2, 0, 1]), charts.Series("b", [2, 0, 0])], fmt
    )
    bars = [e for e in parse(svg).iter(f"{SVG}rect") if "fill" in e.get("class", "")]
    # Legend squares (12 high) apart, one bar per non-zero value.
    values = [e for e in bars if e.get("height") != "12"]
    assert len(values) == 3
    first_week = [e for e in values if "5 janv." in tip(e)]
    assert len(first_week) == 2
    heights = [float(e.get("height", 0)) for e in first_week]
    assert heights[0] == pytest.approx(heights[1])
    # 4 is the top tick: the stack fills the plot's height.
    tops = sorted(float(e.get("y", 0)) for e in first_week)
    assert tops[0] == pytest.approx(charts.PLOT_TOP, abs=0.1)


def test_a_line_has_one_point_per_label_and_a_tooltip_each() -> None:
    svg = charts.line_chart("t", LABELS, [charts.Series("Équipe A", [1.5, 2, 0])], fmt)
    circles = list(parse(svg).iter(f"{SVG}circle"))
    assert len(circles) == 3
    tips = [tip(c) for c in circles]
    assert tips == [
        "Équipe A · 5 janv. · 1.5",
        "Équipe A · 12 janv. · 2",
        "Équipe A · 19 janv. · 0",
    ]


def test_a_long_legend_wraps_inside_the_picture() -> None:
    series = [charts.Series(f"Une équipe au nom assez long n°{n}", [n, 1, 2]) for n in range(8)]
    svg = charts.grouped_bars("t", LABELS, series, fmt)
    legend = [e for e in parse(svg).iter(f"{SVG}text") if e.get("class") == "legend"]
    assert len(legend) == 8
    rows = {e.get("y") for e in legend}
    assert len(rows) > 1
    assert all(float(e.get("x", 0)) < charts.WIDTH for e in legend)
    assert all(0 < float(y or 0) < charts.HEIGHT for y in rows)
    assert re.search(rf'viewBox="0 0 {charts.WIDTH} {charts.HEIGHT}"', svg)

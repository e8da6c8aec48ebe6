"""The EWMA control chart drawn as SVG (issue 17): every defined EWMA point, every round mean and
every signal drawn where its value says, and the markup as safe to inline as any chart's."""

from __future__ import annotations

import re

import pytest

from calibration.web import charts
from calibration.web.control_svg import BLUE, ORANGE


def _panel(title: str, ewma: list[float | None], signals: list[bool]) -> charts.ControlPanel:
    return charts.ControlPanel(
        title,
        means=[None if z is None else 2 * z for z in ewma],
        ewma=ewma,
        lower=[None if z is None else -0.3 for z in ewma],
        upper=[None if z is None else 0.3 for z in ewma],
        signals=signals,
    )


def test_points_limits_and_signals_are_drawn_where_their_values_say() -> None:
    charts.clear_cache()
    ewma = [None, 0.05, 0.12, -0.1, 0.4, 0.5]
    signals = [False, False, False, False, True, True]
    chart = charts.control_chart(
        [f"Round <{i}>" for i in range(6)],
        [_panel("all", ewma, signals)],
        title="A & B: EWMA",
        label="Control chart of A & B",
    )
    svg = str(chart.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    assert "Round &lt;3&gt;" in svg and "A &amp; B: EWMA" in svg  # names are escaped
    dots = re.findall(rf'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="2" fill="{BLUE}"/>', svg)
    legend_dot = 1
    assert len(dots) == sum(z is not None for z in ewma) + legend_dot
    xs = [float(x) for x, _ in dots[legend_dot:]]
    ys = [float(y) for _, y in dots[legend_dot:]]
    assert xs == sorted(xs)  # oldest first, left to right
    defined = [z for z in ewma if z is not None]
    # Higher values are drawn higher (smaller y), in proportion.
    slope = (ys[1] - ys[0]) / (defined[1] - defined[0])
    assert slope < 0
    assert ys == pytest.approx([ys[0] + slope * (z - defined[0]) for z in defined], abs=0.02)
    crosses = re.findall(rf'<path d="[^"]+ Z" fill="{ORANGE}" stroke="#000"', svg)
    assert len(crosses) == sum(signals) + 1  # and the legend's, which names it once
    assert svg.count("outside the limits") == 1
    # Dashed limits: one step path above and one below the centre.
    assert len(re.findall(r'stroke-dasharray="3.7 1.6"/>', svg)) == 2 + 1  # and the legend's


def test_no_signal_no_cross_and_many_rounds_unlabelled() -> None:
    charts.clear_cache()
    n = charts.MAX_LABELLED_ROWS + 1
    chart = charts.control_chart(
        [f"R{i}" for i in range(n)],
        [_panel("c1", [0.0] * n, [False] * n), _panel("c2", [0.1] * n, [False] * n)],
        title="per criterion",
        label="two panels",
    )
    svg = str(chart.svg)
    assert "outside the limits" not in svg and f'fill="{ORANGE}" stroke="#000"' not in svg
    assert f"{n} rounds, oldest first" in svg and ">R3<" not in svg
    assert ">c1<" in svg and ">c2<" in svg

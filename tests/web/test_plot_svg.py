"""The series and bar charts drawn as SVG (issue 17): every defined point, interval end and bar drawn
where its value says, undefined values left out, reference lines drawn and named, and the markup as
safe to inline as any chart's."""

from __future__ import annotations

import re

import pytest

from calibration.web import charts
from calibration.web.svg_draw import BLUE, GREY, ORANGE

NUM = r"([-\d.]+)"


def _safe(svg: str) -> None:
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg


def _linear(values: list[float], coords: list[float]) -> float:
    """The slope of coordinate against value, after checking every coordinate lies on that line."""
    slope = (coords[1] - coords[0]) / (values[1] - values[0])
    assert coords == pytest.approx([coords[0] + slope * (v - values[0]) for v in values], abs=0.02)
    return slope


def test_series_points_and_interval_ends_are_drawn_where_their_values_say() -> None:
    charts.clear_cache()
    values = [0.5, None, 0.8, 0.9, 0.6]
    lows = [0.3, None, 0.6, None, 0.4]
    highs = [0.7, None, 0.95, None, 0.8]
    chart = charts.series_chart(
        [f"Round <{i}>" for i in range(5)],
        [
            charts.Panel(
                "Exact (%)",
                values,
                lows,
                highs,
                refs=(charts.RefLine(0.7, "pass rule 70%"),),
                percent=True,
                limits=(0.0, 1.0),
            )
        ],
        title="A & B: accuracy over time",
        label="Accuracy of A & B",
    )
    svg = str(chart.svg)
    _safe(svg)
    assert "Round &lt;3&gt;" in svg and "A &amp; B: accuracy over time" in svg  # names are escaped
    dots = [
        (float(x), float(y))
        for x, y in re.findall(rf'<circle cx="{NUM}" cy="{NUM}" r="2.8" fill="{BLUE}"/>', svg)
    ]
    defined = [v for v in values if v is not None]
    assert len(dots) == len(defined)  # the undefined round is left out
    xs, ys = [x for x, _ in dots], [y for _, y in dots]
    assert xs == sorted(xs)  # oldest first, left to right
    # Evenly spaced rounds: the gap at the undefined round is two steps wide.
    assert xs[1] - xs[0] == pytest.approx(2 * (xs[2] - xs[1]), abs=0.02)
    slope = _linear(defined, ys)
    assert slope < 0  # higher values higher up
    # The line breaks at the gap: one segment before it is impossible (a single point), one after.
    lines = re.findall(rf'<path d="(M[^"]+)" fill="none" stroke="{BLUE}" stroke-width="1"/>', svg)
    assert len(lines) == 1 and lines[0].count("L") == 2
    # One error bar per round with both ends, its ends where the interval's values say.
    bars = re.findall(
        rf'<path d="M{NUM} {NUM} L{NUM} {NUM} M{NUM} {NUM} L{NUM} {NUM} M{NUM} {NUM} L{NUM} {NUM}" stroke="{BLUE}"',
        svg,
    )
    with_interval = [(v, lo, hi) for v, lo, hi in zip(values, lows, highs, strict=True) if lo is not None]
    assert len(bars) == len(with_interval)
    for bar, (value, low, high) in zip(bars, with_interval, strict=True):
        x, y_high, y_low = float(bar[4]), float(bar[5]), float(bar[7])
        y_value = ys[defined.index(value)]
        assert y_high == pytest.approx(y_value + slope * (high - value), abs=0.02)
        assert y_low == pytest.approx(y_value + slope * (low - value), abs=0.02)
        assert x == pytest.approx(xs[defined.index(value)], abs=0.02)
    # The fixed limits: 0% and 100% are the axis ends, and the reference line sits at 70%.
    y0 = ys[0] + slope * (0.0 - 0.5)
    y100 = ys[0] + slope * (1.0 - 0.5)
    clip = re.search(rf'<clipPath id="[^"]+"><rect x="{NUM}" y="{NUM}" width="{NUM}" height="{NUM}"/>', svg)
    assert clip is not None
    assert float(clip[2]) == pytest.approx(y100, abs=0.02)
    assert float(clip[2]) + float(clip[4]) == pytest.approx(y0, abs=0.02)
    refs = re.findall(
        rf'<path d="M{NUM} {NUM} L{NUM} {NUM}" stroke="{GREY}" stroke-width="1" stroke-dasharray', svg
    )
    plot_refs = [r for r in refs if float(r[0]) != float(r[2]) - 16]  # not the legend's sample
    assert len(plot_refs) == 1
    assert float(plot_refs[0][1]) == pytest.approx(ys[0] + slope * 0.2, abs=0.02)
    assert svg.count(">pass rule 70%<") == 1
    assert ">100<" in svg and ">0<" in svg and y0 > y100


def test_series_panels_share_rounds_and_many_rounds_go_unnamed() -> None:
    charts.clear_cache()
    n = charts.MAX_LABELLED_ROWS + 1
    panel = charts.Panel(
        "Signed deviation", [0.1] * n, [0.0] * n, [0.2] * n, refs=(charts.RefLine(0.0, "the key"),)
    )
    chart = charts.series_chart([f"R{i}" for i in range(n)], [panel, panel], title="two", label="two panels")
    svg = str(chart.svg)
    _safe(svg)
    assert f"{n} rounds, oldest first" in svg and ">R3<" not in svg
    assert svg.count(">the key<") == 2  # each panel names its reference line
    assert len(re.findall(rf'r="2.8" fill="{BLUE}"/>', svg)) == 2 * n
    assert len(re.findall(r"<clipPath id=", svg)) == 2
    ids = re.findall(r'<clipPath id="([^"]+)"', svg)
    assert len(set(ids)) == 2 and all(re.search(rf'clip-path="url\(#{i}\)"', svg) for i in ids)


def test_bars_are_drawn_from_zero_to_their_values_side_by_side() -> None:
    charts.clear_cache()
    assessor = [0.1, 0.4, None, 0.2]
    key = [0.2, 0.3, 0.3, 0.2]
    chart = charts.bar_chart(
        ["1 <Poor>", "2 Fair", "3 Good", "4 Excellent"],
        [("Assessor & co", assessor), ("Key", key)],
        title="Use of each level",
        axis_label="Share (%)",
        label="Bar chart",
        percent=True,
    )
    svg = str(chart.svg)
    _safe(svg)
    assert "1 &lt;Poor&gt;" in svg and "Assessor &amp; co" in svg
    rects = {
        colour: [
            tuple(float(v) for v in r)
            for r in re.findall(
                rf'<rect x="{NUM}" y="{NUM}" width="{NUM}" height="{NUM}" fill="{colour}"/>', svg
            )
        ]
        for colour in (BLUE, ORANGE)
    }
    legend_box = 1
    blue = [r for r in rects[BLUE] if r[2] != 8]
    orange = [r for r in rects[ORANGE] if r[2] != 8]
    assert len(rects[BLUE]) == len(blue) + legend_box and len(rects[ORANGE]) == len(orange) + legend_box
    assert len(blue) == 3 and len(orange) == 4  # the undefined share draws no bar
    bottoms = {round(y + h, 2) for _, y, _, h in blue + orange}
    assert len(bottoms) == 1  # every bar stands on the zero line
    per_value = [h / v for (_, _, _, h), v in zip(orange, key, strict=True)]
    per_value += [h / v for (_, _, _, h), v in zip(blue, [a for a in assessor if a is not None], strict=True)]
    assert per_value == pytest.approx([per_value[0]] * 7, rel=1e-3)  # heights in proportion
    # Side by side: the assessor's bar just left of the key's in each category.
    for (bx, _, bw, _), (ox, _, _, _) in zip(blue, [orange[0], orange[1], orange[3]], strict=True):
        assert ox == pytest.approx(bx + bw, abs=0.02)
    assert ">Key<" in svg  # the legend names both series


def test_one_series_has_no_legend_and_negative_bars_hang_below_zero() -> None:
    charts.clear_cache()
    chart = charts.bar_chart(["a", "b"], [("Only", [3.0, -1.0])], title="t", axis_label="n", label="bars")
    svg = str(chart.svg)
    _safe(svg)
    bars = [
        tuple(float(v) for v in r)
        for r in re.findall(rf'<rect x="{NUM}" y="{NUM}" width="{NUM}" height="{NUM}" fill="{BLUE}"/>', svg)
    ]
    assert len(bars) == 2 and ">Only<" not in svg
    (_, y_a, _, h_a), (_, y_b, _, h_b) = bars
    assert y_a + h_a == pytest.approx(y_b, abs=0.02)  # the zero line: a's foot is b's top
    assert h_a == pytest.approx(3 * h_b, abs=0.02)

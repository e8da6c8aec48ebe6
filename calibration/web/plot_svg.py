"""Series and bar charts drawn straight as SVG (see :func:`calibration.web.charts.series_chart` and
:func:`calibration.web.charts.bar_chart`).

An assessor's profile draws accuracy over time and the use of each level per rubric section; with
matplotlib that was most of a cold profile's seconds (issue 17). Each element is written once here,
in the look of the other charts (:mod:`.svg_draw`); undefined values are left out (a gap), and
:func:`~calibration.web.svg_clean.clean_svg` then labels the root as for any chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .svg_draw import (
    BLUE,
    DASHES,
    GREEN,
    GREY,
    GRID,
    ORANGE,
    f,
    legend,
    nice_ticks,
    polyline,
    runs,
    short,
    svg_open,
    text,
    text_width,
)

__all__ = ["SeriesPanel", "bar_svg", "series_svg"]

#: Per panel: (axis label, values, lows, highs, reference lines as (value, label), scale, limits), values
#: already as floats with NaN where undefined; ``scale`` is 100 for a percent axis.
SeriesPanel = tuple[
    str, np.ndarray, np.ndarray, np.ndarray, Sequence[tuple[float, str]], float, tuple[float, float] | None
]

WIDTH = 640.0
LEFT, RIGHT, TOP = 75.0, 25.0, 55.0
PANEL_H, GAP = 170.0, 34.0
MARKER_R, CAP = 2.8, 2.8


def _range(values: list[float], limits: tuple[float, float] | None, scale: float) -> tuple[float, float]:
    """The value axis: the fixed limits, or the data and reference lines with a 5% margin."""
    if limits is not None:
        return limits[0] * scale, limits[1] * scale
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.05 or 0.5
    return lo - pad, hi + pad


def _value_axis(
    out: list[str],
    ypos: Callable[[float], float],
    lo: float,
    hi: float,
    *,
    top: float,
    bottom: float,
    right: float,
    label: str,
) -> None:
    """Grid lines and labels at the ticks, the axis label, and the left and bottom axis lines."""
    for t in nice_ticks(lo, hi):
        y = ypos(t)
        out.append(f'<path d="M{f(LEFT)} {f(y)} L{f(right)} {f(y)}" stroke="{GRID}" stroke-width="0.6"/>')
        out.append(f'<path d="M{f(LEFT - 3.5)} {f(y)} L{f(LEFT)} {f(y)}" stroke="#000" stroke-width="0.8"/>')
        out.append(text(LEFT - 6, y + 3, f"{t:.4g}", size=8, anchor="end"))
    cy = (top + bottom) / 2
    out.append(
        text(16, cy, short(label, 40), size=8, anchor="middle", extra=f' transform="rotate(-90 16 {f(cy)})"')
    )
    out.append(
        f'<path d="M{f(LEFT)} {f(top)} L{f(LEFT)} {f(bottom)} L{f(right)} {f(bottom)}" '
        'fill="none" stroke="#000" stroke-width="0.8"/>'
    )


def _categories(
    out: list[str], labels: Sequence[str], xpos: Callable[[int], float], base: float, *, angle: int
) -> None:
    """Tick marks and labels under the bottom axis; turned by ``angle`` degrees when there are many."""
    for i, s in enumerate(labels):
        x = xpos(i)
        out.append(f'<path d="M{f(x)} {f(base)} L{f(x)} {f(base + 3.5)}" stroke="#000" stroke-width="0.8"/>')
        if angle:
            turn = f' transform="rotate(-{angle} {f(x)} {f(base + 12)})"'
            out.append(text(x, base + 12, s, size=8, anchor="end", extra=turn))
        else:
            out.append(text(x, base + 14, s, size=8, anchor="middle"))


def series_svg(
    x_labels: Sequence[str], panels: Sequence[SeriesPanel], *, title: str, max_labelled: int
) -> str:
    """Values over time, one panel each sharing the x positions: a line through the defined values
    (broken where one is undefined), a dot and its interval as an error bar at each, and the
    reference lines (dashed, named in the panel's legend)."""
    n, k = len(x_labels), max(len(panels), 1)
    labelled = n <= max_labelled
    rotate = n > 4
    names = [short(x, 18) for x in x_labels]
    bottom = (20.0 + (text_width(names) * 0.72 if rotate else 14.0)) if labelled else 36.0
    height = TOP + k * PANEL_H + (k - 1) * GAP + bottom
    right = WIDTH - RIGHT
    step = (right - LEFT) / max(n, 1)

    def xpos(i: int) -> float:
        return LEFT + (i + 0.5) * step

    out = svg_open(WIDTH, height, title)
    for j, (axis, v, lo, hi, refs, scale, limits) in enumerate(panels):
        top = TOP + j * (PANEL_H + GAP)
        base = top + PANEL_H
        v, lo, hi = v * scale, lo * scale, hi * scale
        vmin, vmax = _range(
            v.tolist() + lo.tolist() + hi.tolist() + [r * scale for r, _ in refs], limits, scale
        )

        def ypos(x: float, top: float = top, vmin: float = vmin, vmax: float = vmax) -> float:
            return top + PANEL_H * (vmax - x) / (vmax - vmin)

        _value_axis(out, ypos, vmin, vmax, top=top, bottom=base, right=right, label=axis)
        out.append(
            f'<clipPath id="plot{j}"><rect x="{f(LEFT)}" y="{f(top)}" width="{f(right - LEFT)}" height="{f(PANEL_H)}"/></clipPath>'
        )
        out.append(f'<g clip-path="url(#plot{j})">')
        for i, (value, _name) in enumerate(refs):
            y = ypos(value * scale)
            dash = DASHES[i % len(DASHES)]
            out.append(
                f'<path d="M{f(LEFT)} {f(y)} L{f(right)} {f(y)}" stroke="{GREY}" stroke-width="1" '
                f'stroke-dasharray="{dash}"/>'
            )
        for i in range(n):
            a, b, c = float(v[i]), float(lo[i]), float(hi[i])
            if math.isnan(a) or math.isnan(b) or math.isnan(c):
                continue  # no interval: no bar
            x, y_lo, y_hi = xpos(i), ypos(min(a, b)), ypos(max(a, c))
            out.append(
                f'<path d="M{f(x - CAP)} {f(y_hi)} L{f(x + CAP)} {f(y_hi)} M{f(x)} {f(y_hi)} L{f(x)} {f(y_lo)} '
                f'M{f(x - CAP)} {f(y_lo)} L{f(x + CAP)} {f(y_lo)}" stroke="{BLUE}" stroke-width="1"/>'
            )
        for run in runs(v):
            out.append(
                polyline([(xpos(i), ypos(float(v[i]))) for i in run], f'stroke="{BLUE}" stroke-width="1"')
            )
        for i, value in enumerate(v.tolist()):
            if not math.isnan(value):
                out.append(
                    f'<circle cx="{f(xpos(i))}" cy="{f(ypos(value))}" r="{f(MARKER_R)}" fill="{BLUE}"/>'
                )
        out.append("</g>")
        if refs:
            items = [("ref", DASHES[i % len(DASHES)], label) for i, (_, label) in enumerate(refs)]
            out += legend(items, right, top - 8)
    base = TOP + k * PANEL_H + (k - 1) * GAP
    if labelled:
        _categories(out, names, xpos, base, angle=45 if rotate else 0)
    else:
        out.append(text((LEFT + right) / 2, base + 20, f"{n} rounds, oldest first", size=8, anchor="middle"))
    out.append("</svg>")
    return "\n".join(o for o in out if o)


def bar_svg(
    categories: Sequence[str],
    series: Sequence[tuple[str, np.ndarray]],
    *,
    title: str,
    axis_label: str,
    scale: float,
) -> str:
    """Vertical bars per category from zero, several series side by side in turn blue, orange and
    green (named in a legend when there are two or more); an undefined value draws no bar."""
    n, k = len(categories), max(len(series), 1)
    names = [short(c, 16) for c in categories]
    rotate = n > 4
    bottom = 20.0 + (text_width(names) * 0.55 if rotate else 14.0)
    width = min(WIDTH, 160.0 + 45.0 * n * k)
    plot_h = 165.0
    height = TOP + plot_h + bottom
    right = width - RIGHT
    step = (right - LEFT) / max(n, 1)
    colours = (BLUE, ORANGE, GREEN)
    scaled = [(name, values * scale) for name, values in series]
    finite = [x for _, values in scaled for x in values.tolist() if not math.isnan(x)]
    vmin, vmax = min([0.0, *finite]), max([0.0, *finite])
    span = vmax - vmin
    if not span > 0:
        vmax = 1.0
    else:
        vmax += 0.05 * span if vmax > 0 else 0.0
        vmin -= 0.05 * span if vmin < 0 else 0.0

    def ypos(x: float) -> float:
        return float(TOP + plot_h * (vmax - x) / (vmax - vmin))

    def xpos(i: int) -> float:
        return LEFT + (i + 0.5) * step

    out = svg_open(width, height, title)
    _value_axis(out, ypos, vmin, vmax, top=TOP, bottom=TOP + plot_h, right=right, label=axis_label)
    bar_w = 0.8 * step / k
    zero = ypos(0.0)
    for s, (_, values) in enumerate(scaled):
        colour = colours[s % len(colours)]
        for i, value in enumerate(values.tolist()):
            if math.isnan(value):
                continue
            x = xpos(i) + (s - (k - 1) / 2) * bar_w - bar_w / 2
            y = ypos(value)
            out.append(
                f'<rect x="{f(x)}" y="{f(min(y, zero))}" width="{f(bar_w)}" height="{f(abs(zero - y))}" fill="{colour}"/>'
            )
    if vmin < 0:
        out.append(f'<path d="M{f(LEFT)} {f(zero)} L{f(right)} {f(zero)}" stroke="#000" stroke-width="0.8"/>')
    if k > 1:
        items = [("box", colours[s % len(colours)], name) for s, (name, _) in enumerate(scaled)]
        out += legend(items, right, TOP - 8)
    _categories(out, names, xpos, TOP + plot_h, angle=30 if rotate else 0)
    out.append("</svg>")
    return "\n".join(o for o in out if o)

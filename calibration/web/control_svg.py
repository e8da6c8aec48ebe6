"""EWMA control charts drawn straight as SVG (see :func:`calibration.web.charts.control_chart`).

A control chart is a few lines, dots and dashed steps per panel, but a criterion figure has ten
panels over thirty rounds, and drawing it with matplotlib took seconds on a cold page (issue 17).
Here each element is written once, in the look of the other charts (colours, fonts, grid,
legend, :mod:`.svg_draw`); :func:`~calibration.web.svg_clean.clean_svg` then labels the root as
for any chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .svg_draw import BLUE, GREY, GRID, ORANGE, f, nice_ticks, polyline, runs, svg_open, text

__all__ = ["control_svg"]

WIDTH = 640.0
LEFT, RIGHT, TOP = 70.0, 16.0, 52.0


def _cross(x: float, y: float, r: float = 5.0) -> str:
    w = r * 0.38
    pts = [
        (-r, -r + w), (-r + w, -r), (0, -w), (r - w, -r), (r, -r + w), (w, 0),
        (r, r - w), (r - w, r), (0, w), (-r + w, r), (-r, r - w), (-w, 0),
    ]  # fmt: skip
    d = "M" + " L".join(f"{f(x + a)} {f(y + b)}" for a, b in pts) + " Z"
    return f'<path d="{d}" fill="{ORANGE}" stroke="#000" stroke-width="0.6"/>'


def control_svg(
    x_labels: Sequence[str],
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    *,
    title: str,
    centre: float,
    max_labelled: int,
) -> str:
    """The chart as an SVG document: per panel ``(title, means, ewma, lower, upper, signals)``."""
    n, k = len(x_labels), max(len(panels), 1)
    labelled = n <= max_labelled
    rotate = n > 4
    short = [x if len(x) <= 18 else x[:17] + "…" for x in x_labels]
    longest = max((len(s) for s in short), default=0)
    bottom = (20.0 + (longest * 5.4 * 0.72 if rotate else 14.0)) if labelled else 36.0
    panel_h = 190.0 if k == 1 else 120.0
    gap = 10.0 if k == 1 else 26.0
    height = TOP + k * panel_h + (k - 1) * gap + bottom
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / max(n, 1)

    def xpos(i: float) -> float:
        return LEFT + (i + 0.5) * step

    out = svg_open(WIDTH, height, title)
    flagged_any = any(bool(p[5].any()) for p in panels)
    legend = [("line", GREY, "centre (the key)"), ("dash", ORANGE, "control limits")]
    legend += [("circle", GREY, "round mean"), ("dot", BLUE, "EWMA")]
    if flagged_any:
        legend.append(("cross", ORANGE, "outside the limits"))
    lx, ly = LEFT, 38.0
    for kind, colour, name in legend:
        if kind in ("line", "dash", "dot"):
            dash = ' stroke-dasharray="3.7 1.6"' if kind == "dash" else ""
            out.append(
                f'<path d="M{f(lx)} {f(ly)} L{f(lx + 16)} {f(ly)}" stroke="{colour}" stroke-width="1.2"{dash}/>'
            )
            if kind == "dot":
                out.append(f'<circle cx="{f(lx + 8)}" cy="{f(ly)}" r="2" fill="{colour}"/>')
        elif kind == "circle":
            out.append(
                f'<circle cx="{f(lx + 8)}" cy="{f(ly)}" r="2.5" fill="none" stroke="{colour}" stroke-width="1"/>'
            )
        else:
            out.append(_cross(lx + 8, ly, 4.0))
        out.append(text(lx + 20, ly + 2.5, name, size=7))
        lx += 28 + len(name) * 4.2
    for j, (name, m, z, lo, hi, flagged) in enumerate(panels):
        y0 = TOP + j * (panel_h + gap)
        finite = [v for arr in (m, z, lo, hi) for v in arr.tolist() if not math.isnan(v)] + [centre]
        vmin, vmax = min(finite), max(finite)
        pad = (vmax - vmin) * 0.08 or 0.5
        vmin, vmax = vmin - pad, vmax + pad

        def ypos(v: float, y0: float = y0, vmin: float = vmin, vmax: float = vmax) -> float:
            return y0 + panel_h * (vmax - v) / (vmax - vmin)

        if k > 1:
            out.append(text(LEFT, y0 - 5, name if len(name) <= 60 else name[:59] + "…", size=8))
        for t in nice_ticks(vmin, vmax):
            y = ypos(t)
            out.append(
                f'<path d="M{f(LEFT)} {f(y)} L{f(WIDTH - RIGHT)} {f(y)}" stroke="{GRID}" stroke-width="0.6"/>'
            )
            out.append(text(LEFT - 5, y + 3, f"{t:.4g}", size=8, anchor="end"))
        ylab = "Levels" if k > 1 else "Signed deviation (levels)"
        cy = y0 + panel_h / 2
        out.append(text(14, cy, ylab, size=8, anchor="middle", extra=f' transform="rotate(-90 14 {f(cy)})"'))
        out.append(
            f'<path d="M{f(LEFT)} {f(y0)} L{f(LEFT)} {f(y0 + panel_h)} L{f(WIDTH - RIGHT)} '
            f'{f(y0 + panel_h)}" fill="none" stroke="#000" stroke-width="0.8"/>'
        )
        yc = ypos(centre)
        out.append(
            f'<path d="M{f(LEFT)} {f(yc)} L{f(WIDTH - RIGHT)} {f(yc)}" stroke="{GREY}" stroke-width="1"/>'
        )
        for limit in (hi, lo):
            for run in runs(limit):
                pts: list[tuple[float, float]] = []
                for i in run:
                    y = ypos(float(limit[i]))
                    pts += [(xpos(i - 0.5), y), (xpos(i + 0.5), y)]
                out.append(polyline(pts, f'stroke="{ORANGE}" stroke-width="1" stroke-dasharray="3.7 1.6"'))
        for i, v in enumerate(m.tolist()):
            if not math.isnan(v):
                out.append(
                    f'<circle cx="{f(xpos(i))}" cy="{f(ypos(v))}" r="2.5" fill="none" stroke="{GREY}" stroke-width="1"/>'
                )
        for run in runs(z):
            out.append(
                polyline([(xpos(i), ypos(float(z[i]))) for i in run], f'stroke="{BLUE}" stroke-width="1.4"')
            )
        for i, v in enumerate(z.tolist()):
            if not math.isnan(v):
                out.append(f'<circle cx="{f(xpos(i))}" cy="{f(ypos(v))}" r="2" fill="{BLUE}"/>')
        for i in np.flatnonzero(flagged & ~np.isnan(z)).tolist():
            out.append(_cross(xpos(i), ypos(float(z[i]))))
    base = TOP + k * panel_h + (k - 1) * gap
    if labelled:
        for i, s in enumerate(short):
            x = xpos(i)
            out.append(
                f'<path d="M{f(x)} {f(base)} L{f(x)} {f(base + 3.5)}" stroke="#000" stroke-width="0.8"/>'
            )
            if rotate:
                out.append(
                    text(
                        x,
                        base + 12,
                        s,
                        size=8,
                        anchor="end",
                        extra=f' transform="rotate(-45 {f(x)} {f(base + 12)})"',
                    )
                )
            else:
                out.append(text(x, base + 14, s, size=8, anchor="middle"))
    else:
        out.append(text(LEFT + plot_w / 2, base + 20, f"{n} rounds, oldest first", size=8, anchor="middle"))
    out.append("</svg>")
    return "\n".join(o for o in out if o)

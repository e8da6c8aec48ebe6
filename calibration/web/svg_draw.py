"""Small helpers for charts written straight as SVG (:mod:`.control_svg`, :mod:`.plot_svg`).

The look follows the matplotlib charts they replaced (issue 17): the same colours, the DejaVu font,
light grid lines at the value ticks, left and bottom axis lines only, a legend above the plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from markupsafe import escape

__all__ = [
    "BLUE",
    "DASHES",
    "FONT",
    "GREEN",
    "GREY",
    "GRID",
    "ORANGE",
    "f",
    "legend",
    "nice_ticks",
    "polyline",
    "runs",
    "short",
    "svg_open",
    "text",
    "text_width",
]

# Colour-blind-safe pair (Okabe & Ito) plus the app's accent, greys for reference and grid lines.
BLUE, ORANGE, GREEN, GREY, GRID = "#0072b2", "#d55e00", "#009e73", "#52606d", "#e4e7eb"
FONT = 'font-family="DejaVu Sans, Bitstream Vera Sans, sans-serif"'
#: Dash patterns of reference lines, in turn: dashed, dotted, dash-dot.
DASHES = ("3.7 1.6", "1 1.65", "6.4 1.6 1 1.6")


def f(x: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def nice_ticks(lo: float, hi: float, want: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) from ``lo`` to ``hi``."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / want
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def text(x: float, y: float, s: str, *, size: float = 9, anchor: str = "start", extra: str = "") -> str:
    """A text element; ``s`` is escaped (names are people's input)."""
    return (
        f'<text x="{f(x)}" y="{f(y)}" font-size="{f(size)}" text-anchor="{anchor}" fill="#000" '
        f"{FONT}{extra}>{escape(s)}</text>"
    )


def text_width(labels: Sequence[str], size: float = 8.0) -> float:
    """Rough width of the longest label (no font metrics: a layout engine is what cost the time)."""
    return max((len(x) for x in labels), default=0) * size * 0.6


def short(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def polyline(points: list[tuple[float, float]], attrs: str) -> str:
    """An open path through the points (empty below two points)."""
    if len(points) < 2:
        return ""
    d = "M" + " L".join(f"{f(x)} {f(y)}" for x, y in points)
    return f'<path d="{d}" fill="none" {attrs}/>'


def runs(values: np.ndarray) -> list[list[int]]:
    """Index runs without NaN (a line breaks where a value is undefined)."""
    out: list[list[int]] = []
    for i, v in enumerate(values.tolist()):
        if math.isnan(v):
            if out and out[-1]:
                out.append([])
        else:
            if not out:
                out.append([])
            out[-1].append(i)
    return [r for r in out if r]


def svg_open(width: float, height: float, title: str) -> list[str]:
    """The root element, a white background and the bold title at the top left."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{f(width)}" height="{f(height)}" '
        f'viewBox="0 0 {f(width)} {f(height)}" version="1.1">',
        f'<rect x="0" y="0" width="{f(width)}" height="{f(height)}" fill="#ffffff"/>',
        text(8, 18, short(title, 90), size=10, extra=' font-weight="bold"'),
    ]


def legend(items: Sequence[tuple[str, str, str]], right: float, y: float) -> list[str]:
    """Legend entries ``(kind, colour or dash pattern, name)`` in one row ending at ``right``: kind
    ``"ref"`` is a grey line with that dash pattern, ``"box"`` a filled square of that colour."""
    widths = [28 + len(name) * 4.2 for _, _, name in items]
    x = right - sum(widths)
    out: list[str] = []
    for (kind, style, name), w in zip(items, widths, strict=True):
        if kind == "ref":
            out.append(
                f'<path d="M{f(x)} {f(y)} L{f(x + 16)} {f(y)}" stroke="{GREY}" stroke-width="1" '
                f'stroke-dasharray="{style}"/>'
            )
        else:
            out.append(f'<rect x="{f(x + 4)}" y="{f(y - 4)}" width="8" height="8" fill="{style}"/>')
        out.append(text(x + 20, y + 2.5, name, size=7))
        x += w
    return out

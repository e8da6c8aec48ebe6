"""The round page's dot plots and heat maps drawn straight as SVG (see :func:`.charts.interval_chart`
and :func:`.charts.heatmap`).

At 300 assessors the round page spent more time drawing its four charts with matplotlib (no longer
used by the service) than computing its statistics (issue 17). Here each element is written once, in
the look of the other charts (colours, fonts, grid, legend, :mod:`.control_svg`); a large heat map is
one PNG image encoded with Pillow from the same viridis colours (a table in ``viridis.txt``), and
:func:`~calibration.web.svg_clean.clean_svg` labels the root as for any chart. Values are in the
data's own units; a percent panel multiplies by 100 for display.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
from markupsafe import escape

from .svg_draw import BLUE, FONT, GREY, GRID
from .svg_draw import f as _f
from .svg_draw import nice_ticks as _nice_ticks
from .svg_draw import text as _text

__all__ = ["IntervalPanel", "heatmap_svg", "interval_svg", "viridis"]

WIDTH = 640.0
RIGHT = 25.0
LIGHT_BLUE = "#9ecae1"
NO_VALUE = "#7b8794"
#: Dash patterns of the first, second and third reference line (dashed, dotted, dash-dot).
DASHES = ("3.7 1.6", "1 1.65", "6.4 1.6 1 1.6")


class _Ref(Protocol):
    @property
    def value(self) -> float: ...
    @property
    def label(self) -> str: ...


class IntervalPanel(Protocol):
    """What :func:`interval_svg` reads of a :class:`.charts.Panel`."""

    @property
    def label(self) -> str: ...
    @property
    def percent(self) -> bool: ...
    @property
    def limits(self) -> tuple[float, float] | None: ...
    @property
    def refs(self) -> Sequence[_Ref]: ...


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(x1: float, y1: float, x2: float, y2: float, attrs: str) -> str:
    return f'<path d="M{_f(x1)} {_f(y1)} L{_f(x2)} {_f(y2)}" {attrs}/>'


def _head(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" version="1.1">',
        f'<rect x="0" y="0" width="{_f(width)}" height="{_f(height)}" fill="#ffffff"/>',
        _text(8, 18, _short(title, 90), size=10, extra=' font-weight="bold"'),
    ]


def _range(arrays: Sequence[np.ndarray], extra: Sequence[float]) -> tuple[float, float]:
    """The value axis of a panel without fixed limits: the data and the reference lines, 5% margin."""
    finite = [a[np.isfinite(a)] for a in arrays]
    values = np.concatenate([*finite, np.array(extra, dtype=float)])
    if not values.size:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.05 or 0.5
    return lo - pad, hi + pad


def _panel_axis(
    panel: IntervalPanel, v: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[float, list[float], float, float]:
    """A panel's scale (100 for shares shown as percentages), its reference lines on that scale, and
    its value axis: the fixed limits when it has them, else the data and the reference lines."""
    scale = 100.0 if panel.percent else 1.0
    refs = [r.value * scale for r in panel.refs]
    if panel.limits:
        return scale, refs, panel.limits[0] * scale, panel.limits[1] * scale
    return scale, refs, *_range([v * scale, lo * scale, hi * scale], refs)


def _legend(refs: Sequence[_Ref], right: float, y: float) -> list[str]:
    """The reference lines' legend above a panel, ending at its right edge."""
    out: list[str] = []
    x = right
    for i in reversed(range(len(refs))):
        name = _short(refs[i].label, 40)
        x -= 22 + len(name) * 4.2
        dash = DASHES[i % 3]
        out.append(_line(x, y, x + 16, y, f'stroke="{GREY}" stroke-width="1" stroke-dasharray="{dash}"'))
        out.append(_text(x + 20, y + 2.5, name, size=7))
    return out


def interval_svg(
    names: Sequence[str],
    panels: Sequence[tuple[IntervalPanel, np.ndarray, np.ndarray, np.ndarray]],
    *,
    title: str,
    max_labelled: int,
) -> str:
    """One dot with its interval per row and panel (NaN: undefined). Up to ``max_labelled`` rows run
    down the page with their names, panels side by side; more become strips across, one panel under
    another, each panel's intervals one path."""
    if len(names) > max_labelled:
        return _strips(len(names), panels, title)
    n, k = len(names), max(len(panels), 1)
    short = [_short(x, 32) for x in names]
    left = min(30.0 + max((len(s) for s in short), default=0) * 5.4, 0.6 * WIDTH)
    top, bottom, gap = 55.0, 50.0, 12.0
    height = 110.0 + 22.0 * max(n, 1)
    plot_h = height - top - bottom
    row_h = plot_h / max(n, 1)
    panel_w = (WIDTH - left - RIGHT - (k - 1) * gap) / k
    out = _head(WIDTH, height, title)

    def ypos(i: int) -> float:
        return top + (i + 0.5) * row_h

    base = top + plot_h
    for j, (panel, v, lo, hi) in enumerate(panels):
        x0 = left + j * (panel_w + gap)
        scale, refs, vmin, vmax = _panel_axis(panel, v, lo, hi)

        def xpos(value: float, x0: float = x0, vmin: float = vmin, vmax: float = vmax) -> float:
            return x0 + panel_w * (min(max(value, vmin), vmax) - vmin) / (vmax - vmin)

        for t in _nice_ticks(vmin, vmax):
            x = xpos(t)
            out.append(_line(x, top, x, base, f'stroke="{GRID}" stroke-width="0.6"'))
            out.append(_line(x, base, x, base + 3.5, 'stroke="#000" stroke-width="0.8"'))
            out.append(_text(x, base + 13, f"{t:.4g}", size=8, anchor="middle"))
        out.append(_text(x0 + panel_w / 2, base + 30, panel.label, size=9, anchor="middle"))
        out.append(
            f'<path d="M{_f(x0)} {_f(top)} L{_f(x0)} {_f(base)} L{_f(x0 + panel_w)} {_f(base)}" '
            'fill="none" stroke="#000" stroke-width="0.8"/>'
        )
        for i, ref in enumerate(refs):
            x = xpos(ref)
            dash = DASHES[i % 3]
            out.append(_line(x, top, x, base, f'stroke="{GREY}" stroke-width="1" stroke-dasharray="{dash}"'))
        out += _legend(panel.refs, x0 + panel_w, top - 10)
        for i, (value, low, high) in enumerate(
            zip(v.tolist(), (lo * scale).tolist(), (hi * scale).tolist(), strict=True)
        ):
            y = ypos(i)
            if math.isnan(value):
                out.append(
                    f'<text x="{_f(x0 + 4)}" y="{_f(y + 2.5)}" font-size="7" fill="{NO_VALUE}" {FONT}>no value</text>'
                )
                continue
            if not (math.isnan(low) or math.isnan(high)):
                a, b = xpos(low), xpos(high)
                out.append(
                    f'<path d="M{_f(a)} {_f(y)} L{_f(b)} {_f(y)} M{_f(a)} {_f(y - 2.8)} L{_f(a)} {_f(y + 2.8)} '
                    f'M{_f(b)} {_f(y - 2.8)} L{_f(b)} {_f(y + 2.8)}" stroke="{BLUE}" stroke-width="1.2"/>'
                )
            out.append(f'<circle cx="{_f(xpos(value * scale))}" cy="{_f(y)}" r="3" fill="{BLUE}"/>')
    for i, s in enumerate(short):
        y = ypos(i)
        out.append(_line(left - 3.5, y, left, y, 'stroke="#000" stroke-width="0.8"'))
        out.append(_text(left - 6, y + 3, s, size=8, anchor="end"))
    out.append("</svg>")
    return "\n".join(o for o in out if o)


def _strips(
    n: int, panels: Sequence[tuple[IntervalPanel, np.ndarray, np.ndarray, np.ndarray]], title: str
) -> str:
    """Many rows: x is the row's place in the table, y its value; one panel under another."""
    k = max(len(panels), 1)
    left, top, bottom, hspace = 90.0, 45.0, 35.0, 0.35
    height = 60.0 + 200.0 * k
    panel_h = (height - top - bottom) / (k + (k - 1) * hspace)
    plot_w = WIDTH - left - RIGHT
    out = _head(WIDTH, height, title)
    xs = [left + plot_w * (i + 1) / (n + 1) for i in range(n)]
    for j, (panel, v, lo, hi) in enumerate(panels):
        y0 = top + j * panel_h * (1 + hspace)
        scale, refs, vmin, vmax = _panel_axis(panel, v, lo, hi)

        def ypos(value: float, y0: float = y0, vmin: float = vmin, vmax: float = vmax) -> float:
            return y0 + panel_h * (vmax - min(max(value, vmin), vmax)) / (vmax - vmin)

        for t in _nice_ticks(vmin, vmax):
            y = ypos(t)
            out.append(_line(left, y, WIDTH - RIGHT, y, f'stroke="{GRID}" stroke-width="0.6"'))
            out.append(_text(left - 5, y + 3, f"{t:.4g}", size=8, anchor="end"))
        cy = y0 + panel_h / 2
        out.append(
            _text(22, cy, panel.label, size=8, anchor="middle", extra=f' transform="rotate(-90 22 {_f(cy)})"')
        )
        out.append(
            f'<path d="M{_f(left)} {_f(y0)} L{_f(left)} {_f(y0 + panel_h)} L{_f(WIDTH - RIGHT)} '
            f'{_f(y0 + panel_h)}" fill="none" stroke="#000" stroke-width="0.8"/>'
        )
        for i, ref in enumerate(refs):
            y = ypos(ref)
            dash = DASHES[i % 3]
            out.append(
                _line(
                    left, y, WIDTH - RIGHT, y, f'stroke="{GREY}" stroke-width="1" stroke-dasharray="{dash}"'
                )
            )
        out += _legend(panel.refs, WIDTH - RIGHT, y0 - 8)
        values, lows, highs = (v * scale).tolist(), (lo * scale).tolist(), (hi * scale).tolist()
        # The intervals as one path (one element for the whole panel), then the dots over them.
        d = " ".join(
            f"M{_f(xs[i])} {_f(ypos(lows[i]))} L{_f(xs[i])} {_f(ypos(highs[i]))}"
            for i in range(n)
            if not (math.isnan(values[i]) or math.isnan(lows[i]) or math.isnan(highs[i]))
        )
        if d:
            out.append(f'<path d="{d}" fill="none" stroke="{LIGHT_BLUE}" stroke-width="1"/>')
        for i, value in enumerate(values):
            if not math.isnan(value):
                out.append(f'<circle cx="{_f(xs[i])}" cy="{_f(ypos(value))}" r="1.6" fill="{BLUE}"/>')
    base = height - bottom
    out.append(
        _text(left + plot_w / 2, base + 22, f"{n} rows, in the order of the table", size=9, anchor="middle")
    )
    out.append("</svg>")
    return "\n".join(o for o in out if o)


# ------------------------------------------------------------------------------------- heat map
#: The viridis colours, one RGB hex triple per line (CC0, see the file's header).
VIRIDIS_FILE = Path(__file__).with_name("viridis.txt")


@cache
def viridis() -> np.ndarray:
    """The 256 viridis colours as uint8 RGB rows (read once from :data:`VIRIDIS_FILE`)."""
    rows = [
        line.strip()
        for line in VIRIDIS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    table = np.frombuffer(bytes.fromhex("".join(rows)), dtype=np.uint8).reshape(-1, 3)
    if table.shape != (256, 3):
        raise ValueError(f"{VIRIDIS_FILE.name} holds {table.shape[0]} colours, not 256")
    return table  # read-only (a view of immutable bytes): every chart shares it


def colour_index(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Each value's place in the 256 colours, as a normalise-then-look-up colour map does (values out of
    the limits take the end colours; equal limits take the first)."""
    span = hi - lo
    x = (m - lo) / span if span > 0 else np.zeros_like(m)
    index: np.ndarray = np.clip(np.floor(np.nan_to_num(x, nan=0.0) * 256), 0, 255).astype(np.intp)
    return index


def _hex(rgb: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb.tolist())


def _png(m: np.ndarray, lo: float, hi: float) -> str:
    """The matrix as a PNG data URI, one pixel per cell; undefined cells transparent."""
    from PIL import Image

    rgba = np.empty((*m.shape, 4), dtype=np.uint8)
    rgba[..., :3] = viridis()[colour_index(m, lo, hi)]
    rgba[..., 3] = np.where(np.isfinite(m), 255, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def heatmap_svg(
    m: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    limits: tuple[float, float] | None,
    annotate: str | None,
    max_labelled: int,
) -> str:
    """A colour-coded matrix with a colour bar (NaN cells blank). Up to ``max_labelled`` rows and
    columns: one rect per cell, rows and columns named, values written in up to 16; larger: one image."""
    n_r, n_c = m.shape
    big = max(n_r, n_c) > max_labelled
    finite = bool(np.isfinite(m).any())
    lo, hi = limits or ((float(np.nanmin(m)), float(np.nanmax(m))) if finite else (0.0, 1.0))
    row_text, col_text = [_short(x, 24) for x in rows], [_short(x, 14) for x in cols]
    if big:
        left, bottom, w, h = 55.0, 45.0, 500.0, 500.0
    else:
        cell = min(42.0, 500.0 / max(n_r, n_c, 1))
        left = 45.0 + max((len(s) for s in row_text), default=0) * 4.9
        bottom = 40.0 + max((len(s) for s in col_text), default=0) * 4.9 * 0.72
        w, h = cell * n_c, cell * n_r
    top, right = 45.0, 90.0
    width, height = left + w + right, bottom + h + top
    out = _head(width, height, title)
    colours = viridis()
    if big:
        out.append(
            f'<image x="{_f(left)}" y="{_f(top)}" width="{_f(w)}" height="{_f(h)}" preserveAspectRatio="none" '
            f'image-rendering="optimizeSpeed" xlink:href="{_png(m, lo, hi)}"/>'
        )
    else:
        cw, ch = w / max(n_c, 1), h / max(n_r, 1)
        index = colour_index(m, lo, hi)
        mid = (lo + hi) / 2
        write = bool(annotate) and max(n_r, n_c) <= 16
        for (i, j), val in np.ndenumerate(m):
            if not math.isfinite(val):
                continue
            x, y = left + j * cw, top + i * ch
            out.append(
                f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(cw)}" height="{_f(ch)}" '
                f'fill="{_hex(colours[index[i, j]])}" stroke="#ffffff" stroke-width="0.7"/>'
            )
            if write and annotate:
                colour = "#000" if val > mid else "#fff"
                out.append(
                    f'<text x="{_f(x + cw / 2)}" y="{_f(y + ch / 2 + 2.5)}" font-size="7" text-anchor="middle" '
                    f'fill="{colour}" {FONT}>{escape(annotate.format(val))}</text>'
                )
        for i, s in enumerate(row_text):
            y = top + (i + 0.5) * ch
            out.append(_line(left - 3.5, y, left, y, 'stroke="#000" stroke-width="0.8"'))
            out.append(_text(left - 6, y + 3, s, size=8, anchor="end"))
        for j, s in enumerate(col_text):
            x = left + (j + 0.5) * cw
            out.append(_line(x, top + h, x, top + h + 3.5, 'stroke="#000" stroke-width="0.8"'))
            out.append(
                _text(
                    x,
                    top + h + 12,
                    s,
                    size=8,
                    anchor="end",
                    extra=f' transform="rotate(-45 {_f(x)} {_f(top + h + 12)})"',
                )
            )
    out.append(_text(left + w / 2, height - 10, xlabel, size=9, anchor="middle"))
    cy = top + h / 2
    out.append(_text(12, cy, ylabel, size=9, anchor="middle", extra=f' transform="rotate(-90 12 {_f(cy)})"'))
    out += _colour_bar(left + w + 15, top, h, lo, hi)
    out.append("</svg>")
    return "\n".join(o for o in out if o)


def _colour_bar(x: float, top: float, h: float, lo: float, hi: float) -> list[str]:
    """A vertical gradient of the colours from ``lo`` (bottom) to ``hi`` (top), with ticks."""
    colours = viridis()
    stops = "".join(
        f'<stop offset="{_f(s / 16)}" stop-color="{_hex(colours[min(round(s * 16), 255)])}"/>'
        for s in range(17)
    )
    out = [
        f'<defs><linearGradient id="bar" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>',
        f'<rect x="{_f(x)}" y="{_f(top)}" width="14" height="{_f(h)}" fill="url(#bar)"/>',
    ]
    span = hi - lo
    for t in _nice_ticks(lo, hi) if span > 0 else [lo]:
        y = top + h * (1 - ((t - lo) / span if span > 0 else 0.0))
        out.append(_line(x + 14, y, x + 17.5, y, 'stroke="#000" stroke-width="0.8"'))
        out.append(_text(x + 20, y + 3, f"{t:.4g}", size=8))
    return out

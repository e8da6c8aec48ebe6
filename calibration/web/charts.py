"""Server-side charts: matplotlib figures rendered to inline SVG that passes the page's CSP.

The only module that imports matplotlib. Nothing is configured at import time: the first chart
loads matplotlib (figures are created without ``pyplot``, each on its own Agg canvas, so no global
backend is chosen), quiets its font-cache log lines, and renders under a lock with fixed rc
settings (text kept as text, no mathtext, a stable id salt).

The SVG is made safe to inline under ``style-src 'self'``: matplotlib's ``<style>`` element and
every ``style="..."`` attribute become SVG presentation attributes, ids get a per-chart prefix (so
two charts on one page never share an id), and the root carries ``role="img"``, an ``aria-label``
and a ``<title>``. Each chart's data table is rendered by the page beside it.

Rendered charts are kept in a small in-process LRU keyed by a digest of their inputs, and on disk
(:mod:`calibration.services.report_store`) so that a restarted process does not draw them again: neither
decides anything, they only save re-drawing an identical picture.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from ..services import report_store
from . import svg_clean
from .control_svg import control_svg
from .plot_svg import bar_svg, series_svg
from .round_svg import heatmap_svg, interval_svg
from .svg_clean import clean_svg

__all__ = [
    "Chart",
    "ControlPanel",
    "Panel",
    "RefLine",
    "bar_chart",
    "clear_cache",
    "control_chart",
    "heatmap",
    "interval_chart",
    "series_chart",
]

# Colour-blind-safe pair (Okabe & Ito) plus the app's accent, and greys for reference lines.
BLUE, ORANGE, GREEN, GREY = "#0072b2", "#d55e00", "#009e73", "#52606d"
#: Above this many rows a chart drops its per-row tick labels (the table beside it names every row).
MAX_LABELLED_ROWS = 40

_RC = {
    "svg.fonttype": "none",  # real text: selectable, small, read by the browser's own fonts
    "svg.hashsalt": "calibration",  # deterministic clip-path ids
    "text.parse_math": False,  # a "$" in a name is a dollar sign, not mathtext
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: no font look-up warnings
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}
_QUIET = ("Matplotlib is building the font cache", "created a temporary cache directory", "findfont:")
_lock = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """An inline SVG (safe markup) and its text alternative."""

    svg: Markup
    label: str

    def __html__(self) -> str:
        return str(self.svg)


@dataclass(frozen=True)
class RefLine:
    """A reference line (a threshold) drawn across a chart, with its legend text."""

    value: float
    label: str


@dataclass(frozen=True)
class Panel:
    """One panel: a value and its interval per row or per x position (None: undefined, not drawn).

    ``label`` names the value axis; ``percent`` shows shares (0..1) as percentages; ``limits`` fixes
    the value axis (in the data's own units).
    """

    label: str
    values: Sequence[float | None]
    lows: Sequence[float | None]
    highs: Sequence[float | None]
    refs: Sequence[RefLine] = ()
    percent: bool = False
    limits: tuple[float, float] | None = None


# ------------------------------------------------------------------------------------ plumbing
class _QuietFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(part in message for part in _QUIET)


@cache
def _mpl() -> Any:
    """Load matplotlib on first use (its import costs a few hundred ms), with its log noise filtered."""
    quiet = _QuietFilter()
    for name in ("matplotlib", "matplotlib.font_manager"):
        logging.getLogger(name).addFilter(quiet)
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg, rc_context


def _figure(width: float, height: float) -> Any:
    figure_cls, canvas_cls, _ = _mpl()
    fig = figure_cls(figsize=(width, height), dpi=100)
    canvas_cls(fig)  # an Agg canvas of its own: no global backend, no pyplot state
    return fig


def warm_up() -> None:
    """Load matplotlib and its fonts now, by drawing a small throw-away chart (see ``web/warmup.py``)."""

    def draw() -> Any:
        fig = _figure(2.0, 1.2)
        ax = fig.add_axes((0.3, 0.3, 0.6, 0.5))
        ax.errorbar([0.2, 0.6], [0, 1], xerr=[[0.1, 0.1], [0.1, 0.2]], fmt="o")
        ax.set_yticks([0, 1], labels=["warm", "up"])
        ax.set_title("warm-up")
        return fig

    with _lock:
        _render(draw, "warm-up", prefix="warm")


def _text_width(labels: Sequence[str], size: float = 9.0) -> float:
    """Rough width in inches of the longest label (a layout engine would draw every figure twice)."""
    longest = max((len(x) for x in labels), default=0)
    return longest * size * 0.6 / 72.0


def _margins(fig: Any, *, left: float, right: float = 0.25, top: float = 0.45, bottom: float = 0.5) -> None:
    """Fixed margins in inches (axes fill the rest)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=min(left / width, 0.6),
        right=1 - right / width,
        top=1 - top / height,
        bottom=min(bottom / height, 0.6),
        hspace=0.35,
        wspace=0.08,
    )


def _title(fig: Any, title: str) -> None:
    fig.text(
        0.01,
        1 - 0.08 / fig.get_size_inches()[1],
        _short(title, 90),
        ha="left",
        va="top",
        fontweight="bold",
        fontsize=10,
    )


def _legend(ax: Any) -> None:
    """Legend above the plot on the right: never over the data, no "best place" search."""
    ax.legend(
        loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, ncols=3, borderaxespad=0.1
    )


_CACHE: OrderedDict[str, Chart] = OrderedDict()
_CACHE_SIZE = 256


def code_version() -> str:
    """The version stored charts are filed under: this module's, the SVG drawing's and the SVG
    clean-up's source."""
    drawn = [
        str(Path(__file__).with_name(n))
        for n in ("control_svg.py", "plot_svg.py", "round_svg.py", "svg_draw.py")
    ]
    return report_store.code_version(__file__, svg_clean.__file__, *drawn)


def clear_cache() -> None:
    """Forget rendered charts, in memory and on disk (the benchmarks use it to time a cold page)."""
    with _lock:
        _CACHE.clear()
        report_store.clear()


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(repr((part.shape, part.dtype.str)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def _cached(name: str, label: str, draw: Callable[[], Any], *key: Any) -> Chart:
    digest = _digest(name, label, *key)
    with _lock:
        hit = _CACHE.get(digest)
        if hit is not None:
            _CACHE.move_to_end(digest)
            return hit
        version = code_version()
        stored = report_store.load("chart", digest, version=version)
        if isinstance(stored, str):
            chart = Chart(Markup(stored), label)
        else:
            chart = Chart(_render(draw, label, prefix=f"c{digest[:10]}"), label)
            report_store.save("chart", digest, str(chart.svg), version=version)
        _CACHE[digest] = chart
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return chart


def _render(draw: Callable[[], Any], label: str, *, prefix: str) -> Markup:
    """Draw and save as SVG (caller holds the lock: rc settings and warning filters are global); a
    ``draw`` may also return the SVG itself (:mod:`.control_svg`)."""
    _, _, rc_context = _mpl()
    buf = io.StringIO()
    with rc_context(_RC), warnings.catch_warnings():
        # Layout and missing-glyph notices (a name in a script DejaVu lacks) are cosmetic here.
        warnings.simplefilter("ignore")
        fig = draw()
        if isinstance(fig, str):
            return Markup(clean_svg(fig, label, prefix))
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return Markup(clean_svg(buf.getvalue(), label, prefix))


def _num(x: Any) -> float:
    """A float for plotting; None (undefined) becomes NaN, which matplotlib leaves out."""
    return math.nan if x is None else float(x)


def _arr(xs: Sequence[Any]) -> np.ndarray:
    return np.array([_num(x) for x in xs], dtype=float)


def _errors(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """Asymmetric error bar lengths; NaN where the interval is missing (no bar drawn)."""
    return np.vstack([values - lows, highs - values]).clip(min=0)


def _refs(ax: Any, refs: Sequence[RefLine], *, vertical: bool, scale: float) -> None:
    styles = ("--", ":", "-.")
    for i, ref in enumerate(refs):
        draw = ax.axvline if vertical else ax.axhline
        draw(ref.value * scale, color=GREY, linestyle=styles[i % 3], linewidth=1, label=ref.label)


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -------------------------------------------------------------------------------------- charts
def interval_chart(labels: Sequence[str], panels: Sequence[Panel], *, title: str, label: str) -> Chart:
    """One dot with its 95% interval per row (an assessor, a criterion), one panel per statistic
    side by side; undefined rows stay empty.

    Up to :data:`MAX_LABELLED_ROWS` rows are drawn horizontally with their names; more become
    compact strips in table order, without names (the table beside the chart names every row).
    """
    names = [str(x) for x in labels]
    data = [(p, _arr(p.values), _arr(p.lows), _arr(p.highs)) for p in panels]

    def draw() -> str:
        return interval_svg(names, data, title=title, max_labelled=MAX_LABELLED_ROWS)

    key = [(p.label, p.refs, p.percent, p.limits, v, lo, hi) for p, v, lo, hi in data]
    return _cached("interval-svg", label, draw, names, title, key)


def series_chart(x_labels: Sequence[str], panels: Sequence[Panel], *, title: str, label: str) -> Chart:
    """Values over time (one x position per round) with 95% intervals, one panel per statistic
    (drawn straight as SVG: :func:`.plot_svg.series_svg`)."""
    xs = [str(x) for x in x_labels]
    data = [(p, _arr(p.values), _arr(p.lows), _arr(p.highs)) for p in panels]

    def draw() -> str:
        svg_panels = [
            (
                p.label,
                v,
                lo,
                hi,
                [(r.value, r.label) for r in p.refs],
                100.0 if p.percent else 1.0,
                p.limits,
            )
            for p, v, lo, hi in data
        ]
        return series_svg(xs, svg_panels, title=title, max_labelled=MAX_LABELLED_ROWS)

    key = [(p.label, p.refs, p.percent, p.limits, v, lo, hi) for p, v, lo, hi in data]
    return _cached("series-svg", label, draw, xs, title, key)


def heatmap(
    matrix: Any,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    label: str,
    limits: tuple[float, float] | None = None,
    annotate: str | None = None,
) -> Chart:
    """A colour-coded matrix (NaN cells left blank); ``annotate`` is a format such as ``"{:.2f}"``.

    Small matrices are drawn as vector cells with their values written in; large ones as one
    raster image without row names (the page offers the full matrix as CSV).
    """
    m = np.array(matrix, dtype=float)
    rows, cols = [str(x) for x in row_labels], [str(x) for x in col_labels]

    def draw() -> str:
        return heatmap_svg(
            m,
            rows,
            cols,
            title=title,
            xlabel=xlabel,
            ylabel=ylabel,
            limits=limits,
            annotate=annotate,
            max_labelled=MAX_LABELLED_ROWS,
        )

    return _cached("heatmap-svg", label, draw, m, rows, cols, title, xlabel, ylabel, limits, annotate)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    axis_label: str,
    label: str,
    percent: bool = False,
) -> Chart:
    """Vertical bars per category; several series are drawn side by side (e.g. assessor vs key)
    (drawn straight as SVG: :func:`.plot_svg.bar_svg`)."""
    cats = [str(c) for c in categories]
    data = [(name, _arr(values)) for name, values in series]

    def draw() -> str:
        scale = 100.0 if percent else 1.0
        return bar_svg(cats, data, title=title, axis_label=axis_label, scale=scale)

    return _cached("bars-svg", label, draw, cats, title, axis_label, percent, [(nm, v) for nm, v in data])


@dataclass(frozen=True)
class ControlPanel:
    """One EWMA control chart's series (see :func:`control_chart`); None where undefined."""

    title: str
    means: Sequence[float | None]
    ewma: Sequence[float | None]
    lower: Sequence[float | None]
    upper: Sequence[float | None]
    signals: Sequence[bool]


def control_chart(
    x_labels: Sequence[str],
    panels: Sequence[ControlPanel],
    *,
    title: str,
    label: str,
    centre: float = 0.0,
) -> Chart:
    """EWMA control charts over rounds, one panel each (e.g. overall, or one per criterion, drawn in
    one figure): the raw per-round means (open circles), the EWMA (line with dots), the centre line
    and the control limits (dashed steps), and the rounds where the EWMA signals marked with a cross
    (shape as well as colour, so it reads without colour)."""
    xs = [str(x) for x in x_labels]
    data = [
        (p.title, _arr(p.means), _arr(p.ewma), _arr(p.lower), _arr(p.upper), np.array(p.signals, dtype=bool))
        for p in panels
    ]

    def draw() -> str:
        return control_svg(xs, data, title=title, centre=centre, max_labelled=MAX_LABELLED_ROWS)

    key = [(name, m, z, lo, hi, f) for name, m, z, lo, hi, f in data]
    return _cached("control-svg", label, draw, xs, title, centre, key)

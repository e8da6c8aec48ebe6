"""Server-side charts: inline SVG that passes the page's CSP, written straight as markup.

Each chart kind has its writer (:mod:`.control_svg`, :mod:`.plot_svg`, :mod:`.round_svg`, with the
shared look in :mod:`.svg_draw`); no plotting library is involved. This module dispatches to them and
makes the result safe to inline (:func:`~.svg_clean.clean_svg`): ids get a per-chart prefix (so two
charts on one page never share an id), and the root carries ``role="img"``, an ``aria-label`` and a
``<title>``. Each chart's data table is rendered by the page beside it.

Rendered charts are kept in a small in-process LRU keyed by a digest of their inputs, and on disk
(:mod:`calibration.services.report_store`) so that a restarted process does not draw them again: neither
decides anything, they only save re-drawing an identical picture.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from ..services import report_store
from . import round_svg
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
    "code_version",
    "control_chart",
    "heatmap",
    "interval_chart",
    "series_chart",
]

#: Above this many rows a chart drops its per-row tick labels (the table beside it names every row).
MAX_LABELLED_ROWS = 40
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
_CACHE: OrderedDict[str, Chart] = OrderedDict()
_CACHE_SIZE = 256


#: Everything that decides how a chart looks: stored charts are filed under a digest of these files, so
#: a change to any of them re-draws them (``tests/web/test_charts_runtime.py`` checks the list is whole).
CHART_SOURCES: tuple[Path, ...] = (
    *(Path(__file__).with_name(f"{name}.py") for name in ("charts", "svg_clean", "svg_draw")),
    *(Path(__file__).with_name(f"{name}_svg.py") for name in ("control", "plot", "round")),
    round_svg.VIRIDIS_FILE,
)


def code_version() -> str:
    """The version stored charts are filed under: the statistics' and services' source (see
    :func:`.report_store.code_version`) and :data:`CHART_SOURCES`."""
    return report_store.code_version(*map(str, CHART_SOURCES))


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


def _cached(name: str, label: str, draw: Callable[[], str], *key: Any) -> Chart:
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


def _render(draw: Callable[[], str], label: str, *, prefix: str) -> Markup:
    """Draw the SVG and make it safe to inline (labelled root, ids under ``prefix``)."""
    return Markup(clean_svg(draw(), label, prefix))


def warm_up() -> list[Markup]:
    """Pay now what a process's first charts would: one small throw-away chart of each kind through
    the SVG writers, neither cached nor stored (see ``web/warmup.py``); returns them.

    Most of it is the heat map above :data:`MAX_LABELLED_ROWS` rows, one PNG image: loading Pillow
    and its PNG encoder (about 20 ms here, against under 1 ms for a later one); the rest is the
    viridis table and each writer's first call (a few ms in all)."""
    n = MAX_LABELLED_ROWS + 1
    rows = [f"row {i}" for i in range(n)]
    values = np.linspace(0.0, 1.0, n)
    lows, highs = values - 0.1, values + 0.1
    panel = Panel("warm-up", [], [], [], refs=(RefLine(0.5, "middle"),))
    ewma = np.full(n, 0.5)
    top = MAX_LABELLED_ROWS
    few = [(panel, values[:3], lows[:3], highs[:3])]
    drawings: list[Callable[[], str]] = [
        lambda: interval_svg(rows[:3], few, title="warm-up", max_labelled=top),
        lambda: interval_svg(rows, [(panel, values, lows, highs)], title="warm-up", max_labelled=top),
        lambda: series_svg(
            rows,
            [("s", values, lows, highs, [(0.5, "middle")], 1.0, None)],
            title="warm-up",
            max_labelled=top,
        ),
        lambda: bar_svg(rows[:3], [("s", values[:3])], title="warm-up", axis_label="s", scale=100.0),
        lambda: control_svg(
            rows,
            [("s", values, ewma, ewma - 1, ewma + 1, values > 0.9)],
            title="warm-up",
            centre=0.5,
            max_labelled=top,
        ),
        *(
            lambda m=m: heatmap_svg(
                m,
                rows[: len(m)],
                rows[: len(m)],
                title="warm-up",
                xlabel="x",
                ylabel="y",
                limits=None,
                annotate="{:.1f}",
                max_labelled=top,
            )
            for m in (np.eye(3), np.eye(n))
        ),
    ]
    with _lock:
        return [_render(draw, "warm-up", prefix=f"warm{i}") for i, draw in enumerate(drawings)]


def _num(x: Any) -> float:
    """A float for plotting; None (undefined) becomes NaN, which the SVG writers leave out."""
    return math.nan if x is None else float(x)


def _arr(xs: Sequence[Any]) -> np.ndarray:
    return np.array([_num(x) for x in xs], dtype=float)


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

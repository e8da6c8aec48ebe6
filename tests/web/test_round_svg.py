"""The round page's dot plots and heat maps drawn as SVG (issue 17): every value drawn where it says,
the reference lines drawn, undefined rows and cells left out, the colours matplotlib's viridis, and
the markup as safe to inline as any chart's."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from calibration.web import charts
from calibration.web.control_svg import BLUE, GREY
from calibration.web.round_svg import LIGHT_BLUE, colour_index, viridis

DOT = rf'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="[\d.]+" fill="{BLUE}"/>'
REF = (
    rf'<path d="M([-\d.]+) ([-\d.]+) L([-\d.]+) ([-\d.]+)" stroke="{GREY}" stroke-width="1" stroke-dasharray='
)


def _safe(svg: str) -> None:
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg


def test_labelled_rows_dots_intervals_refs_and_gaps() -> None:
    charts.clear_cache()
    exact = [0.5, None, 0.9, 0.2]
    chart = charts.interval_chart(
        ["Ann & Bo", "<script>x</script>", "Zed", "Yu"],
        [
            charts.Panel(
                "Exact agreement (%)",
                exact,
                [0.3, None, 0.7, 0.1],
                [0.7, None, 1.0, 0.35],
                refs=(charts.RefLine(0.7, "pass rule 70%"),),
                percent=True,
                limits=(0.0, 1.0),
            ),
            charts.Panel(
                "Signed deviation (levels)",
                [0.2, None, -0.3, 0.0],
                [0.0, None, -0.6, -0.2],
                [0.4, None, 0.1, 0.2],
                refs=(charts.RefLine(0.0, "the key"), charts.RefLine(0.25, "a <second> line")),
            ),
        ],
        title="Accuracy & more",
        label="Two dot plots",
    )
    svg = str(chart.svg)
    _safe(svg)
    assert "Ann &amp; Bo" in svg and "&lt;script&gt;x&lt;/script&gt;" in svg and "Accuracy &amp; more" in svg
    assert "a &lt;second&gt; line" in svg and ">pass rule 70%<" in svg and ">the key<" in svg
    assert svg.count(">no value<") == 2  # the undefined row, once per panel
    dots = [(float(x), float(y)) for x, y in re.findall(DOT, svg)]
    assert len(dots) == 2 * 3
    first = dots[:3]  # the percent panel, rows top to bottom
    ys = [y for _, y in first]
    assert ys == sorted(ys) and ys[1] - ys[0] == pytest.approx(2 * (ys[2] - ys[1]), abs=0.02)  # row 1 empty
    xs = [x for x, _ in first]
    defined = [v for v in exact if v is not None]
    slope = (xs[1] - xs[0]) / (defined[1] - defined[0])
    assert slope > 0 and xs == pytest.approx([xs[0] + slope * (v - defined[0]) for v in defined], abs=0.02)
    # The pass rule's line stands at 70% on the same axis; three reference lines in all (and the legends').
    refs = re.findall(REF, svg)
    assert len(refs) == 3 * 2
    ref_x = float(refs[0][0])
    assert ref_x == pytest.approx(xs[0] + slope * (0.7 - defined[0]), abs=0.02)
    # An interval spans its low to its high at its dot's row.
    row0 = re.search(
        rf'<path d="M([-\d.]+) {first[0][1]:g} L([-\d.]+) {first[0][1]:g} M[^"]*" stroke="{BLUE}"', svg
    )
    assert row0 is not None
    assert float(row0.group(1)) == pytest.approx(xs[0] + slope * (0.3 - 0.5), abs=0.02)
    assert float(row0.group(2)) == pytest.approx(xs[0] + slope * (0.7 - 0.5), abs=0.02)


def test_many_rows_are_strips_with_one_interval_path() -> None:
    charts.clear_cache()
    n = charts.MAX_LABELLED_ROWS + 20
    exact = [i / n for i in range(n)]
    values: list[float | None] = [None if i == 5 else v for i, v in enumerate(exact)]
    chart = charts.interval_chart(
        [f"Assessor {i}" for i in range(n)],
        [
            charts.Panel(
                "Exact (%)",
                values,
                [None if v is None else max(v - 0.1, 0) for v in values],
                [None if v is None else min(v + 0.1, 1) for v in values],
                refs=(charts.RefLine(0.7, "pass rule 70%"),),
                percent=True,
                limits=(0.0, 1.0),
            )
        ],
        title="many",
        label="strips",
    )
    svg = str(chart.svg)
    _safe(svg)
    assert f"{n} rows, in the order of the table" in svg and ">Assessor 3<" not in svg
    assert len(re.findall(rf'stroke="{LIGHT_BLUE}"', svg)) == 1
    path = re.search(rf'<path d="([^"]+)" fill="none" stroke="{LIGHT_BLUE}"', svg)
    assert path is not None and path.group(1).count("M") == n - 1
    dots = [(float(x), float(y)) for x, y in re.findall(DOT, svg)]
    assert len(dots) == n - 1
    xs, ys = [x for x, _ in dots], [y for _, y in dots]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # table order left to right, rising values
    refs = re.findall(REF, svg)
    assert len(refs) == 2  # the line and its legend
    top, bottom = ys[-1], ys[0]
    span = (bottom - top) / (exact[-1] - exact[0])
    assert float(refs[0][1]) == pytest.approx(bottom - span * (0.7 - exact[0]), abs=0.05)


def test_small_heatmap_cells_colours_and_values() -> None:
    charts.clear_cache()
    m = np.array([[0.0, 1.0, 2.0], [3.0, np.nan, 5.0], [6.0, 7.0, 8.0]])
    chart = charts.heatmap(
        m,
        ["1 low", "2 <mid>", "3 high"],
        ["1", "2", "3"],
        title="Assessor level × key level",
        xlabel="Key level",
        ylabel="Assessor level",
        annotate="{:.0f}",
        label="Heat map",
    )
    svg = str(chart.svg)
    _safe(svg)
    assert "2 &lt;mid&gt;" in svg and ">Key level<" in svg and ">Assessor level<" in svg
    cells = re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="[\d.]+" fill="(#[0-9a-f]{6})" stroke="#ffffff"',
        svg,
    )
    assert len(cells) == 8  # the NaN cell is blank
    lut = viridis()
    finite = m[np.isfinite(m)]
    expected = [lut[i] for i in colour_index(finite, 0.0, 8.0)]
    assert [c for _, _, c in cells] == ["#{:02x}{:02x}{:02x}".format(*e.tolist()) for e in expected]
    xs = sorted({float(x) for x, _, _ in cells})
    ys = sorted({float(y) for _, y, _ in cells})
    assert len(xs) == len(ys) == 3
    written = re.findall(r'font-size="7" text-anchor="middle" fill="(#000|#fff)"[^>]*>(\d+)</text>', svg)
    assert [v for _, v in written] == ["0", "1", "2", "3", "5", "6", "7", "8"]
    assert dict((v, c) for c, v in written)["8"] == "#000" and dict((v, c) for c, v in written)["0"] == "#fff"
    assert 'fill="url(#' in svg and "<linearGradient" in svg  # the colour bar


def test_large_heatmap_is_one_image_of_the_same_colours() -> None:
    charts.clear_cache()
    n = 300
    rng = np.random.default_rng(7)
    m = rng.uniform(-0.5, 1.0, size=(n, n))
    m[3, 4] = np.nan
    names = [f"Assessor <{i}>" for i in range(n)]
    chart = charts.heatmap(
        m,
        names,
        names,
        title="Pairwise kappa",
        xlabel="Assessor",
        ylabel="Assessor",
        limits=(-1.0, 1.0),
        label="kappa",
    )
    svg = str(chart.svg)
    _safe(svg)
    assert svg.count("<image") == 1 and "<rect" in svg and "Assessor &lt;0&gt;" not in svg
    data = re.search(r'xlink:href="data:image/png;base64,([A-Za-z0-9+/=]+)"', svg)
    assert data is not None
    image = Image.open(io.BytesIO(base64.b64decode(data.group(1))))
    assert image.size == (n, n) and image.mode == "RGBA"
    pixels = np.asarray(image)
    assert pixels[3, 4, 3] == 0 and (pixels[..., 3] == 255).sum() == n * n - 1
    expected = viridis()[colour_index(m, -1.0, 1.0)]
    keep = np.isfinite(m)
    assert np.array_equal(pixels[..., :3][keep], expected[keep])
    ticks = [
        float(t)
        for t in re.findall(r'font-size="8" text-anchor="start" fill="#000"[^>]*>([-\d.]+)</text>', svg)
    ]
    assert ticks[0] == -1.0 and ticks[-1] == 1.0


def test_viridis_table_is_matplotlibs_at_every_index() -> None:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    assert cmap.N == 256
    theirs = np.round(np.asarray(cmap(np.arange(256)))[:, :3] * 255).astype(np.uint8)
    ours = viridis()
    assert ours.shape == (256, 3) and ours.dtype == np.uint8
    assert np.array_equal(ours, theirs)


def test_colours_are_matplotlibs_viridis_as_it_maps_values() -> None:
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    values = np.array([-2.0, -1.0, -0.999, -0.3, 0.0, 0.1234, 0.5, 0.99, 1.0, 3.0])
    ours = viridis()[colour_index(values, -1.0, 1.0)]
    theirs = np.round(colormaps["viridis"](Normalize(-1.0, 1.0)(values))[:, :3] * 255).astype(np.uint8)
    assert np.array_equal(ours, theirs)
    assert colour_index(np.array([0.4, 0.4]), 0.4, 0.4).tolist() == [0, 0]  # equal limits: the first colour

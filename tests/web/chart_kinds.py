"""One chart of every kind and shape through :mod:`calibration.web.charts`' public functions (used by
``test_charts_runtime.py`` in its own process too, so it imports nothing but the package and numpy)."""

from __future__ import annotations

import numpy as np

from calibration.web import charts


def draw_every_kind(tag: str) -> dict[str, charts.Chart]:
    """Each kind once (``tag`` in every title, so a new tag misses the caches): labelled and strip dot
    plots, series, bars, a control chart, a small and a large heat map."""
    many = charts.MAX_LABELLED_ROWS + 5
    panel = charts.Panel(
        "Exact (%)",
        [0.5, None, 0.8],
        [0.4, None, 0.7],
        [0.6, None, 0.9],
        refs=(charts.RefLine(0.7, "pass rule"), charts.RefLine(0.5, "half")),
        percent=True,
    )
    strip = charts.Panel("Bias", [*np.linspace(-1, 1, many - 1).tolist(), None], [-2.0] * many, [2.0] * many)
    shares = charts.Panel(
        "Exact (%)", [0.5] * many, [0.4] * many, [0.6] * many, refs=panel.refs, percent=True
    )
    grid = np.arange(9, dtype=float).reshape(3, 3)
    grid[1, 1] = np.nan
    big = np.linspace(0, 1, many * many).reshape(many, many)
    return {
        "interval": charts.interval_chart(
            ["Ann", "Bo", "Cy"], [panel], title=f"{tag} dots", label=f"{tag} dots"
        ),
        "strips": charts.interval_chart(
            [f"p{i}" for i in range(many)], [strip, shares], title=f"{tag} strips", label=f"{tag} strips"
        ),
        "series": charts.series_chart(
            ["R1", "R2", "R3"], [panel], title=f"{tag} series", label=f"{tag} series"
        ),
        "bars": charts.bar_chart(
            ["1", "2", "3"],
            [("You", [0.2, None, 0.5]), ("Key", [0.3, 0.3, 0.4])],
            title=f"{tag} bars",
            axis_label="Share",
            label=f"{tag} bars",
            percent=True,
        ),
        "control": charts.control_chart(
            ["R1", "R2", "R3", "R4"],
            [
                charts.ControlPanel(
                    "Overall",
                    [0.1, None, 0.9, 1.2],
                    [0.0, 0.0, 0.5, 1.1],
                    [-1.0] * 4,
                    [1.0] * 4,
                    [False, False, False, True],
                )
            ],
            title=f"{tag} control",
            label=f"{tag} control",
        ),
        "heatmap": charts.heatmap(
            grid,
            ["a", "b", "c"],
            ["x", "y", "z"],
            title=f"{tag} heat",
            xlabel="x",
            ylabel="y",
            label=f"{tag} heat",
            annotate="{:.1f}",
        ),
        "heatmap-large": charts.heatmap(
            big,
            [f"r{i}" for i in range(many)],
            [f"c{i}" for i in range(many)],
            title=f"{tag} big heat",
            xlabel="x",
            ylabel="y",
            label=f"{tag} big heat",
            limits=(0.0, 1.0),
        ),
    }

"""Krippendorff's alpha with a custom distance (issue 20, item 1): a scheme, a matrix or a function, the
same answers as the built-in levels where they coincide, and bad distances refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from calibration import stats

# Krippendorff's (2011) 4 observers x 12 units.
TABLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
ROWS = [(u, r, v) for r, row in enumerate(TABLE) for u, v in enumerate(row) if v is not None]
UNITS, RATERS, VALUES = (list(x) for x in zip(*ROWS, strict=True))
LEVELS = [1, 2, 3, 4, 5]


def alpha(**kw):
    return stats.krippendorff_alpha(UNITS, RATERS, VALUES, levels=LEVELS, **kw)


def test_a_distance_matrix_or_function_reproduces_the_interval_and_nominal_levels() -> None:
    lv = np.array(LEVELS, dtype=float)
    interval = alpha(level_of_measurement="interval")
    by_matrix = alpha(distance=(lv[:, None] - lv[None, :]) ** 2)
    by_function = alpha(distance=lambda a, b: (a - b) ** 2)
    assert by_matrix.value == pytest.approx(interval.value, abs=1e-12) == by_function.value
    assert by_matrix.method == "krippendorff_alpha_custom"
    assert round(by_matrix.value, 3) == 0.849
    nominal = alpha(level_of_measurement="nominal")
    assert alpha(distance="identity").value == pytest.approx(nominal.value, abs=1e-12)
    assert alpha(distance=lambda a, b: float(a != b)).value == pytest.approx(nominal.value, abs=1e-12)


def test_quadratic_weights_are_the_interval_metric_and_scale_does_not_matter() -> None:
    interval = alpha(level_of_measurement="interval")
    quad = alpha(distance="quadratic")
    assert quad.value == pytest.approx(interval.value, abs=1e-12)
    assert quad.method == "krippendorff_alpha_quadratic_weights"
    lv = np.array(LEVELS, dtype=float)
    assert alpha(distance=7.0 * np.abs(lv[:, None] - lv[None, :])).value == pytest.approx(
        alpha(distance="linear").value, abs=1e-12
    )


def test_a_custom_distance_has_an_se_z_and_a_bootstrap() -> None:
    a = alpha(distance="bipolar", n_boot=200, seed=1)
    assert a.value is not None and a.se is not None and a.ci_method == "bootstrap"
    assert a.extra["n_boot_defined"] == 200.0
    assert a.extra["z"] == pytest.approx(a.value / a.se)


@pytest.mark.parametrize(
    ("distance", "message"),
    [
        ("cubic", "unknown scheme 'cubic'"),
        (np.ones((3, 3)) - np.eye(3), "5 x 5"),
        (np.ones((5, 4)), "square"),
        (-(np.ones((5, 5)) - np.eye(5)), "negative"),
        (np.ones((5, 5)), "zero on the diagonal"),
        (np.triu(np.ones((5, 5)), 1), "symmetric"),
        (np.zeros((5, 5)), "positive somewhere"),
        (np.where(np.eye(5) > 0, 0.0, np.inf), "finite"),
        (lambda a, b: "far", "return a number"),
        (lambda a, b: 1.0 / (a - b), "return a number"),
        (lambda a, b: a - b, "negative"),
    ],
)
def test_bad_distances_name_the_problem(distance, message) -> None:
    with pytest.raises(ValueError, match=message) as err:
        alpha(distance=distance)
    assert "distance" in str(err.value) or "weights" in str(err.value)


def test_level_and_distance_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either level_of_measurement or distance"):
        alpha(level_of_measurement="nominal", distance="linear")

"""pingouin's ICC tests (raphaelvallat/pingouin ``tests/test_reliability.py::TestReliability::
test_intraclass_corr``), ported: the same data and printed values, through ``stats.icc``.

pingouin rounds ICC and the interval bounds to 2 decimals (F to 1 or 0) before comparing; so do these
tests. The forms are in pingouin's order ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k. Not ported: the
``nan_policy="raise"`` check (pingouin's option to refuse missing scores; ``stats.icc`` always drops
incomplete units listwise, pingouin's ``nan_policy="omit"``, which is ported) and ``cronbach_alpha``
(not an ICC test).
"""

from __future__ import annotations

import numpy as np

from calibration import stats

FORMS = ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]

# Shrout & Fleiss (1979) example as given in the test (R psych).
PSYCH = {
    "J1": [9, 6, 8, 7, 10, 6],
    "J2": [2, 1, 4, 1, 5, 2],
    "J3": [5, 3, 6, 2, 6, 4],
    "J4": [8, 2, 8, 6, 9, 7],
}
# pingouin's datasets/icc.csv (real-statistics.com): 8 wines x judges A-D.
WINE = [
    [1, 2, 0, 1],
    [1, 3, 3, 2],
    [3, 8, 1, 4],
    [6, 4, 3, 3],
    [6, 5, 5, 6],
    [7, 5, 6, 2],
    [8, 7, 7, 9],
    [9, 9, 9, 8],
]


def _icc(matrix: list[list[float]]) -> list[stats.Estimate]:
    units, raters, values = [], [], []
    for u, row in enumerate(matrix):
        for r, v in enumerate(row):
            units.append(u)
            raters.append(r)
            values.append(v)
    res = stats.icc(units, raters, values)
    return [res[f] for f in FORMS]


def _column(forms: list[stats.Estimate], field: str) -> np.ndarray:
    if field == "ICC":
        return np.array([f.value for f in forms])
    if field in ("lower", "upper"):
        return np.array([f.ci_low if field == "lower" else f.ci_high for f in forms])
    return np.array([f.extra[field] for f in forms])


def test_intraclass_corr_psych() -> None:
    forms = _icc([list(x) for x in zip(*PSYCH.values(), strict=True)])
    np.testing.assert_almost_equal(np.round(_column(forms, "ICC"), 2), [0.17, 0.29, 0.71, 0.44, 0.62, 0.91])
    np.testing.assert_almost_equal(np.round(_column(forms, "F"), 1), [1.8, 11.0, 11.0, 1.8, 11.0, 11.0])
    np.testing.assert_almost_equal(_column(forms, "df1"), [5] * 6)
    np.testing.assert_almost_equal(_column(forms, "df2"), [18, 15, 15, 18, 15, 15])
    np.testing.assert_almost_equal(
        _column(forms, "p_value"), [0.16472, 0.00013, 0.00013, 0.16472, 0.00013, 0.00013], decimal=4
    )
    np.testing.assert_almost_equal(
        np.round(_column(forms, "lower"), 2), [-0.13, 0.02, 0.34, -0.88, 0.07, 0.68]
    )
    np.testing.assert_almost_equal(np.round(_column(forms, "upper"), 2), [0.72, 0.76, 0.95, 0.91, 0.93, 0.99])


def test_intraclass_corr_wine() -> None:
    forms = _icc(WINE)
    np.testing.assert_almost_equal(np.round(_column(forms, "ICC"), 2), [0.73, 0.73, 0.73, 0.91, 0.91, 0.92])
    np.testing.assert_almost_equal(np.round(_column(forms, "F")), [12] * 6)
    np.testing.assert_almost_equal(_column(forms, "df1"), [7] * 6)
    np.testing.assert_almost_equal(_column(forms, "df2"), [24, 21, 21, 24, 21, 21])
    np.testing.assert_almost_equal(
        _column(forms, "p_value"), [2.2e-06, 5.0e-06, 5.0e-06, 2.2e-06, 5.0e-06, 5.0e-06]
    )
    np.testing.assert_almost_equal(np.round(_column(forms, "lower"), 2), [0.43, 0.43, 0.43, 0.75, 0.75, 0.75])
    np.testing.assert_almost_equal(np.round(_column(forms, "upper"), 2), [0.93, 0.93, 0.93, 0.98, 0.98, 0.98])


def test_intraclass_corr_wine_missing_omit() -> None:
    """The test's df.at[3, "Scores"] = NaN (wine 4, judge A) with nan_policy="omit": wine 4 is dropped."""
    wine = [list(map(float, row)) for row in WINE]
    wine[3][0] = float("nan")
    units, raters, values = [], [], []
    for u, row in enumerate(wine):
        for r, v in enumerate(row):
            units.append(u)
            raters.append(r)
            values.append(v)
    res = stats.icc(units, raters, values)
    forms = [res[f] for f in FORMS]
    assert res.n_dropped == 1
    np.testing.assert_almost_equal(np.round(_column(forms, "ICC"), 2), [0.75, 0.75, 0.75, 0.92, 0.92, 0.92])
    np.testing.assert_almost_equal(np.round(_column(forms, "F")), [13] * 6)
    np.testing.assert_almost_equal(_column(forms, "df1"), [6] * 6)
    np.testing.assert_almost_equal(_column(forms, "df2"), [21, 18, 18, 21, 18, 18])

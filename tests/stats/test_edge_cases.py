"""Edge cases that used to mislead (issue 12, item 6), each through the public ``calibration.stats`` API.

Undefined means undefined throughout a result; input the statistics cannot honour is a ``ValueError``
with a plain message, never a quietly different answer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration import stats

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SF_TABLE = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def _long(table: list[list[float]]) -> tuple[list[int], list[int], list[float]]:
    rows = [(u, r, v) for u, row in enumerate(table) for r, v in enumerate(row)]
    units, raters, values = zip(*rows, strict=True)
    return list(units), list(raters), list(values)


def _scaled(factor: float) -> tuple[list[int], list[int], list[float]]:
    return _long([[v * factor for v in row] for row in SF_TABLE])


# ---------------------------------------------------------------------------------------------- ICC
def test_icc_with_no_row_and_no_error_variance_has_no_f_test_beside_undefined_forms() -> None:
    # Every unit gets the same scores (MSR = 0) and raters differ by a constant (MSE = 0).
    units, raters, values = _long([[1, 2], [1, 2], [1, 2]])
    res = stats.icc(units, raters, values)
    assert res.anova["ms_rows"] == 0 and res.anova["ms_error"] == 0
    for form in (res.icc2, res.icc3, res.icc2k, res.icc3k):  # their F is MSR / MSE = 0 / 0
        for key in ("F", "p_value"):
            assert key not in form.extra, f"{form.method} reports {key}={form.extra.get(key)} from 0/0"
    for form in res.forms:
        if form.value is None:
            assert "F" not in form.extra and "p_value" not in form.extra, form.method
        for x in form.extra.values():
            assert math.isfinite(x)
    assert res.icc3.value is None and res.icc3.reason
    assert res.icc3.interval is None


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_icc_refuses_non_finite_scores(bad: float) -> None:
    units, raters, values = _long([[1, 2], [3, 4], [5, 6]])
    values[-1] = bad
    with pytest.raises(ValueError, match="finite"):
        stats.icc(units, raters, values)


@pytest.mark.parametrize("factor", [1e160, 1e-170, 1e300])
def test_icc_does_not_depend_on_the_scale_of_the_scores(factor: float) -> None:
    ref = stats.icc(*_long(SF_TABLE))
    res = stats.icc(*_scaled(factor))
    assert res.reason is None
    for a, b in zip(ref.forms, res.forms, strict=True):
        assert b.value == pytest.approx(a.value, rel=1e-9), b.method
        assert b.ci_low == pytest.approx(a.ci_low, rel=1e-9) and b.ci_high == pytest.approx(
            a.ci_high, rel=1e-9
        )
        assert b.extra["F"] == pytest.approx(a.extra["F"], rel=1e-9)
        assert b.extra["p_value"] == pytest.approx(a.extra["p_value"], rel=1e-6)
    for v in res.anova.values():
        assert math.isfinite(v)


def test_icc_tiny_differences_are_still_variation() -> None:
    res = stats.icc(*_scaled(1e-170))
    assert res.reason is None
    assert res.icc2.value == pytest.approx(0.29, abs=0.005)


def test_icc_truly_constant_scores_are_undefined_throughout() -> None:
    res = stats.icc(*_long([[3, 3], [3, 3], [3, 3]]))
    assert res.reason and "same" in res.reason
    for form in res.forms:
        assert form.value is None and form.interval is None
        assert "F" not in form.extra and "p_value" not in form.extra


# ------------------------------------------------------------------------------------------- levels
A = [1, 2, 3, 4, 4, 3, 2, 1, 2, 3, 1, 4, 3, 2]
B = [1, 2, 4, 4, 3, 3, 1, 1, 2, 2, 2, 4, 3, 3]


@pytest.mark.parametrize("levels", [[2, 1, 3, 4], [4, 3, 2, 1], [1, 3, 2, 4]])
def test_unsorted_numeric_levels_are_refused(levels: list[int]) -> None:
    with pytest.raises(ValueError, match="ascending"):
        stats.cohen_kappa(A, B, levels=levels, weights="quadratic")
    units = list(range(len(A))) * 2
    raters = [1] * len(A) + [2] * len(B)
    for fn in (stats.krippendorff_alpha, stats.fleiss_kappa, stats.gwet_ac1, stats.pairwise_kappa_matrix):
        with pytest.raises(ValueError, match="ascending"):
            fn(units, raters, A + B, levels=levels)
    with pytest.raises(ValueError, match="ascending"):
        stats.accuracy(A, B, levels=levels)


def test_sorted_levels_give_the_ordinal_kappa() -> None:
    est = stats.cohen_kappa(A, B, levels=[1, 2, 3, 4], weights="quadratic")
    assert est.value is not None and est.value > 0.8


def test_ratio_alpha_refuses_negative_levels() -> None:
    with pytest.raises(ValueError, match="negative"):
        stats.krippendorff_alpha(
            [0, 0, 1, 1], [0, 1, 0, 1], [-1, -2, -1, -1], levels=[-2, -1, 0], level_of_measurement="ratio"
        )


def test_ratio_alpha_accepts_zero_and_positive_levels() -> None:
    est = stats.krippendorff_alpha(
        [0, 0, 1, 1, 2, 2],
        [0, 1, 0, 1, 0, 1],
        [0, 0, 2, 2, 1, 2],
        levels=[0, 1, 2],
        level_of_measurement="ratio",
    )
    assert est.value is not None


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_huge_int64_levels_are_computed_on_the_level_index(level: str) -> None:
    big = np.array([2**62, 2**62 + 1, 2**62 + 2], dtype=np.int64)
    idx = np.array([0, 0, 1, 1, 2, 1, 0, 1, 2, 2, 1, 1])
    units = np.repeat(np.arange(6), 2)
    raters = np.tile([0, 1], 6)
    est = stats.krippendorff_alpha(units, raters, big[idx], levels=big, level_of_measurement=level)
    assert est.value is not None, est.reason
    if level in ("nominal", "ordinal", "interval"):
        # Shifting every level by the same amount changes none of these metrics.
        ref = stats.krippendorff_alpha(units, raters, idx + 1, levels=[1, 2, 3], level_of_measurement=level)
        assert est.value == pytest.approx(ref.value, rel=1e-12)


def test_huge_int64_levels_with_missing_values_are_not_merged() -> None:
    big = np.array([2**62, 2**62 + 1], dtype=np.int64)
    values = [float(2**62), float("nan"), 2**62, 2**62 + 1]
    # As floats the two levels are the same number, so the values cannot be told apart: say so.
    with pytest.raises(ValueError, match="told apart"):
        stats.krippendorff_alpha([0, 0, 1, 1], [0, 1, 0, 1], np.array(values, dtype=object), levels=big)


# ------------------------------------------------------------------------------------------ missing
def test_none_is_a_missing_value_like_nan() -> None:
    units, raters = [0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 0, 1]
    with_none = [1, None, 2, 2, 3, 3, 1, 2]
    with_nan = [1, float("nan"), 2, 2, 3, 3, 1, 2]
    for fn in (stats.krippendorff_alpha, stats.fleiss_kappa, stats.gwet_ac1, stats.percent_agreement):
        a = fn(units, raters, with_none, levels=[1, 2, 3])
        b = fn(units, raters, with_nan, levels=[1, 2, 3])
        assert a.value == b.value and a.n_units == b.n_units, fn.__name__
    pm = stats.pairwise_kappa_matrix(units, raters, with_none, levels=[1, 2, 3])
    assert pm.n_common[0, 1] == 3
    res = stats.icc(units, raters, with_none)
    assert res.n_dropped == 1


def test_text_values_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match="NaN"):
        stats.krippendorff_alpha([0, 0], [0, 1], ["1", "2"], levels=[1, 2, 3])

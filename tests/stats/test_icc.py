"""Intraclass correlations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.stats import ICCResult, icc, icc_label

SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def _rows(table):
    rows = [(u, r, v) for u, row in enumerate(table) for r, v in enumerate(row) if v is not None]
    return tuple(list(x) for x in zip(*rows, strict=True))


def test_shrout_fleiss_values_and_structure() -> None:
    res = icc(*_rows(SF))
    assert isinstance(res, ICCResult)
    assert [round(e.value, 2) for e in res.forms] == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    assert res["ICC(2,1)"] is res.icc2 and res["ICC2k"] is res.icc2k and res["icc3k"] is res.icc3k
    assert res.n_units == 6 and res.n_raters == 4 and res.n_dropped == 0
    assert res.icc1.extra["df2"] == 18 and res.icc2.extra["df2"] == 15
    assert all(e.ci_method == "F" and e.ci_low <= e.value <= e.ci_high for e in res.forms)
    assert icc_label(res.icc3k.value) == "excellent" and icc_label(res.icc1.value) == "poor"
    # Beside its interval [0.72, 0.98] the reading says the interval crosses two boundaries.
    assert res.label("ICC(3,k)") == "between moderate and excellent"
    with pytest.raises(KeyError):
        res["ICC(4,1)"]


def test_units_missing_a_rater_are_dropped_and_counted() -> None:
    table = [*SF, [5, None, 3, 4], [None, None, 1, 2]]
    res = icc(*_rows(table))
    full = icc(*_rows(SF))
    assert res.n_dropped == 2 and res.n_units == 6
    assert res.icc2.value == pytest.approx(full.icc2.value)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), k=st.integers(2, 5))
def test_invariant_to_order_and_labels(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, 1)) + rng.normal(size=(n, k)) + rng.normal(size=(1, k))
    u, r = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    a = icc(u.ravel(), r.ravel(), y.ravel())
    order = rng.permutation(n * k)
    b = icc(u.ravel()[order] * 7 + 3, (r.ravel()[order] + 5) * -1, y.ravel()[order])
    for ea, eb in zip(a.forms, b.forms, strict=True):
        for x, y in ((ea.value, eb.value), (ea.ci_low, eb.ci_low), (ea.ci_high, eb.ci_high)):
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-9, abs=1e-9)


def test_perfect_agreement() -> None:
    res = icc([1, 1, 2, 2, 3, 3], [1, 2, 1, 2, 1, 2], [1.0, 1.0, 2.0, 2.0, 4.0, 4.0])
    assert all(e.value == pytest.approx(1.0) for e in res.forms)
    assert res.icc3.ci_low == pytest.approx(1.0) and res.icc3.extra["p_value"] == 0.0


def test_constant_offset_between_raters() -> None:
    res = icc([1, 1, 2, 2, 3, 3], [1, 2, 1, 2, 1, 2], [1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    assert res.icc3.value == pytest.approx(1.0)
    assert res.icc2.value < 1.0


@pytest.mark.parametrize(
    ("units", "raters", "values", "reason"),
    [
        ([], [], [], "no ratings"),
        ([1, 2], [1, 1], [1.0, 2.0], "only one rater"),
        ([1, 1, 2], [1, 2, 1], [1.0, 2.0, 3.0], "fewer than two units"),
        ([1, 1, 2, 2], [1, 2, 1, 2], [3.0, 3.0, 3.0, 3.0], "no variation"),
    ],
)
def test_undefined(units, raters, values, reason) -> None:
    res = icc(units, raters, values)
    assert reason in res.reason
    assert all(e.value is None and reason in e.reason for e in res.forms)

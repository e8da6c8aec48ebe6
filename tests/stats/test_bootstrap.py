"""Intervals: percentile bootstrap, Student t, normal and Wilson."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.stats import bootstrap_units, fleiss_kappa, percentile_interval, t_interval, wilson_bounds
from calibration.stats.bootstrap import pattern_resamples


@pytest.mark.parametrize(("mult", "n_boot"), [([3, 1, 2], 50), ([400_000, 250_000, 350_000], 20)])
def test_pattern_resamples_sum_to_n_both_ways(mult: list[int], n_boot: int) -> None:
    draws = pattern_resamples(np.array(mult), n_boot, 0)
    assert draws.shape == (n_boot, len(mult))
    assert np.all(draws.sum(axis=1) == sum(mult))
    assert np.array_equal(draws, pattern_resamples(np.array(mult), n_boot, 0))


def test_pattern_resamples_have_unit_bootstrap_moments() -> None:
    mult = np.array([10, 30, 60])
    draws = pattern_resamples(mult, 20_000, 1)
    p = mult / mult.sum()
    assert draws.mean(axis=0) == pytest.approx(100 * p, rel=0.02)
    assert draws.var(axis=0) == pytest.approx(100 * p * (1 - p), rel=0.05)


@settings(max_examples=50, deadline=None)
@given(
    samples=st.lists(st.floats(-1, 1) | st.just(float("nan")), min_size=1, max_size=50),
    value=st.floats(-1, 1),
)
def test_percentile_interval_matches_numpy_and_is_not_stretched(samples, value) -> None:
    # Issue 20: the estimate no longer widens the interval (that was not a standard method).
    lo, hi = percentile_interval(samples, value)
    finite = np.array([s for s in samples if s == s])
    if finite.size == 0:
        assert (lo, hi) == (None, None)
        return
    q = np.quantile(finite, [0.025, 0.975])
    assert lo == pytest.approx(q[0], abs=1e-12) and hi == pytest.approx(q[1], abs=1e-12)


def test_t_and_wilson() -> None:
    assert t_interval(0.5, 0.1, 10, bounds=(-1, 1)) == pytest.approx((0.2772, 0.7228), abs=1e-4)
    assert t_interval(0.95, 0.1, 10)[1] == 1.0
    assert wilson_bounds(0, 10)[0] == 0.0 and wilson_bounds(10, 10)[1] == 1.0
    assert wilson_bounds(0, 0) == (None, None)
    assert [round(x, 4) for x in wilson_bounds(15, 148)] == [0.0624, 0.1605]
    with pytest.raises(ValueError):
        wilson_bounds(5, 3)


def test_generic_bootstrap_units_matches_vectorised_in_distribution() -> None:
    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(40), 3)
    raters = np.tile([1, 2, 3], 40)
    values = np.clip(np.repeat(rng.integers(1, 5, 40), 3) + rng.integers(-1, 2, 120), 1, 4)
    fast = fleiss_kappa(units, raters, values, levels=[1, 2, 3, 4], n_boot=400, seed=1)
    slow = bootstrap_units(fleiss_kappa, units, raters, values, levels=[1, 2, 3, 4], n_boot=400, seed=1)
    assert fast.value == slow.value
    assert fast.extra["boot_se"] == pytest.approx(slow.extra["boot_se"], rel=0.2)
    assert fast.ci_low == pytest.approx(slow.ci_low, abs=0.05) and fast.ci_high == pytest.approx(
        slow.ci_high, abs=0.05
    )


def test_bootstrap_units_passes_undefined_through() -> None:
    est = bootstrap_units(fleiss_kappa, [1, 1], [1, 2], [2, 2], levels=[1, 2], n_boot=10)
    assert est.value is None and est.ci_method is None

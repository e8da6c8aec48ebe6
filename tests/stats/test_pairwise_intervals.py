"""Pairwise kappa carries an interval (DESIGN §5): Fleiss-Cohen-Everitt by default, as for Cohen's kappa,
or a seeded bootstrap over units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration import stats


def _rows(seed: int = 3, n_units: int = 40, n_raters: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 5, n_units)
    units = np.repeat(np.arange(n_units), n_raters)
    raters = np.tile(np.arange(n_raters) + 10, n_units)
    values = np.clip(np.repeat(truth, n_raters) + rng.integers(-1, 2, units.size), 1, 4)
    return units, raters, values


@pytest.mark.parametrize("weights", ["quadratic", "linear", None])
def test_default_interval_is_cohens_kappa_interval_for_each_pair(weights) -> None:
    units, raters, values = _rows(seed=2, n_units=30, n_raters=3)
    pm = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], weights=weights)
    assert pm.ci_method == "normal"
    for a, b in ((10, 11), (10, 12), (11, 12)):
        ref = stats.cohen_kappa(
            values[raters == a], values[raters == b], levels=[1, 2, 3, 4], weights=weights
        )
        assert pm.get(a, b) == pytest.approx(ref.value, abs=1e-12)
        assert pm.interval(a, b) == pytest.approx(ref.interval, abs=1e-12)


def test_every_defined_pair_has_an_interval_around_its_kappa() -> None:
    units, raters, values = _rows()
    pm = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=500, seed=7)
    for a in pm.rater_ids.tolist():
        for b in pm.rater_ids.tolist():
            if a == b:
                continue
            k = pm.get(a, b)
            lo, hi = pm.interval(a, b)
            assert lo <= k <= hi and hi - lo > 0
            assert pm.interval(b, a) == (lo, hi)


def test_intervals_are_seeded_and_absent_without_a_bootstrap() -> None:
    units, raters, values = _rows()
    one = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=200, seed=1)
    two = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=200, seed=1)
    np.testing.assert_array_equal(one.ci_low, two.ci_low)
    assert one.ci_method == "bootstrap"
    plain = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4])
    assert plain.ci_method == "normal" and plain.interval(10, 11) != one.interval(10, 11)


def test_interval_matches_resampling_the_common_units() -> None:
    # The multinomial shortcut gives the same bootstrap distribution as drawing units with replacement.
    units, raters, values = _rows(seed=5, n_units=30, n_raters=2)
    pm = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=2000, seed=2)
    a, b = values[raters == 10], values[raters == 11]
    rng = np.random.default_rng(11)
    reps = []
    for _ in range(2000):
        pick = rng.integers(0, a.size, a.size)
        v = stats.cohen_kappa(a[pick], b[pick], levels=[1, 2, 3, 4], weights="quadratic").value
        if v is not None:
            reps.append(v)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    got = pm.interval(10, 11)
    assert got is not None
    assert got[0] == pytest.approx(lo, abs=0.04) and got[1] == pytest.approx(hi, abs=0.04)


def test_undefined_pair_has_no_interval() -> None:
    # Both raters give every unit the same level: kappa is 0/0.
    pm = stats.pairwise_kappa_matrix([1, 1, 2, 2], [1, 2, 1, 2], [2, 2, 2, 2], levels=[1, 2, 3], n_boot=100)
    assert pm.get(1, 2) is None and pm.interval(1, 2) is None
    assert all(math.isnan(x) for x in pm.ci_low.ravel())


def test_large_data_path_gives_the_same_kappas_and_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    units, raters, values = _rows(seed=9, n_units=25, n_raters=3)
    dense = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=300, seed=4)
    monkeypatch.setattr("calibration.stats.kappa._DENSE_LIMIT", 0)  # force the within-unit pairs path
    sparse = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4], n_boot=300, seed=4)
    np.testing.assert_allclose(sparse.values, dense.values, equal_nan=True)
    np.testing.assert_allclose(sparse.ci_low, dense.ci_low, equal_nan=True)
    np.testing.assert_allclose(sparse.ci_high, dense.ci_high, equal_nan=True)
    normal_sparse = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4])
    monkeypatch.undo()
    normal_dense = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3, 4])
    np.testing.assert_allclose(normal_sparse.ci_low, normal_dense.ci_low, equal_nan=True)
    np.testing.assert_allclose(normal_sparse.ci_high, normal_dense.ci_high, equal_nan=True)

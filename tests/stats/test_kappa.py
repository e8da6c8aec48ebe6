"""Cohen's kappa (vs scikit-learn and statsmodels), Light's kappa and the pairwise matrix."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

import calibration.stats.kappa as kappa_module
from calibration.stats import (
    cohen_kappa,
    cohen_kappa_from_table,
    light_kappa,
    pairwise_kappa_matrix,
)
from tests.stats._ratings import Ratings, ratings

WEIGHTS = [None, "linear", "quadratic"]


@settings(max_examples=80, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=30),
    weights=st.sampled_from(WEIGHTS),
)
def test_cohen_equals_sklearn_with_all_levels(pairs, weights) -> None:
    a, b = (np.array(x) for x in zip(*pairs, strict=True))
    ours = cohen_kappa(a, b, levels=[0, 1, 2, 3, 4], weights=weights)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cohen_kappa_score(a, b, weights=weights, labels=[0, 1, 2, 3, 4])
    if ours.value is None:
        assert "no variation" in ours.reason
    else:
        assert ours.value == pytest.approx(theirs, abs=1e-12)
        if ours.se is not None:
            assert ours.ci_low <= ours.value <= ours.ci_high


def test_sas_example_all_printed_fields() -> None:
    k = cohen_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]], weights="linear")
    assert round(k.value, 4) == 0.4701 and round(k.se, 4) == 0.1457
    assert round(k.extra["se0"], 4) == 0.1426 and round(k.extra["z"], 4) == 3.2971
    assert k.method == "cohen_kappa_linear" and k.ci_method == "normal" and k.n_raters == 2


def test_cohen_confidence_level_changes_interval() -> None:
    k90 = cohen_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]], confidence=0.90)
    k95 = cohen_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert k90.ci_high - k90.ci_low < k95.ci_high - k95.ci_low


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ([[0, 0], [0, 0]], "no unit"),
        ([[5, 0], [0, 0]], "no variation"),
        ([[0, 0, 0], [0, 0, 0], [0, 0, 9]], "no variation"),
    ],
)
def test_cohen_undefined(table, reason) -> None:
    k = cohen_kappa_from_table(table, weights="quadratic")
    assert k.value is None and reason in k.reason


@pytest.mark.parametrize("table", [[[1, -1], [0, 2]], [[1, 2, 3]], [[1, np.nan], [0, 1]]])
def test_cohen_bad_table(table) -> None:
    with pytest.raises(ValueError):
        cohen_kappa_from_table(table)


@settings(max_examples=40, deadline=None)
@given(r=ratings(min_units=1, max_units=10, min_raters=2, max_raters=5), weights=st.sampled_from(WEIGHTS))
def test_pairwise_matrix_equals_cohen_on_common_units(r: Ratings, weights) -> None:
    pm = pairwise_kappa_matrix(r.units, r.raters, r.values, levels=r.levels, weights=weights)
    ids = pm.rater_ids.tolist()
    for g, h in itertools.combinations(range(len(ids)), 2):
        common = ~np.isnan(r.table[:, ids[g]]) & ~np.isnan(r.table[:, ids[h]])
        assert pm.n_common[g, h] == pm.n_common[h, g] == common.sum()
        k = cohen_kappa(r.table[common, ids[g]], r.table[common, ids[h]], levels=r.levels, weights=weights)
        got = pm.get(ids[g], ids[h])
        if k.value is None:
            assert got is None
        else:
            assert got == pytest.approx(k.value, abs=1e-12)
            assert pm.values[h, g] == pytest.approx(k.value, abs=1e-12)
    assert np.all(np.isnan(np.diag(pm.values)))
    lk = light_kappa(r.units, r.raters, r.values, levels=r.levels, weights=weights)
    upper = pm.values[np.triu_indices(len(ids), 1)]
    if np.isfinite(upper).any():
        assert lk.value == pytest.approx(np.nanmean(upper), abs=1e-12)
    else:
        assert lk.value is None


def test_pairwise_matrix_is_read_only() -> None:
    pm = pairwise_kappa_matrix([1, 1, 2, 2], [1, 2, 1, 2], [1, 1, 2, 2], levels=[1, 2])
    with pytest.raises(ValueError):
        pm.values[0, 1] = 0.0
    with pytest.raises(KeyError):
        pm.get(1, 99)
    assert pm.get(1, 2) == 1.0 and pm.method == "cohen_kappa_quadratic"


def test_light_kappa_bootstrap() -> None:
    rng = np.random.default_rng(2)
    units = np.repeat(np.arange(12), 3)
    raters = np.tile([1, 2, 3], 12)
    values = np.clip(np.repeat(rng.integers(1, 4, 12), 3) + rng.integers(-1, 2, 36), 1, 3)
    est = light_kappa(units, raters, values, levels=[1, 2, 3], n_boot=60, seed=1)
    assert est.ci_method == "bootstrap" and est.ci_low <= est.value <= est.ci_high
    assert est.extra["n_pairs"] == 3


@settings(max_examples=40, deadline=None)
@given(r=ratings(min_units=1, max_units=10, min_raters=2, max_raters=5), weights=st.sampled_from(WEIGHTS))
def test_sparse_and_dense_pair_paths_agree(r: Ratings, weights) -> None:
    dense = pairwise_kappa_matrix(r.units, r.raters, r.values, levels=r.levels, weights=weights)
    original = kappa_module._DENSE_LIMIT
    kappa_module._DENSE_LIMIT = -1
    try:
        sparse = pairwise_kappa_matrix(r.units, r.raters, r.values, levels=r.levels, weights=weights)
    finally:
        kappa_module._DENSE_LIMIT = original
    assert np.array_equal(dense.n_common, sparse.n_common)
    assert np.allclose(dense.values, sparse.values, atol=1e-12, equal_nan=True)


# --- issue 20: Agresti's category-specific kappas and Light's z ---------------------------------
def test_category_kappas_are_the_kappas_of_the_collapsed_tables() -> None:
    """Agresti (2013), sec. 11.5: kappa for level k is Cohen's kappa of "k or not" for both raters."""
    table = np.array([[40, 4, 4, 17], [6, 25, 2, 13], [4, 1, 21, 12], [15, 5, 9, 45]])
    got = cohen_kappa_from_table(table).detail["category_kappas"]
    for k in range(4):
        other = [i for i in range(4) if i != k]
        two = [
            [table[k, k], table[k, other].sum()],
            [table[other, k].sum(), table[np.ix_(other, other)].sum()],
        ]
        assert got[k] == pytest.approx(cohen_kappa_from_table(two).value, abs=1e-12)


def test_category_kappa_of_a_level_nobody_used_is_nan() -> None:
    kappas = cohen_kappa_from_table([[3, 1, 0], [1, 4, 0], [0, 0, 0]]).detail["category_kappas"]
    assert np.isnan(kappas[2]) and kappas[0] == pytest.approx(kappas[1])


def test_light_kappa_test_needs_complete_data() -> None:
    units = [u for u in range(6) for _ in range(3)]
    raters = [1, 2, 3] * 6
    values = [1, 1, 2, 2, 2, 2, 3, 3, 3, 1, 2, 1, 3, 3, 2, 2, 2, 2]
    full = light_kappa(units, raters, values, levels=[1, 2, 3])
    assert full.extra["z"] == pytest.approx(full.value / full.extra["se0"])
    assert 0.0 < full.extra["p_value"] < 1.0
    part = light_kappa(units[:-1], raters[:-1], values[:-1], levels=[1, 2, 3])
    assert part.value is not None and "z" not in part.extra

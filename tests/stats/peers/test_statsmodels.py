"""statsmodels' ``statsmodels/stats/tests/test_inter_rater.py``, ported: each test below names the peer
test it comes from; the values and data are the peer's (SAS, R irr and Randolph's online calculator
printouts), run through ``calibration.stats``'s public API.

Not ported: the ``[[6.99, 0.01], [6.99, 0.01]]`` table of ``test_fleis_randolph`` (fractional rater
counts: a units x levels table counts raters, so ``fleiss_kappa_from_counts`` refuses it with a
``ValueError``), the printed-summary strings of ``CheckCohens.test_results`` (statsmodels' own text
layout), ``to_table`` with three raters (a 3-D table, which no statistic here takes) and statsmodels'
option spellings (``wt="toeplitz"``, weights given as level scores), which are ported as the weight
matrices they stand for.
"""

from __future__ import annotations

import numpy as np
import pytest

from calibration import stats

# statsmodels test_inter_rater.py: table1 (Wikipedia's Fleiss example), table10 (SAS), diagnoses
# (Fleiss 1971) and anxiety (R irr) -- data only.
TABLE1 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]
TABLE10 = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip
ANXIETY = np.array(
    [
        3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3,
        3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4,
        2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2,
    ]
).reshape(20, 3, order="F")  # fmt: skip


def _long(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, r = matrix.shape
    return np.repeat(np.arange(n), r), np.tile(np.arange(r), n), matrix.ravel()


def test_fleiss_kappa() -> None:
    """test_fleiss_kappa: Wikipedia's example, 0.210 to 3 decimals."""
    assert stats.fleiss_kappa_from_counts(TABLE1).value == pytest.approx(0.210, abs=0.5e-3)


@pytest.mark.parametrize(
    ("table", "method", "expected"),
    [
        ([[7, 0], [7, 0]], "randolph", 1.0),
        ([[7, 1], [3, 5]], "fleiss", 0.161905),
        ([[7, 1], [3, 5]], "randolph", 0.214286),
        ([[7, 0], [0, 7]], "fleiss", 1.0),
        ([[7, 0], [0, 7]], "randolph", 1.0),
        ([[6, 1, 0], [0, 7, 0]], "fleiss", 0.708333),
        ([[6, 1, 0], [0, 7, 0]], "randolph", 0.785714),
    ],
)
def test_fleis_randolph(table, method, expected) -> None:
    """test_fleis_randolph: fixed- and free-marginal kappa from Randolph's online calculator."""
    assert stats.fleiss_kappa_from_counts(table, method=method).value == pytest.approx(expected, abs=6e-6)


def test_fleis_randolph_fractional_counts_are_refused() -> None:
    """test_fleis_randolph's [[6.99, 0.01], ...] table: counts of raters must be whole numbers here."""
    with pytest.raises(ValueError, match="non-negative integers"):
        stats.fleiss_kappa_from_counts([[6.99, 0.01], [6.99, 0.01]])


def _sas_fields(est: stats.Estimate) -> list[float]:
    e = est.extra
    return [est.value, est.se, est.ci_low, est.ci_high, e["se0"], e["z"], e["p_one_sided"], e["p_two_sided"]]


def test_unweighted_cohens_results() -> None:
    """TestUnweightedCohens.test_results (and test_option): the SAS PROC FREQ printout, 4 decimals."""
    got = _sas_fields(stats.cohen_kappa_from_table(TABLE10))
    sas = [0.4842, 0.1380, 0.2137, 0.7547, 0.1484, 3.2626, 0.0006, 0.0011]
    np.testing.assert_almost_equal(got, sas, decimal=4)


def test_weighted_cohens_results() -> None:
    """TestWeightedCohens.test_results (and test_option): weights=[0, 1, 2] are linear weights."""
    got = _sas_fields(stats.cohen_kappa_from_table(TABLE10, weights="linear"))
    sas = [0.4701, 0.1457, 0.1845, 0.7558, 0.1426, 3.2971, 0.0005, 0.0010]
    np.testing.assert_almost_equal(got, sas, decimal=4)


def _random_table() -> np.ndarray:
    rs = np.random.RandomState(9743678)  # the peer's seed and draw
    return rs.randint(0, 10, size=(5, 5)) + 5 * np.eye(5)


def test_cohenskappa_weights() -> None:
    """test_cohenskappa_weights: equivalent weight specifications give the same kappa and variance."""
    table = _random_table()
    # Levels 0-2 against 3-4 as 0/1 weights == kappa of the aggregated 2 x 2 table.
    group = np.arange(5) > 2
    block = (group[:, None] == group[None, :]).astype(float)
    mat = np.array([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]])
    res1 = stats.cohen_kappa_from_table(table, weights=block)
    res2 = stats.cohen_kappa_from_table(mat @ table @ mat.T)
    np.testing.assert_almost_equal(res1.value, res2.value, decimal=14)
    np.testing.assert_almost_equal(res1.se, res2.se, decimal=14)
    # Linear scores 2 * arange(5) as a Toeplitz matrix == linear weights (scale does not matter).
    i = np.arange(5)
    d = 2.0 * np.abs(i[:, None] - i[None, :])
    res1 = stats.cohen_kappa_from_table(table, weights="linear")
    res3 = stats.cohen_kappa_from_table(table, weights=1.0 - d / d.max())
    np.testing.assert_almost_equal(res1.value, res3.value, decimal=14)
    np.testing.assert_almost_equal(res1.se, res3.se, decimal=14)
    # Toeplitz 5 * k^2 == quadratic weights.
    d = 5.0 * (i[:, None] - i[None, :]) ** 2
    res1 = stats.cohen_kappa_from_table(table, weights=1.0 - d / d.max())
    res2 = stats.cohen_kappa_from_table(table, weights="quadratic")
    np.testing.assert_almost_equal(res1.value, res2.value, decimal=14)
    np.testing.assert_almost_equal(res1.se, res2.se, decimal=14)


def _toeplitz_agreement(scores: list[float]) -> np.ndarray:
    i = np.arange(len(scores))
    d = np.asarray(scores, dtype=float)[np.abs(i[:, None] - i[None, :])]
    return 1.0 - d / d.max()


# test_cohens_kappa_irr: R irr kappa2(anxiety[, 2:3], ...) -> (value, z, p); irr drops the unused
# level 5, so the levels are [1, 2, 3, 4, 6] and the weights sit on those five positions.
CK_W1 = (-0.006289308, -0.0604067, 0.9518317)
CK_W2 = (0.1459075, 1.282472, 0.1996772)
CK_W3 = (0.2520325, 1.437451, 0.1505898)
CK_W4 = (0.2391304, 1.223734, 0.2210526)
IRR_CASES = [
    ("unweighted", None, CK_W1),
    ("linear", "linear", CK_W2),
    ("arange(5), default wt", _toeplitz_agreement([0, 1, 2, 3, 4]), CK_W2),
    ("arange(5), toeplitz", _toeplitz_agreement([0, 1, 2, 3, 4]), CK_W2),
    ("quadratic", "quadratic", CK_W3),
    ("arange(5)**2, toeplitz", _toeplitz_agreement([0, 1, 4, 9, 16]), CK_W3),
    ("4 * arange(5)**2, toeplitz", _toeplitz_agreement([0, 4, 16, 36, 64]), CK_W3),
    ("[0, 0, 1, 1, 2], toeplitz", _toeplitz_agreement([0, 0, 1, 1, 2]), CK_W4),
]


@pytest.mark.parametrize(("label", "weights", "expected"), IRR_CASES, ids=[c[0] for c in IRR_CASES])
def test_cohens_kappa_irr(label, weights, expected) -> None:
    est = stats.cohen_kappa(ANXIETY[:, 1], ANXIETY[:, 2], levels=[1, 2, 3, 4, 6], weights=weights)
    value, z, p = expected
    np.testing.assert_almost_equal(est.value, value, decimal=6)
    np.testing.assert_almost_equal(est.extra["z"], z, decimal=5)
    np.testing.assert_almost_equal(est.extra["p_two_sided"], p, decimal=6)


def test_fleiss_kappa_irr() -> None:
    """test_fleiss_kappa_irr: R irr kappam.fleiss(diagnoses) = 0.4302445 (7 decimals)."""
    est = stats.fleiss_kappa(*_long(DIAGNOSES), levels=[1, 2, 3, 4, 5])
    np.testing.assert_almost_equal(est.value, 0.4302445, decimal=7)


def test_to_table() -> None:
    """test_to_table (two raters): the contingency table of the first two raters."""
    data = DIAGNOSES
    expected = np.asarray([[(data[:, :2] == [i, j]).all(1).sum() for j in range(1, 6)] for i in range(1, 6)])
    got = stats.contingency_table(data[:, 0], data[:, 1], levels=[1, 2, 3, 4, 5])
    np.testing.assert_array_equal(got, expected)


def test_aggregate_raters() -> None:
    """test_aggregate_raters: the units x levels counts of diagnoses sum to [26, 26, 30, 55, 43]."""
    units, _, values = _long(DIAGNOSES)
    counts = stats.category_counts(units, values, levels=[1, 2, 3, 4, 5])
    np.testing.assert_array_equal(counts.sum(0), [26, 26, 30, 55, 43])
    assert counts.shape == (30, 5)

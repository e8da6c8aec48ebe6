"""Weight schemes and custom weight matrices (issue 20, item 1): every weighted statistic takes every
scheme and a custom matrix, a custom matrix equal to a scheme gives the scheme's answer, and bad
weights are a ``ValueError`` naming the argument and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from calibration import stats
from calibration.stats._checks import WEIGHT_SCHEMES, _weight_matrix

UNITS = [u for u in range(8) for _ in range(3)]
RATERS = [1, 2, 3] * 8
VALUES = [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 3, 1, 2, 1, 4, 4, 4, 2, 3, 2, 3, 3, 4]
LEVELS = [1, 2, 3, 4]


def _rows_stat(name: str):
    fn = getattr(stats, name)
    return lambda weights: fn(UNITS, RATERS, VALUES, levels=LEVELS, weights=weights)


def _pair_stat(weights):
    a, b = VALUES[0::3], VALUES[1::3]
    return stats.cohen_kappa(a, b, levels=LEVELS, weights=weights)


def _table_stat(weights):
    return stats.gwet_ac1_from_table(
        [[3, 1, 0, 0], [0, 2, 1, 0], [0, 1, 4, 1], [0, 0, 1, 2]], weights=weights
    )


STATS = {
    "cohen_kappa": _pair_stat,
    "fleiss_kappa": _rows_stat("fleiss_kappa"),
    "conger_kappa": _rows_stat("conger_kappa"),
    "gwet_ac1": _rows_stat("gwet_ac1"),
    "brennan_prediger": _rows_stat("brennan_prediger"),
    "percent_agreement": _rows_stat("percent_agreement"),
    "light_kappa": _rows_stat("light_kappa"),
    "gwet_ac1_from_table": _table_stat,
}


@pytest.mark.parametrize("scheme", WEIGHT_SCHEMES)
@pytest.mark.parametrize("name", sorted(STATS))
def test_every_scheme_and_its_matrix_give_the_same_answer(name, scheme) -> None:
    by_name = STATS[name](scheme)
    by_matrix = STATS[name](_weight_matrix(4, scheme).tolist())
    assert by_name.value is not None
    assert by_matrix.value == pytest.approx(by_name.value, abs=1e-12)
    assert by_matrix.method.endswith("_custom")
    if scheme != "identity":
        assert by_name.method.endswith(scheme)


def test_identity_is_unweighted() -> None:
    for name, fn in STATS.items():
        assert fn("identity").value == pytest.approx(fn(None).value, abs=1e-12), name


@pytest.mark.parametrize("scheme", WEIGHT_SCHEMES)
def test_each_scheme_is_a_valid_agreement_matrix(scheme) -> None:
    for q in (2, 3, 5, 7):
        w = _weight_matrix(q, scheme)
        assert w.shape == (q, q)
        assert np.allclose(np.diag(w), 1.0)
        assert w.min() >= -1e-12 and w.max() <= 1.0 + 1e-12
        assert np.allclose(w, w.T)


def test_schemes_on_four_levels_by_hand() -> None:
    # ordinal: pairs between positions C(d + 1, 2) = 0, 1, 3, 6 for d = 0..3, scaled by 6.
    assert _weight_matrix(4, "ordinal")[0].tolist() == pytest.approx([1.0, 5 / 6, 0.5, 0.0])
    assert _weight_matrix(4, "radical")[0].tolist() == pytest.approx(
        [1.0, 1 - 1 / np.sqrt(3), 1 - np.sqrt(2 / 3), 0.0]
    )
    # circular on 4 positions: sin^2(pi d / 4) = 0, 1/2, 1, 1/2.
    assert _weight_matrix(4, "circular")[0].tolist() == pytest.approx([1.0, 0.5, 0.0, 0.5])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("cubic", "unknown scheme 'cubic'"),
        ([[1, 0.5], [0.5, 1]], "4 x 4"),
        ([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], "square"),
        (np.full((4, 4), 1.5), "between 0 and 1"),
        (np.eye(4) - 0.1 * (1 - np.eye(4)), "between 0 and 1"),
        (0.5 + 0.5 * np.eye(4) - 0.25 * np.eye(4), "ones on the diagonal"),
        (np.where(np.eye(4) > 0, 1.0, np.nan), "finite"),
        ([["a"] * 4] * 4, "matrix of numbers"),
    ],
)
@pytest.mark.parametrize("name", sorted(STATS))
def test_bad_weights_name_the_problem(name, weights, message) -> None:
    with pytest.raises(ValueError, match=message) as err:
        STATS[name](weights)
    assert "weights" in str(err.value)


ASYMMETRIC = np.eye(4) + np.diag([0.5, 0.5, 0.5], k=1)


def test_asymmetric_weights_are_refused_where_pairs_are_unordered() -> None:
    for fn in (stats.light_kappa, stats.pairwise_kappa_matrix):
        with pytest.raises(ValueError, match="symmetric"):
            fn(UNITS, RATERS, VALUES, levels=LEVELS, weights=ASYMMETRIC)


def test_asymmetric_weights_follow_the_table_orientation() -> None:
    """Gwet's two-rater forms read ``w[k, l]`` as rater 1 at k, rater 2 at l; the transposed table with
    the transposed weights is the same agreement."""
    t = np.array([[3, 1, 0, 0], [0, 2, 1, 0], [0, 1, 4, 1], [0, 0, 1, 2]])
    a = stats.cohen_kappa_from_table(t, weights=ASYMMETRIC)
    b = stats.cohen_kappa_from_table(t.T, weights=ASYMMETRIC.T)
    assert a.value == pytest.approx(b.value) and a.se == pytest.approx(b.se)
    pa = stats.percent_agreement_from_table(t, weights=ASYMMETRIC)
    assert pa.value == pytest.approx((t * ASYMMETRIC).sum() / t.sum())

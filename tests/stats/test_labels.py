"""One place decides every interpretation label (issue 12, item 5): the label agrees with the number as
printed, with its interval and with the minimum evidence."""

from __future__ import annotations

import numpy as np
import pytest

from calibration import stats
from calibration.stats.labels import NO_CLEAR_LEAN, TOO_FEW, interpret

ENOUGH = {"n_anchors": 8, "n_scores": 96}


@pytest.mark.parametrize(
    ("value", "interval", "expected"),
    [
        # Daniel: -0.08 [-0.25, 0.09] used to be called "severe".
        (-0.08, (-0.25, 0.09), NO_CLEAR_LEAN),
        (-0.20, (-0.45, -0.02), "severe"),
        (0.30, (0.10, 0.50), "lenient"),
        (0.30, None, NO_CLEAR_LEAN),
        # The interval's printed bound is 0.00: it does not exclude zero as printed.
        (0.20, (0.004, 0.40), NO_CLEAR_LEAN),
    ],
)
def test_lean_only_when_the_interval_excludes_zero(value: float, interval, expected: str) -> None:
    assert interpret(value, interval, scale="lean", **ENOUGH) == expected


def test_lean_after_one_anchor_is_too_few_to_judge() -> None:
    # Maya after one anchor: -0.20 [-0.76, 0.36] used to be called "severe".
    assert interpret(-0.20, (-0.76, 0.36), scale="lean", n_anchors=1, n_scores=4) == TOO_FEW


def test_alpha_label_agrees_with_the_printed_number() -> None:
    # 0.79962 is printed "0.800": the legend says >= .800 is good, so it is good.
    assert f"{0.79962:.3f}" == "0.800"
    assert interpret(0.79962, None, scale="alpha", **ENOUGH) == "good"
    assert interpret(0.79962, (0.7996, 0.85), scale="alpha", **ENOUGH) == "good"
    assert interpret(0.7994, None, scale="alpha", **ENOUGH) == "tentative"


@pytest.mark.parametrize(
    ("value", "interval", "expected"),
    [
        (0.75, (0.70, 0.82), "between tentative and good"),
        (0.70, (0.55, 0.78), "between unacceptable and tentative"),
        (0.82, (0.60, 0.90), "between unacceptable and good"),
        (0.85, (0.81, 0.90), "good"),
    ],
)
def test_alpha_interval_straddling_a_boundary_says_so(value: float, interval, expected: str) -> None:
    assert interpret(value, interval, scale="alpha", **ENOUGH) == expected


def test_icc_bands_and_straddles() -> None:
    assert interpret(0.62, (0.55, 0.70), scale="icc", **ENOUGH) == "moderate"
    assert interpret(0.62, (0.30, 0.80), scale="icc", **ENOUGH) == "between poor and good"
    assert interpret(0.62, (0.30, 0.80), scale="icc", n_anchors=2, n_scores=40) == TOO_FEW


@pytest.mark.parametrize(("n_anchors", "n_scores"), [(4, 100), (5, 19), (2, 8)])
def test_no_label_below_the_minimum_evidence(n_anchors: int, n_scores: int) -> None:
    for scale in ("alpha", "icc", "lean"):
        assert interpret(0.9, (0.85, 0.95), scale=scale, n_anchors=n_anchors, n_scores=n_scores) == TOO_FEW


def test_undefined_has_no_label() -> None:
    assert interpret(None, None, scale="alpha", n_anchors=0, n_scores=0) is None


def test_per_criterion_alpha_on_five_anchors_is_too_few_through_the_public_api() -> None:
    # 5 anchors x 3 assessors = 15 criterion-scores: below the minimum of 20, so no "good".
    units = [u for u in range(5) for _ in range(3)]
    raters = [1, 2, 3] * 5
    values = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 3, 2, 2, 2]
    est = stats.krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4], n_boot=200, seed=1)
    assert est.value is not None and est.value > 0.8
    assert est.label() == TOO_FEW
    assert est.to_dict()["label"] == TOO_FEW


def test_icc_on_two_anchors_is_too_few_through_the_public_api() -> None:
    res = stats.icc([1, 1, 1, 2, 2, 2], [1, 2, 3, 1, 2, 3], [10.0, 11.0, 10.0, 20.0, 19.0, 21.0])
    assert res.icc2.value is not None
    assert res.label("ICC(2,1)") == TOO_FEW


def _small_round(n_anchors: int, n_raters: int = 3, n_criteria: int = 2):
    rng = np.random.default_rng(0)
    rows = []
    for a in range(n_anchors):
        for c in range(n_criteria):
            key = int(rng.integers(1, 5))
            for r in range(n_raters):
                rows.append((a, r + 10, c, key, key))
    units, raters, criteria, values, key = (np.array(x) for x in zip(*rows, strict=True))
    return stats.round_report(units, raters, criteria, values, key, levels=[1, 2, 3, 4], n_boot=50)


def test_round_report_labels_follow_the_minimum_evidence() -> None:
    small = _small_round(2)
    # ICC(2,1) on 2 anchors, per-criterion alpha on 2 anchors: numbers, but no label.
    assert small.icc is not None and small.icc_label() == TOO_FEW
    for rel in [small.reliability, *small.reliability_by_criterion.values()]:
        assert rel.n_anchors == 2
        assert rel.alpha_label() in (None, TOO_FEW)
    # A pair sharing 4 units (2 anchors x 2 criteria) is too few to judge.
    assert small.pair_too_few(int(small.pairwise_kappa.n_common[0, 1]))
    big = _small_round(12, n_raters=2)
    assert big.reliability.n_anchors == 12 and big.reliability.n_scores == 48
    assert not big.pair_too_few(int(big.pairwise_kappa.n_common[0, 1]))
    assert big.icc_label() not in (None, TOO_FEW)

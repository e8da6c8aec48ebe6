"""Accuracy statistics: hand-computed cases, published values and other packages' outputs."""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from calibration.stats.accuracy import (
    accuracy,
    accuracy_arrays,
    accuracy_by_rater,
    confusion_by_group,
    weighted_kappa_by_rater,
    wilson_interval,
    wilson_intervals,
)
from calibration.stats.anchors import anchor_summary
from calibration.stats.passrule import PassRule, evaluate_pass_rule

LEVELS = [1, 2, 3, 4]


def test_docstring_examples_run():
    # import_module: the package re-exports the function ``accuracy``, which shadows the submodule name.
    module = importlib.import_module("calibration.stats.accuracy")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0


# ------------------------------------------------------------------------------------------- Wilson
@pytest.mark.parametrize(
    ("count", "n", "low", "high"),
    [
        # Newcombe (1998) Table I, method 3 (Wilson score interval), printed to 4 decimals.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(count, n, low, high):
    p = wilson_interval(count, n)
    assert p.count == count and p.n == n and p.p == pytest.approx(count / n)
    assert abs(p.ci_low - low) <= 0.5e-4 + 1e-9
    assert abs(p.ci_high - high) <= 0.5e-4 + 1e-9


def test_wilson_intervals_vectorised_equals_scalar_and_handles_edges():
    counts, n = np.array([81, 15, 0, 1, 20, 0]), np.array([263, 148, 20, 29, 20, 0])
    low, high = wilson_intervals(counts, n)
    for c, m, lo, hi in zip(counts[:-1], n[:-1], low[:-1], high[:-1], strict=True):
        p = wilson_interval(int(c), int(m))
        assert (p.ci_low, p.ci_high) == (lo, hi)
    assert high[4] == 1.0  # all successes: the upper limit is exactly 1
    assert np.isnan(low[5]) and np.isnan(high[5])


def test_wilson_interval_undefined_and_invalid():
    p = wilson_interval(0, 0)
    assert (p.p, p.ci_low, p.ci_high, p.reason) == (None, None, None, "no scores")
    assert p.label() == "undefined (no scores)"
    with pytest.raises(ValueError, match="count 5 is not between 0 and n=3"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 3, confidence=1.5)


# ----------------------------------------------------------------------------- hand-computed accuracy
def test_accuracy_hand_computed_case():
    # assessor 1 2 3 4 4 2 vs key 1 2 3 3 2 3 on levels 1..4
    # d = a - k on the index: 0 0 0 +1 +2 -1
    # exact 3/6; adjacent (|d| <= 1) 5/6; discrepant (|d| >= 2) 1/6
    # mean d = 2/6 = 1/3; mean |d| = 4/6
    # deviations from 1/3: -1/3 x3, 2/3, 5/3, -4/3 -> sum of squares 48/9; var = 48/9/5 = 16/15
    # se = sqrt(16/15/6) = sqrt(8/45) = 0.421637; t(0.975, 5) = 2.570582
    # CI = 1/3 -/+ 2.570582 * 0.421637 = (-0.750519, 1.417186)
    r = accuracy([1, 2, 3, 4, 4, 2], [1, 2, 3, 3, 2, 3], levels=LEVELS, earn_cut=3)
    assert r.n == 6
    assert (r.exact.count, r.adjacent.count, r.discrepant.count) == (3, 5, 1)
    assert r.exact.p == 0.5
    msd = r.mean_signed_deviation
    assert msd.value == pytest.approx(1 / 3)
    assert msd.se == pytest.approx(math.sqrt(8 / 45))
    assert msd.ci_low == pytest.approx(1 / 3 - 2.5705818356 * math.sqrt(8 / 45))
    assert msd.ci_high == pytest.approx(1 / 3 + 2.5705818356 * math.sqrt(8 / 45))
    assert r.mean_absolute_deviation == pytest.approx(4 / 6)
    # Quadratic kappa, disagreement weights (i-j)^2/9:
    # observed: squared d = 0 0 0 1 4 1 -> 6/9 over 6 rows -> 1/9
    # margins: assessor (1,2,1,2), key (1,2,3,0); sum r_i c_j (i-j)^2 = 14 + 8 + 6 + 40 = 68
    # expected = 68/9/36; kappa = 1 - (1/9) / (68/324) = 1 - 36/68 = 8/17
    assert r.weighted_kappa.value == pytest.approx(8 / 17)
    assert r.weighted_kappa.ci_low < 8 / 17 < r.weighted_kappa.ci_high <= 1.0
    # Earn cut 3: assessor earned F F T T T F; key earned F F T T F T
    # agree on rows 1-4; row 5 false "earned"; row 6 false "not yet"
    assert r.decision.agreement.count == 4 and r.decision.agreement.n == 6
    assert (r.decision.false_earned, r.decision.false_not_yet) == (1, 1)
    assert r.confusion == ((1, 0, 0, 0), (0, 1, 1, 0), (0, 0, 1, 0), (0, 1, 1, 0))
    assert r.confusion_matrix.sum() == 6
    use = r.category_use
    assert use.assessor_counts == (1, 2, 1, 2) and use.key_counts == (1, 2, 3, 0)
    assert use.middle_excess == pytest.approx((3 - 5) / 6)
    assert not use.central_tendency and not use.restricted_range


def test_decision_agreement_counts_binary_rubric():
    # 0/1 rubric, earn cut 1. Pairs (assessor, key):
    # (1,1) x3 agree, (0,0) x2 agree, (1,0) x2 false earned, (0,1) x1 false not yet -> 5 of 8 agree
    values = [1, 1, 1, 0, 0, 1, 1, 0]
    key = [1, 1, 1, 0, 0, 0, 0, 1]
    r = accuracy(values, key, levels=[0, 1], earn_cut=1)
    assert r.decision.agreement.count == 5 and r.decision.agreement.n == 8
    assert (r.decision.false_earned, r.decision.false_not_yet) == (2, 1)
    assert r.adjacent.count == 8 and r.discrepant.count == 0  # nothing can be 2 off on two levels


def test_no_earn_cut_gives_no_decision():
    assert accuracy([1, 2], [1, 2], levels=LEVELS).decision is None


def test_category_use_flags():
    # Key spreads evenly over 1..4 (10 scores: 3 2 2 3); assessor gives 1 2 2 2 2 3 3 3 3 4.
    # Middle (2, 3) share: assessor 8/10, key 4/10 -> excess 0.4 >= 0.2 with 10 scores.
    key = [1, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    values = [1, 2, 2, 2, 2, 3, 3, 3, 3, 4]
    use = accuracy(values, key, levels=LEVELS).category_use
    assert use.middle_excess == pytest.approx(0.4)
    assert use.central_tendency and not use.restricted_range
    # Same pattern on 9 scores is below the minimum of 10: no flag.
    assert not accuracy(values[:9], key[:9], levels=LEVELS).category_use.central_tendency
    # Exactly 0.2 excess (2 of 10 more middle scores) is flagged.
    values_02 = [1, 2, 2, 2, 2, 3, 3, 4, 4, 4]
    assert accuracy(values_02, key, levels=LEVELS).category_use.central_tendency
    # Restricted range: assessor uses 2 levels, key 4.
    narrow = accuracy([2, 2, 3, 3], [1, 2, 3, 4], levels=LEVELS).category_use
    assert narrow.restricted_range
    assert narrow.assessor_share == (0.0, 0.5, 0.5, 0.0) and narrow.key_share == (0.25,) * 4


# ------------------------------------------------------------------------------------------ undefined
def test_empty_input_is_undefined_not_nan():
    r = accuracy([], [], levels=LEVELS, earn_cut=3)
    assert r.n == 0
    for p in (r.exact, r.adjacent, r.discrepant, r.decision.agreement):
        assert p.p is None and p.reason == "no scores"
    assert r.mean_signed_deviation.value is None and r.mean_signed_deviation.reason == "no scores"
    assert r.mean_absolute_deviation is None
    assert r.weighted_kappa.value is None and r.weighted_kappa.reason == "no scores"
    assert r.category_use.assessor_share is None and r.category_use.middle_excess is None
    table = accuracy_by_rater([], [], [], levels=LEVELS, criteria=[])
    assert table.overall.n == 0 and dict(table.by_rater) == {} and dict(table.by_criterion) == {}


def test_single_score_has_no_interval_for_the_mean():
    r = accuracy([3], [2], levels=LEVELS)
    assert r.mean_signed_deviation.value is None and r.mean_signed_deviation.ci_low is None
    assert r.mean_signed_deviation.reason == "fewer than two scores"
    assert r.mean_absolute_deviation == 1.0


def test_kappa_undefined_without_variation():
    same = accuracy([2, 2, 2], [2, 2, 2], levels=LEVELS)
    assert same.exact.p == 1.0
    assert same.weighted_kappa.value is None
    assert "no variation" in same.weighted_kappa.reason and "2" in same.weighted_kappa.reason
    key_constant = accuracy([1, 2, 3], [2, 2, 2], levels=LEVELS)
    assert key_constant.weighted_kappa.value is None
    assert key_constant.weighted_kappa.reason == "no variation: the key has only level 2"
    rater_constant = accuracy([3, 3], [2, 3], levels=LEVELS)
    assert rater_constant.weighted_kappa.reason == "no variation: the assessor used only level 3"


# ---------------------------------------------------------------------------------------- bad input
def test_value_outside_the_levels_raises_naming_it():
    with pytest.raises(ValueError, match=r"value 5 is not one of the rubric levels \[1, 2, 3, 4\]"):
        accuracy([1, 5], [1, 2], levels=LEVELS)
    with pytest.raises(ValueError, match="key level 0 is not one of the rubric levels"):
        accuracy_by_rater([1, 1], [1, 2], [1, 0], levels=LEVELS)
    with pytest.raises(ValueError, match="earn cut 9 is not one of the rubric levels"):
        accuracy([1], [1], levels=LEVELS, earn_cut=9)
    with pytest.raises(ValueError, match=r"value 2\.5 is not one"):
        accuracy(np.array([1.0, 2.5]), [1, 2], levels=LEVELS)
    with pytest.raises(ValueError, match="value nan is not one"):
        weighted_kappa_by_rater([1], np.array([np.nan]), [1], levels=LEVELS)
    with pytest.raises(ValueError, match="value 'Exemplary' is not one"):
        accuracy(["Emerging", "Exemplary"], ["Emerging", "Proficient"], levels=["Emerging", "Proficient"])


def test_shape_and_level_errors():
    with pytest.raises(ValueError, match="key has 1 rows but raters has 2"):
        accuracy_by_rater([1, 2], [1, 2], [1], levels=LEVELS)
    with pytest.raises(ValueError, match=r"values must be one-dimensional, got shape \(\)"):
        accuracy(3, 3, levels=LEVELS)
    with pytest.raises(ValueError, match="at least two"):
        accuracy([1], [1], levels=[1])
    with pytest.raises(ValueError, match="distinct"):
        accuracy([1], [1], levels=[1, 1, 2])
    with pytest.raises(ValueError, match="weights must be"):
        weighted_kappa_by_rater([1], [1], [1], levels=LEVELS, weights="cubic")


def test_string_levels_keep_their_rubric_order():
    levels = ["Not yet", "Emerging", "Proficient", "Exemplary"]  # not alphabetical
    r = accuracy(["Exemplary", "Emerging"], ["Proficient", "Emerging"], levels=levels)
    assert r.mean_signed_deviation.value == 0.5  # +1 then 0 on the rubric's order


# ------------------------------------------------------------------------------------ batched tables
def _random_round(rng, n_raters=6, n_units=12, n_criteria=3, q=4):
    units, raters, crits = np.meshgrid(np.arange(n_units), np.arange(n_raters), np.arange(n_criteria))
    units, raters, crits = units.ravel(), raters.ravel() + 100, crits.ravel()
    key_table = rng.integers(0, q, size=(n_units, n_criteria))
    key = key_table[units, crits]
    noise = rng.choice([-2, -1, 0, 0, 0, 1, 2], size=key.size)
    values = np.clip(key + noise, 0, q - 1)
    return units, raters, crits, values + 1, key + 1


def test_accuracy_by_rater_equals_per_subset_accuracy():
    rng = np.random.default_rng(7)
    _, raters, crits, values, key = _random_round(rng)
    table = accuracy_by_rater(raters, values, key, levels=LEVELS, earn_cut=3, criteria=crits)
    pooled = accuracy(values, key, levels=LEVELS, earn_cut=3)
    assert table.overall.confusion == pooled.confusion and table.overall.decision == pooled.decision
    assert table.overall.weighted_kappa.value == pooled.weighted_kappa.value
    assert table.overall.weighted_kappa.n_raters == 6 and pooled.weighted_kappa.n_raters == 1
    for r in np.unique(raters):
        m = raters == r
        expect = accuracy(values[m], key[m], levels=LEVELS, earn_cut=3)
        got = table.by_rater[int(r)]
        assert got.rater == int(r) and got.criterion is None
        assert got.confusion == expect.confusion and got.exact == expect.exact
        assert got.weighted_kappa.value == expect.weighted_kappa.value
        for c in np.unique(crits):
            mc = m & (crits == c)
            one = table.by_rater_criterion[(int(r), int(c))]
            assert one.confusion == accuracy(values[mc], key[mc], levels=LEVELS).confusion
    for c in np.unique(crits):
        m = crits == c
        assert table.by_criterion[int(c)].exact == accuracy(values[m], key[m], levels=LEVELS).exact


def test_missing_rater_criterion_combination_is_absent():
    table = accuracy_by_rater([1, 1, 2], [1, 2, 3], [1, 2, 3], levels=LEVELS, criteria=[10, 20, 10])
    assert set(table.by_rater_criterion) == {(1, 10), (1, 20), (2, 10)}
    with pytest.raises(TypeError):
        table.by_rater[3] = table.overall  # read-only mapping


def test_confusion_by_group_and_arrays():
    ids, conf = confusion_by_group(["b", "a", "b"], [1, 2, 2], [1, 1, 2], levels=[1, 2])
    assert ids.tolist() == ["a", "b"]
    assert conf.tolist() == [[[0, 0], [1, 0]], [[1, 0], [0, 1]]]
    arr = accuracy_arrays(conf, earn_cut_index=1)
    assert arr.exact.tolist() == [0, 2] and arr.false_earned.tolist() == [1, 0]
    assert np.isnan(arr.kappa[0]) and arr.kappa[1] == 1.0  # "a" has one score; "b" agrees perfectly


# ------------------------------------------------------------------------------------ weighted kappa
@pytest.mark.parametrize("weights", ["quadratic", "linear", None])
def test_weighted_kappa_by_rater_matches_sklearn(weights):
    rng = np.random.default_rng(1)
    q, n_raters = 5, 40
    raters = rng.integers(0, n_raters, size=3000) * 3 + 11  # sparse, non-zero-based ids
    key = rng.integers(0, q, size=raters.size)
    values = np.clip(key + rng.integers(-2, 3, size=raters.size), 0, q - 1)
    levels = [0, 10, 20, 30, 40]  # level values need not be the index
    ids, kappas = weighted_kappa_by_rater(raters, values * 10, key * 10, levels=levels, weights=weights)
    assert ids.tolist() == sorted(set(raters.tolist()))
    for rid, k in zip(ids, kappas, strict=True):
        m = raters == rid
        expect = cohen_kappa_score(values[m], key[m], weights=weights, labels=list(range(q)))
        assert abs(k - expect) <= 1e-12


def test_weighted_kappa_nan_where_a_side_is_constant_and_sklearn_degenerate():
    _, k = weighted_kappa_by_rater([1, 1, 1, 2, 2, 2], [1, 2, 3, 1, 2, 3], [2, 2, 2, 1, 2, 3], levels=LEVELS)
    assert np.isnan(k[0]) and k[1] == pytest.approx(1.0)
    # sklearn reports a meaningless 0 for rater 1 (key has one level): kappa cannot measure anything there.
    assert cohen_kappa_score([0, 1, 2], [1, 1, 1], weights="quadratic", labels=[0, 1, 2, 3]) == 0.0


def test_kappa_and_fce_standard_error_match_sas_printout():
    # statsmodels' transcription of a SAS PROC FREQ AGREE printout (reference case sas_3x3_*):
    # unweighted 0.4842 (ASE 0.1380, 95% 0.2137-0.7547), linear 0.4701 (ASE 0.1457, 0.1845-0.7558).
    table = np.array([[[0, 4, 1], [0, 8, 0], [0, 1, 5]]])
    for weights, value, se in ((None, 0.4842, 0.1380), ("linear", 0.4701, 0.1457)):
        arr = accuracy_arrays(table, weights=weights)
        assert abs(arr.kappa[0] - value) <= 0.5e-4 + 1e-9
        assert abs(arr.kappa_se[0] - se) <= 0.5e-4 + 1e-9
    lin = accuracy_arrays(table, weights="linear")
    low, high = lin.kappa[0] - 1.959964 * lin.kappa_se[0], lin.kappa[0] + 1.959964 * lin.kappa_se[0]
    assert abs(low - 0.1845) <= 0.5e-4 + 1e-9 and abs(high - 0.7558) <= 0.5e-4 + 1e-9


def test_quadratic_kappa_se_matches_statsmodels():
    rng = np.random.default_rng(3)
    table = rng.integers(0, 9, size=(4, 4)) + np.diag([12, 9, 10, 14])
    sm = cohens_kappa(table, wt="quadratic")
    arr = accuracy_arrays(table[None])
    assert arr.kappa[0] == pytest.approx(sm.kappa, abs=1e-12)
    assert arr.kappa_se[0] == pytest.approx(sm.std_kappa, abs=1e-12)


# ----------------------------------------------------------------------------------------- pass rule
def _scores(n_exact, n_adjacent=0, n_discrepant=0):
    """Key level 1 everywhere; exact = 1, adjacent = 2, discrepant = 3."""
    values = [1] * n_exact + [2] * n_adjacent + [3] * n_discrepant
    return values, [1] * len(values)


def _decide(values, key, *, n_anchors=5, rule=None, earn_cut=None):
    result = accuracy(values, key, levels=LEVELS, earn_cut=earn_cut)
    return evaluate_pass_rule(result, rule or PassRule(), n_anchors=n_anchors)


def _check(decision, name):
    return next(c for c in decision.checks if c.name == name)


def test_pass_rule_defaults_follow_design():
    assert PassRule() == PassRule(0.70, 0.95, 1, 0.90, 5, 20)


def test_exact_agreement_boundary():
    loose = PassRule(min_adjacent=0.0, max_discrepant=20)
    at = _decide(*_scores(14, 6), rule=loose)  # 14/20 = 70% exactly: passes
    assert at.outcome == "pass"
    assert _check(at, "exact").message == "Exact agreement 70% (14 of 20) meets the 70% required"
    below = _decide(*_scores(13, 7), rule=loose)  # 13/20 = 65%: fails
    assert below.outcome == "fail"
    assert _check(below, "exact").message == "Exact agreement 65% (13 of 20) is below the 70% required"
    assert below.message == _check(below, "exact").message


def test_adjacent_and_discrepant_boundaries():
    rule = PassRule(min_exact=0.0)
    assert _decide(*_scores(19, 0, 1), rule=rule).outcome == "pass"  # 19/20 = 95% adjacent, 1 discrepant
    two_off = _decide(*_scores(18, 0, 2), rule=rule)  # 90% adjacent and 2 discrepant
    assert two_off.outcome == "fail"
    assert _check(two_off, "adjacent").passed is False
    disc = _check(two_off, "discrepant")
    assert (disc.observed, disc.passed) == (2, False)
    assert disc.message == "2 criterion-scores are two or more levels off the key (1 allowed)"
    # Discrepant on its own: 2 off-by-two among 40 scores keeps adjacent at 95% but breaks the limit.
    only_disc = _decide(*_scores(38, 0, 2), rule=rule)
    assert _check(only_disc, "adjacent").passed is True
    assert only_disc.outcome == "fail"


def test_decision_agreement_boundary():
    # Binary-like use of a 4-level rubric with earn cut 3; key alternates 2 and 3.
    key = [2, 3] * 10
    rule = PassRule(min_exact=0.0, min_adjacent=0.0, max_discrepant=20)
    at = list(key)
    at[0], at[1] = 3, 2  # 2 of 20 decisions wrong -> 18/20 = 90%: passes
    assert _decide(at, key, rule=rule, earn_cut=3).outcome == "pass"
    below = list(at)
    below[2] = 3  # 17/20 = 85%: fails
    d = _decide(below, key, rule=rule, earn_cut=3)
    assert d.outcome == "fail"
    assert _check(d, "decision").message == (
        "Decision agreement at the earn cut 85% (17 of 20) is below the 90% required"
    )
    no_cut = _decide(below, key, rule=rule)
    assert _check(no_cut, "decision").passed is None and no_cut.outcome == "pass"


def test_too_few_to_judge():
    few_anchors = _decide(*_scores(20), n_anchors=4)
    assert few_anchors.outcome == "too_few"
    assert few_anchors.message == "Too few to judge: 4 anchors (5 needed)"
    few_scores = _decide(*_scores(19), n_anchors=5)
    assert few_scores.outcome == "too_few"
    assert few_scores.message == "Too few to judge: 19 criterion-scores (20 needed)"
    assert _decide(*_scores(1), n_anchors=1).message == (
        "Too few to judge: 1 anchor (5 needed) and 1 criterion-score (20 needed)"
    )
    assert _decide(*_scores(20), n_anchors=5).outcome == "pass"
    # Too few wins even over clear failures.
    assert _decide(*_scores(0, 0, 19)).outcome == "too_few"
    empty = _decide([], [], n_anchors=0)
    assert empty.outcome == "too_few" and _check(empty, "exact").passed is None


def test_percent_near_the_threshold_is_not_rounded_onto_it():
    # 699/1000 = 69.9% is shown with its decimal; 6999/10000 needs two.
    rule = PassRule(min_adjacent=0.0, max_discrepant=10**6)
    d = _decide(*_scores(6999, 3001), rule=rule)
    assert _check(d, "exact").message.startswith("Exact agreement 69.99% (6999 of 10000) is below")


# ------------------------------------------------------------------------------------ anchor summary
def test_contentious_anchor_marker():
    # Anchor 1 (key 2): five raters give 3 3 3 2 1 -> 3 of 5 above: contentious, above.
    # Anchor 2 (key 2): 3 3 1 1 2 -> 2 above, 2 below: a split, not contentious.
    # Anchor 3 (key 3): 2 2 3 3 -> exactly half below is not a majority.
    # Anchor 4 (key 4): 3 3 3 3 3 -> all below: contentious, below.
    units = [1] * 5 + [2] * 5 + [3] * 4 + [4] * 5
    raters = [*range(5), *range(5), *range(4), *range(5)]
    values = [3, 3, 3, 2, 1, 3, 3, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3]
    key = [2] * 10 + [3] * 4 + [4] * 5
    s = anchor_summary(units, raters, values, key, levels=LEVELS)
    one = s.get(1)
    assert one.counts == (1, 1, 3, 0) and one.key_level == 2
    assert (one.n_above, one.n_below, one.contentious, one.direction) == (3, 1, True, "above")
    assert one.exact.count == 1 and one.mean_signed_deviation == pytest.approx((1 + 1 + 1 - 1) / 5)
    assert not s.get(2).contentious and s.get(2).direction is None
    assert not s.get(3).contentious
    four = s.get(4)
    assert (four.contentious, four.direction, four.exact.p) == (True, "below", 0.0)
    assert [r.unit for r in s.contentious] == [1, 4]


def test_anchor_summary_by_criterion_and_minimum_ratings():
    s = anchor_summary(
        [1, 1, 1], [7, 7, 8], [4, 1, 4], [3, 1, 3], levels=LEVELS, criteria=[0, 1, 0], min_ratings=2
    )
    assert [(r.unit, r.criterion, r.n) for r in s.rows] == [(1, 0, 2), (1, 1, 1)]
    assert s.get(1, 0).contentious  # both raters above
    lone = anchor_summary([1], [7], [4], [3], levels=LEVELS, min_ratings=2)
    assert lone.get(1).n_above == 1 and not lone.get(1).contentious  # one rating is not a majority
    assert lone.get(1).too_few
    # By default the minimum evidence is 5 ratings: three raters all above the key are too few to judge.
    three = anchor_summary([1, 1, 1], [7, 8, 9], [4, 4, 4], [3, 3, 3], levels=LEVELS)
    assert three.get(1).too_few and not three.get(1).contentious and three.get(1).direction is None
    with pytest.raises(KeyError):
        s.get(2, 0)


def test_anchor_summary_rejects_inconsistent_key_and_double_scores():
    with pytest.raises(ValueError, match=r"anchor 5, criterion 2 has more than one key level: \[2, 3\]"):
        anchor_summary([5, 5], [1, 2], [2, 2], [2, 3], levels=LEVELS, criteria=[2, 2])
    with pytest.raises(ValueError, match="rater 9 scored anchor 5 more than once"):
        anchor_summary([5, 5], [9, 9], [2, 2], [2, 2], levels=LEVELS)
    with pytest.raises(ValueError, match="value 6 is not one"):
        anchor_summary([5], [9], [6], [2], levels=LEVELS)


# --------------------------------------------------------------------------------------- properties
rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 4),  # rater
        st.integers(0, 2),  # criterion
        st.integers(1, 4),  # value
        st.integers(1, 4),  # key
    ),
    min_size=0,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, seed=st.integers(0, 2**32 - 1))
def test_permuting_rows_changes_nothing(rows, seed):
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    perm = np.random.default_rng(seed).permutation(arr.shape[0])

    def table(a):
        return accuracy_by_rater(a[:, 0], a[:, 2], a[:, 3], levels=LEVELS, earn_cut=3, criteria=a[:, 1])

    assert table(arr) == table(arr[perm])
    ids1, k1 = weighted_kappa_by_rater(arr[:, 0], arr[:, 2], arr[:, 3], levels=LEVELS)
    ids2, k2 = weighted_kappa_by_rater(arr[perm, 0], arr[perm, 2], arr[perm, 3], levels=LEVELS)
    np.testing.assert_array_equal(ids1, ids2)
    np.testing.assert_array_equal(k1, k2)


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=12, unique_by=lambda t: t[0]
    ),
    keys=st.lists(st.integers(1, 4), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_anchor_summary_is_order_free(cells, keys, seed):
    # Every rater scores each of 3 anchors; the key is per anchor.
    rows = np.array([(u, r, v, keys[u]) for r, v in cells for u in range(3)], dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(rows.shape[0])
    a = anchor_summary(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], levels=LEVELS)
    b = anchor_summary(*(rows[perm, i] for i in range(4)), levels=LEVELS)
    assert a == b


def test_small_integer_rater_ids_do_not_wrap_around() -> None:
    """int16 rater ids times q*q overflow int16; every rater must still get its own confusion matrix."""
    raters = np.repeat(np.arange(3000, dtype=np.int16), 4)
    values = np.tile(np.array([1, 2, 3, 4], dtype=np.int8), 3000)
    key = np.tile(np.array([1, 2, 3, 3], dtype=np.int8), 3000)
    ids, kappas = weighted_kappa_by_rater(raters, values, key, levels=LEVELS)
    _, expected = weighted_kappa_by_rater(raters.astype(np.int64), values, key, levels=LEVELS)
    assert ids.tolist() == list(range(3000))
    np.testing.assert_allclose(kappas, expected)
    assert np.all(kappas == kappas[0])

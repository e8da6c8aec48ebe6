"""The round report: composition of the statistics, checked against independent computations."""

from __future__ import annotations

import doctest
import importlib

import krippendorff
import numpy as np
import pytest

from calibration.stats.accuracy import accuracy_by_rater
from calibration.stats.passrule import PassRule
from calibration.stats.report import RoundReport, round_report

LEVELS = [1, 2, 3, 4]
# Key per (anchor, criterion): 6 anchors x 2 criteria, every level used.
KEY = np.array([[1, 2], [2, 3], [3, 4], [4, 1], [2, 2], [3, 1]])


def _round():
    """Four raters score six anchors on two criteria.

    Rater 10 matches the key everywhere; rater 11 is one level lenient on criterion 0 (capped at 4);
    rater 12 is two levels severe on anchors 0-1 of criterion 1 (floored at 1), else exact; rater 13
    skips anchor 5.
    """
    rows = []
    for anchor in range(6):
        for crit in range(2):
            k = int(KEY[anchor, crit])
            rows.append((anchor, 10, crit, k, k))
            rows.append((anchor, 11, crit, min(k + 1, 4) if crit == 0 else k, k))
            rows.append((anchor, 12, crit, max(k - 2, 1) if crit == 1 and anchor < 2 else k, k))
            if anchor != 5:
                rows.append((anchor, 13, crit, k, k))
    a = np.array(rows)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4]


def _report(**kwargs) -> RoundReport:
    units, raters, criteria, values, key = _round()
    options = {"levels": LEVELS, "earn_cut": 3, "n_boot": 200, "seed": 1}
    return round_report(units, raters, criteria, values, key, **(options | kwargs))


def _matrix(units, raters, values):
    """Raters x units matrix with NaN for missing, the layout the krippendorff package takes."""
    u_ids, r_ids = np.unique(units), np.unique(raters)
    m = np.full((r_ids.size, u_ids.size), np.nan)
    m[np.searchsorted(r_ids, raters), np.searchsorted(u_ids, units)] = values
    return m


def test_docstring_examples_run():
    module = importlib.import_module("calibration.stats.report")
    result = doctest.testmod(module)
    assert result.attempted >= 5 and result.failed == 0


def test_report_metadata():
    rep = _report()
    assert rep.levels == (1, 2, 3, 4) and rep.earn_cut == 3
    assert rep.rater_ids == (10, 11, 12, 13)
    assert rep.anchor_ids == tuple(range(6)) and rep.criterion_ids == (0, 1)
    assert rep.n_scores == 6 * 2 * 3 + 5 * 2
    assert rep.n_boot == 200 and rep.seed == 1 and rep.pass_rule == PassRule()


@pytest.mark.parametrize("level", ["ordinal", "nominal", "interval"])
def test_alpha_overall_and_per_criterion_match_the_krippendorff_package(level):
    units, raters, criteria, values, _ = _round()
    rep = _report(level_of_measurement=level)
    # Overall, a unit is an (anchor, criterion) pair: 12 units.
    pair = units * 2 + criteria
    expect = krippendorff.alpha(
        reliability_data=_matrix(pair, raters, values), level_of_measurement=level, value_domain=LEVELS
    )
    assert rep.reliability.n_units == 12 and rep.reliability.n_raters == 4
    assert rep.reliability.alpha.value == pytest.approx(expect, abs=1e-9)
    assert rep.reliability.alpha.ci_method == "bootstrap"
    assert rep.reliability.alpha.ci_low <= rep.reliability.alpha.value <= rep.reliability.alpha.ci_high
    # Within a criterion, a unit is an anchor.
    for crit in (0, 1):
        m = criteria == crit
        expect_c = krippendorff.alpha(
            reliability_data=_matrix(units[m], raters[m], values[m]),
            level_of_measurement=level,
            value_domain=LEVELS,
        )
        got = rep.reliability_by_criterion[crit]
        assert got.criterion == crit and got.n_units == 6
        assert got.alpha.value == pytest.approx(expect_c, abs=1e-9)


def test_cohort_reliability_has_every_statistic():
    rel = _report().reliability
    bands = {"good", "tentative", "unacceptable"}
    label = rel.alpha.label()
    assert label in bands or label.startswith("between "), label
    for est in (rel.fleiss_kappa, rel.gwet_ac1, rel.percent_agreement_pairwise, rel.percent_agreement_all):
        assert est.defined and -1.0 <= est.value <= 1.0
    # "All identical" agreement: 12 pairs of (anchor, criterion); a unit disagrees when rater 11
    # (criterion 0, key below 4: anchors 0, 1, 2, 4, 5) or rater 12 (criterion 1, anchors 0, 1) deviates.
    # Disagreeing units: (0,0) (1,0) (2,0) (4,0) (5,0) (0,1) (1,1) -> 5 of 12 agree.
    assert rel.percent_agreement_all.value == pytest.approx(5 / 12)


def test_accuracy_and_pass_decisions():
    _, raters, criteria, values, key = _round()
    rep = _report()
    direct = accuracy_by_rater(raters, values, key, levels=LEVELS, earn_cut=3, criteria=criteria)
    assert rep.accuracy == direct
    # Rater 10: 12 scores on 6 anchors, all exact -> too few scores (20 needed) under the default rule.
    assert rep.pass_decisions[10].outcome == "too_few"
    lenient_rule = PassRule(min_scores=10)
    rep2 = _report(pass_rule=lenient_rule)
    assert rep2.pass_decisions[10].outcome == "pass"
    # Rater 11: criterion 0 one level high on 5 of 6 anchors -> exact 7 of 12: fails the exact rule.
    d11 = rep2.pass_decisions[11]
    assert d11.outcome == "fail"
    assert "Exact agreement 58.3% (7 of 12) is below the 70% required" in d11.message
    # Rater 12: two criterion-scores two levels off (keys 2 -> 1 is only one off: anchor 0 key 2 -> 1,
    # anchor 1 key 3 -> 1): one discrepant, within the limit of 1; exact 10 of 12 = 83.3%;
    # adjacent 11 of 12 = 91.7% < 95% -> fails on adjacency.
    d12 = rep2.pass_decisions[12]
    assert rep.accuracy.by_rater[12].discrepant.count == 1
    assert d12.outcome == "fail" and "Exact-or-adjacent agreement 91.7% (11 of 12)" in d12.message
    # Rater 13 scored 5 anchors (10 scores): exactly at both minimums of lenient_rule -> judged, passes.
    assert rep2.pass_decisions[13].outcome == "pass"
    assert rep2.pass_decisions[13].checks[0].message.startswith("5 anchors and 10 criterion-scores meet")


def test_anchor_summary_and_pairwise_matrix():
    rep = _report()
    row = rep.anchors.get(0, 1)  # key 2; raters give 2, 2, 1(?), 2 -> rater 12 gives max(0, 1) = 1
    assert row.key_level == 2 and row.counts == (1, 3, 0, 0) and not row.contentious
    assert rep.anchors.contentious == ()
    assert rep.pairwise_kappa.rater_ids.tolist() == [10, 11, 12, 13]
    assert rep.pairwise_kappa.get(10, 13) == pytest.approx(1.0)


def test_contentious_anchor_in_a_round():
    units, raters, criteria, values, key = _round()
    values = values.copy()
    # Every rater scores anchor 3, criterion 0 (key 4) as 3: the key, not the raters, looks wrong.
    values[(units == 3) & (criteria == 0)] = 3
    # Four raters are below the minimum evidence of five: no marker, only "too few to judge".
    rep = round_report(units, raters, criteria, values, key, levels=LEVELS, n_boot=0)
    assert rep.anchors.contentious == () and rep.anchors.get(3, 0).too_few
    rule = PassRule(min_anchors=4)  # the program's own minimum is stored with the round's rule
    rep = round_report(units, raters, criteria, values, key, levels=LEVELS, n_boot=0, pass_rule=rule)
    assert [(r.unit, r.criterion, r.direction) for r in rep.anchors.contentious] == [(3, 0, "below")]


def test_icc_on_total_scores_matches_shrout_fleiss_formula():
    units, raters, _, values, _ = _round()
    rep = _report()
    # Totals per (anchor, rater) over both criteria; rater 13 misses anchor 5, so the complete table
    # the ICC uses is anchors 0-4 x 4 raters (or the ICC drops anchor 5).
    totals = np.zeros((6, 4))
    for u, r, v in zip(units, raters, values, strict=True):
        totals[u, r - 10] += v
    x = totals[:5]
    n, k = x.shape
    grand = x.mean()
    bms = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    jms = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    ems = (resid**2).sum() / ((n - 1) * (k - 1))
    icc21 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    icc2k = (bms - ems) / (bms + (jms - ems) / n)
    assert rep.icc is not None and rep.icc_reason is None
    assert rep.icc.icc2.value == pytest.approx(icc21, abs=1e-9)
    assert rep.icc.icc2k.value == pytest.approx(icc2k, abs=1e-9)


def test_icc_undefined_with_one_anchor():
    units, raters, criteria, values, key = _round()
    m = units == 0
    rep = round_report(units[m], raters[m], criteria[m], values[m], key[m], levels=LEVELS, n_boot=0)
    assert rep.icc is None
    assert rep.icc_reason == "needs at least two anchors and two assessors with every criterion scored"
    assert rep.reliability_by_criterion[0].n_units == 1  # one anchor per criterion: computed, no crash


def test_bootstrap_is_reproducible_by_seed():
    a, b, c = _report(seed=5), _report(seed=5), _report(seed=6)
    assert a.reliability.alpha == b.reliability.alpha
    assert a.reliability.alpha.interval != c.reliability.alpha.interval


def test_row_order_does_not_change_the_report():
    units, raters, criteria, values, key = _round()
    perm = np.random.default_rng(0).permutation(units.size)
    a = _report()
    b = round_report(
        units[perm], raters[perm], criteria[perm], values[perm], key[perm], levels=LEVELS, earn_cut=3, n_boot=200,
        seed=1,
    )  # fmt: skip
    assert a.accuracy == b.accuracy and a.anchors == b.anchors and a.pass_decisions == b.pass_decisions
    assert a.reliability == b.reliability and dict(a.reliability_by_criterion) == dict(
        b.reliability_by_criterion
    )
    np.testing.assert_allclose(a.pairwise_kappa.values, b.pairwise_kappa.values, rtol=0, atol=1e-12)
    assert a.icc == b.icc


def test_bad_input_is_refused_with_the_value_named():
    units, raters, criteria, values, key = _round()
    bad = values.copy()
    bad[3] = 7
    with pytest.raises(ValueError, match="value 7 is not one of the rubric levels"):
        round_report(units, raters, criteria, bad, key, levels=LEVELS, n_boot=0)
    bad_key = key.copy()
    bad_key[0] = 4  # anchor 0, criterion 0 now has keys 1 and 4
    with pytest.raises(ValueError, match=r"anchor 0, criterion 0 has more than one key level: \[1, 4\]"):
        round_report(units, raters, criteria, values, bad_key, levels=LEVELS, n_boot=0)
    with pytest.raises(ValueError, match="criteria has 3 rows"):
        round_report(units, raters, criteria[:3], values, key, levels=LEVELS, n_boot=0)


def test_empty_round_is_undefined_not_a_crash():
    empty = np.array([], dtype=int)
    rep = round_report(empty, empty, empty, empty, empty, levels=LEVELS, n_boot=100)
    assert rep.n_scores == 0 and rep.rater_ids == ()
    assert rep.reliability.alpha.value is None and rep.reliability.alpha.reason
    assert rep.accuracy.overall.exact.p is None
    assert rep.icc is None and dict(rep.pass_decisions) == {}

"""The full agreement report for one calibration round.

Input is the round's long rows ``(unit, rater, criterion, value, key)``: one row per criterion-score,
``units`` being the anchor and ``key`` the anchor's master-key level for that criterion.

For reliability among assessors a *unit* is an (anchor, criterion) pair for the cohort overall, and an
anchor within one criterion. Accuracy, pass decisions and the anchor summary come from
:mod:`calibration.stats.accuracy`; ICC(2,1) and ICC(2,k) use each assessor's total score per anchor (the
sum over criteria of the level values, or of level indices when levels are not numbers), over the
(anchor, assessor) pairs that have every criterion scored.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from calibration.stats._checks import _check_lengths, _check_levels, _factorize, _level_index, _py
from calibration.stats._types import LevelOfMeasurement
from calibration.stats.accuracy import AccuracyTable, accuracy_by_rater
from calibration.stats.anchors import AnchorSummary, anchor_summary
from calibration.stats.icc import icc
from calibration.stats.passrule import PassDecision, PassRule, evaluate_pass_rule
from calibration.stats.reliability import (
    PairwiseMatrix,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    pairwise_kappa_matrix,
    percent_agreement,
)
from calibration.stats.results import Estimate, ICCResult

__all__ = ["CohortReliability", "RoundReport", "cohort_reliability", "round_report"]


@dataclass(frozen=True)
class CohortReliability:
    """Agreement among the assessors over one set of units (all (anchor, criterion) pairs, or one criterion).

    ``alpha``, ``fleiss_kappa`` and ``gwet_ac1`` carry bootstrap intervals over units; percent agreement
    its analytic one. :meth:`alpha_label` gives Krippendorff's interpretation, weighed against the
    minimum evidence (``n_anchors`` anchors and ``n_scores`` criterion-scores behind the units).
    """

    criterion: Hashable | None
    n_units: int
    n_raters: int
    alpha: Estimate
    fleiss_kappa: Estimate
    gwet_ac1: Estimate
    percent_agreement_pairwise: Estimate
    percent_agreement_all: Estimate
    n_anchors: int = 0
    n_scores: int = 0

    def alpha_label(self, rule: PassRule | None = None) -> str | None:
        """Alpha's label from :func:`calibration.stats.labels.interpret` under the rule's minimum evidence."""
        rule = rule or PassRule()
        return self.alpha.label(
            n_anchors=self.n_anchors,
            n_scores=self.n_scores,
            min_anchors=rule.min_anchors,
            min_scores=rule.min_scores,
        )


@dataclass(frozen=True)
class RoundReport:
    """Everything the round's agreement report shows; see :func:`round_report`."""

    levels: tuple[Any, ...]
    earn_cut: Any
    level_of_measurement: str
    pass_rule: PassRule
    n_boot: int
    seed: int
    n_scores: int
    rater_ids: tuple[Hashable, ...]
    anchor_ids: tuple[Hashable, ...]
    criterion_ids: tuple[Hashable, ...]
    reliability: CohortReliability
    reliability_by_criterion: Mapping[Hashable, CohortReliability]
    accuracy: AccuracyTable
    pass_decisions: Mapping[Hashable, PassDecision]
    anchors: AnchorSummary
    pairwise_kappa: PairwiseMatrix
    icc: ICCResult | None
    icc_reason: str | None = field(default=None)

    def icc_label(self, form: str = "ICC2") -> str | None:
        """The ICC form's label (:func:`calibration.stats.labels.interpret`): its units are anchors, and
        the evidence behind them is the round's criterion-scores; None without an ICC."""
        if self.icc is None:
            return None
        return self.icc.label(
            form,
            n_anchors=self.icc.n_units,
            n_scores=self.n_scores,
            min_anchors=self.pass_rule.min_anchors,
            min_scores=self.pass_rule.min_scores,
        )

    def pair_too_few(self, n_common: int) -> bool:
        """Whether a pair's kappa rests on too few units to judge: fewer than the rule's criterion-scores,
        or fewer anchors in common than its minimum (at least ``n_common / criteria`` anchors are shared)."""
        n_c = max(len(self.criterion_ids), 1)
        anchors_at_least = -(-int(n_common) // n_c)
        return n_common < self.pass_rule.min_scores or anchors_at_least < self.pass_rule.min_anchors


def cohort_reliability(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    level_of_measurement: LevelOfMeasurement = "ordinal",
    n_boot: int = 1000,
    seed: int = 0,
    criterion: Hashable | None = None,
    anchors: Any = None,
) -> CohortReliability:
    """Krippendorff's alpha, Fleiss' kappa and Gwet's AC1 (bootstrap intervals), and percent agreement.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows: the unit, the assessor and the level of each rating.
    levels : sequence
        The rubric's ordered levels (all of them).
    level_of_measurement : {"nominal", "ordinal", "interval", "ratio"}
        Alpha's metric, from the rubric.
    n_boot : int
        Bootstrap resamples over units for the intervals of alpha and the kappas (0: analytic ones).
    seed : int
        Seed of the bootstrap, so a report is reproducible.
    criterion : hashable, optional
        Recorded on the result when the rows are one criterion's.
    anchors : array_like, optional
        The anchor of each row, when a unit is not an anchor (e.g. anchor x criterion units), to count
        the anchors behind the result; by default each unit is one anchor.

    Returns
    -------
    CohortReliability

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Fleiss, J. L. (1971). Measuring
    nominal scale agreement among many raters. Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*.

    Examples
    --------
    >>> r = cohort_reliability([1, 1, 2, 2, 3, 3], [1, 2, 1, 2, 1, 2], [1, 1, 2, 2, 3, 2],
    ...                        levels=[1, 2, 3], n_boot=0)
    >>> r.n_units, r.n_raters, round(r.percent_agreement_all.value, 4)
    (3, 2, 0.6667)
    """
    _, unit_ids = _factorize(units, "units")
    _, rater_ids = _factorize(raters, "raters")
    scored = _scored(values)
    source = np.asarray(units if anchors is None else anchors)
    n_anchors = int(np.unique(source[scored]).size) if scored.size else 0
    boot = {"levels": levels, "n_boot": n_boot, "seed": seed}
    return CohortReliability(
        criterion=criterion,
        n_units=int(unit_ids.size),
        n_raters=int(rater_ids.size),
        n_anchors=n_anchors,
        n_scores=int(scored.sum()),
        alpha=krippendorff_alpha(units, raters, values, level_of_measurement=level_of_measurement, **boot),
        fleiss_kappa=fleiss_kappa(units, raters, values, **boot),
        gwet_ac1=gwet_ac1(units, raters, values, **boot),
        # Percent agreement keeps its analytic interval (Gwet's t, or Wilson for "all identical"): the
        # bootstrap is for alpha and the kappas (DESIGN §5).
        percent_agreement_pairwise=percent_agreement(
            units, raters, values, levels=levels, definition="pairwise"
        ),
        percent_agreement_all=percent_agreement(units, raters, values, levels=levels, definition="all"),
    )


def _scored(values: Any) -> np.ndarray:
    """True for each row with a rating (not NaN, not None)."""
    v = np.asarray(values)
    if v.dtype.kind == "f":
        return np.asarray(~np.isnan(v))
    if v.dtype.kind == "O":
        return np.array([x is not None and x == x for x in v.tolist()], dtype=bool)
    return np.ones(v.size, dtype=bool)


def _total_scores(
    u_codes: np.ndarray, r_codes: np.ndarray, score: np.ndarray, n_u: int, n_r: int, n_c: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total score per (anchor, rater) over the pairs with every criterion scored."""
    pair = u_codes * n_r + r_codes
    n_scored = np.bincount(pair, minlength=n_u * n_r)
    totals = np.bincount(pair, weights=score, minlength=n_u * n_r)
    complete = np.flatnonzero(n_scored == n_c)
    return complete // n_r, complete % n_r, totals[complete]


def round_report(
    units: Any,
    raters: Any,
    criteria: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    earn_cut: Any = None,
    level_of_measurement: LevelOfMeasurement = "ordinal",
    pass_rule: PassRule = PassRule(),  # noqa: B008 -- frozen dataclass: a shared default is safe
    n_boot: int = 1000,
    seed: int = 0,
) -> RoundReport:
    """The agreement report of one calibration round.

    Computes cohort reliability overall (unit = (anchor, criterion)) and per criterion (unit = anchor);
    accuracy per assessor, per assessor x criterion and per criterion; each assessor's pass decision
    (anchors counted per assessor); the per-anchor summary with contentious anchors; the pairwise
    quadratic-weighted kappa matrix; and ICC(2,1) / ICC(2,k) on total scores per anchor.

    Parameters
    ----------
    units, raters, criteria : array_like
        The anchor, the assessor and the criterion of each criterion-score.
    values, key : array_like
        The assessor's level and the anchor's key level for that criterion.
    levels : sequence
        The rubric's ordered levels (all of them).
    earn_cut : level, optional
        The rubric's earn cut, for decision agreement.
    level_of_measurement : {"nominal", "ordinal", "interval", "ratio"}
        Alpha's metric, from the rubric.
    pass_rule : PassRule
        The pass rule in force for the round.
    n_boot : int
        Bootstrap resamples for alpha and the kappas (DESIGN: at least 1,000).
    seed : int
        Seed of every bootstrap, so the report is reproducible.

    Returns
    -------
    RoundReport

    Raises
    ------
    ValueError
        A value, key level or earn cut outside ``levels``; arrays of different lengths; two key levels
        for one anchor and criterion; an assessor scoring the same anchor and criterion twice.

    References
    ----------
    See :func:`cohort_reliability`, :func:`calibration.stats.accuracy.accuracy_by_rater` and Shrout, P. E.
    & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater reliability.

    Examples
    --------
    >>> units = [1, 1, 2, 2, 3, 3] * 2
    >>> raters = [7, 8] * 6
    >>> criteria = [0] * 6 + [1] * 6
    >>> values = [1, 1, 2, 2, 3, 2, 2, 2, 3, 3, 1, 1]
    >>> key = [1, 1, 2, 2, 3, 3, 2, 2, 3, 3, 1, 1]
    >>> rep = round_report(units, raters, criteria, values, key, levels=[1, 2, 3], n_boot=0)
    >>> rep.accuracy.by_rater[8].exact.label(), rep.pass_decisions[8].outcome
    ('83.3% (5 of 6)', 'too_few')
    """
    lv = _check_levels(levels, labels=True)
    n_rows = _check_lengths(units=units, raters=raters, criteria=criteria, values=values, key=key)
    units, raters, criteria = np.asarray(units), np.asarray(raters), np.asarray(criteria)
    values, key = np.asarray(values), np.asarray(key)

    # Validates levels, key consistency and double scores before any statistic is computed.
    anchors = anchor_summary(
        units, raters, values, key, levels=lv, criteria=criteria, min_ratings=pass_rule.min_anchors
    )
    table = accuracy_by_rater(raters, values, key, levels=lv, earn_cut=earn_cut, criteria=criteria)

    u_codes, unit_ids = _factorize(units, "units")
    r_codes, rater_ids = _factorize(raters, "raters")
    c_codes, crit_ids = _factorize(criteria, "criteria")
    n_u, n_r, n_c = unit_ids.size, rater_ids.size, crit_ids.size

    # Reliability units: (anchor, criterion) overall.
    pair_units = u_codes * max(n_c, 1) + c_codes
    options: dict[str, Any] = {
        "levels": lv,
        "level_of_measurement": level_of_measurement,
        "n_boot": n_boot,
        "seed": seed,
    }
    overall = cohort_reliability(pair_units, r_codes, values, anchors=u_codes, **options)
    by_criterion: dict[Hashable, CohortReliability] = {}
    order = np.argsort(c_codes, kind="stable")
    bounds = np.searchsorted(c_codes[order], np.arange(n_c + 1))
    for ci in range(n_c):
        rows = order[bounds[ci] : bounds[ci + 1]]
        crit = _py(crit_ids[ci])
        by_criterion[crit] = cohort_reliability(
            u_codes[rows], r_codes[rows], values[rows], criterion=crit, **options
        )

    # Anchors scored per assessor, for the minimum-evidence rule.
    seen = np.bincount(r_codes * n_u + u_codes, minlength=n_r * n_u).reshape(n_r, n_u) > 0
    n_anchors = seen.sum(axis=1)
    decisions = {
        _py(r): evaluate_pass_rule(table.by_rater[_py(r)], pass_rule, n_anchors=int(n_anchors[i]))
        for i, r in enumerate(rater_ids)
    }

    # Fleiss-Cohen-Everitt intervals (DESIGN §5 for Cohen's kappa): a bootstrap for every pair would
    # cost resamples x pairs kappas, far beyond the report's budget for 30 assessors (435 pairs).
    pairwise = pairwise_kappa_matrix(pair_units, raters, values, levels=lv, weights="quadratic")

    numeric = lv.dtype.kind in "iuf"
    score = values.astype(float) if numeric else _level_index(values, lv, what="value").astype(float)
    t_units, t_raters, totals = _total_scores(u_codes, r_codes, score, n_u, n_r, n_c)
    icc_result, icc_reason = None, None
    if np.unique(t_units).size < 2 or np.unique(t_raters).size < 2:
        icc_reason = "needs at least two anchors and two assessors with every criterion scored"
    else:
        icc_result = icc(unit_ids[t_units], rater_ids[t_raters], totals)

    return RoundReport(
        levels=tuple(_py(x) for x in lv),
        earn_cut=_py(earn_cut),
        level_of_measurement=level_of_measurement,
        pass_rule=pass_rule,
        n_boot=n_boot,
        seed=seed,
        n_scores=n_rows,
        rater_ids=tuple(_py(x) for x in rater_ids),
        anchor_ids=tuple(_py(x) for x in unit_ids),
        criterion_ids=tuple(_py(x) for x in crit_ids),
        reliability=overall,
        reliability_by_criterion=MappingProxyType(by_criterion),
        accuracy=table,
        pass_decisions=MappingProxyType(decisions),
        anchors=anchors,
        pairwise_kappa=pairwise,
        icc=icc_result,
        icc_reason=icc_reason,
    )

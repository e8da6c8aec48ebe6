"""Statistics results in the API's shape: one converter for every statistic the API shows (the
round report, the assessor profile and the live scoring report), one for an assessor's accuracy
against the key and one for a pass decision."""

from __future__ import annotations

import math
from typing import Any, TypedDict

from ...services.operational_stats import Statistic
from ...stats.accuracy import AccuracyResult
from ...stats.passrule import PassDecision
from ...stats.results import Estimate, Proportion
from .schemas import DecisionOut, RuleCheckOut, StatisticOut


def _f(x: Any) -> float | None:
    if x is None:
        return None
    value = float(x)
    return None if math.isnan(value) or math.isinf(value) else value


def statistic(est: Estimate | Proportion | Statistic, label: str | None = None) -> StatisticOut:
    """An :class:`~calibration.stats.results.Estimate`, a share (a ``Proportion``: ``count`` of
    ``n_units``, Wilson interval) or the live scoring report's already labelled
    :class:`~calibration.services.operational_stats.Statistic` as one shape; ``label`` is the words
    the page shows (a ``Statistic`` brings its own). A NaN or infinite number becomes null."""
    if isinstance(est, Statistic):
        method, ci_method, n_units, n_raters, count = est.method, est.ci_method, est.n, None, est.count
        label = est.label if label is None else label
    elif isinstance(est, Proportion):
        method, ci_method, n_units, n_raters, count = "proportion", "wilson", int(est.n), None, int(est.count)
    else:
        method, ci_method, n_units, n_raters, count = (
            est.method,
            est.ci_method,
            est.n_units,
            est.n_raters,
            None,
        )
    return StatisticOut(
        method=method,
        value=_f(est.value),
        ci_low=_f(est.ci_low),
        ci_high=_f(est.ci_high),
        ci_method=ci_method,
        confidence=float(est.confidence),
        n_units=n_units,
        n_raters=n_raters,
        count=count,
        label=label,
        reason=est.reason,
    )


class Accuracy(TypedDict):
    """An assessor's accuracy against the key, by the names the round report and the profile give
    it (keyword arguments of their models)."""

    exact: StatisticOut | None
    adjacent: StatisticOut | None
    discrepant: StatisticOut | None
    mean_signed_deviation: StatisticOut | None
    weighted_kappa: StatisticOut | None


def accuracy(acc: AccuracyResult | None, lean: str | None = None) -> Accuracy:
    """The five accuracy statistics (all None without a result: no scores yet); ``lean`` labels the
    mean signed deviation."""
    if acc is None:
        return Accuracy(
            exact=None, adjacent=None, discrepant=None, mean_signed_deviation=None, weighted_kappa=None
        )
    return Accuracy(
        exact=statistic(acc.exact),
        adjacent=statistic(acc.adjacent),
        discrepant=statistic(acc.discrepant),
        mean_signed_deviation=statistic(acc.mean_signed_deviation, lean),
        weighted_kappa=statistic(acc.weighted_kappa),
    )


def decision_out(decision: PassDecision | None) -> DecisionOut | None:
    """A pass decision with each of its checks (None stays None)."""
    if decision is None:
        return None
    return DecisionOut(
        outcome=decision.outcome,
        message=decision.message,
        checks=[
            RuleCheckOut(
                name=c.name,
                observed=_f(c.observed),
                threshold=float(c.threshold),
                passed=c.passed,
                applicable=c.applicable,
                message=c.message,
            )
            for c in decision.checks
        ],
    )

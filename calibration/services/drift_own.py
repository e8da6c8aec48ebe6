"""The assessor's own rules of issue 15, computed from stored scores into findings (nothing is written):

* ``own_drift``: a change from the assessor's own level over time, overall and per criterion
  (:func:`calibration.stats.selfstart.self_starting_drift`, limits from the program's false-alarm
  budget, sigma from the certified pool);
* ``lean``: a stable lean against the key large enough to matter, decided on its interval
  (:func:`calibration.stats.lean.lean`). A lean is feedback and a certification matter, never a drift
  flag: it does not start recalibration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..models import FlagRule
from ..stats import drift as stats_drift
from ..stats.ewma import PoolSigma
from ..stats.lean import Lean, lean
from ..stats.selfstart import OwnDrift, self_starting_drift
from .drift_series import Finding, Series
from .policy import DriftPolicy
from .score_rows import label_id


def _sheets_of(current: Series, uid: int, positions: list[int]) -> list[int]:
    rows = (current.assessor == uid) & np.isin(current.pos, np.asarray(positions, dtype=np.int64))
    return sorted({int(s) for s in current.sheet[rows].tolist()})


def _rids(series: Series, positions: Any) -> list[int]:
    return [series.round_ids[label_id(p)] for p in positions]


def false_alarm_words(parameters: Mapping[str, Any], who: str = "a stable assessor") -> str:
    """The nominal false-alarm rate stored with a flag, in plain words (empty when there is none)."""
    rate = parameters.get("nominal_false_alarm")
    rounds = parameters.get("horizon_rounds")
    if isinstance(rate, dict):
        rate = sum(float(v) for v in rate.values())
    if not isinstance(rate, int | float) or not rounds:
        return ""
    return (
        f"{who} would be flagged by this rule at most {100 * float(rate):.1f}% of the time "
        f"over {int(rounds)} rounds"
    )


def series_pool_sigma(pool: Series) -> PoolSigma:
    """The certified pool's sigma over ``pool`` (its rows of one rubric version's calibration rounds)."""
    return stats_drift.pool_sigma(
        pool.pos,
        pool.assessor,
        pool.sheet,
        pool.level,
        pool.key,
        levels=pool.rubric.level_values,
        criteria=pool.criterion,
    )


def own_drift_findings(
    series: Series,
    current: Series,
    pool: Series,
    cfg: DriftPolicy,
    titles: Mapping[int, str],
    sigma: PoolSigma | None = None,
) -> list[Finding]:
    """Self-starting drift charts of the judged assessors, with the pool's sigma (``sigma``, else
    computed from ``pool``) as their prior."""
    budget = cfg.assessor_budget
    if budget.share("drift_overall") <= 0:
        return []
    levels = series.rubric.level_values
    if sigma is None:
        sigma = series_pool_sigma(pool)
    per_criterion = cfg.ewma_per_criterion and budget.share("drift_criterion") > 0
    table = self_starting_drift(
        current.pos,
        current.assessor,
        current.sheet,
        current.level,
        current.key,
        levels=levels,
        criteria=current.criterion if per_criterion else None,
        sigma=sigma,
        k=float(cfg.drift_k),
        prior_df=float(cfg.drift_prior_df),
        budget=budget,
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    return [_own_finding(series, current, d, sigma.to_dict(), titles) for d in table.flags]


def _own_finding(
    series: Series, current: Series, d: OwnDrift, sigma: dict[str, Any], titles: Mapping[int, str]
) -> Finding:
    uid = label_id(d.rater)
    crit = None if d.criterion is None else label_id(d.criterion)
    name = None if crit is None else titles.get(crit, str(crit))
    where = "overall" if crit is None else f"on “{name}”"
    first = series.round_ids[label_id(d.first_round)]
    evidence_pos = [label_id(p) for p in d.evidence_rounds]
    sheets = _sheets_of(current, uid, evidence_pos)
    change = None if d.change_round is None else series.round_ids[label_id(d.change_round)]
    way = "higher" if d.direction == "lenient" else "lower"
    size = "" if d.shift is None else f" by about {abs(d.shift):.2f} levels"
    since = "" if change is None else f" from “{series.round_names[change]}”"
    parameters = {**d.parameters, "sigma": sigma}
    return Finding(
        rule=FlagRule.OWN_DRIFT,
        user_id=uid,
        criterion_id=crit,
        round_id=first,
        statistic=f"Self-starting CUSUM of the change from the assessor's own level, {where}",
        value=d.value,
        threshold=d.limit,
        direction=d.direction,
        window=_rids(series, d.evidence_rounds),
        evidence={
            "rounds": _rids(series, d.rounds),
            "means": list(d.means),
            "n_scores": list(d.n_scores),
            "n_anchors": list(d.n_anchors),
            "upper": list(d.upper),
            "lower": list(d.lower),
            "change_round": change,
            "shift": d.shift,
            "too_few_rounds": _rids(series, d.too_few_rounds),
            "sheet_ids": sheets,
            "signal_round": first,
        },
        parameters=parameters,
        summary=(
            f"Drift {where}: scores moved {way} than the assessor's own earlier level{size}{since}; "
            f"the CUSUM reached {d.value or 0:.2f} against its limit {d.limit:.2f} in "
            f"“{series.round_names[first]}” ({false_alarm_words(parameters)})."
        ),
        assessor_text=d.sentence(name),
        key_evidence=sheets,
    )


def lean_findings(
    series: Series, current: Series, cfg: DriftPolicy, titles: Mapping[int, str]
) -> list[Finding]:
    """Material leans after each judged assessor's latest round: overall, and on a criterion only
    where the overall level does not already lean (halo would repeat the overall lean per criterion)."""
    if not len(current):
        return []
    leans = lean(
        current.pos,
        current.assessor,
        current.sheet,
        current.level,
        current.key,
        levels=series.rubric.level_values,
        criteria=current.criterion,
        window=int(cfg.lean_window_rounds),
        material=float(cfg.lean_material),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    overall_lean = {label_id(r.rater) for k, r in leans.items() if not isinstance(k, tuple) and r.flagged}
    out = []
    for key, r in leans.items():
        if not r.flagged or (isinstance(key, tuple) and label_id(r.rater) in overall_lean):
            continue
        out.append(_lean_finding(series, current, r, titles))
    return out


def _lean_finding(series: Series, current: Series, r: Lean, titles: Mapping[int, str]) -> Finding:
    uid = label_id(r.rater)
    crit = None if r.criterion is None else label_id(r.criterion)
    name = None if crit is None else titles.get(crit, str(crit))
    where = "overall" if crit is None else f"on “{name}”"
    positions = [label_id(p) for p in r.window_rounds]
    sheets = _sheets_of(current, uid, positions)
    last = series.round_ids[label_id(r.round)]
    named = dataclasses.replace(r, criterion=name)
    way = "lenient (above the key)" if r.verdict == "lenient" else "severe (below the key)"
    return Finding(
        rule=FlagRule.LEAN,
        user_id=uid,
        criterion_id=crit,
        round_id=last,
        statistic=f"Mean signed deviation from the key over the latest rounds, {where}",
        value=r.mean,
        threshold=float(r.parameters["material"]) * (1 if r.verdict == "lenient" else -1),
        direction=r.verdict,
        window=_rids(series, r.window_rounds),
        evidence={
            "verdict": r.verdict,
            "mean": r.mean,
            "ci": [r.ci_low, r.ci_high],
            "window_rounds": _rids(series, r.window_rounds),
            "lean_rounds": _rids(series, r.lean_rounds),
            "n_scores": r.n_scores,
            "n_anchors": r.n_anchors,
            "sheet_ids": sheets,
        },
        parameters=dict(r.parameters),
        summary=(
            f"Lean {where}, not drift: a steady {way} level of {r.mean or 0:+.2f} levels over the last "
            f"{len(positions)} rounds, 95% interval {r.ci_low or 0:+.2f} to {r.ci_high or 0:+.2f}, wholly "
            f"beyond the material size of ±{float(r.parameters['material']):.2f}. Feedback and a "
            "certification matter; it does not start recalibration."
        ),
        assessor_text=named.sentence(),
        key_evidence=sheets,
    )

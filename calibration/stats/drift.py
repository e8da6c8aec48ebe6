"""Drift: an assessor, or the whole cohort, moving away from the key over time (DESIGN §6).

Rules, each a function with DESIGN's default numbers as keyword parameters, which come back in the
result's ``parameters`` so a flag can store the values in force:

* (a) :func:`pass_rule_drift`: a calibration round below the pass rule.
* (b) :func:`ewma_drift`: EWMA of the signed deviation outside its control limits, per assessor, overall
  and per criterion (systematic leniency or severity); :func:`pool_sigma` gives its sigma from the
  certified pool and :func:`ewma_chart` is the chart itself.
* (c) :func:`accuracy_drop`: exact agreement in the latest window more than 15 points below the
  assessor's own baseline, and significantly so.
* (d) :func:`cohort_drift`: round alpha below .667 or more than .15 below the program's baseline, naming
  the anchors and criteria of lowest agreement.

:func:`drift_sentence` says what a drift means to the assessor, in one plain sentence.

Conventions
-----------
* Input is long rows, one per criterion-score: the round, the assessor (``raters``), the anchor
  (``units``), the level given (``values``), the key level (``key``) and optionally the criterion. Round
  ids sort in time order (integers, dates or ISO strings). Each assessor's series is the rounds they took
  part in; a round they skipped is not a zero.
* Signed deviation ``d = index(assessor level) - index(key level)`` on the rubric's level index:
  positive is lenient, negative severe.
* Minimum evidence (DESIGN §6): no drift decision from fewer than ``min_anchors`` anchors or
  ``min_scores`` criterion-scores. Anchors count score sheets, i.e. distinct (round, anchor) pairs.
  "Too few to judge" (status ``"too_few"``) never flags.
* Undefined is an answer: status ``"undefined"`` with a plain ``reason`` (a zero sigma, an undefined
  alpha, no rounds), never a crash and never a flag. A level outside the rubric raises ``ValueError``
  naming it.
* Per assessor and per criterion, everything is computed with ``np.bincount`` over composite keys and
  array arithmetic; the only Python loop is the EWMA recursion over rounds, vectorised over assessors.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _EPS, _py
from calibration.stats._drift_common import (
    Status,
    _check_count,
    _evidence_text,
    _frozen_map,
    _rows,
    _ToDict,
    drift_sentence,
)
from calibration.stats.ewma import (
    EwmaDrift,
    EwmaDriftTable,
    EwmaPath,
    PoolSigma,
    ewma_chart,
    ewma_drift,
    pool_sigma,
)
from calibration.stats.labels import ALPHA_TENTATIVE, MIN_ANCHORS, MIN_SCORES
from calibration.stats.passrule import PassDecision
from calibration.stats.proportions import wilson_interval
from calibration.stats.results import Proportion

__all__ = [
    "BASELINE_MIN_DROP",
    "COHORT_MAX_DROP",
    "COHORT_MIN_ALPHA",
    "AccuracyDrop",
    "CohortDrift",
    "EwmaDrift",
    "EwmaDriftTable",
    "EwmaPath",
    "PassRuleDrift",
    "PoolSigma",
    "accuracy_drop",
    "cohort_drift",
    "drift_sentence",
    "ewma_chart",
    "ewma_drift",
    "pass_rule_drift",
    "pool_sigma",
]

#: Rule (c): how far exact agreement must fall below the assessor's own baseline to flag.
BASELINE_MIN_DROP = 0.15
#: Rule (d): the lowest acceptable cohort alpha (Krippendorff's tentative bar).
COHORT_MIN_ALPHA = ALPHA_TENTATIVE
#: Rule (d): how far a round's alpha may fall below the program's baseline before it flags.
COHORT_MAX_DROP = 0.15


# ------------------------------------------------------------------------------------- rule (c)
@dataclass(frozen=True)
class AccuracyDrop(_ToDict):
    """Rule (c) for one assessor: exact agreement in the latest window against their own baseline.

    The rule is evaluated after every round of the assessor's series, as a live service would have. The
    reported evaluation is the first that fired (``status="flagged"``, ``first_round``), else the latest.
    ``window``/``baseline`` are its exact-agreement shares with Wilson intervals; ``drop`` is
    ``baseline.p - window.p``; ``z``/``p_value`` the one-sided two-proportion test.
    ``flagged_rounds`` lists every evaluation that fired.
    """

    rater: Hashable
    status: Status
    round: Hashable | None
    first_round: Hashable | None
    window_rounds: tuple[Hashable, ...]
    baseline_rounds: tuple[Hashable, ...]
    window: Proportion | None
    baseline: Proportion | None
    drop: float | None
    z: float | None
    p_value: float | None
    flagged_rounds: tuple[Hashable, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def accuracy_drop(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    window: int = 3,
    baseline: int = 6,
    min_drop: float = BASELINE_MIN_DROP,
    alpha: float = 0.05,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> Mapping[Hashable, AccuracyDrop]:
    """Rule (c): exact agreement in the latest window far below the assessor's own baseline.

    After each round of an assessor's series, the *window* is their last ``window`` rounds and the
    *baseline* the (up to) ``baseline`` rounds before it. The rule fires when both

    * the drop ``p_baseline - p_window`` is more than ``min_drop`` (DESIGN §6: 15 points), and
    * it is significant: one-sided two-proportion z test, ``z = drop / se``, ``p_value = 1 - Phi(z) <
      alpha``, with score sheets as clusters (see below),

    and each side has at least ``min_anchors`` score sheets and ``min_scores`` criterion-scores (else
    "too few to judge", never a flag). The 15-point margin is the practical size that matters; the test
    stops it firing on small windows, where 15 points is within chance (e.g. 20 vs 20 scores).

    Criterion-scores on one sheet are positively correlated (an assessor who misreads a submission
    misses several of its criteria), so the binomial ``p(1-p)/n`` understates the noise and the usual
    test raises false alarms. The variance of each share is the cluster (ratio-estimator) one over its
    ``m`` sheets, under the null's pooled share ``p``:
    ``var = m/(m-1) * sum_s (e_s - p n_s)^2 / n^2`` with ``e_s`` exact of ``n_s`` scores on sheet ``s``;
    with one score per sheet it is the pooled binomial test up to ``m/(m-1)``.

    Parameters
    ----------
    rounds, raters, units : array_like
        Round (ids sort in time order), assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels (all of them).
    window, baseline : int
        Rounds in the latest window and (at most) in the baseline before it.
    min_drop : float
        Drop in exact agreement (a fraction) that must be exceeded.
    alpha : float
        One-sided significance level of the test.
    min_anchors, min_scores : int
        Minimum evidence in the window and in the baseline (DESIGN §6: 5 and 20).

    Returns
    -------
    Mapping
        Read-only ``{rater: AccuracyDrop}``.

    References
    ----------
    Fleiss, J. L., Levin, B., & Paik, M. C. (2003). *Statistical Methods for Rates and Proportions*
    (3rd ed.), §2.5 (two-proportion z test) and ch. 15 (clustered binary data). Rao, J. N. K., & Scott,
    A. J. (1992). A simple method for the analysis of clustered binary data. *Biometrics* 48, 577-585.
    Cochran, W. G. (1977). *Sampling Techniques* (3rd ed.), §6.9 (variance of a ratio estimate).
    Wilson (1927) for the intervals.

    Examples
    --------
    An assessor exact on 7 of 8 anchors for four rounds, then on 4 of 8 for three rounds:

    >>> exact = [1] * 7 + [0]
    >>> hits = np.array(exact * 4 + ([1] * 4 + [0] * 4) * 3)
    >>> t = np.repeat(np.arange(1, 8), 8)
    >>> r = accuracy_drop(t, np.zeros(56), np.arange(56), 2 + (1 - hits), np.full(56, 2), levels=[1, 2, 3])
    >>> a = r[0.0]
    >>> a.status, a.first_round, a.window.label(), a.baseline.label(), round(a.p_value, 4)
    ('flagged', 6, '62.5% (15 of 24)', '87.5% (21 of 24)', 0.0251)
    """
    _check_count(window=window, baseline=baseline, min_anchors=min_anchors, min_scores=min_scores)
    if window < 1 or baseline < 1:
        raise ValueError(f"window and baseline must be at least 1 round, got {window!r} and {baseline!r}")
    if not (isinstance(min_drop, int | float) and 0 <= min_drop < 1):
        raise ValueError(f"min_drop must be a fraction between 0 and 1, got {min_drop!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    p = _rows(rounds, raters, units, values, key, levels, None)
    params = {
        "window": int(window),
        "baseline": int(baseline),
        "min_drop": float(min_drop),
        "alpha": float(alpha),
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
    }
    A, T = p.A, p.T
    n, _, ns = p.counts(p.r, A)
    cell = p.r.astype(np.int64) * T + p.t
    e = np.bincount(cell, weights=p.d == 0, minlength=A * T).reshape(A, T)
    # Per score sheet (cluster) sums for the cluster-robust variance: sum n_s^2, e_s n_s, e_s^2 per cell.
    n_u = int(p.u.max()) + 1 if p.u.size else 1
    sheet_keys, inv = np.unique(cell * n_u + p.u, return_inverse=True)
    inv = inv.reshape(-1)
    n_s, e_s = np.bincount(inv), np.bincount(inv, weights=p.d == 0)
    sheet_cell = sheet_keys // n_u
    moments = [
        np.bincount(sheet_cell, weights=wt, minlength=A * T).reshape(A, T)
        for wt in (n_s * n_s, e_s * n_s, e_s * e_s)
    ]
    obs = n > 0
    k_a = obs.sum(axis=1)
    K = int(k_a.max()) if A else 0
    # Compress each assessor's series to the rounds they took part in: column k = their k-th round.
    ai, ti = np.nonzero(obs)
    ki = np.cumsum(obs, axis=1)[ai, ti] - 1
    comp = np.zeros((6, A, K))
    comp[:, ai, ki] = np.stack([x[ai, ti] for x in (n, e, ns, *moments)])
    round_of = np.full((A, K), -1)
    round_of[ai, ki] = ti
    cum = np.concatenate([np.zeros((6, A, 1)), np.cumsum(comp, axis=2)], axis=2)
    end = np.arange(1, K + 1)
    mid = np.maximum(end - window, 0)
    start = np.maximum(mid - baseline, 0)
    w = cum[:, :, end] - cum[:, :, mid]  # (6, A, K): scores, exact, sheets, moments in the window
    b = cum[:, :, mid] - cum[:, :, start]
    evaluated = (mid >= 1)[None, :] & (end[None, :] <= k_a[:, None])
    enough = (
        evaluated
        & (w[0] >= min_scores)
        & (w[2] >= min_anchors)
        & (b[0] >= min_scores)
        & (b[2] >= min_anchors)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pw, pb = w[1] / w[0], b[1] / b[0]
        pooled = (w[1] + b[1]) / (w[0] + b[0])

        def var(g: np.ndarray) -> np.ndarray:  # ratio-estimator variance of a share, sheets as clusters
            ss = np.maximum(g[5] - 2 * pooled * g[4] + pooled**2 * g[3], 0.0)
            return np.asarray(ss / g[0] ** 2 * g[2] / (g[2] - 1))

        se = np.sqrt(var(w) + var(b))
        drop = pb - pw
        z = np.where(se > 0, drop / se, np.nan)
    pval = sps.norm.sf(z)
    fire = enough & (drop > min_drop + _EPS) & (pval < alpha)
    rid = [_py(v) for v in p.round_ids]
    out: dict[Hashable, AccuracyDrop] = {}
    for a in np.flatnonzero(k_a > 0).tolist():
        last = int(k_a[a]) - 1
        fired = np.flatnonzero(fire[a])
        k = int(fired[0]) if fired.size else last
        reason = None
        if fired.size:
            status: Status = "flagged"
        elif not evaluated[a, k]:
            status = "too_few"
            reason = f"Too few to judge: {k + 1} round{'' if k == 0 else 's'}, no baseline before the window of {window}"
        elif not enough[a, k]:
            status = "too_few"
            side, arr = (
                ("window", w) if (w[0, a, k] < min_scores or w[2, a, k] < min_anchors) else ("baseline", b)
            )
            reason = f"{_evidence_text(int(arr[2, a, k]), int(arr[0, a, k]), min_anchors, min_scores)} in the {side}"
        else:
            status = "in_control"
        has_b = bool(evaluated[a, k])
        out[_py(p.rater_ids[a])] = AccuracyDrop(
            rater=_py(p.rater_ids[a]),
            status=status,
            round=rid[round_of[a, k]],
            first_round=rid[round_of[a, k]] if fired.size else None,
            window_rounds=tuple(rid[round_of[a, j]] for j in range(int(mid[k]), k + 1)),
            baseline_rounds=tuple(rid[round_of[a, j]] for j in range(int(start[k]), int(mid[k]))),
            window=_share(w, a, k),
            baseline=_share(b, a, k) if has_b else None,
            drop=float(drop[a, k]) if has_b else None,
            z=None if not has_b or math.isnan(z[a, k]) else float(z[a, k]),
            p_value=None if not has_b or math.isnan(pval[a, k]) else float(pval[a, k]),
            flagged_rounds=tuple(rid[round_of[a, j]] for j in fired),
            reason=reason,
            parameters=params,
        )
    return MappingProxyType(out)


def _share(arr: np.ndarray, a: int, k: int) -> Proportion:
    return wilson_interval(int(arr[1, a, k]), int(arr[0, a, k]))


# ------------------------------------------------------------------------------------- rule (a)
@dataclass(frozen=True)
class PassRuleDrift(_ToDict):
    """Rule (a): calibration rounds below the pass rule. ``first_round`` is the first failed round."""

    status: Status
    first_round: Hashable | None
    failed_rounds: tuple[Hashable, ...]
    too_few_rounds: tuple[Hashable, ...]
    reason: str | None

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def pass_rule_drift(outcomes: Sequence[Any], *, rounds: Sequence[Hashable] | None = None) -> PassRuleDrift:
    """Rule (a): flag a calibration round whose pass decision is "fail"; "too_few" never flags.

    Parameters
    ----------
    outcomes : sequence of str or PassDecision
        One per calibration round, oldest first: ``"pass"``, ``"fail"`` or ``"too_few"`` (or the
        :class:`~calibration.stats.passrule.PassDecision` from ``evaluate_pass_rule``).
    rounds : sequence, optional
        Round ids in the same order (default ``0, 1, ...``).

    Returns
    -------
    PassRuleDrift

    References
    ----------
    DESIGN §6, assessor drift rule (a); the pass rule is
    :func:`~calibration.stats.passrule.evaluate_pass_rule`.

    Examples
    --------
    >>> r = pass_rule_drift(["pass", "too_few", "fail", "pass"], rounds=[11, 12, 13, 14])
    >>> r.status, r.first_round, r.too_few_rounds
    ('flagged', 13, (12,))
    >>> pass_rule_drift(["too_few"]).status
    'too_few'
    """
    names = [o.outcome if isinstance(o, PassDecision) else o for o in outcomes]
    for o in names:
        if o not in ("pass", "fail", "too_few"):
            raise ValueError(f"outcome {o!r} is not one of 'pass', 'fail', 'too_few'")
    ids = list(range(len(names))) if rounds is None else list(rounds)
    if len(ids) != len(names):
        raise ValueError(f"rounds has {len(ids)} entries but outcomes has {len(names)}")
    failed = tuple(i for i, o in zip(ids, names, strict=True) if o == "fail")
    too_few = tuple(i for i, o in zip(ids, names, strict=True) if o == "too_few")
    if not names:
        return PassRuleDrift("undefined", None, (), (), "no calibration rounds")
    if failed:
        return PassRuleDrift("flagged", failed[0], failed, too_few, None)
    if len(too_few) == len(names):
        return PassRuleDrift("too_few", None, (), too_few, "Too few to judge in every round")
    return PassRuleDrift("in_control", None, (), too_few, None)


# ------------------------------------------------------------------------------------- rule (d)
@dataclass(frozen=True)
class CohortDrift(_ToDict):
    """Rule (d) for the latest round. ``triggers`` names what fired: ``"below_minimum"`` (alpha under
    ``min_alpha``) and/or ``"below_baseline"`` (more than ``max_drop`` under the median of previous
    rounds). ``lowest_anchors``/``lowest_criteria`` are ``(id, agreement)`` pairs, lowest first."""

    status: Status
    round: Hashable | None
    alpha: float | None
    baseline: float | None
    drop: float | None
    triggers: tuple[str, ...]
    lowest_anchors: tuple[tuple[Hashable, float], ...]
    lowest_criteria: tuple[tuple[Hashable, float], ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def _as_float(values: Any, what: str) -> np.ndarray:
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    return arr


def _lowest(ids: Any, agreement: Any, k: int, what: str) -> tuple[tuple[Hashable, float], ...]:
    if agreement is None:
        return ()
    vals = _as_float(agreement, what)
    ids = list(range(vals.size)) if ids is None else [_py(i) for i in ids]
    if len(ids) != vals.size:
        raise ValueError(f"{what} has {vals.size} values but {len(ids)} ids")
    defined = np.flatnonzero(~np.isnan(vals))
    order = defined[np.argsort(vals[defined], kind="stable")][:k]
    return tuple((ids[i], float(vals[i])) for i in order)


def cohort_drift(
    alphas: Sequence[float | None],
    *,
    n_anchors: int,
    n_scores: int,
    rounds: Sequence[Hashable] | None = None,
    anchor_ids: Any = None,
    anchor_agreement: Any = None,
    criterion_ids: Any = None,
    criterion_agreement: Any = None,
    lowest: int = 3,
    min_alpha: float = COHORT_MIN_ALPHA,
    max_drop: float = COHORT_MAX_DROP,
    min_baseline_rounds: int = 3,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> CohortDrift:
    """Rule (d): the latest round's alpha below ``min_alpha``, or more than ``max_drop`` below baseline.

    The baseline is the median alpha of the previous rounds (undefined ones skipped); it is used once
    there are ``min_baseline_rounds`` of them (a median of one or two rounds is too fragile to judge a
    drop). The ``lowest`` anchors and criteria by agreement (any per-anchor or per-criterion agreement
    statistic the caller chose, e.g. exact % vs the key or alpha per criterion; None/NaN skipped) are
    named for the trainer's review, flagged or not.

    Parameters
    ----------
    alphas : sequence of float or None
        Cohort alpha per round, oldest first; the last is judged. None or NaN: undefined.
    n_anchors, n_scores : int
        Anchors and criterion-scores in the judged round (minimum evidence).
    rounds : sequence, optional
        Round ids in the same order.
    anchor_ids, anchor_agreement, criterion_ids, criterion_agreement : array_like, optional
        Agreement per anchor and per criterion in the judged round, with their ids.
    lowest : int
        How many of each to name.
    min_alpha, max_drop : float
        DESIGN §6: .667 (Krippendorff's lowest tentative value) and .15.
    min_baseline_rounds : int
        Previous defined alphas needed for the baseline comparison.
    min_anchors, min_scores : int
        Minimum evidence (DESIGN §6: 5 and 20).

    Returns
    -------
    CohortDrift

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), p. 241 (.667 as the lowest acceptable
    alpha for tentative conclusions); DESIGN §6, cohort drift.

    Examples
    --------
    >>> r = cohort_drift([0.82, 0.80, 0.84, 0.62], n_anchors=8, n_scores=240,
    ...                  criterion_ids=["C1", "C2", "C3"], criterion_agreement=[0.8, 0.41, 0.7], lowest=2)
    >>> r.status, r.triggers, r.baseline, r.lowest_criteria
    ('flagged', ('below_minimum', 'below_baseline'), 0.82, (('C2', 0.41), ('C3', 0.7)))
    """
    _check_count(
        n_anchors=n_anchors, n_scores=n_scores, lowest=lowest, min_baseline_rounds=min_baseline_rounds,
        min_anchors=min_anchors, min_scores=min_scores,
    )  # fmt: skip
    a = _as_float(alphas, "alphas")
    ids = list(range(a.size)) if rounds is None else [_py(i) for i in rounds]
    if len(ids) != a.size:
        raise ValueError(f"rounds has {len(ids)} entries but alphas has {a.size}")
    params = {
        "min_alpha": float(min_alpha),
        "max_drop": float(max_drop),
        "min_baseline_rounds": int(min_baseline_rounds),
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
        "lowest": int(lowest),
    }
    low_a = _lowest(anchor_ids, anchor_agreement, lowest, "anchor_agreement")
    low_c = _lowest(criterion_ids, criterion_agreement, lowest, "criterion_agreement")

    def result(status: Status, **kw: Any) -> CohortDrift:
        base: dict[str, Any] = {
            "round": ids[-1] if ids else None,
            "alpha": None,
            "baseline": None,
            "drop": None,
        }
        base |= {"triggers": (), "reason": None} | kw
        return CohortDrift(
            status=status, lowest_anchors=low_a, lowest_criteria=low_c, parameters=params, **base
        )

    if a.size == 0:
        return result("undefined", reason="no rounds")
    alpha = float(a[-1])
    if math.isnan(alpha):
        return result("undefined", reason="the round's alpha is undefined")
    prev = a[:-1][~np.isnan(a[:-1])]
    baseline = float(np.median(prev)) if prev.size >= min_baseline_rounds and prev.size else None
    drop = None if baseline is None else baseline - alpha
    kw: dict[str, Any] = {"alpha": alpha, "baseline": baseline, "drop": drop}
    if n_anchors < min_anchors or n_scores < min_scores:
        return result("too_few", reason=_evidence_text(n_anchors, n_scores, min_anchors, min_scores), **kw)
    triggers = []
    if alpha < min_alpha - _EPS:
        triggers.append("below_minimum")
    if drop is not None and drop > max_drop + _EPS:
        triggers.append("below_baseline")
    if triggers:
        return result("flagged", triggers=tuple(triggers), **kw)
    note = (
        None
        if baseline is not None
        else f"no baseline yet: {prev.size} earlier round(s), {min_baseline_rounds} needed"
    )
    return result("in_control", reason=note, **kw)

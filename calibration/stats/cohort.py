"""Cohort drift decided on uncertainty, in one false-alarm budget (DESIGN §6, issue 15).

Two rules for a whole program, sharing :data:`~calibration.stats.budget.COHORT_BUDGET`:

* :func:`cohort_level_drift`: the cohort's mean signed deviation against the key moving from its own
  earlier level (a self-starting CUSUM whose sigma comes from the spread of the anchors within each
  round): the whole cohort becoming lenient or severe together, which agreement among assessors
  (alpha) cannot see.
* :func:`cohort_alpha_drift`: a round's alpha whose interval lies wholly below .667, or below the
  program's baseline by more than the rounds' own spread allows, never one round's point estimate.
  :func:`round_alpha` gives a round's alpha with a standard error that treats anchors as clusters.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _factorize, _py
from calibration.stats._drift_common import Status, _check_count, _frozen_map, _rows, _ToDict
from calibration.stats._types import LevelOfMeasurement
from calibration.stats.alpha import krippendorff_alpha
from calibration.stats.budget import COHORT_BUDGET, FalseAlarmBudget
from calibration.stats.cusum import CUSUM_K, cusum_limit, self_starting_cusum
from calibration.stats.labels import ALPHA_TENTATIVE, MIN_ANCHORS, MIN_SCORES

__all__ = ["CohortAlphaDrift", "CohortLevelDrift", "RoundAlpha", "cohort_alpha_drift", "cohort_level_drift"]
__all__ += ["round_alpha"]

#: Rounds of alpha needed before there is a baseline to compare with.
BASELINE_MIN_ROUNDS = 3


@dataclass(frozen=True)
class CohortLevelDrift(_ToDict):
    """The cohort's signed deviation against its own earlier level, round by round.

    ``means``: per round, the mean over anchors of the cohort's mean signed deviation on each anchor;
    ``n_anchors``/``n_scores`` behind it; ``innovations`` (None where not judged or first), ``upper``,
    ``lower``: the self-starting CUSUM; ``signal_rounds``: rounds past ``h``; ``first_round`` and
    ``direction`` of the first signal; ``too_few_rounds``: rounds below the minimum evidence (left out).
    ``parameters`` carry ``k``, ``h`` and ``nominal_false_alarm``.
    """

    status: Status
    direction: Literal["lenient", "severe"] | None
    first_round: Hashable | None
    rounds: tuple[Hashable, ...]
    means: tuple[float, ...]
    n_anchors: tuple[int, ...]
    n_scores: tuple[int, ...]
    innovations: tuple[float | None, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    signal_rounds: tuple[Hashable, ...]
    too_few_rounds: tuple[Hashable, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def cohort_level_drift(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    k: float = CUSUM_K,
    budget: FalseAlarmBudget = COHORT_BUDGET,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> CohortLevelDrift:
    """Whole-cohort drift: a self-starting CUSUM of the cohort's mean signed deviation.

    Per round, each anchor's cohort mean ``m_j`` (all criterion-scores of all assessors on it) and their
    mean ``x_t = mean_j m_j``. Every assessor scores the same anchors, so the round's noise is the spread
    of the anchors: ``s^2`` is the within-round variance of the ``m_j``, pooled over the judged rounds so
    far (``df = sum (J_t - 1)``), and ``x_t`` is compared with the earlier rounds' anchor-weighted mean by
    :func:`~calibration.stats.cusum.self_starting_cusum` with that ``df`` (Student t mapped to the
    normal scale), so the innovations are standard normal for a stable cohort. ``h`` spends
    ``budget.share("cohort_level")`` over ``budget.rounds - 1`` innovations.

    Parameters
    ----------
    rounds, raters, units : array_like
        Round (ids sort in time order), assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels (all of them).
    k : float
        CUSUM reference value.
    budget : FalseAlarmBudget
        Uses the share ``"cohort_level"``.
    min_anchors, min_scores : int
        Minimum evidence per round (anchors, criterion-scores).

    Returns
    -------
    CohortLevelDrift

    References
    ----------
    Hawkins (1987) and Hawkins & Olwell (1998), ch. 7 (self-starting CUSUM with estimated sigma);
    Quesenberry (1991) (t statistics mapped to normal).

    Examples
    --------
    Seven assessors, eight anchors per round; from round 7 everyone scores half a level higher
    (a shared rounding nudge, modelled as +1 on every other criterion-score):

    >>> rng = np.random.default_rng(5)
    >>> t, r, u, c = (a.ravel() for a in np.meshgrid(range(1, 11), range(7), range(8), range(4), indexing="ij"))
    >>> key = rng.integers(2, 4, t.size)
    >>> given = key + rng.choice([-1, 0, 0, 0, 0, 1], t.size) + ((t >= 7) & (c % 2 == 0))
    >>> d = cohort_level_drift(t, r, t * 10 + u, given, key, levels=[1, 2, 3, 4, 5])
    >>> d.status, d.direction, d.first_round
    ('flagged', 'lenient', 7)
    """
    _check_count(min_anchors=min_anchors, min_scores=min_scores)
    if not isinstance(budget, FalseAlarmBudget):
        raise ValueError(f"budget must be a FalseAlarmBudget, got {budget!r}")
    p = _rows(rounds, raters, units, values, key, levels, None)
    share = budget.share("cohort_level")
    params: dict[str, Any] = {
        "rule": "cohort_level",
        "method": "self-starting two-sided CUSUM of the cohort's mean signed deviation, anchors as units",
        "k": float(k),
        "h": cusum_limit(k, share, budget.rounds - 1),
        "nominal_false_alarm": share,
        "horizon_rounds": budget.rounds,
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
    }
    T = p.T
    n_u = int(p.u.max()) + 1 if p.u.size else 1
    cell = p.t.astype(np.int64) * n_u + p.u
    cn = np.bincount(cell, minlength=T * n_u).reshape(T, n_u)
    cs = np.bincount(cell, weights=p.d, minlength=T * n_u).reshape(T, n_u)
    has = cn > 0
    m = np.divide(cs, cn, out=np.zeros_like(cs), where=has)
    J = has.sum(axis=1)
    n_scores = cn.sum(axis=1)
    x = np.divide(m.sum(axis=1), J, out=np.full(T, np.nan), where=J > 0)
    ss = ((m - np.nan_to_num(x)[:, None]) ** 2 * has).sum(axis=1)
    judged = (max(min_anchors, 2) <= J) & (n_scores >= min_scores)
    df = np.cumsum(np.where(judged, J - 1, 0))
    s2 = np.divide(np.cumsum(np.where(judged, ss, 0.0)), df, out=np.zeros(T), where=df > 0)
    usable = judged & (s2 > 0)
    path = self_starting_cusum(
        np.where(usable, x, np.nan),
        np.where(usable, J, 1),
        np.where(usable, np.sqrt(np.where(s2 > 0, s2, 1.0)), 1.0),
        h=params["h"],
        k=float(k),
        df=np.where(df > 0, df, 1),
    )
    rid = [_py(v) for v in p.round_ids]
    f = int(path.first_signal)
    direction: Literal["lenient", "severe"] | None = None
    if f >= 0:
        direction = "lenient" if path.upper[f] > params["h"] else "severe"
    n_judged = int(usable.sum())
    status: Status = "flagged" if f >= 0 else ("in_control" if n_judged >= 2 else "too_few")
    if T == 0:
        status = "undefined"
    reason = None
    if status == "too_few":
        reason = (
            f"Too few to judge: {n_judged} round(s) with enough evidence and variation; a change needs two"
        )
    elif status == "undefined":
        reason = "no rounds"
    return CohortLevelDrift(
        status=status,
        direction=direction,
        first_round=rid[f] if f >= 0 else None,
        rounds=tuple(rid),
        means=tuple(float(v) for v in x),
        n_anchors=tuple(int(v) for v in J),
        n_scores=tuple(int(v) for v in n_scores),
        innovations=tuple(None if math.isnan(v) else float(v) for v in path.innovation),
        upper=tuple(float(v) for v in path.upper),
        lower=tuple(float(v) for v in path.lower),
        signal_rounds=tuple(rid[t] for t in np.flatnonzero(path.signal)),
        too_few_rounds=tuple(rid[t] for t in range(T) if not judged[t]),
        reason=reason,
        parameters=params,
    )


@dataclass(frozen=True)
class RoundAlpha(_ToDict):
    """A round's alpha with its jackknife standard error over anchors (``se``, on ``df = anchors - 1``).

    ``value``/``se`` None (with ``reason``) when alpha is undefined or fewer than two anchors leave a
    defined alpha when dropped one at a time.
    """

    value: float | None
    se: float | None
    df: int
    n_anchors: int
    n_scores: int
    reason: str | None = None


def round_alpha(
    units: Any,
    raters: Any,
    values: Any,
    anchors: Any,
    *,
    levels: Any,
    level_of_measurement: LevelOfMeasurement = "ordinal",
) -> RoundAlpha:
    """Krippendorff's alpha of one round, with a delete-one-anchor jackknife standard error.

    Units are anchor x criterion, but the anchors are what a round samples: criteria of one anchor share
    its quality, and an assessor's misreading of a submission (halo) moves all of them, so a bootstrap
    over units understates how much alpha moves from one set of anchors to the next. The jackknife over
    the ``J`` anchors, ``se^2 = (J-1)/J * sum_j (alpha_(j) - mean)^2``, is the cluster version (Efron &
    Tibshirani 1993, §11.5), and :func:`cohort_alpha_drift` reads it with ``J - 1`` degrees of freedom.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows of the round (``units`` = anchor x criterion); NaN value = missing.
    anchors : array_like
        The anchor of each row.
    levels : sequence
        The rubric's ordered levels.
    level_of_measurement : str
        Alpha's metric (the rubric's; ordinal by default).

    Returns
    -------
    RoundAlpha

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, Chapman & Hall, ch. 11.
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), Sage.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> anchor = np.repeat(np.arange(8), 4 * 5)
    >>> crit = np.tile(np.repeat(np.arange(4), 5), 8)
    >>> truth = rng.integers(1, 5, 32)[anchor * 4 + crit]
    >>> given = np.clip(truth + rng.choice([-1, 0, 0, 0, 1], truth.size), 1, 4)
    >>> r = round_alpha(anchor * 10 + crit, np.tile(np.arange(5), 32), given, anchor, levels=[1, 2, 3, 4])
    >>> round(r.value, 3), round(r.se, 3), r.df
    (0.742, 0.079, 7)
    """
    est = krippendorff_alpha(units, raters, values, levels=levels, level_of_measurement=level_of_measurement)
    codes, ids = _factorize(anchors, "anchors")
    vals = np.asarray(values, dtype=float)
    n_scores = int((~np.isnan(vals)).sum())
    J = int(ids.size)
    if est.value is None:
        return RoundAlpha(None, None, max(J - 1, 0), J, n_scores, est.reason)
    u, r = np.asarray(units), np.asarray(raters)
    loo = []
    for j in range(J):
        keep = codes != j
        e = krippendorff_alpha(
            u[keep], r[keep], vals[keep], levels=levels, level_of_measurement=level_of_measurement
        )
        if e.value is not None:
            loo.append(e.value)
    if len(loo) < 2:
        return RoundAlpha(
            float(est.value), None, max(J - 1, 0), J, n_scores, "fewer than two anchors to jackknife"
        )
    a = np.asarray(loo)
    se = float(np.sqrt((a.size - 1) / a.size * ((a - a.mean()) ** 2).sum()))
    return RoundAlpha(float(est.value), se, a.size - 1, J, n_scores)


@dataclass(frozen=True)
class CohortAlphaDrift(_ToDict):
    """Cohort alpha, judged on intervals after every round.

    Per round (``rounds``): ``alphas``, ``ses`` as given; ``upper``: the upper bound of the round's
    alpha at the rule's confidence (``below_minimum`` when under ``min_alpha``); ``baselines``: the
    program's baseline alpha from the earlier judged rounds, and ``floors``: the lowest alpha those rounds
    make plausible for a new round at the rule's confidence (``below_baseline`` when the round is under
    it). ``flagged_rounds`` maps each flagged round to its triggers; ``status``, ``first_round`` and
    ``triggers`` summarise the first flag, else the latest round.
    """

    status: Status
    first_round: Hashable | None
    triggers: tuple[str, ...]
    rounds: tuple[Hashable, ...]
    alphas: tuple[float | None, ...]
    ses: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    baselines: tuple[float | None, ...]
    floors: tuple[float | None, ...]
    flagged_rounds: Mapping[Hashable, tuple[str, ...]]
    too_few_rounds: tuple[Hashable, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))
        object.__setattr__(self, "flagged_rounds", _frozen_map(self.flagged_rounds))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"


def _floats(x: Sequence[Any], what: str) -> np.ndarray:
    arr = np.array([np.nan if v is None else v for v in x], dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional")
    return arr


def cohort_alpha_drift(
    alphas: Sequence[float | None],
    ses: Sequence[float | None],
    *,
    n_anchors: Sequence[int],
    n_scores: Sequence[int],
    dfs: Sequence[int | None] | None = None,
    rounds: Sequence[Hashable] | None = None,
    min_alpha: float = ALPHA_TENTATIVE,
    budget: FalseAlarmBudget = COHORT_BUDGET,
    min_baseline_rounds: int = BASELINE_MIN_ROUNDS,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> CohortAlphaDrift:
    """Cohort alpha against .667 and against the program's baseline, decided on intervals.

    Alpha is skewed (bounded by 1, with a long lower tail when a round's anchors are alike), so both
    tests work on ``y = log(1 - alpha)`` (the log of observed over expected disagreement) with
    ``se_y = se / (1 - alpha)``. Each test is made once per round at the one-sided level
    ``budget.per_round(share)``:

    * ``below_minimum``: the round's interval lies wholly under ``min_alpha`` (.667): the upper bound
      ``1 - exp(y - q se_y)`` is below it, ``q`` the Student t quantile on ``df`` (normal without ``dfs``).
    * ``below_baseline``: with at least ``min_baseline_rounds`` earlier judged rounds (mean ``ybar``, SD
      ``s``, ``n`` rounds), the round falls under the floor of their prediction interval,
      ``y > ybar + q_{n-1} s sqrt(1 + 1/n)``: lower than the program's own rounds make plausible. The
      spread ``s`` is what rounds of this program actually vary by (anchor mix included), so one small
      round's low point estimate is not enough.

    A round with an undefined alpha, no SE, or below the minimum evidence is "too few to judge".

    Parameters
    ----------
    alphas, ses : sequence of float or None
        Per round, oldest first (e.g. :func:`round_alpha`'s ``value`` and ``se``).
    n_anchors, n_scores : sequence of int
        Evidence behind each round.
    dfs : sequence of int, optional
        Degrees of freedom of each SE (:func:`round_alpha`'s ``df``); normal quantiles when omitted.
    rounds : sequence, optional
        Round ids (default ``0, 1, ...``).
    min_alpha : float
        Krippendorff's lowest acceptable alpha (.667).
    budget : FalseAlarmBudget
        Uses the shares ``"alpha_minimum"`` and ``"alpha_baseline"``.
    min_baseline_rounds : int
        Earlier judged rounds needed for a baseline (at least 3).
    min_anchors, min_scores : int
        Minimum evidence per round.

    Returns
    -------
    CohortAlphaDrift

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), §11.4 (.667 as the lowest acceptable alpha,
    judged with its confidence interval). Hahn, G. J., & Meeker, W. Q. (1991). *Statistical Intervals*,
    Wiley, §4.7 (prediction interval for a new observation). Quesenberry (1991) (self-starting
    comparison with the process's own history).

    Examples
    --------
    >>> r = cohort_alpha_drift([0.82, 0.80, 0.84, 0.81, 0.78, 0.30], [0.03] * 6,
    ...                        n_anchors=[8] * 6, n_scores=[240] * 6, rounds=[1, 2, 3, 4, 5, 6])
    >>> r.status, r.first_round, r.triggers
    ('flagged', 6, ('below_minimum', 'below_baseline'))
    >>> cohort_alpha_drift([0.82, 0.80, 0.84, 0.81, 0.62], [0.05] * 5,
    ...                    n_anchors=[8] * 5, n_scores=[240] * 5).status
    'in_control'
    """
    _check_count(min_baseline_rounds=min_baseline_rounds, min_anchors=min_anchors, min_scores=min_scores)
    if not isinstance(budget, FalseAlarmBudget):
        raise ValueError(f"budget must be a FalseAlarmBudget, got {budget!r}")
    a, se = _floats(alphas, "alphas"), _floats(ses, "ses")
    dfa = _floats(dfs, "dfs") if dfs is not None else np.full(a.size, np.inf)
    na, nsc = _floats(n_anchors, "n_anchors"), _floats(n_scores, "n_scores")
    if not (a.size == se.size == na.size == nsc.size == dfa.size):
        raise ValueError("alphas, ses, n_anchors, n_scores (and dfs) must have one entry per round")
    ids = list(range(a.size)) if rounds is None else [_py(i) for i in rounds]
    if len(ids) != a.size:
        raise ValueError(f"rounds has {len(ids)} entries but alphas has {a.size}")
    if np.any(se[~np.isnan(se)] < 0) or np.any(a[~np.isnan(a)] > 1):
        raise ValueError("ses must be non-negative and alphas at most 1")
    lv_min, lv_base = budget.per_round("alpha_minimum"), budget.per_round("alpha_baseline")
    params: dict[str, Any] = {
        "rule": "cohort_alpha",
        "scale": "log(1 - alpha)",
        "min_alpha": float(min_alpha),
        "one_sided_level": {"alpha_minimum": lv_min, "alpha_baseline": lv_base},
        "nominal_false_alarm": {
            "alpha_minimum": budget.share("alpha_minimum"),
            "alpha_baseline": budget.share("alpha_baseline"),
        },
        "horizon_rounds": budget.rounds,
        "min_baseline_rounds": int(min_baseline_rounds),
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
    }
    judged = ~np.isnan(a) & (se > 0) & (na >= min_anchors) & (nsc >= min_scores) & (a < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log1p(-np.where(judged, a, 0.0))
        sey = se / (1 - a)
    upper: list[float | None] = []
    bases: list[float | None] = []
    floors: list[float | None] = []
    flagged: dict[Hashable, tuple[str, ...]] = {}
    for t in range(a.size):
        prev = np.flatnonzero(judged[:t])
        floor = None
        if prev.size >= max(min_baseline_rounds, 3):
            yb, s = float(y[prev].mean()), float(y[prev].std(ddof=1))
            q = float(sps.t.isf(lv_base, prev.size - 1))
            bases.append(float(-np.expm1(yb)))
            floor = float(-np.expm1(yb + q * s * math.sqrt(1 + 1 / prev.size)))
        else:
            bases.append(None)
        floors.append(floor)
        if not judged[t]:
            upper.append(None)
            continue
        q_t = float(sps.norm.isf(lv_min) if math.isinf(dfa[t]) else sps.t.isf(lv_min, dfa[t]))
        up = float(-np.expm1(y[t] - q_t * sey[t]))
        upper.append(up)
        trig = ["below_minimum"] if up < min_alpha else []
        if floor is not None and a[t] < floor:
            trig.append("below_baseline")
        if trig:
            flagged[ids[t]] = tuple(trig)
    first = next(iter(flagged), None)
    status: Status = "flagged" if flagged else ("in_control" if judged.any() else "too_few")
    reason = None
    if a.size == 0:
        status, reason = "undefined", "no rounds"
    elif status == "too_few":
        reason = "Too few to judge: no round with a defined alpha, a standard error and enough evidence"
    return CohortAlphaDrift(
        status=status,
        first_round=first,
        triggers=flagged.get(first, ()) if first is not None else (),
        rounds=tuple(ids),
        alphas=tuple(None if math.isnan(v) else float(v) for v in a),
        ses=tuple(None if math.isnan(v) else float(v) for v in se),
        upper=tuple(upper),
        baselines=tuple(bases),
        floors=tuple(floors),
        flagged_rounds=flagged,
        too_few_rounds=tuple(ids[t] for t in range(a.size) if not judged[t]),
        reason=reason,
        parameters=params,
    )

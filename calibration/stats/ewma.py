"""Rule (b) of drift: an EWMA chart of each assessor's signed deviation from the key (DESIGN §6).

:func:`pool_sigma` estimates the chart's sigma from the certified pool, :func:`ewma_chart` is the chart
with exact time-varying limits, and :func:`ewma_drift` runs it per assessor, overall and per criterion.
Conventions are those of :mod:`calibration.stats.drift`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _EPS, _py
from calibration.stats._drift_common import (
    Status,
    _check_count,
    _check_positive,
    _evidence_text,
    _frozen_map,
    _Rows,
    _rows,
    _ToDict,
    drift_sentence,
)
from calibration.stats.labels import MIN_ANCHORS, MIN_SCORES

__all__ = ["EWMA_L", "EWMA_LAMBDA", "EwmaDrift", "EwmaDriftTable", "EwmaPath", "PoolSigma"]
__all__ += ["ewma_chart", "ewma_drift", "pool_sigma"]

#: EWMA smoothing weight lambda (DESIGN §6 drift rule (b)); the only place this number is written.
EWMA_LAMBDA = 0.2
#: EWMA control-limit width L, in standard deviations of the EWMA (the "EWMA threshold").
EWMA_L = 3.0


# ------------------------------------------------------------------------------------------ sigma
@dataclass(frozen=True)
class PoolSigma(_ToDict):
    """The certified pool's noise in signed deviation, for the EWMA's control limits.

    ``per_sheet`` is the standard deviation of one score sheet's mean signed deviation (the mean over its
    criteria) around the assessor's mean for that round, pooled over every (assessor, round) of the pool;
    a round of ``n`` sheets then has ``sigma = per_sheet / sqrt(n)``. ``by_criterion[c]`` is the same for
    one criterion's scores. None (with ``reason``) when undefined; criteria without a usable value are
    absent from ``by_criterion``.
    """

    per_sheet: float | None
    by_criterion: Mapping[Hashable, float] = field(default_factory=dict, hash=False)
    df: int = 0
    n_sheets: int = 0
    n_scores: int = 0
    reason: str | None = None
    method: str = "pooled within assessor-round SD of score-sheet mean deviations"

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_criterion", _frozen_map(self.by_criterion))


def _pooled_sd(ss: np.ndarray, df: np.ndarray) -> np.ndarray:
    """sqrt(ss/df), NaN where df == 0 or the result is (numerically) zero."""
    out = np.full(np.shape(ss), np.nan)
    ok = df > 0
    out[ok] = np.sqrt(np.maximum(ss[ok], 0.0) / df[ok])
    out[out <= 1e-9] = np.nan
    return out


def _sigma_from_rows(p: _Rows) -> PoolSigma:
    if p.d.size == 0:
        return PoolSigma(None, reason="no scores in the pool")
    T, n_u = p.T, int(p.u.max()) + 1
    cell = p.r.astype(np.int64) * T + p.t
    sheet_keys, inv = np.unique(cell * n_u + p.u, return_inverse=True)
    inv = inv.reshape(-1)
    sheet_mean = np.bincount(inv, weights=p.d) / np.bincount(inv)
    sheet_cell = sheet_keys // n_u
    _, cell_code = np.unique(sheet_cell, return_inverse=True)
    cell_code = cell_code.reshape(-1)
    k = np.bincount(cell_code)
    cell_mean = np.bincount(cell_code, weights=sheet_mean) / k
    ss = float(((sheet_mean - cell_mean[cell_code]) ** 2).sum())
    df = int((k - 1).sum())
    sd = float(_pooled_sd(np.array([ss]), np.array([df]))[0])
    by_c: dict[Hashable, float] = {}
    if p.c is not None:
        C = p.C
        g = (p.r.astype(np.int64) * C + p.c) * T + p.t
        size = p.A * C * T
        n = np.bincount(g, minlength=size)
        s1 = np.bincount(g, weights=p.d, minlength=size)
        s2 = np.bincount(g, weights=p.d * p.d, minlength=size)
        ssg = s2 - np.divide(s1 * s1, n, out=np.zeros(size), where=n > 0)
        crit = (np.arange(size) // T) % C
        sd_c = _pooled_sd(
            np.bincount(crit, weights=ssg, minlength=C),
            np.bincount(crit, weights=np.maximum(n - 1, 0), minlength=C),
        )
        by_c = {_py(cid): float(v) for cid, v in zip(p.crit_ids, sd_c, strict=True) if not math.isnan(v)}
    reason = None
    if df == 0:
        reason = (
            "no assessor scored two or more anchors in one round, so the pool shows no round-to-round noise"
        )
    elif math.isnan(sd):
        reason = "no variation: in each assessor-round the score sheets all deviate from the key by the same amount"
    return PoolSigma(
        None if reason else sd,
        by_c,
        df=df,
        n_sheets=int(sheet_keys.size),
        n_scores=int(p.d.size),
        reason=reason,
    )


def pool_sigma(
    rounds: Any, raters: Any, units: Any, values: Any, key: Any, *, levels: Any, criteria: Any = None
) -> PoolSigma:
    """Estimate the EWMA's sigma from the certified pool's scores.

    The chart plots, per round, an assessor's mean signed deviation; its limits need the standard
    deviation of that mean for an assessor who is *not* drifting. The estimate here is the within-subgroup
    one of statistical process control (Montgomery 2009, §9.2: sigma from variation inside rational
    subgroups, not from the spread of the subgroup means), with two choices:

    * The subgroup is one assessor's round, so each assessor's own level (including a real drift) is
      removed: a drifting assessor in the pool does not widen everyone's limits.
    * The independent unit is the score sheet (one anchor), not the criterion-score: an assessor who
      misreads an anchor tends to misread several of its criteria together (halo), so criterion-scores on
      one sheet are correlated, and ``sd(score) / sqrt(n scores)`` would understate the noise of a round
      mean and raise false alarms. The mean deviation of each sheet is taken first, then
      ``per_sheet = sqrt(sum (sheet mean - round mean)^2 / sum (sheets in round - 1))`` over all
      (assessor, round); a round of ``n`` sheets has ``sigma = per_sheet / sqrt(n)``.

    Per criterion each sheet gives one score, so ``by_criterion[c]`` is the pooled within-round SD of
    criterion ``c``'s deviations. Pass the certified pool's rows (e.g. their last year of calibration).

    Parameters
    ----------
    rounds, raters, units : array_like
        Round, assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels (all of them).
    criteria : array_like, optional
        The criterion of each row; enables ``by_criterion``.

    Returns
    -------
    PoolSigma
        ``per_sheet`` None with a reason when no (assessor, round) has two sheets, or there is no
        variation within rounds.

    References
    ----------
    Montgomery, D. C. (2009). *Introduction to Statistical Quality Control* (6th ed.), Wiley, §6.2 and
    §9.2 (sigma from within-subgroup variation; EWMA for subgroup means uses ``sigma / sqrt(n)``).

    Examples
    --------
    >>> s = pool_sigma([1] * 4, [7] * 4, [1, 2, 3, 4], [2, 3, 3, 1], [2, 2, 3, 1], levels=[1, 2, 3, 4])
    >>> round(s.per_sheet, 4), s.df
    (0.5, 3)
    >>> pool_sigma([1, 1], [7, 7], [1, 2], [2, 3], [2, 3], levels=[1, 2, 3]).reason
    'no variation: in each assessor-round the score sheets all deviate from the key by the same amount'
    """
    return _sigma_from_rows(_rows(rounds, raters, units, values, key, levels, criteria))


# ------------------------------------------------------------------------------------------- chart
@dataclass(frozen=True, eq=False)
class EwmaPath:
    """An EWMA chart as read-only arrays, same shape as its input ``x`` (groups x rounds, or rounds).

    ``z``: the statistic after each round (it carries over a round without an observation);
    ``half_width``: ``L`` times its exact standard deviation (NaN before the first observation);
    ``outside``: observed and ``|z - target| > half_width``; ``first_signal``: index of the first
    ``outside`` round per group, -1 if none.
    """

    z: np.ndarray
    half_width: np.ndarray
    outside: np.ndarray
    first_signal: np.ndarray
    target: float
    lam: float
    L: float

    def __post_init__(self) -> None:
        for name in ("z", "half_width", "outside", "first_signal"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def upper(self) -> np.ndarray:
        return self.target + self.half_width

    @property
    def lower(self) -> np.ndarray:
        return self.target - self.half_width


def ewma_chart(
    x: Any, sigma: Any, *, lam: float = EWMA_LAMBDA, L: float = EWMA_L, target: float = 0.0
) -> EwmaPath:
    """Exponentially weighted moving average chart with exact time-varying limits.

    ``z_t = lam * x_t + (1 - lam) * z_{t-1}`` from ``z_0 = target``. Its variance is
    ``v_t = lam^2 sigma_t^2 + (1 - lam)^2 v_{t-1}``, which for a constant ``sigma`` is Montgomery's
    ``sigma^2 lam / (2 - lam) * (1 - (1 - lam)^(2t))``; the recursion also covers rounds of different
    sizes (``sigma_t = sigma / sqrt(n_t)``). Limits are ``target +/- L sqrt(v_t)``. A NaN in ``x`` is a
    round without an observation: ``z`` and ``v`` carry over unchanged. The loop runs over rounds, each
    step vectorised over the groups (rows).

    Parameters
    ----------
    x : array_like
        ``(rounds,)`` or ``(groups, rounds)`` observations (e.g. mean signed deviations); NaN = none.
    sigma : float or array_like
        Standard deviation of each observation in control, broadcastable to ``x``; positive where ``x``
        is observed.
    lam : float
        Smoothing weight, ``0 < lam <= 1`` (DESIGN: 0.2).
    L : float
        Width of the limits in standard deviations (DESIGN: 3).
    target : float
        In-control mean (0 for signed deviation from the key).

    Returns
    -------
    EwmaPath

    References
    ----------
    Roberts, S. W. (1959). Control chart tests based on geometric moving averages. *Technometrics* 1,
    239-250. Lucas, J. M., & Saccucci, M. S. (1990). Exponentially weighted moving average control
    schemes. *Technometrics* 32, 1-12. Montgomery, D. C. (2009). *Introduction to Statistical Quality
    Control* (6th ed.), §9.2, equations 9.22-9.25 and Example 9.2.

    Examples
    --------
    Montgomery's Example 9.2 (lam = 0.10, L = 2.7, target 10, sigma 1), first observations 9.45, 7.99:

    >>> p = ewma_chart([9.45, 7.99], 1.0, lam=0.1, L=2.7, target=10.0)
    >>> [round(float(v), 4) for v in p.z], [round(float(v), 2) for v in p.upper]
    ([9.945, 9.7495], [10.27, 10.36])
    >>> int(p.first_signal)
    -1
    """
    if not (isinstance(lam, int | float) and 0 < lam <= 1):
        raise ValueError(f"lam must be in (0, 1], got {lam!r}")
    _check_positive(L=L)
    xa = np.asarray(x, dtype=float)
    if xa.ndim not in (1, 2):
        raise ValueError(f"x must be one- or two-dimensional, got shape {xa.shape}")
    try:
        sa = np.broadcast_to(np.asarray(sigma, dtype=float), xa.shape)
    except ValueError:
        raise ValueError(f"sigma of shape {np.shape(sigma)} does not fit x of shape {xa.shape}") from None
    x2, s2 = (xa, sa) if xa.ndim == 2 else (xa[None, :], sa[None, :])
    obs = ~np.isnan(x2)
    bad = obs & ~(np.isfinite(s2) & (s2 > 0))
    if bad.any():
        raise ValueError(f"sigma must be positive where x is observed, got {s2[bad][0]!r}")
    n_g, n_t = x2.shape
    z = np.full(n_g, float(target))
    v = np.zeros(n_g)
    zs, vs = np.empty((n_g, n_t)), np.empty((n_g, n_t))
    keep = (1.0 - lam) ** 2
    for t in range(n_t):
        o = obs[:, t]
        z = np.where(o, lam * np.where(o, x2[:, t], 0.0) + (1.0 - lam) * z, z)
        v = np.where(o, lam * lam * np.where(o, s2[:, t], 0.0) ** 2 + keep * v, v)
        zs[:, t], vs[:, t] = z, v
    half = np.full_like(vs, np.nan)
    np.sqrt(vs, out=half, where=vs > 0)
    half *= L
    outside = obs & (vs > 0) & (np.abs(zs - target) > np.where(vs > 0, half, np.inf))
    first = np.where(outside.any(axis=1), outside.argmax(axis=1), -1) if n_t else np.full(n_g, -1)
    shape = xa.shape
    return EwmaPath(
        zs.reshape(shape),
        half.reshape(shape),
        outside.reshape(shape),
        first.reshape(shape[:-1]),
        float(target),
        float(lam),
        float(L),
    )


# ------------------------------------------------------------------------------------- rule (b)
@dataclass(frozen=True)
class EwmaDrift(_ToDict):
    """Rule (b) for one assessor, overall (``criterion`` None) or on one criterion.

    ``status``: ``"flagged"`` (the EWMA left its limits with enough evidence), ``"in_control"``,
    ``"too_few"`` (never enough evidence: never flags) or ``"undefined"`` (no usable sigma; see
    ``reason``). ``first_round`` is the round of the first signal, ``direction`` its side ("lenient"
    above, "severe" below), ``value``/``limit`` the EWMA and the half-width there (else at the latest
    round). The series (``rounds``, ``means``, ``n_scores``, ``n_anchors``, ``sigmas``, ``path``,
    ``limits``) cover the rounds the assessor took part in; ``signal_rounds`` lists every round outside
    the limits with enough evidence. ``evidence_rounds`` and ``evidence_rows`` (indices into the input
    rows) are what the decision was computed from: rounds up to the first signal, else all.
    """

    rater: Hashable
    criterion: Hashable | None
    status: Status
    direction: Literal["lenient", "severe"] | None
    first_round: Hashable | None
    value: float | None
    limit: float | None
    rounds: tuple[Hashable, ...]
    means: tuple[float, ...]
    n_scores: tuple[int, ...]
    n_anchors: tuple[int, ...]
    sigmas: tuple[float, ...]
    path: tuple[float, ...]
    limits: tuple[float, ...]
    signal_rounds: tuple[Hashable, ...]
    evidence_rounds: tuple[Hashable, ...]
    evidence_rows: tuple[int, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def recent_deviation(self, last: int = 3) -> float | None:
        """Mean signed deviation over the assessor's last ``last`` rounds (weighted by scores)."""
        n = np.asarray(self.n_scores[-last:], dtype=float)
        if n.sum() == 0:
            return None
        return float((np.asarray(self.means[-last:]) * n).sum() / n.sum())

    def sentence(self, last: int = 3, criterion_name: str | None = None) -> str:
        """:func:`drift_sentence` for the last ``last`` rounds; ``criterion_name`` names the criterion."""
        m = self.recent_deviation(last)
        if m is None:
            return "You have no scored rounds yet."
        name = criterion_name if criterion_name is not None else self.criterion
        return drift_sentence(m, n_rounds=min(last, len(self.rounds)), criterion=name)


@dataclass(frozen=True)
class EwmaDriftTable:
    """Rule (b) for every assessor: ``overall[rater]`` and ``by_criterion[(rater, criterion)]``."""

    overall: Mapping[Hashable, EwmaDrift]
    by_criterion: Mapping[tuple[Hashable, Hashable], EwmaDrift]
    sigma: PoolSigma
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("overall", "by_criterion", "parameters"):
            object.__setattr__(self, name, _frozen_map(getattr(self, name)))

    @property
    def flags(self) -> tuple[EwmaDrift, ...]:
        """Every flagged chart, overall ones first."""
        return tuple(r for r in (*self.overall.values(), *self.by_criterion.values()) if r.flagged)


def _ewma_group_results(
    p: _Rows,
    group: np.ndarray,
    n_groups: int,
    sigma_g: np.ndarray,
    sigma_reason: list[str | None],
    names: list[tuple[Hashable, Hashable | None]],
    params: dict[str, Any],
) -> list[EwmaDrift]:
    lam, L = params["lam"], params["L"]
    min_anchors, min_scores = params["min_anchors"], params["min_scores"]
    n, s, ns = p.counts(group, n_groups)
    obs = n > 0
    x = np.full(n.shape, np.nan)
    np.divide(s, n, out=x, where=obs)
    usable = ~np.isnan(sigma_g)
    sig_t = np.full(n.shape, np.nan)
    np.divide(np.where(usable, sigma_g, 1.0)[:, None], np.sqrt(ns), out=sig_t, where=obs)
    chart = ewma_chart(
        np.where(usable[:, None], x, np.nan), np.where(usable[:, None], sig_t, 1.0), lam=lam, L=L
    )
    enough = (np.cumsum(n, axis=1) >= min_scores) & (np.cumsum(ns, axis=1) >= min_anchors)
    signal = chart.outside & enough & (np.abs(chart.z) >= params["min_shift"] - _EPS)
    first = np.where(signal.any(axis=1), signal.argmax(axis=1), -1) if p.T else np.full(n_groups, -1)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    rid = [_py(v) for v in p.round_ids]
    out = []
    for g in np.flatnonzero(obs.any(axis=1)).tolist():
        ts = np.flatnonzero(obs[g])
        f = int(first[g])
        at = f if f >= 0 else int(ts[-1])
        rows = order[bounds[g] : bounds[g + 1]]
        if f >= 0:
            rows = rows[p.t[rows] <= f]
        if not usable[g]:
            status: Status = "undefined"
            reason = sigma_reason[g]
        elif f >= 0:
            status, reason = "flagged", None
        elif not enough[g, -1]:
            status = "too_few"
            reason = _evidence_text(int(ns[g].sum()), int(n[g].sum()), min_anchors, min_scores)
        else:
            status, reason = "in_control", None
        defined = status != "undefined"
        z = float(chart.z[g, at]) if defined else None
        out.append(
            EwmaDrift(
                rater=names[g][0],
                criterion=names[g][1],
                status=status,
                direction=None if f < 0 else ("lenient" if chart.z[g, f] > 0 else "severe"),
                first_round=rid[f] if f >= 0 else None,
                value=z,
                limit=float(chart.half_width[g, at]) if defined else None,
                rounds=tuple(rid[t] for t in ts),
                means=tuple(float(v) for v in x[g, ts]),
                n_scores=tuple(int(v) for v in n[g, ts]),
                n_anchors=tuple(int(v) for v in ns[g, ts]),
                sigmas=tuple(float(v) for v in sig_t[g, ts]) if defined else (),
                path=tuple(float(v) for v in chart.z[g, ts]) if defined else (),
                limits=tuple(float(v) for v in chart.half_width[g, ts]) if defined else (),
                signal_rounds=tuple(rid[t] for t in np.flatnonzero(signal[g])),
                evidence_rounds=tuple(rid[t] for t in ts if f < 0 or t <= f),
                evidence_rows=tuple(int(i) for i in np.sort(rows)),
                reason=reason,
                parameters=params,
            )
        )
    return out


def ewma_drift(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    criteria: Any = None,
    sigma: PoolSigma | None = None,
    lam: float = EWMA_LAMBDA,
    L: float = EWMA_L,
    criterion_L: float | None = None,
    min_shift: float = 0.0,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> EwmaDriftTable:
    """Rule (b): EWMA of each assessor's signed deviation, overall and per criterion, against its limits.

    Per assessor and round, ``x_t`` is the mean signed deviation of their criterion-scores (positive =
    lenient) and ``sigma_t = sigma.per_sheet / sqrt(sheets in the round)`` (per criterion:
    ``sigma.by_criterion[c] / sqrt(scores)``); :func:`ewma_chart` runs over the rounds the assessor took
    part in, from ``z_0 = 0``, with exact time-varying limits (for equal rounds
    ``+/- L sigma_t sqrt(lam/(2-lam) (1-(1-lam)^(2t)))``). A round is a signal when ``|z_t|`` exceeds its limit *and* the scores through that round meet the
    minimum evidence (``min_anchors`` sheets and ``min_scores`` criterion-scores, cumulative: the
    statistic is built from all of them). The first signal is the flag; its side is the direction.

    One chart per criterion as well as the overall one means ``1 + C`` chances of a false alarm per
    assessor. DESIGN's ``L = 3`` is kept for the overall chart; the criterion charts default to a
    Bonferroni split of the same per-point tail over the ``C`` criteria,
    ``criterion_L = Phi^-1(1 - (1 - Phi(L)) / C)`` (3.40 for 4 criteria), so the criterion charts
    together false-alarm about as often as one chart (``bench/drift_sim.py`` prints the rates).

    Parameters
    ----------
    rounds, raters, units : array_like
        Round (ids sort in time order), assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels (all of them).
    criteria : array_like, optional
        The criterion of each row; adds the per-criterion charts.
    sigma : PoolSigma, optional
        From :func:`pool_sigma` on the certified pool; when omitted it is estimated from these rows.
    lam, L : float
        EWMA weight and limit width (DESIGN §6: 0.2 and 3).
    criterion_L : float, optional
        Limit width of the per-criterion charts; default the Bonferroni split above.
    min_shift : float
        An indifference zone in levels: a signal also needs ``|z_t| >= min_shift``. The default 0 is
        DESIGN's rule; the chart is sensitive enough to flag a steady bias of a tenth of a level, and
        a program that does not want that can set e.g. 0.25.
    min_anchors, min_scores : int
        Minimum evidence (DESIGN §6: 5 and 20).

    Returns
    -------
    EwmaDriftTable
        ``parameters`` (also in each result) holds ``lam``, ``L``, ``criterion_L``, ``min_anchors``,
        ``min_scores``, ``target`` and the sigma used; a criterion chart's ``parameters["L"]`` is the
        ``criterion_L`` it used.

    References
    ----------
    Roberts (1959); Lucas & Saccucci (1990); Montgomery (2009), §9.2. See :func:`ewma_chart`.

    Examples
    --------
    Ten assessors over six rounds of eight anchors; assessor 0 turns lenient by one level in round 4.

    >>> rng = np.random.default_rng(1)
    >>> t, r, u = (a.ravel() for a in np.meshgrid(range(1, 7), range(10), range(8), indexing="ij"))
    >>> key = rng.integers(1, 4, t.size)
    >>> noise = rng.choice([-1, 0, 0, 0, 0, 0, 1], t.size)
    >>> given = np.clip(key + noise + ((r == 0) & (t >= 4)), 1, 4)
    >>> table = ewma_drift(t, r, u * 10 + t, given, key, levels=[1, 2, 3, 4])
    >>> d = table.overall[0]
    >>> d.status, d.direction, d.first_round, [x.rater for x in table.flags]
    ('flagged', 'lenient', 4, [0])
    >>> table.overall[1].status
    'in_control'
    """
    _check_positive(L=L)
    _check_count(min_anchors=min_anchors, min_scores=min_scores)
    p = _rows(rounds, raters, units, values, key, levels, criteria)
    if criterion_L is None:
        criterion_L = float(sps.norm.isf(sps.norm.sf(L) / p.C))
    _check_positive(criterion_L=criterion_L)
    if not (isinstance(min_shift, int | float) and 0 <= min_shift < math.inf):
        raise ValueError(f"min_shift must be a non-negative number of levels, got {min_shift!r}")
    if sigma is None:
        sigma = _sigma_from_rows(p)
    elif not isinstance(sigma, PoolSigma):
        raise ValueError(f"sigma must be a PoolSigma (see pool_sigma), got {sigma!r}")
    params: dict[str, Any] = {
        "lam": float(lam),
        "L": float(L),
        "criterion_L": float(criterion_L) if criteria is not None else None,
        "min_shift": float(min_shift),
        "target": 0.0,
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
        "sigma_per_sheet": sigma.per_sheet,
    }
    A = p.A
    s0 = np.nan if sigma.per_sheet is None or not sigma.per_sheet > 0 else float(sigma.per_sheet)
    reason0 = sigma.reason or "sigma is zero, so the control limits would be zero"
    overall = _ewma_group_results(
        p,
        p.r,
        A,
        np.full(A, s0),
        [None if s0 == s0 else f"Undefined: {reason0}"] * A,
        [(_py(a), None) for a in p.rater_ids],
        params,
    )
    by_c: list[EwmaDrift] = []
    if p.c is not None:
        C = p.C
        cids = [_py(c) for c in p.crit_ids]
        sc = np.array([float(sigma.by_criterion.get(c, np.nan) or np.nan) for c in cids])
        sc[~(sc > 0)] = np.nan
        why = [
            None
            if v == v
            else f"Undefined: the pool gives no sigma for criterion {c!r} (no within-round variation)"
            for c, v in zip(cids, sc, strict=True)
        ]
        by_c = _ewma_group_results(
            p,
            p.r.astype(np.int64) * C + p.c,
            A * C,
            np.tile(sc, A),
            why * A,
            [(_py(a), c) for a in p.rater_ids for c in cids],
            {
                **params,
                "L": float(criterion_L),
                "sigma_by_criterion": dict(
                    zip(cids, (None if v != v else float(v) for v in sc), strict=True)
                ),
            },
        )
    return EwmaDriftTable(
        overall={d.rater: d for d in overall},
        by_criterion={(d.rater, d.criterion): d for d in by_c},
        sigma=sigma,
        parameters=params,
    )

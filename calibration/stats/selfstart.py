"""Drift as a change from the assessor's own level: self-starting CUSUMs in one false-alarm budget.

:func:`self_starting_drift` runs, per assessor, one self-starting CUSUM of the overall signed deviation
and one per criterion (issue 15, items 1-3). A stable lean never signals (each round is compared with
the assessor's own earlier rounds); a change does. The limits come from the rule's share of
:data:`~calibration.stats.budget.ASSESSOR_BUDGET`, and each result carries its parameters and nominal
false-alarm rate. Conventions (long rows, signed deviation, minimum evidence) are those of
:mod:`calibration.stats.drift`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from calibration.stats._checks import _py
from calibration.stats._drift_common import (
    Status,
    _check_count,
    _evidence_text,
    _frozen_map,
    _Rows,
    _rows,
    _ToDict,
)
from calibration.stats.budget import ASSESSOR_BUDGET, FalseAlarmBudget
from calibration.stats.cusum import CUSUM_K, cusum_limit, self_starting_cusum
from calibration.stats.ewma import PoolSigma, _sigma_from_rows
from calibration.stats.labels import MIN_ANCHORS, MIN_SCORES

__all__ = ["PRIOR_DF", "OwnDrift", "OwnDriftTable", "change_sentence", "self_starting_drift"]

#: Weight of the pool's sigma, in degrees of freedom, against the assessor's own within-round spread:
#: about three rounds of eight anchors. The pool steadies the first rounds; the assessor's own spread
#: takes over as rounds accrue, so a stable assessor noisier than the pool (e.g. one with a large lean,
#: whose scores sit on a rounding edge) is not flagged for it.
PRIOR_DF = 20.0


@dataclass(frozen=True)
class OwnDrift(_ToDict):
    """The self-starting drift chart of one assessor, overall (``criterion`` None) or on one criterion.

    ``status``: ``"flagged"`` (a CUSUM passed its limit ``h``), ``"in_control"``, ``"too_few"`` (fewer
    than two rounds with enough evidence: nothing to compare) or ``"undefined"`` (no usable sigma; see
    ``reason``). ``direction`` is the way the scores moved ("lenient": higher than the assessor's own
    earlier level, "severe": lower); ``first_round`` the round of the first signal, ``value`` the CUSUM
    there (else the larger CUSUM at the latest round) and ``limit`` its ``h``. ``change_round`` is the
    estimated first round of the change (the maximum-likelihood step among the judged rounds up to the
    signal) and ``shift`` the estimated size in levels (mean of the changed rounds up to the signal
    minus the mean of the rounds before them).

    Series, over the rounds the assessor took part in: ``rounds``, ``means`` (mean signed deviation),
    ``n_scores``, ``n_anchors``, ``innovations`` (None where not judged or first), ``upper``/``lower``.
    ``too_few_rounds`` were below the minimum evidence and left out of the chart; ``evidence_rounds``
    are the judged rounds up to the first signal (else all). ``parameters`` hold ``k``, ``h``,
    ``nominal_false_alarm`` (the rule's rate over ``horizon_rounds`` rounds), the rule name, the sigma and
    the minimum evidence: store them with a flag.
    """

    rater: Hashable
    criterion: Hashable | None
    status: Status
    direction: Literal["lenient", "severe"] | None
    first_round: Hashable | None
    value: float | None
    limit: float
    change_round: Hashable | None
    shift: float | None
    rounds: tuple[Hashable, ...]
    means: tuple[float, ...]
    n_scores: tuple[int, ...]
    n_anchors: tuple[int, ...]
    innovations: tuple[float | None, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    signal_rounds: tuple[Hashable, ...]
    too_few_rounds: tuple[Hashable, ...]
    evidence_rounds: tuple[Hashable, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def sentence(self, criterion_name: str | None = None) -> str:
        """:func:`change_sentence` for this chart (the assessor's plain-language line)."""
        if self.shift is None or self.change_round is None:
            return "Your scores have stayed close to your own earlier level."
        name = criterion_name if criterion_name is not None else self.criterion
        since = self.rounds.index(self.change_round)
        upto = self.rounds.index(self.first_round) if self.first_round is not None else len(self.rounds) - 1
        return change_sentence(self.shift, n_rounds=upto - since + 1, criterion=name)


@dataclass(frozen=True)
class OwnDriftTable:
    """Every assessor's charts: ``overall[rater]`` and ``by_criterion[(rater, criterion)]``."""

    overall: Mapping[Hashable, OwnDrift]
    by_criterion: Mapping[tuple[Hashable, Hashable], OwnDrift]
    sigma: PoolSigma
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("overall", "by_criterion", "parameters"):
            object.__setattr__(self, name, _frozen_map(getattr(self, name)))

    @property
    def flags(self) -> tuple[OwnDrift, ...]:
        """Every flagged chart, overall ones first."""
        return tuple(r for r in (*self.overall.values(), *self.by_criterion.values()) if r.flagged)

    def flagged_raters(self) -> tuple[Hashable, ...]:
        """Assessors with at least one flagged chart, in input order."""
        seen: dict[Hashable, None] = {}
        for r in self.flags:
            seen.setdefault(r.rater)
        return tuple(seen)


_HALVES = {1: "half a level", 2: "one level", 3: "one and a half levels", 4: "two levels"}


def change_sentence(shift: float, *, n_rounds: int, criterion: Hashable | None = None) -> str:
    """One plain sentence saying how an assessor's scores moved from their own earlier level.

    Says "moved" (a change over time), never "lean"; the size is rounded to the nearest half level, and
    a change under a quarter level reads "a little".

    Parameters
    ----------
    shift : float
        Estimated change in mean signed deviation, in levels (positive: now higher than before).
    n_rounds : int
        Rounds since the change began.
    criterion : str, optional
        The criterion's name; the whole rubric when omitted.

    Returns
    -------
    str

    References
    ----------
    Issue 15 ("drift" only for a change over time); DESIGN §6.

    Examples
    --------
    >>> change_sentence(0.48, n_rounds=2)
    'In the last 2 rounds your scores moved higher than your own earlier level, by about half a level.'
    >>> change_sentence(-1.1, n_rounds=1, criterion="Equity practice")
    'In the last round your scores on Equity practice moved lower than your own earlier level, by about one level.'
    """
    if not math.isfinite(shift):
        raise ValueError(f"shift must be a finite number, got {shift!r}")
    _check_count(n_rounds=n_rounds)
    when = "In the last round" if n_rounds == 1 else f"In the last {n_rounds} rounds"
    what = f"your scores on {criterion}" if criterion is not None else "your scores"
    way = "higher" if shift > 0 else "lower"
    halves = round(abs(shift) * 2)
    size = "a little" if halves == 0 else f"about {_HALVES.get(halves, f'{halves / 2:g} levels')}"
    return f"{when} {what} moved {way} than your own earlier level, by {size}."


def _within_ss(p: _Rows, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per (group, round): the sum of squares of score-sheet means around the round mean, and its df."""
    T = p.T
    cell = group.astype(np.int64) * T + p.t
    n_u = int(p.u.max()) + 1 if p.u.size else 1
    keys, inv = np.unique(cell * n_u + p.u, return_inverse=True)
    inv = inv.reshape(-1)
    sheet_mean = np.bincount(inv, weights=p.d) / np.bincount(inv)
    sc = keys // n_u
    size = n_groups * T
    k = np.bincount(sc, minlength=size)
    s1 = np.bincount(sc, weights=sheet_mean, minlength=size)
    s2 = np.bincount(sc, weights=sheet_mean * sheet_mean, minlength=size)
    ss = s2 - np.divide(s1 * s1, k, out=np.zeros(size), where=k > 0)
    return np.maximum(ss, 0.0).reshape(n_groups, T), np.maximum(k - 1, 0).reshape(n_groups, T)


def _chart_results(
    p: _Rows,
    group: np.ndarray,
    n_groups: int,
    judged_round: np.ndarray,
    sigma_g: np.ndarray,
    why: list[str | None],
    names: list[tuple[Hashable, Hashable | None]],
    params: dict[str, Any],
) -> list[OwnDrift]:
    n, s, ns = p.counts(group, n_groups)
    obs = n > 0
    x = np.full(n.shape, np.nan)
    np.divide(s, n, out=x, where=obs)
    usable = ~np.isnan(sigma_g)
    weight = ns
    judged = obs & judged_round & usable[:, None]
    # Sigma per assessor: the pool's sigma as a prior worth ``prior_df`` degrees of freedom, updated by
    # the assessor's own within-round spread of score sheets (judged rounds so far, this one included).
    ss, df = _within_ss(p, group, n_groups)
    nu0 = params["prior_df"]
    cum_ss = np.cumsum(np.where(judged, ss, 0.0), axis=1)
    cum_df = np.cumsum(np.where(judged, df, 0), axis=1)
    prior = np.where(usable, sigma_g, 0.0)[:, None] ** 2 * nu0
    dof = nu0 + cum_df
    var = np.divide(prior + cum_ss, dof, out=np.zeros(n.shape), where=dof > 0)
    judged &= var > 0
    path = self_starting_cusum(
        np.where(judged, x, np.nan),
        np.where(judged, weight, 1),
        np.sqrt(np.where(judged, var, 1.0)),
        h=params["h"],
        k=params["k"],
        df=np.where(dof > 0, dof, 1),
    )
    rid = [_py(v) for v in p.round_ids]
    out = []
    for g in np.flatnonzero(obs.any(axis=1)).tolist():
        ts = np.flatnonzero(obs[g])
        jt = np.flatnonzero(judged[g])
        f = int(path.first_signal[g])
        at = f if f >= 0 else int(ts[-1])
        direction: Literal["lenient", "severe"] | None = None
        change_round = shift = None
        if f >= 0:
            up = path.upper[g, f] > params["h"]
            direction = "lenient" if up else "severe"
            # Change point: the split of the judged rounds up to the signal that best separates two
            # means (the normal maximum-likelihood step, Hinkley 1970), on the signal's side.
            upto = jt[jt <= f]
            xs, ws = x[g, upto], weight[g, upto].astype(float)
            cw, cx = np.cumsum(ws), np.cumsum(ws * xs)
            wb, wa = cw[:-1], cw[-1] - cw[:-1]
            diff = (cx[-1] - cx[:-1]) / wa - cx[:-1] / wb
            score = np.where(diff > 0 if up else diff < 0, diff * diff * wb * wa / cw[-1], -1.0)
            best = int(np.argmax(score)) if score.size else -1
            start = int(upto[best + 1]) if best >= 0 and score[best] >= 0 else f
            if best >= 0 and score[best] >= 0:
                shift = float(diff[best])
            change_round = rid[start]
        if not usable[g]:
            status: Status = "undefined"
            reason = why[g]
        elif f >= 0:
            status, reason = "flagged", None
        elif jt.size < 2:
            status = "too_few"
            reason = (
                f"Too few to judge: {jt.size} round{'' if jt.size == 1 else 's'} with enough evidence, "
                "and a change needs an earlier round to compare with"
                if jt.size
                else _evidence_text(
                    int(ns[g].max()), int(n[g].max()), params["min_anchors"], params["min_scores"]
                )
            )
        else:
            status, reason = "in_control", None
        val = max(path.upper[g, at], path.lower[g, at])
        inn = path.innovation[g]
        out.append(
            OwnDrift(
                rater=names[g][0],
                criterion=names[g][1],
                status=status,
                direction=direction,
                first_round=rid[f] if f >= 0 else None,
                value=float(val) if status != "undefined" else None,
                limit=float(params["h"]),
                change_round=change_round,
                shift=shift,
                rounds=tuple(rid[t] for t in ts),
                means=tuple(float(v) for v in x[g, ts]),
                n_scores=tuple(int(v) for v in n[g, ts]),
                n_anchors=tuple(int(v) for v in ns[g, ts]),
                innovations=tuple(None if math.isnan(inn[t]) else float(inn[t]) for t in ts),
                upper=tuple(float(v) for v in path.upper[g, ts]),
                lower=tuple(float(v) for v in path.lower[g, ts]),
                signal_rounds=tuple(rid[t] for t in np.flatnonzero(path.signal[g])),
                too_few_rounds=tuple(rid[t] for t in ts if not judged_round[g, t]),
                evidence_rounds=tuple(rid[t] for t in jt if f < 0 or t <= f),
                reason=reason,
                parameters=params,
            )
        )
    return out


def self_starting_drift(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    criteria: Any = None,
    sigma: PoolSigma | None = None,
    k: float = CUSUM_K,
    prior_df: float = PRIOR_DF,
    budget: FalseAlarmBudget = ASSESSOR_BUDGET,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> OwnDriftTable:
    """Drift from the assessor's own level: self-starting CUSUMs, overall and per criterion.

    Per assessor and round, ``x_t`` is the mean signed deviation (positive = above the key). Each judged
    round is compared with the assessor's own earlier judged rounds,
    ``U_t = (x_t - xbar) / (s_t * sqrt(1/n_t + 1/N))`` with ``n_t`` the round's score sheets and ``N``
    the earlier rounds', so the limits know each round's sample. ``s_t`` is the SD of one sheet's mean
    deviation: the pool's ``sigma.per_sheet`` (per criterion ``sigma.by_criterion[c]``) counted as
    ``prior_df`` degrees of freedom, pooled with the assessor's own within-round spread of sheets
    through round ``t`` (``s_t^2 = (prior_df sigma^2 + SS_own) / (prior_df + df_own)``, a scaled
    inverse chi-square prior; Gelman et al. 2013, §3.3), and ``U_t`` is read as a Student t on
    ``prior_df + df_own`` df mapped to the normal scale. For a stable assessor, with or without a
    constant lean, the ``U_t`` are then (close to) independent standard normals (Hawkins 1987), and a
    two-sided CUSUM (:func:`~calibration.stats.cusum.self_starting_cusum`) on them has a known
    false-alarm rate; an assessor noisier than the pool is judged against their own noise.

    The limits spend the budget: the overall chart's ``h`` gives a false-alarm probability of
    ``budget.share("drift_overall")`` over ``budget.rounds - 1`` innovations; each of the ``C``
    criterion charts gets ``budget.share("drift_criterion") / C`` (Bonferroni), so detection per
    criterion costs the same whatever the number of criteria. ``h`` is solved from the CUSUM's
    run-length distribution (:func:`~calibration.stats.cusum.cusum_limit`), not simulated.

    Minimum evidence: a round with fewer than ``min_anchors`` score sheets or ``min_scores``
    criterion-scores is "too few to judge": it is left out of the chart (it neither signals nor moves
    the baseline) and listed in ``too_few_rounds``; the criterion charts use the same rounds.

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
        From :func:`~calibration.stats.ewma.pool_sigma` on the certified pool; estimated from these rows
        when omitted.
    k : float
        CUSUM reference value (default 0.5).
    prior_df : float
        Weight of the pool's sigma in degrees of freedom (default 20; 0 uses the assessor's own only).
    budget : FalseAlarmBudget
        The shares ``"drift_overall"`` and ``"drift_criterion"`` are used.
    min_anchors, min_scores : int
        Minimum evidence per round (DESIGN §6: 5 and 20).

    Returns
    -------
    OwnDriftTable

    References
    ----------
    Hawkins, D. M. (1987). Self-starting CUSUM charts for location and scale. *The Statistician* 36,
    299-316. Hawkins, D. M., & Olwell, D. H. (1998). *Cumulative Sum Charts and Charting for Quality
    Improvement*, Springer, ch. 7. Brook & Evans (1972) for the limits. Hinkley, D. V. (1970).
    Inference about the change-point in a sequence of random variables. *Biometrika* 57, 1-17
    (``change_round``). Gelman, A., et al. (2013). *Bayesian Data Analysis* (3rd ed.), §3.3.

    Examples
    --------
    Ten assessors over eight rounds of eight anchors; assessor 0 leans +1 throughout (a stable lean,
    not drift) and assessor 1 moves up one level from round 6.

    >>> rng = np.random.default_rng(9)
    >>> grid = np.meshgrid(range(1, 9), range(10), range(8), range(4), indexing="ij")
    >>> t, r, u, c = (a.ravel() for a in grid)
    >>> key = rng.integers(1, 4, t.size)
    >>> noise = rng.choice([-1, 0, 0, 0, 0, 0, 1], t.size)
    >>> given = np.clip(key + noise + (r == 0) + ((r == 1) & (t >= 6)), 1, 5)
    >>> table = self_starting_drift(t, r, u * 10 + t, given, key, levels=[1, 2, 3, 4, 5], criteria=c)
    >>> table.overall[0].status, table.flagged_raters()
    ('in_control', (1,))
    >>> d = table.overall[1]
    >>> d.direction, d.first_round, d.change_round, round(d.shift, 1)
    ('lenient', 6, 6, 1.0)
    >>> d.sentence()
    'In the last round your scores moved higher than your own earlier level, by about one level.'
    """
    _check_count(min_anchors=min_anchors, min_scores=min_scores)
    if not isinstance(budget, FalseAlarmBudget):
        raise ValueError(f"budget must be a FalseAlarmBudget, got {budget!r}")
    if not (isinstance(prior_df, int | float) and math.isfinite(prior_df) and prior_df >= 0):
        raise ValueError(f"prior_df must be a non-negative number, got {prior_df!r}")
    p = _rows(rounds, raters, units, values, key, levels, criteria)
    if sigma is None:
        sigma = _sigma_from_rows(p)
    elif not isinstance(sigma, PoolSigma):
        raise ValueError(f"sigma must be a PoolSigma (see pool_sigma), got {sigma!r}")
    n_points = budget.rounds - 1
    p_all = budget.share("drift_overall")
    params: dict[str, Any] = {
        "rule": "drift_overall",
        "method": "self-starting two-sided CUSUM of the mean signed deviation (Hawkins 1987)",
        "k": float(k),
        "prior_df": float(prior_df),
        "h": cusum_limit(k, p_all, n_points),
        "nominal_false_alarm": p_all,
        "horizon_rounds": budget.rounds,
        "budget_total": budget.total,
        "criterion": None,
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
        "sigma_per_sheet": sigma.per_sheet,
    }
    A = p.A
    n, _, ns = p.counts(p.r, A)
    judged_round = (n >= min_scores) & (ns >= min_anchors)
    s0 = np.nan if sigma.per_sheet is None or not sigma.per_sheet > 0 else float(sigma.per_sheet)
    reason0 = f"Undefined: {sigma.reason or 'sigma is zero'}" if s0 != s0 else None
    overall = _chart_results(
        p, p.r, A, judged_round, np.full(A, s0), [reason0] * A, [(_py(a), None) for a in p.rater_ids], params
    )
    by_c: list[OwnDrift] = []
    if p.c is not None:
        C = p.C
        cids = [_py(c) for c in p.crit_ids]
        sc = np.array([float(sigma.by_criterion.get(c, np.nan) or np.nan) for c in cids])
        sc[~(sc > 0)] = np.nan
        why = [
            None if v == v else f"Undefined: the pool gives no sigma for criterion {c!r} (no variation)"
            for c, v in zip(cids, sc, strict=True)
        ]
        p_c = budget.share("drift_criterion") / C
        c_params = {
            **params,
            "rule": "drift_criterion",
            "h": cusum_limit(k, p_c, n_points),
            "nominal_false_alarm": p_c,
            "criteria_sharing_budget": C,
            "criterion": True,
            "sigma_by_criterion": dict(zip(cids, (None if v != v else float(v) for v in sc), strict=True)),
        }
        by_c = _chart_results(
            p,
            p.r.astype(np.int64) * C + p.c,
            A * C,
            np.repeat(judged_round, C, axis=0),
            np.tile(sc, A),
            why * A,
            [(_py(a), c) for a in p.rater_ids for c in cids],
            c_params,
        )
    return OwnDriftTable(
        overall={d.rater: d for d in overall},
        by_criterion={(d.rater, d.criterion): d for d in by_c},
        sigma=sigma,
        parameters=params,
    )

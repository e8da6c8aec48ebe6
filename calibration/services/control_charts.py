"""Control charts of an assessor's signed deviation from the key, for trainers (issue 17, item 1).

Per assessor, overall and per criterion: the EWMA of the signed deviation round by round
(:func:`calibration.stats.ewma.ewma_drift`, the same computation the EWMA rule uses), its centre line
(the key, 0) and its control limits, the rounds where it is outside them with enough evidence, and
the raw per-round means. Sigma comes from the certified pool (:func:`calibration.stats.ewma.pool_sigma`,
as the drift rules compute it) unless a flag stored the one it used; the EWMA's weight and limit width
are the flag's when it stored them (rule ``ewma``), else the program's policy
(:class:`.policy.DriftPolicy` ``ewma_lambda``, ``ewma_L``, ``ewma_min_shift``). Nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import CertificationStatus, Criterion, DriftFlag, FlagRule, ScoreCorrection, ScoreSheet
from ..models.scoring import UnitLevelCount
from ..stats.ewma import EwmaDrift, PoolSigma, ewma_drift
from .drift import program_drift_settings
from .drift_own import series_pool_sigma
from .drift_series import Series, assessor_statuses, calibration_series
from .policy import DriftPolicy
from .report_cache import ReportCache, database_identity
from .score_rows import label_id
from .sigma_baseline import SigmaBaseline, baseline_of, computed_baseline, estimate_sigma, latest_estimate

__all__ = ["ChartPoint", "ControlChart", "ControlSettings", "assessor_control_charts", "control_settings"]

_POOL = (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)


@dataclass(frozen=True)
class ChartPoint:
    """One round of a control chart: the raw mean signed deviation, the EWMA after it and its limits."""

    round_id: int
    round_name: str
    n_sheets: int
    n_scores: int
    mean: float
    ewma: float | None
    lower: float | None
    upper: float | None
    signal: bool  # outside its limits with enough evidence: what the rule counts

    @property
    def outside(self) -> bool:
        if self.ewma is None or self.lower is None or self.upper is None:
            return False
        return self.ewma > self.upper or self.ewma < self.lower


@dataclass(frozen=True)
class ControlSettings:
    """The chart's numbers and where they come from (``source`` in words)."""

    lam: float
    L: float
    criterion_L: float | None
    min_shift: float
    min_anchors: int
    min_scores: int
    sigma: PoolSigma
    source: str
    baseline: SigmaBaseline | None = None  # where the pool's sigma came from (None: the flag's)


@dataclass(frozen=True)
class ControlChart:
    """An EWMA control chart of one assessor, overall (``criterion_id`` None) or on one criterion."""

    rubric_title: str
    criterion_id: int | None
    criterion: str | None
    points: tuple[ChartPoint, ...]
    status: str  # "flagged", "in_control", "too_few", "undefined" (see EwmaDrift)
    reason: str | None
    direction: str | None
    first_signal: str | None  # the round name of the first signal
    lam: float
    L: float
    sigma: float | None  # of one score sheet's mean deviation (overall) or one score (criterion)
    source: str
    baseline: SigmaBaseline | None = None

    @property
    def scope(self) -> str:
        return "all criteria" if self.criterion is None else self.criterion

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def description(self, name: str) -> str:
        """The chart's text alternative: what is drawn and what it shows."""
        drawn = [p for p in self.points if p.ewma is not None]
        head = (
            f"Control chart of {name}'s signed deviation from the key, {self.scope}, over {len(self.points)} "
            f"calibration round{'s' if len(self.points) != 1 else ''}, oldest first: the mean signed "
            "deviation in each round (open circles), its EWMA (line with dots) with the centre line at 0 "
            f"(the key) and control limits of ±{self.L:.2f} standard deviations of the EWMA (dashed)"
        )
        if not drawn:
            return head + f". {self.reason or 'No EWMA could be computed.'}"
        outside = [p.round_name for p in self.points if p.signal]
        if outside:
            way = "above the upper" if self.direction == "lenient" else "below the lower"
            tail = (
                f"; the EWMA is {way} limit in {len(outside)} round{'s' if len(outside) != 1 else ''}, "
                f"first in “{outside[0]}” (marked with a cross)."
            )
        elif self.status == "too_few":
            tail = f"; {self.reason}."
        else:
            tail = "; the EWMA stays within its limits."
        return head + tail + " The table beside it lists every number."


def _sigma_from_stored(stored: Mapping[str, Any]) -> PoolSigma | None:
    per_sheet = stored.get("per_sheet")
    by_criterion = stored.get("by_criterion") or {}
    if per_sheet is None and not by_criterion:
        return None
    return PoolSigma(
        per_sheet=None if per_sheet is None else float(per_sheet),
        by_criterion={int(k): float(v) for k, v in by_criterion.items() if v is not None},
        df=int(stored.get("df") or 0),
        n_sheets=int(stored.get("n_sheets") or 0),
        n_scores=int(stored.get("n_scores") or 0),
        reason=stored.get("reason"),
    )


def _flag_sigma(flag: DriftFlag, parameters: Mapping[str, Any]) -> PoolSigma | None:
    """The sigma a flag stored: issue 15's rules store the pool's sigma whole, the EWMA rule its parts."""
    stored = parameters.get("sigma")
    if isinstance(stored, Mapping):
        return _sigma_from_stored(stored)
    if flag.rule == FlagRule.EWMA:
        return _sigma_from_stored(
            {
                "per_sheet": parameters.get("sigma_per_sheet"),
                "by_criterion": parameters.get("sigma_by_criterion") or {},
            }
        )
    return None


def control_settings(
    cfg: DriftPolicy,
    pool: PoolSigma | Callable[[], tuple[PoolSigma, SigmaBaseline | None]],
    flag: DriftFlag | None = None,
) -> ControlSettings:
    """The numbers in force: the flag's where it stored them, else the program's policy. ``pool``
    is the certified pool's sigma, or a function giving it with where it came from: called only
    when the flag stored no sigma of its own."""
    parameters: dict[str, Any] = json.loads(flag.parameters_json or "{}") if flag is not None else {}
    stored = _flag_sigma(flag, parameters) if flag is not None else None
    where_from: SigmaBaseline | None = None
    if stored is not None:
        sigma = stored
    elif callable(pool):
        sigma, where_from = pool()
    else:
        sigma = pool
    if flag is not None and flag.rule == FlagRule.EWMA and "lam" in parameters:
        stored_L = float(parameters.get("L", cfg.ewma_L))
        on_criterion = flag.criterion_id is not None
        criterion_L = stored_L if on_criterion else parameters.get("criterion_L")
        return ControlSettings(
            lam=float(parameters["lam"]),
            L=float(cfg.ewma_L) if on_criterion else stored_L,
            criterion_L=None if criterion_L is None else float(criterion_L),
            min_shift=float(parameters.get("min_shift", cfg.ewma_min_shift)),
            min_anchors=int(parameters.get("min_anchors", cfg.min_anchors)),
            min_scores=int(parameters.get("min_scores", cfg.min_scores)),
            sigma=sigma,
            source=f"the weight, limits and sigma stored with flag #{flag.id}"
            if stored is not None
            else f"the weight and limits stored with flag #{flag.id}, sigma from the certified assessors' scores",
            baseline=where_from,
        )
    where = (
        f"sigma stored with flag #{flag.id}; weight and limit width from the program's drift settings"
        if flag is not None and stored is not None
        else "the program's drift settings, sigma from the certified assessors' scores"
    )
    return ControlSettings(
        lam=float(cfg.ewma_lambda),
        L=float(cfg.ewma_L),
        criterion_L=None,
        min_shift=float(cfg.ewma_min_shift),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
        sigma=sigma,
        source=where,
        baseline=where_from,
    )


def _chart(series: Series, d: EwmaDrift, titles: Mapping[int, str], s: ControlSettings) -> ControlChart:
    crit = None if d.criterion is None else label_id(d.criterion)
    signals = {label_id(r) for r in d.signal_rounds}
    points = []
    for i, pos in enumerate(d.rounds):
        p = label_id(pos)
        rid = series.round_ids[p]
        defined = bool(d.path)
        points.append(
            ChartPoint(
                round_id=rid,
                round_name=series.round_names[rid],
                n_sheets=d.n_anchors[i],
                n_scores=d.n_scores[i],
                mean=d.means[i],
                ewma=d.path[i] if defined else None,
                lower=-d.limits[i] if defined else None,
                upper=d.limits[i] if defined else None,
                signal=p in signals,
            )
        )
    first = None if d.first_round is None else series.round_names[series.round_ids[label_id(d.first_round)]]
    sigma = s.sigma.per_sheet if crit is None else s.sigma.by_criterion.get(crit)
    return ControlChart(
        rubric_title=series.rubric.title,
        criterion_id=crit,
        criterion=None if crit is None else titles.get(crit, f"criterion {crit}"),
        points=tuple(points),
        status=d.status,
        reason=d.reason,
        direction=d.direction,
        first_signal=first,
        lam=float(d.parameters["lam"]),
        L=float(d.parameters["L"]),
        sigma=None if sigma is None else float(sigma),
        source=s.source,
        baseline=s.baseline,
    )


#: The certified pool's sigma per rubric version while no estimate is recorded, keyed by what the
#: database says about its scores; kept on disk too (:mod:`.report_store`): it reads every
#: calibration score of the rubric version.
POOL_SIGMAS = ReportCache(maxsize=32, namespace="pool-sigma-baseline")


def _computed_pool_sigma(
    session: Session, program_id: int, series: Series, pool_ids: list[int]
) -> tuple[PoolSigma, SigmaBaseline] | None:
    """The certified pool's sigma over the rubric version's calibration rounds, computed as the
    drift rules do, from the cache while no sheet, correction or pool member has changed; None
    without a pool. Only used before the drift evaluation has recorded an estimate."""
    if not pool_ids:
        return None
    # Each round's number of criterion-scores, from the trigger-kept ``unit_level_count`` (a few
    # thousand rows; counting the sheets themselves reads every sheet of every round): sheets are
    # inserted with their scores and never deleted, so a new sheet changes it.
    scores = session.execute(
        select(UnitLevelCount.round_id, func.sum(UnitLevelCount.n))
        .where(UnitLevelCount.round_id.in_(series.round_ids))
        .group_by(UnitLevelCount.round_id)
        .order_by(UnitLevelCount.round_id)
    ).all()
    last_sheet = session.scalar(select(func.max(ScoreSheet.id)))
    last_correction = session.scalar(select(func.max(ScoreCorrection.id)))
    key = (
        database_identity(session),
        program_id,
        series.rubric.id,
        tuple(series.round_ids),
        tuple((rid, int(n)) for rid, n in scores),
        last_sheet,
        last_correction,
        tuple(pool_ids),
    )

    def compute() -> tuple[PoolSigma, SigmaBaseline] | None:
        [full] = [s for s in calibration_series(session, program_id) if s.rubric.id == series.rubric.id]
        pool = full.mask(np.isin(full.assessor, np.asarray(pool_ids, dtype=np.int64)))
        if not len(pool):
            return None
        sigma = series_pool_sigma(pool)
        return sigma, computed_baseline(pool, pool_ids, sigma)

    return POOL_SIGMAS.get_or_compute(key, compute)


def _pool_sigma_in_force(
    session: Session, program_id: int, mine: Series, pool_ids: list[int]
) -> tuple[PoolSigma, SigmaBaseline | None]:
    """The pool's sigma the charts use: the latest estimate the drift evaluation recorded for the
    rubric version; before the first one, computed from the pool's scores now (or, with no
    certified pool yet, the assessor's own spread)."""
    row = latest_estimate(session, program_id, mine.rubric.id)
    if row is not None:
        return estimate_sigma(row), baseline_of(session, row)
    computed = _computed_pool_sigma(session, program_id, mine, pool_ids)
    if computed is not None:
        return computed
    return series_pool_sigma(mine), None  # no certified pool yet: the assessor's own spread


def assessor_control_charts(
    session: Session, *, program_id: int, user_id: int, flag: DriftFlag | None = None
) -> list[ControlChart]:
    """The assessor's control charts over every calibration round they scored, overall first and
    then per criterion in rubric order, for each rubric version they scored (only the flag's
    rubric version when a flag is given)."""
    cfg = program_drift_settings(session, program_id)
    pool_ids = sorted(u for u, st in assessor_statuses(session, program_id).items() if st in _POOL)
    out: list[ControlChart] = []
    for mine in calibration_series(session, program_id, assessor_id=user_id):
        if flag is not None and flag.round_id is not None and flag.round_id not in mine.round_ids:
            continue
        if not len(mine):
            continue
        series = mine
        levels = series.rubric.level_values
        settings = control_settings(
            cfg, partial(_pool_sigma_in_force, session, program_id, series, pool_ids), flag
        )
        table = ewma_drift(
            mine.pos,
            mine.assessor,
            mine.sheet,
            mine.level,
            mine.key,
            levels=levels,
            criteria=mine.criterion,
            sigma=settings.sigma,
            lam=settings.lam,
            L=settings.L,
            criterion_L=settings.criterion_L,
            min_shift=settings.min_shift,
            min_anchors=settings.min_anchors,
            min_scores=settings.min_scores,
        )
        ordered = list(
            session.execute(
                select(Criterion.id, Criterion.title)
                .where(Criterion.rubric_version_id == series.rubric.id)
                .order_by(Criterion.position)
            ).all()
        )
        titles = {cid: title for cid, title in ordered}
        out.extend(_chart(series, d, titles, settings) for d in table.overall.values())
        for cid, _ in ordered:
            d = table.by_criterion.get((user_id, cid))
            if d is not None:
                out.append(_chart(series, d, titles, settings))
    return out

"""The drift rules of DESIGN §6, computed from the stored scores into findings (nothing is written):
a calibration round below the pass rule, the EWMA of the signed deviation, accuracy below the
assessor's own baseline, cohort agreement, and an expired certification.

Recording the findings as flags, and evaluating a program, live in :mod:`calibration.services.drift`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Anchor,
    Assignment,
    CertificationStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Membership,
    Role,
    Round,
    RoundAnchor,
    RoundStatus,
    ScoreSheet,
)
from ..stats import drift as stats_drift
from ..stats.accuracy import accuracy_by_rater
from ..stats.passrule import clearly_below, evaluate_pass_rule
from ..stats.reliability import krippendorff_alpha
from .drift_series import (
    Finding,
    Series,
)
from .policy import DriftPolicy
from .rules import level_of_measurement, pass_rule_from_json
from .score_rows import label_id

ASSESSOR_RULES = (FlagRule.PASS_RULE, FlagRule.EWMA, FlagRule.ACCURACY_DROP)


# ------------------------------------------------------------------------------- assessor rules
def restart_positions(session: Session, program_id: int, series: Series) -> dict[int, int]:
    """Per assessor, the position of the last round covered by a reviewed flag of rules (a)-(c)."""
    position = {rid: i for i, rid in enumerate(series.round_ids)}
    out: dict[int, int] = {}
    for uid, rid in session.execute(
        select(DriftFlag.user_id, DriftFlag.round_id).where(
            DriftFlag.program_id == program_id,
            DriftFlag.rule.in_(ASSESSOR_RULES),
            DriftFlag.status != FlagStatus.OPEN,
            DriftFlag.round_id.in_(series.round_ids),
        )
    ).all():
        if uid is not None and rid in position:
            out[uid] = max(out.get(uid, -1), position[rid])
    return out


def _sheets(series: Series, rows: Iterable[int] | np.ndarray) -> list[int]:
    idx = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
    return sorted({int(s) for s in series.sheet[idx].tolist()}) if idx.size else []


def _rid(series: Series, positions: Iterable[Any]) -> list[int]:
    return [series.round_ids[int(p)] for p in positions]


def ewma_findings(
    series: Series, current: Series, pool: Series, cfg: DriftPolicy, titles: Mapping[int, str]
) -> list[Finding]:
    levels = series.rubric.level_values
    sigma = stats_drift.pool_sigma(
        pool.pos, pool.assessor, pool.sheet, pool.level, pool.key, levels=levels, criteria=pool.criterion
    )
    table = stats_drift.ewma_drift(
        current.pos,
        current.assessor,
        current.sheet,
        current.level,
        current.key,
        levels=levels,
        criteria=current.criterion if cfg.ewma_per_criterion else None,
        sigma=sigma,
        lam=float(cfg.ewma_lambda),
        L=float(cfg.ewma_L),
        min_shift=float(cfg.ewma_min_shift),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    out = []
    for d in table.flags:
        uid = label_id(d.rater)
        crit = None if d.criterion is None else label_id(d.criterion)
        where = "overall" if crit is None else f"on “{titles.get(crit, crit)}”"
        first = series.round_ids[label_id(d.first_round)]
        sheets = _sheets(current, d.evidence_rows)
        recent = d.recent_deviation(3)
        out.append(
            Finding(
                rule=FlagRule.EWMA,
                user_id=uid,
                criterion_id=crit,
                round_id=first,
                statistic=f"EWMA of signed deviation from the key, {where}",
                value=d.value,
                threshold=d.limit,
                direction=d.direction,
                window=_rid(series, d.evidence_rounds),
                evidence={
                    "rounds": _rid(series, d.rounds),
                    "means": list(d.means),
                    "ewma": list(d.path),
                    "limits": list(d.limits),
                    "n_scores": list(d.n_scores),
                    "n_anchors": list(d.n_anchors),
                    "sheet_ids": sheets,
                    "signal_round": first,
                },
                parameters={**d.parameters, "sigma": sigma.to_dict()},
                summary=(
                    f"{d.direction.capitalize() if d.direction else 'Drift'} {where}: the EWMA reached "
                    f"{d.value:+.2f} levels against a limit of ±{d.limit:.2f} in “{series.round_names[first]}”."
                ),
                assessor_text=(
                    d.sentence(3, None if crit is None else titles.get(crit))
                    if recent is not None
                    else "Your recent scores sit away from the key."
                ),
                key_evidence=sheets,
            )
        )
    return out


def accuracy_findings(series: Series, current: Series, cfg: DriftPolicy) -> list[Finding]:
    results = stats_drift.accuracy_drop(
        current.pos,
        current.assessor,
        current.sheet,
        current.level,
        current.key,
        levels=series.rubric.level_values,
        window=int(cfg.baseline_window_rounds),
        baseline=int(cfg.baseline_rounds),
        min_drop=float(cfg.baseline_min_drop),
        alpha=float(cfg.baseline_alpha),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    out = []
    for r in results.values():
        if not r.flagged or r.window is None or r.baseline is None:
            continue
        uid = label_id(r.rater)
        rounds = [*r.baseline_rounds, *r.window_rounds]
        rows = np.flatnonzero((current.assessor == uid) & np.isin(current.pos, np.asarray(rounds)))
        sheets = _sheets(current, rows)
        first = series.round_ids[label_id(r.first_round)]
        n = len(r.window_rounds)
        out.append(
            Finding(
                rule=FlagRule.ACCURACY_DROP,
                user_id=uid,
                criterion_id=None,
                round_id=first,
                statistic="Exact agreement with the key in the latest window against the assessor's baseline",
                value=r.window.p,
                threshold=None if r.baseline.p is None else r.baseline.p - float(cfg.baseline_min_drop),
                direction=None,
                window=_rid(series, r.window_rounds),
                evidence={
                    "window_rounds": _rid(series, r.window_rounds),
                    "baseline_rounds": _rid(series, r.baseline_rounds),
                    "window": r.window.label(),
                    "baseline": r.baseline.label(),
                    "drop": r.drop,
                    "p_value": r.p_value,
                    "sheet_ids": sheets,
                },
                parameters=dict(r.parameters),
                summary=(
                    f"Exact agreement fell to {r.window.label()} over the last {n} rounds, from "
                    f"{r.baseline.label()} before (p = {r.p_value:.3f})."
                ),
                assessor_text=(
                    f"Over your last {n} rounds your scores matched the key exactly {r.window.label()}, "
                    f"down from {r.baseline.label()} in your earlier rounds."
                ),
                key_evidence=sheets,
            )
        )
    return out


def pass_rule_findings(
    session: Session,
    series: Series,
    current: Series,
    finished: set[tuple[int, int]],
    cfg: DriftPolicy,
) -> list[Finding]:
    """Rule (a) for each (assessor, round) finished, using the pass rule stored with the round."""
    out = []
    rules = dict(
        session.execute(select(Round.id, Round.pass_rule_json).where(Round.id.in_(series.round_ids))).all()
    )
    for p in np.unique(current.pos).tolist():
        rid = series.round_ids[p]
        in_round = current.pos == p
        table = accuracy_by_rater(
            current.assessor[in_round],
            current.level[in_round],
            current.key[in_round],
            levels=series.rubric.level_values,
            earn_cut=series.rubric.earn_cut,
        )
        rule = pass_rule_from_json(rules[rid])
        for uid, result in table.by_rater.items():
            uid = label_id(uid)
            if (uid, rid) not in finished:
                continue
            mine = in_round & (current.assessor == uid)
            n_anchors = int(np.unique(current.anchor[mine]).size)
            decision = evaluate_pass_rule(result, rule, n_anchors=n_anchors)
            if stats_drift.pass_rule_drift([decision], rounds=[rid]).status != "flagged":
                continue
            if cfg.pass_rule_clear and not clearly_below(result, rule):
                continue
            sheets = _sheets(current, np.flatnonzero(mine))
            failed = [c.message for c in decision.checks if c.passed is False]
            out.append(
                Finding(
                    rule=FlagRule.PASS_RULE,
                    user_id=uid,
                    criterion_id=None,
                    round_id=rid,
                    statistic="Pass rule of a calibration round",
                    value=result.exact.p,
                    threshold=rule.min_exact,
                    direction=None,
                    window=[rid],
                    evidence={
                        "round": rid,
                        "checks": failed,
                        "sheet_ids": sheets,
                        "message": decision.message,
                    },
                    parameters={
                        **{k: getattr(rule, k) for k in rule.__dataclass_fields__},
                        "clear": bool(cfg.pass_rule_clear),
                    },
                    summary=f"“{series.round_names[rid]}” below the pass rule: " + "; ".join(failed) + ".",
                    assessor_text=(
                        f"In the calibration round “{series.round_names[rid]}” your scores did not meet the "
                        "pass rule: " + "; ".join(failed) + "."
                    ),
                    key_evidence=sheets,
                )
            )
    return out


def finished_sheets(session: Session, round_ids: list[int]) -> set[tuple[int, int]]:
    """(assessor, round) pairs with a sheet for every anchor of the round (or the round closed)."""
    n_anchors = dict(
        session.execute(
            select(RoundAnchor.round_id, func.count())
            .where(RoundAnchor.round_id.in_(round_ids))
            .group_by(RoundAnchor.round_id)
        ).all()
    )
    closed = set(
        session.scalars(select(Round.id).where(Round.id.in_(round_ids), Round.status == RoundStatus.CLOSED))
    )
    out = set()
    for uid, rid, n in session.execute(
        select(ScoreSheet.assessor_id, ScoreSheet.round_id, func.count())
        .where(ScoreSheet.round_id.in_(round_ids))
        .group_by(ScoreSheet.assessor_id, ScoreSheet.round_id)
    ).all():
        if rid in closed or n >= n_anchors.get(rid, 0):
            out.add((uid, rid))
    return out


# --------------------------------------------------------------------------------- cohort rule
def cohort_findings(
    session: Session,
    series: Series,
    cfg: DriftPolicy,
    titles: Mapping[int, str],
    only_round: int | None,
) -> list[Finding]:
    """Rule (d) for every round every assigned assessor finished (or closed), judged on the rounds up to it."""
    levels = series.rubric.level_values
    lom = series.rubric.level_of_measurement
    assigned = dict(
        session.execute(
            select(Assignment.round_id, func.count())
            .where(Assignment.round_id.in_(series.round_ids))
            .group_by(Assignment.round_id)
        ).all()
    )
    finished = finished_sheets(session, series.round_ids)
    done_count: dict[int, int] = {}
    for _, rid in finished:
        done_count[rid] = done_count.get(rid, 0) + 1
    closed = set(
        session.scalars(
            select(Round.id).where(Round.id.in_(series.round_ids), Round.status == RoundStatus.CLOSED)
        )
    )
    anchor_titles = dict(
        session.execute(
            select(Anchor.id, Anchor.title).where(Anchor.program_id == series.rubric.program_id)
        ).all()
    )
    alphas: list[float | None] = []
    out = []
    for p, rid in enumerate(series.round_ids):
        in_round = series.pos == p
        complete = rid in closed or (
            assigned.get(rid, 0) > 0 and done_count.get(rid, 0) >= assigned.get(rid, 0)
        )
        if not in_round.any():
            continue
        units = series.anchor[in_round] * 1_000_003 + series.criterion[in_round]
        a = krippendorff_alpha(
            units,
            series.assessor[in_round],
            series.level[in_round],
            levels=levels,
            level_of_measurement=level_of_measurement(lom),
        )
        alphas.append(a.value)
        if not complete or (only_round is not None and rid != only_round):
            continue
        crit_ids = sorted(set(series.criterion[in_round].tolist()))
        crit_alpha = []
        for c in crit_ids:
            m = in_round & (series.criterion == c)
            crit_alpha.append(
                krippendorff_alpha(
                    series.anchor[m],
                    series.assessor[m],
                    series.level[m],
                    levels=levels,
                    level_of_measurement=level_of_measurement(lom),
                ).value
            )
        anchors = sorted(set(series.anchor[in_round].tolist()))
        exact = [
            float(
                np.mean(
                    series.level[in_round & (series.anchor == x)]
                    == series.key[in_round & (series.anchor == x)]
                )
            )
            for x in anchors
        ]
        r = stats_drift.cohort_drift(
            alphas,
            n_anchors=len(anchors),
            n_scores=int(in_round.sum()),
            anchor_ids=anchors,
            anchor_agreement=exact,
            criterion_ids=crit_ids,
            criterion_agreement=crit_alpha,
            lowest=int(cfg.cohort_lowest),
            min_alpha=float(cfg.cohort_min_alpha),
            max_drop=float(cfg.cohort_max_drop),
            min_baseline_rounds=int(cfg.cohort_min_baseline_rounds),
            min_anchors=int(cfg.min_anchors),
            min_scores=int(cfg.min_scores),
        )
        if not r.flagged:
            continue
        weak_a = [f"“{anchor_titles.get(label_id(i), i)}” ({v:.0%} exact)" for i, v in r.lowest_anchors]
        weak_c = [f"“{titles.get(label_id(i), i)}” (alpha {v:.2f})" for i, v in r.lowest_criteria]
        why = []
        if "below_minimum" in r.triggers:
            why.append(f"below the minimum of {float(cfg.cohort_min_alpha):.3f}")
        if "below_baseline" in r.triggers and r.baseline is not None:
            why.append(f"{r.drop:.2f} below the program's baseline of {r.baseline:.3f}")
        out.append(
            Finding(
                rule=FlagRule.COHORT,
                user_id=None,
                criterion_id=None,
                round_id=rid,
                statistic="Krippendorff's alpha of the cohort in the round",
                value=r.alpha,
                threshold=float(cfg.cohort_min_alpha)
                if "below_minimum" in r.triggers
                else (None if r.baseline is None else r.baseline - float(cfg.cohort_max_drop)),
                direction=None,
                window=series.round_ids[: p + 1],
                evidence={
                    "round": rid,
                    "alphas": alphas[:],
                    "baseline": r.baseline,
                    "triggers": list(r.triggers),
                    "lowest_anchors": [[label_id(i), v] for i, v in r.lowest_anchors],
                    "lowest_criteria": [[label_id(i), v] for i, v in r.lowest_criteria],
                    "lowest_anchor_titles": weak_a,
                    "lowest_criterion_titles": weak_c,
                },
                parameters=dict(r.parameters),
                summary=(
                    f"Cohort alpha {r.alpha:.3f} in “{series.round_names[rid]}” is "
                    + " and ".join(why)
                    + ". "
                    "Review the anchors with the lowest agreement: "
                    + ", ".join(weak_a)
                    + "; and the criteria: "
                    + ", ".join(weak_c)
                    + "."
                ),
                assessor_text="",
                key_evidence={"round": rid},
            )
        )
    return out


def expiry_findings(
    session: Session, program_id: int, now: dt.datetime, *, judged_all: bool, user_ids: Iterable[int] | None
) -> list[Finding]:
    stmt = select(Membership.user_id, Membership.certification_expires_at).where(
        Membership.program_id == program_id,
        Membership.role == Role.ASSESSOR,
        Membership.certification_status.in_(
            [CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE]
        ),
        Membership.certification_expires_at <= now,
    )
    if not judged_all:
        stmt = stmt.where(Membership.user_id.in_(list(user_ids or [])))
    out = []
    for uid, expires in session.execute(stmt).all():
        if expires is None:
            continue
        day = f"{expires:%Y-%m-%d}"
        out.append(
            Finding(
                rule=FlagRule.EXPIRY,
                user_id=uid,
                criterion_id=None,
                round_id=None,
                statistic="Days since certification expired",
                value=float((now - expires).days),
                threshold=0.0,
                direction=None,
                window=[],
                evidence={"expires_at": expires.isoformat()},
                parameters={},
                summary=f"Certification expired on {day}: annual recalibration is due.",
                assessor_text=f"Your certification expired on {expires:%-d %B %Y}: a recalibration round renews it.",
                key_evidence={"expires": day},
            )
        )
    return out

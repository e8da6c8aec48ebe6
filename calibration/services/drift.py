"""Drift flags: evaluate the rules of DESIGN §6 on stored scores, record each finding once with its
evidence, and let trainers confirm (starting recalibration) or dismiss it with a reason.

Rules, all computed by :mod:`calibration.stats.drift` from the calibration rounds of the program:

* (a) ``pass_rule``: a calibration round the assessor finished below the round's pass rule;
* (b) ``ewma``: the EWMA of their signed deviation outside its control limits, overall and per
  criterion, with sigma from the certified pool (:func:`~calibration.stats.drift.pool_sigma`);
* (c) ``accuracy_drop``: exact agreement in the latest window far below their own baseline;
* (d) ``cohort``: a round's alpha below the minimum or well below the program's baseline, naming the
  anchors and criteria of lowest agreement;
* (e) ``expiry``: certification expired (recalibration starts without review).

Thresholds come from the program's settings (:class:`.policy.DriftPolicy`, ``drift`` section)
and are stored with each flag. "Too few to judge" never flags. Idempotent: a flag's
``evidence_hash`` (rule, program, assessor, criterion and the score sheets or round it rests on) is
unique, and while a flag of a rule is open for an assessor and criterion no second one is raised.
After a flag is reviewed, that assessor's series for rules (a)-(c) restarts after the flagged round,
so the same history never flags again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    Assignment,
    CertificationStatus,
    Criterion,
    CriterionScore,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Membership,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    effective_level,
)
from ..stats import drift as stats_drift
from ..stats.accuracy import accuracy_by_rater
from ..stats.passrule import clearly_below, evaluate_pass_rule
from ..stats.reliability import krippendorff_alpha
from . import audit
from .context import SystemActor
from .policy import DriftPolicy, ProgramSettings
from .rules import pass_rule_from_json
from .score_rows import int_columns, keyed_scores

#: The drift settings keys and their defaults, as stored (numbers in :class:`.policy.DriftPolicy`).
DEFAULT_DRIFT: dict[str, Any] = {
    k: v for k, v in DriftPolicy().as_dict().items() if k != "recalibration_window_days"
}
ASSESSOR_RULES = (FlagRule.PASS_RULE, FlagRule.EWMA, FlagRule.ACCURACY_DROP)
RULE_NAMES = {
    FlagRule.PASS_RULE: "Calibration round below the pass rule",
    FlagRule.EWMA: "Systematic leniency or severity (EWMA)",
    FlagRule.ACCURACY_DROP: "Accuracy below own baseline",
    FlagRule.COHORT: "Cohort agreement",
    FlagRule.EXPIRY: "Certification expired",
}


def drift_settings(settings_json: str | None) -> DriftPolicy:
    """The drift rules in force for a program: its ``drift`` settings over the defaults, plus the
    booking window (``recalibration_window_days``)."""
    return ProgramSettings.from_json(settings_json).drift


def program_drift_settings(session: Session, program_id: int) -> DriftPolicy:
    return ProgramSettings.of_program(session, program_id).drift


# ------------------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class Series:
    """Calibration score rows of one rubric version, in numpy columns; ``pos`` orders rounds in time."""

    rubric: RubricVersion
    round_ids: list[int]  # in time order; index = position
    round_names: dict[int, str]
    pos: np.ndarray
    round_id: np.ndarray
    sheet: np.ndarray
    assessor: np.ndarray
    anchor: np.ndarray
    criterion: np.ndarray
    level: np.ndarray
    key: np.ndarray

    def mask(self, keep: np.ndarray) -> Series:
        cols = {
            n: getattr(self, n)[keep]
            for n in ("pos", "round_id", "sheet", "assessor", "anchor", "criterion", "level", "key")
        }
        return Series(self.rubric, self.round_ids, self.round_names, **cols)

    def __len__(self) -> int:
        return int(self.level.size)


def _series(session: Session, program_id: int) -> list[Series]:
    """One Core query per rubric version with calibration rounds (usually one)."""
    rounds = list(
        session.scalars(
            select(Round)
            .where(
                Round.program_id == program_id,
                Round.kind == RoundKind.CALIBRATION,
                Round.status != RoundStatus.DRAFT,
            )
            .order_by(Round.opens_at, Round.id)
        )
    )
    by_rubric: dict[int, list[Round]] = {}
    for r in rounds:
        by_rubric.setdefault(r.rubric_version_id, []).append(r)
    out = []
    for rubric_id, group in by_rubric.items():
        rubric = session.get(RubricVersion, rubric_id)
        assert rubric is not None
        ids = [r.id for r in group]
        stmt, _ = keyed_scores(
            ids,
            "sheet",
            [
                ScoreSheet.round_id,
                ScoreSheet.id,
                ScoreSheet.assessor_id,
                ScoreSheet.anchor_id,
                CriterionScore.criterion_id,
                effective_level(),
            ],
        )
        arr = int_columns(session, stmt, 8)
        position = {rid: i for i, rid in enumerate(ids)}
        pos = np.array([position[r] for r in arr[:, 0].tolist()], dtype=np.int64)
        out.append(
            Series(
                rubric=rubric,
                round_ids=ids,
                round_names={r.id: r.name for r in group},
                pos=pos,
                round_id=arr[:, 0],
                sheet=arr[:, 1],
                assessor=arr[:, 2],
                anchor=arr[:, 3],
                criterion=arr[:, 4],
                level=arr[:, 5],
                key=arr[:, 6],
            )
        )
    return out


def _statuses(session: Session, program_id: int) -> dict[int, CertificationStatus | None]:
    return dict(
        session.execute(
            select(Membership.user_id, Membership.certification_status).where(
                Membership.program_id == program_id, Membership.role == Role.ASSESSOR
            )
        ).all()
    )


# ------------------------------------------------------------------------------------- recording
def evidence_hash(
    rule: FlagRule, program_id: int, user_id: int | None, criterion_id: int | None, evidence: Any
) -> str:
    payload = json.dumps(
        {
            "rule": rule.value,
            "program": program_id,
            "user": user_id,
            "criterion": criterion_id,
            "evidence": evidence,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    """A rule that fired, before it is recorded."""

    rule: FlagRule
    user_id: int | None
    criterion_id: int | None
    round_id: int | None
    statistic: str
    value: float | None
    threshold: float | None
    direction: str | None
    window: list[int]
    evidence: dict[str, Any]
    parameters: dict[str, Any]
    summary: str
    assessor_text: str
    key_evidence: Any  # what the hash rests on


def _record(
    session: Session, program_id: int, f: Finding, now: dt.datetime, request_id: str | None
) -> DriftFlag | None:
    """Insert the flag unless the same evidence (or an open flag of the rule) already exists."""
    digest = evidence_hash(f.rule, program_id, f.user_id, f.criterion_id, f.key_evidence)
    if session.scalar(select(DriftFlag.id).where(DriftFlag.evidence_hash == digest)) is not None:
        return None
    if f.rule != FlagRule.COHORT:
        open_one = session.scalar(
            select(DriftFlag.id).where(
                DriftFlag.program_id == program_id,
                DriftFlag.rule == f.rule,
                DriftFlag.user_id == f.user_id,
                DriftFlag.criterion_id.is_(None)
                if f.criterion_id is None
                else DriftFlag.criterion_id == f.criterion_id,
                DriftFlag.status == FlagStatus.OPEN,
            )
        )
        if open_one is not None:
            return None
    flag = DriftFlag(
        program_id=program_id,
        user_id=f.user_id,
        criterion_id=f.criterion_id,
        round_id=f.round_id,
        rule=f.rule,
        status=FlagStatus.OPEN,
        direction=f.direction,
        statistic=f.statistic,
        value=f.value,
        threshold=f.threshold,
        window_json=json.dumps(f.window),
        evidence_json=json.dumps(f.evidence, sort_keys=True, default=str),
        parameters_json=json.dumps(f.parameters, sort_keys=True, default=str),
        summary=f.summary,
        assessor_text=f.assessor_text,
        evidence_hash=digest,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(flag)
            session.flush()
    except IntegrityError:  # a concurrent run recorded the same evidence first
        return None
    audit.record(
        session,
        SystemActor(program_id, request_id),
        "drift.flag",
        object_type="drift_flag",
        object_id=flag.id,
        detail={
            "rule": f.rule.value,
            "user_id": f.user_id,
            "criterion_id": f.criterion_id,
            "round_id": f.round_id,
            "value": f.value,
            "threshold": f.threshold,
        },
    )
    return flag


# ------------------------------------------------------------------------------- assessor rules
def _restart_positions(session: Session, program_id: int, series: Series) -> dict[int, int]:
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


def _ewma_findings(
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
        uid = int(d.rater)  # type: ignore[call-overload]
        crit = None if d.criterion is None else int(d.criterion)  # type: ignore[call-overload]
        where = "overall" if crit is None else f"on “{titles.get(crit, crit)}”"
        first = series.round_ids[int(d.first_round)]  # type: ignore[call-overload]
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


def _accuracy_findings(series: Series, current: Series, cfg: DriftPolicy) -> list[Finding]:
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
        uid = int(r.rater)  # type: ignore[call-overload]
        rounds = [*r.baseline_rounds, *r.window_rounds]
        rows = np.flatnonzero((current.assessor == uid) & np.isin(current.pos, np.asarray(rounds)))
        sheets = _sheets(current, rows)
        first = series.round_ids[int(r.first_round)]  # type: ignore[call-overload]
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


def _pass_rule_findings(
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
            uid = int(uid)  # type: ignore[call-overload]
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


def _finished(session: Session, round_ids: list[int]) -> set[tuple[int, int]]:
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
def _cohort_findings(
    session: Session,
    series: Series,
    cfg: DriftPolicy,
    titles: Mapping[int, str],
    only_round: int | None,
) -> list[Finding]:
    """Rule (d) for every round every assigned assessor finished (or closed), judged on the rounds up to it."""
    levels = series.rubric.level_values
    lom: Any = series.rubric.level_of_measurement
    assigned = dict(
        session.execute(
            select(Assignment.round_id, func.count())
            .where(Assignment.round_id.in_(series.round_ids))
            .group_by(Assignment.round_id)
        ).all()
    )
    finished = _finished(session, series.round_ids)
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
            units, series.assessor[in_round], series.level[in_round], levels=levels, level_of_measurement=lom
        )  # type: ignore[arg-type]
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
                    level_of_measurement=lom,
                ).value  # type: ignore[arg-type]
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
        weak_a = [f"“{anchor_titles.get(int(i), i)}” ({v:.0%} exact)" for i, v in r.lowest_anchors]  # type: ignore[call-overload]
        weak_c = [f"“{titles.get(int(i), i)}” (alpha {v:.2f})" for i, v in r.lowest_criteria]  # type: ignore[call-overload]
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
                    "lowest_anchors": [[int(i), v] for i, v in r.lowest_anchors],  # type: ignore[call-overload]
                    "lowest_criteria": [[int(i), v] for i, v in r.lowest_criteria],  # type: ignore[call-overload]
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


# ------------------------------------------------------------------------------------- evaluate
@dataclass
class Evaluation:
    flags: list[DriftFlag]
    assessors: int = 0


def evaluate_program(
    session: Session,
    program_id: int,
    *,
    now: dt.datetime | None = None,
    user_ids: Iterable[int] | None = None,
    cohort_round: int | None = None,
    cohort: bool = True,
    request_id: str | None = None,
) -> Evaluation:
    """Evaluate every rule for the program's certified assessors (or only ``user_ids``) and record
    new flags. Flushes; the caller commits. Returns the flags created by this call."""
    now = now or utcnow()
    cfg = program_drift_settings(session, program_id)
    statuses = _statuses(session, program_id)
    pool_ids = [
        u
        for u, s in statuses.items()
        if s in (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)
    ]
    judged = [u for u, s in statuses.items() if s == CertificationStatus.CERTIFIED]
    if user_ids is not None:
        wanted = set(user_ids)
        judged = [u for u in judged if u in wanted]
    findings: list[Finding] = []
    for series in _series(session, program_id):
        if not len(series):
            continue
        titles = dict(
            session.execute(
                select(Criterion.id, Criterion.title).where(Criterion.rubric_version_id == series.rubric.id)
            ).all()
        )
        pool = series.mask(np.isin(series.assessor, np.asarray(pool_ids, dtype=np.int64)))
        restart = _restart_positions(session, program_id, series)
        since = np.array([restart.get(int(u), -1) for u in series.assessor.tolist()], dtype=np.int64)
        current = series.mask(
            np.isin(series.assessor, np.asarray(judged, dtype=np.int64)) & (series.pos > since)
        )
        if len(current) and len(pool):
            findings += _pass_rule_findings(
                session, series, current, _finished(session, series.round_ids), cfg
            )
            findings += _ewma_findings(series, current, pool, cfg, titles)
            findings += _accuracy_findings(series, current, cfg)
        if cohort:
            findings += _cohort_findings(session, series, cfg, titles, cohort_round)
    findings += _expiry_findings(session, program_id, now, judged_all=user_ids is None, user_ids=user_ids)
    created = [
        f for f in (_record(session, program_id, x, now, request_id) for x in findings) if f is not None
    ]
    return Evaluation(created, len(judged))


def _expiry_findings(
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

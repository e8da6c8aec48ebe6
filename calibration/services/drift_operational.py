"""The operational evidence stream of the drift rules (issue 18, item 5): each assessor's agreement
with their co-readers in live double scoring, fed to the same rules as calibration rounds.

In live work there is no key: the other read of the same submission and criterion stands in for it.
For every first/second pair of reads (:mod:`calibration.stats.coreaders`) each reader gets one row,
their level against the co-reader's, and a calendar month (UTC, of the second read) plays the part
of a round and a submission that of a score sheet. On those rows:

* ``own_drift``: a change from the assessor's own earlier level relative to co-readers
  (:func:`calibration.stats.selfstart.self_starting_drift`, sigma from the certified pool's pairs);
* ``lean``: a stable, material lean against co-readers, decided on its interval
  (:func:`calibration.stats.lean.lean`); feedback, never a recalibration by itself.

The findings carry ``stream=EvidenceStream.OPERATIONAL``; their hash rests on the stream, the rubric
version, the months and the pairs they read, so they never collide with a calibration flag, and the
same evidence never flags twice. After a trainer reviews an operational flag of a rule, that
assessor's operational series of the rule restarts after the months it covered. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Criterion,
    DriftFlag,
    EvidenceStream,
    FlagRule,
    FlagStatus,
    OperationalRating,
    RubricVersion,
)
from ..stats import drift as stats_drift
from ..stats.lean import Lean, lean
from ..stats.selfstart import OwnDrift, self_starting_drift
from .drift_own import false_alarm_words
from .drift_series import Finding
from .operational_report import operational_rows
from .operational_stats import paired, period_label
from .policy import DriftPolicy
from .score_rows import label_id

__all__ = ["STREAM_LEAD", "CoReads", "co_reads", "operational_findings"]

#: How an operational flag's assessor text begins: which evidence it came from, in plain words.
STREAM_LEAD = "Evidence: second reads in live scoring."
_EVER = (dt.date(1970, 1, 1), dt.date(9999, 12, 30))


class CoReads:
    """One row per reader per first/second pair: the reader, the submission (a "sheet"), the
    criterion, the month (a "round"), their level and the co-reader's (the "key")."""

    def __init__(self, rubric: RubricVersion, levels: list[int], cols: Mapping[str, np.ndarray]) -> None:
        self.rubric = rubric
        self.levels = levels
        self.assessor = cols["assessor"]
        self.sheet = cols["sheet"]
        self.criterion = cols["criterion"]
        self.month = cols["month"]
        self.level = cols["level"]
        self.other = cols["other"]

    def mask(self, keep: np.ndarray) -> CoReads:
        names = ("assessor", "sheet", "criterion", "month", "level", "other")
        return CoReads(self.rubric, self.levels, {n: getattr(self, n)[keep] for n in names})

    def __len__(self) -> int:
        return int(self.level.size)


def co_reads(session: Session, program_id: int) -> list[CoReads]:
    """Every rubric version's paired reads of the program (one query per version with ratings)."""
    out = []
    ids = session.scalars(
        select(OperationalRating.rubric_version_id)
        .where(OperationalRating.program_id == program_id)
        .distinct()
        .order_by(OperationalRating.rubric_version_id)
    ).all()
    for rid in ids:
        rubric = session.get(RubricVersion, rid)
        assert rubric is not None  # a foreign key guarantees it
        levels = rubric.level_values
        since, until = session.execute(
            select(func.min(OperationalRating.scored_at), func.max(OperationalRating.scored_at)).where(
                OperationalRating.program_id == program_id, OperationalRating.rubric_version_id == rid
            )
        ).one()
        span = (since.date(), until.date()) if since is not None and until is not None else _EVER
        rows = operational_rows(session, program_id, rid, *span, levels=levels)
        rows, _idx, _unit, first, second = paired(rows, levels)
        month = rows.month[second]
        cols = {
            "assessor": np.concatenate([rows.assessor[first], rows.assessor[second]]),
            "sheet": np.concatenate([rows.submission[first], rows.submission[first]]),
            "criterion": np.concatenate([rows.criterion[first], rows.criterion[first]]),
            "month": np.concatenate([month, month]),
            "level": np.concatenate([rows.level[first], rows.level[second]]),
            "other": np.concatenate([rows.level[second], rows.level[first]]),
        }
        out.append(CoReads(rubric, levels, cols))
    return out


def _restarts(session: Session, program_id: int, rubric_id: int) -> dict[tuple[FlagRule, int], int]:
    """Per (rule, assessor), the last month covered by a reviewed operational flag on the rubric."""
    out: dict[tuple[FlagRule, int], int] = {}
    for rule, uid, evidence in session.execute(
        select(DriftFlag.rule, DriftFlag.user_id, DriftFlag.evidence_json).where(
            DriftFlag.program_id == program_id,
            DriftFlag.stream == EvidenceStream.OPERATIONAL,
            DriftFlag.status != FlagStatus.OPEN,
        )
    ).all():
        data = json.loads(evidence or "{}")
        last = data.get("last_month")
        if uid is None or data.get("rubric") != rubric_id or not isinstance(last, int):
            continue
        out[(rule, uid)] = max(out.get((rule, uid), -1), last)
    return out


def _after(reads: CoReads, restart: Mapping[tuple[FlagRule, int], int], rule: FlagRule) -> np.ndarray:
    since = np.array([restart.get((rule, int(u)), -1) for u in reads.assessor.tolist()], dtype=np.int64)
    return np.asarray(reads.month > since)


def operational_findings(
    session: Session,
    program_id: int,
    judged: Iterable[int],
    pool_ids: Iterable[int],
    cfg: DriftPolicy,
) -> list[Finding]:
    """Own drift and lean of the ``judged`` assessors on the operational stream (see module doc)."""
    judged_ids = np.asarray(sorted(set(judged)), dtype=np.int64)
    pool = np.asarray(sorted(set(pool_ids)), dtype=np.int64)
    findings: list[Finding] = []
    for reads in co_reads(session, program_id):
        if not len(reads) or not judged_ids.size:
            continue
        titles = dict(
            session.execute(
                select(Criterion.id, Criterion.title).where(Criterion.rubric_version_id == reads.rubric.id)
            ).all()
        )
        restart = _restarts(session, program_id, reads.rubric.id)
        mine = np.isin(reads.assessor, judged_ids)
        in_pool = reads.mask(np.isin(reads.assessor, pool))
        current = reads.mask(mine & _after(reads, restart, FlagRule.OWN_DRIFT))
        if len(current) and len(in_pool):
            findings += _own_drift(reads, current, in_pool, cfg, titles)
        leaning = reads.mask(mine & _after(reads, restart, FlagRule.LEAN))
        if len(leaning):
            findings += _leans(reads, leaning, cfg, titles)
    return findings


def _months(positions: Iterable[Any]) -> list[str]:
    return [period_label(label_id(p), "month") for p in positions]


def _pairs_in(reads: CoReads, uid: int, months: list[int]) -> int:
    rows = (reads.assessor == uid) & np.isin(reads.month, np.asarray(months, dtype=np.int64))
    return int(rows.sum())


def _own_drift(
    reads: CoReads, current: CoReads, pool: CoReads, cfg: DriftPolicy, titles: Mapping[int, str]
) -> list[Finding]:
    budget = cfg.assessor_budget
    if budget.share("drift_overall") <= 0:
        return []
    sigma = stats_drift.pool_sigma(
        pool.month,
        pool.assessor,
        pool.sheet,
        pool.level,
        pool.other,
        levels=reads.levels,
        criteria=pool.criterion,
    )
    per_criterion = cfg.ewma_per_criterion and budget.share("drift_criterion") > 0
    table = self_starting_drift(
        current.month,
        current.assessor,
        current.sheet,
        current.level,
        current.other,
        levels=reads.levels,
        criteria=current.criterion if per_criterion else None,
        sigma=sigma,
        k=float(cfg.drift_k),
        prior_df=float(cfg.drift_prior_df),
        budget=budget,
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    return [_drift_finding(reads, current, d, sigma.to_dict(), titles) for d in table.flags]


def _drift_finding(
    reads: CoReads, current: CoReads, d: OwnDrift, sigma: dict[str, Any], titles: Mapping[int, str]
) -> Finding:
    uid = label_id(d.rater)
    crit = None if d.criterion is None else label_id(d.criterion)
    name = None if crit is None else titles.get(crit, str(crit))
    where = "overall" if crit is None else f"on “{name}”"
    evidence_months = [label_id(p) for p in d.evidence_rounds]
    way = "higher" if d.direction == "lenient" else "lower"
    size = "" if d.shift is None else f" by about {abs(d.shift):.2f} levels"
    change = None if d.change_round is None else period_label(label_id(d.change_round), "month")
    since = "" if change is None else f" from {change}"
    first = period_label(label_id(d.first_round), "month") if d.first_round is not None else None
    parameters = {**d.parameters, "sigma": sigma}
    pairs = _pairs_in(current, uid, evidence_months)
    evidence = {
        "stream": EvidenceStream.OPERATIONAL.value,
        "rubric": reads.rubric.id,
        "periods": _months(d.rounds),
        "means": list(d.means),
        "n_scores": list(d.n_scores),
        "n_anchors": list(d.n_anchors),
        "upper": list(d.upper),
        "lower": list(d.lower),
        "change_period": change,
        "shift": d.shift,
        "too_few_periods": _months(d.too_few_rounds),
        "window_periods": _months(evidence_months),
        "signal_period": first,
        "last_month": max(evidence_months) if evidence_months else None,
        "pairs": pairs,
    }
    return Finding(
        rule=FlagRule.OWN_DRIFT,
        user_id=uid,
        criterion_id=crit,
        round_id=None,
        statistic=f"Self-starting CUSUM of the change from the assessor's own level against co-readers, {where}",
        value=d.value,
        threshold=d.limit,
        direction=d.direction,
        window=[],
        evidence=evidence,
        parameters=parameters,
        summary=(
            f"{STREAM_LEAD} Drift {where}: against the other reader of the same submissions, levels moved "
            f"{way} than the assessor's own earlier level{size}{since}; the CUSUM reached {d.value or 0:.2f} "
            f"against its limit {d.limit:.2f} in {first} ({false_alarm_words(parameters)})."
        ),
        assessor_text=(
            f"{STREAM_LEAD} In live scoring your levels{'' if name is None else f' on “{name}”'} moved {way} "
            f"than your own earlier level, compared with the other reader of the same submissions{size}"
            f"{since}."
        ),
        key_evidence={
            "stream": EvidenceStream.OPERATIONAL.value,
            "rubric": reads.rubric.id,
            "months": evidence_months,
            "pairs": pairs,
        },
        stream=EvidenceStream.OPERATIONAL,
    )


def _leans(reads: CoReads, current: CoReads, cfg: DriftPolicy, titles: Mapping[int, str]) -> list[Finding]:
    leans = lean(
        current.month,
        current.assessor,
        current.sheet,
        current.level,
        current.other,
        levels=reads.levels,
        criteria=current.criterion,
        window=int(cfg.lean_window_rounds),
        material=float(cfg.lean_material),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    overall = {label_id(r.rater) for k, r in leans.items() if not isinstance(k, tuple) and r.flagged}
    return [
        _lean_finding(reads, current, r, titles)
        for k, r in leans.items()
        if r.flagged and not (isinstance(k, tuple) and label_id(r.rater) in overall)
    ]


def _lean_finding(reads: CoReads, current: CoReads, r: Lean, titles: Mapping[int, str]) -> Finding:
    uid = label_id(r.rater)
    crit = None if r.criterion is None else label_id(r.criterion)
    name = None if crit is None else titles.get(crit, str(crit))
    where = "overall" if crit is None else f"on “{name}”"
    months = [label_id(p) for p in r.window_rounds]
    way = "higher" if r.verdict == "lenient" else "lower"
    material = float(r.parameters["material"])
    pairs = _pairs_in(current, uid, months)
    n = len(months)
    span = f"the last {n} month{'s' if n != 1 else ''}"
    return Finding(
        rule=FlagRule.LEAN,
        user_id=uid,
        criterion_id=crit,
        round_id=None,
        statistic=f"Mean signed difference from the co-reader over the latest months, {where}",
        value=r.mean,
        threshold=material * (1 if r.verdict == "lenient" else -1),
        direction=r.verdict,
        window=[],
        evidence={
            "stream": EvidenceStream.OPERATIONAL.value,
            "rubric": reads.rubric.id,
            "verdict": r.verdict,
            "mean": r.mean,
            "ci": [r.ci_low, r.ci_high],
            "window_periods": _months(months),
            "lean_periods": _months(r.lean_rounds),
            "n_scores": r.n_scores,
            "n_anchors": r.n_anchors,
            "last_month": max(months) if months else None,
            "pairs": pairs,
        },
        parameters=dict(r.parameters),
        summary=(
            f"{STREAM_LEAD} Lean {where}, not drift: over {span} the assessor's levels were {way} than the "
            f"other reader of the same submissions by {r.mean or 0:+.2f} levels on average, 95% interval "
            f"{r.ci_low or 0:+.2f} to {r.ci_high or 0:+.2f}, wholly beyond the material size of "
            f"±{material:.2f}. Feedback and a certification matter; it does not start recalibration."
        ),
        assessor_text=(
            f"{STREAM_LEAD} Over {span} your levels{'' if name is None else f' on “{name}”'} were {way} than "
            f"the other reader of the same submissions, by {abs(r.mean or 0):.2f} levels on average "
            f"(95% interval {r.ci_low or 0:+.2f} to {r.ci_high or 0:+.2f})."
        ),
        key_evidence={
            "stream": EvidenceStream.OPERATIONAL.value,
            "rubric": reads.rubric.id,
            "months": months,
            "pairs": pairs,
        },
        stream=EvidenceStream.OPERATIONAL,
    )

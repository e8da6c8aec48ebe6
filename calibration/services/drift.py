"""Drift flags: evaluate the rules of DESIGN §6 on stored scores, record each finding once with its
evidence, and let trainers confirm (starting recalibration) or dismiss it with a reason.

Rules (issue 15), the assessor's and the cohort's each sharing one false-alarm budget
(:class:`.policy.DriftPolicy` ``budget_*``, :mod:`calibration.stats.budget`):

* ``own_drift``: a change from the assessor's own level over time, overall and per criterion
  (self-starting CUSUM, sigma from the certified pool as a prior; :mod:`.drift_own`);
* ``pass_rule``: a calibration round clearly below the round's pass rule (:mod:`.drift_rules`);
* ``lean``: a stable lean against the key beyond a material size, on its interval. Feedback and a
  certification matter, never a drift flag: confirming it starts no recalibration;
* ``cohort``: a round's alpha whose interval is below .667 or below the program's baseline, and
  ``cohort_level``: the whole cohort's level moving against the key (:mod:`.drift_cohort`), naming
  the anchors and criteria of lowest agreement;
* ``expiry``: certification expired (recalibration starts without review).

The issue-6 rules ``ewma`` and ``accuracy_drop`` raise no new flags; their stored flags keep their
parameters. Thresholds come from the program's settings (``drift`` section) and are stored with
each flag, with the rule's nominal false-alarm rate. "Too few to judge" never flags. Idempotent: a
flag's ``evidence_hash`` (rule, program, assessor, criterion and the score sheets or round it rests
on) is unique, and while a flag of a rule is open for an assessor and criterion no second one is
raised. After a flag is reviewed, that assessor's drift series restart after the flagged round (a
lean's after the reviewed lean's round), so the same history never flags again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    COHORT_RULES,
    CertificationStatus,
    Criterion,
    DriftFlag,
    EvidenceStream,
    FlagRule,
    FlagStatus,
)
from . import audit, sigma_baseline, webhooks
from .context import SystemActor
from .drift_cohort import cohort_findings
from .drift_operational import operational_findings
from .drift_own import lean_findings, own_drift_findings, series_pool_sigma
from .drift_rules import (
    ASSESSOR_RULES,
    expiry_findings,
    finished_sheets,
    pass_rule_findings,
    restart_positions,
)
from .drift_series import (
    Finding,
    Series,
    assessor_statuses,
    calibration_series,
)
from .drift_validity import validity_findings
from .policy import DriftPolicy, ProgramSettings

__all__ = [
    "ASSESSOR_RULES",
    "DEFAULT_DRIFT",
    "RULE_NAMES",
    "Evaluation",
    "Finding",
    "Series",
    "assessor_statuses",
    "calibration_series",
    "cohort_findings",
    "drift_settings",
    "evaluate_program",
    "evidence_hash",
    "expiry_findings",
    "finished_sheets",
    "lean_findings",
    "own_drift_findings",
    "pass_rule_findings",
    "program_drift_settings",
    "restart_positions",
]

#: The drift settings keys and their defaults, as stored (numbers in :class:`.policy.DriftPolicy`).
DEFAULT_DRIFT: dict[str, Any] = {
    k: v for k, v in DriftPolicy().as_dict().items() if k != "recalibration_window_days"
}
RULE_NAMES = {
    FlagRule.PASS_RULE: "Calibration round below the pass rule",
    FlagRule.EWMA: "Systematic leniency or severity (EWMA, before issue 15)",
    FlagRule.ACCURACY_DROP: "Accuracy below own baseline (before issue 15)",
    FlagRule.COHORT: "Cohort agreement",
    FlagRule.EXPIRY: "Certification expired",
    FlagRule.OWN_DRIFT: "Drift from own earlier level",
    FlagRule.LEAN: "Lean against the key (feedback, not drift)",
    FlagRule.COHORT_LEVEL: "Cohort drift against the key",
}


def drift_settings(settings_json: str | None) -> DriftPolicy:
    """The drift rules in force for a program: its ``drift`` settings over the defaults, plus the
    booking window (``recalibration_window_days``)."""
    return ProgramSettings.from_json(settings_json).drift


def program_drift_settings(session: Session, program_id: int) -> DriftPolicy:
    return ProgramSettings.of_program(session, program_id).drift


# ------------------------------------------------------------------------------------- recording
def evidence_hash(
    rule: FlagRule,
    program_id: int,
    user_id: int | None,
    criterion_id: int | None,
    evidence: Any,
    stream: EvidenceStream = EvidenceStream.CALIBRATION,
) -> str:
    """The flag's identity. The stream is part of it, except calibration's (older flags' hashes)."""
    other = {} if stream == EvidenceStream.CALIBRATION else {"stream": stream.value}
    payload = json.dumps(
        {
            "rule": rule.value,
            "program": program_id,
            "user": user_id,
            "criterion": criterion_id,
            "evidence": evidence,
            **other,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _record(
    session: Session, program_id: int, f: Finding, now: dt.datetime, request_id: str | None
) -> DriftFlag | None:
    """Insert the flag unless the same evidence (or an open flag of the rule) already exists."""
    digest = evidence_hash(f.rule, program_id, f.user_id, f.criterion_id, f.key_evidence, f.stream)
    if session.scalar(select(DriftFlag.id).where(DriftFlag.evidence_hash == digest)) is not None:
        return None
    if f.rule not in COHORT_RULES:
        open_one = session.scalar(
            select(DriftFlag.id).where(
                DriftFlag.program_id == program_id,
                DriftFlag.rule == f.rule,
                DriftFlag.stream == f.stream,
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
        stream=f.stream,
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
    webhooks.emit(
        session,
        program_id,
        webhooks.FLAG_RAISED,
        {
            "flag_id": flag.id,
            "rule": f.rule.value,
            "stream": flag.stream.value if flag.stream is not None else None,
            "assessor_id": f.user_id,
            "criterion_id": f.criterion_id,
            "round_id": f.round_id,
            "links": {
                "flags": "/api/v1/flags",
                "assessor": f"/api/v1/assessors/{f.user_id}" if f.user_id is not None else None,
            },
        },
    )
    return flag


# ------------------------------------------------------------------------------------- evaluate
def _since(restart: dict[int, int], series: Series) -> np.ndarray:
    """Per row, the position of the assessor's last reviewed round (-1: none)."""
    return np.array([restart.get(int(u), -1) for u in series.assessor.tolist()], dtype=np.int64)


def _minority(series: Series, individual: list[Finding], in_recalibration: Iterable[int]) -> frozenset[int]:
    """The assessors flagged on their own (in this evaluation, or already in recalibration), when
    they are fewer than half of the cohort: one drifter of seven moves the cohort's mean too, and is
    an individual finding, not the cohort's. When half or more move, the cohort rule sees everyone
    (it is the cohort's finding)."""
    flagged = frozenset(f.user_id for f in individual if f.user_id is not None) | frozenset(in_recalibration)
    flagged &= frozenset(int(a) for a in np.unique(series.assessor))
    everyone = np.unique(series.assessor).size
    return flagged if 0 < 2 * len(flagged) < everyone else frozenset()


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
    statuses = assessor_statuses(session, program_id)
    pool_ids = [
        u
        for u, s in statuses.items()
        if s in (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)
    ]
    judged = [u for u, s in statuses.items() if s == CertificationStatus.CERTIFIED]
    due = [u for u, s in statuses.items() if s == CertificationStatus.RECALIBRATION_DUE]
    if user_ids is not None:
        wanted = set(user_ids)
        judged = [u for u in judged if u in wanted]
    findings: list[Finding] = []
    for series in calibration_series(session, program_id):
        if not len(series):
            continue
        titles = dict(
            session.execute(
                select(Criterion.id, Criterion.title).where(Criterion.rubric_version_id == series.rubric.id)
            ).all()
        )
        pool = series.mask(np.isin(series.assessor, np.asarray(pool_ids, dtype=np.int64)))
        sigma = series_pool_sigma(pool) if len(pool) else None
        if sigma is not None and user_ids is None:  # a whole-program evaluation: the charts' baseline
            sigma_baseline.record_estimate(
                session, program_id, pool, pool_ids, sigma, now=now, request_id=request_id
            )
        mine = np.isin(series.assessor, np.asarray(judged, dtype=np.int64))
        current = series.mask(
            mine & (series.pos > _since(restart_positions(session, program_id, series), series))
        )
        individual: list[Finding] = []
        if len(current) and len(pool):
            individual += pass_rule_findings(
                session, series, current, finished_sheets(session, series.round_ids), cfg
            )
            individual += own_drift_findings(series, current, pool, cfg, titles, sigma)
        findings += individual
        reviewed_lean = restart_positions(session, program_id, series, (FlagRule.LEAN,))
        findings += lean_findings(
            series, series.mask(mine & (series.pos > _since(reviewed_lean, series))), cfg, titles
        )
        if cohort:
            findings += cohort_findings(
                session, series, cfg, titles, cohort_round, set_apart=_minority(series, individual, due)
            )
    findings += operational_findings(session, program_id, judged, pool_ids, cfg)
    findings += expiry_findings(session, program_id, now, judged_all=user_ids is None, user_ids=user_ids)
    findings += validity_findings(session, program_id, pool_ids, judged, cfg)
    created = [
        f for f in (_record(session, program_id, x, now, request_id) for x in findings) if f is not None
    ]
    return Evaluation(created, len(judged))

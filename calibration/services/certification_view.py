"""Reading certifications: the qualification look-ups (attempt in progress, results, the decision
waiting for the trainer) and what the assessor and the trainer are told about a certification:
its status, every result with its reasons, why recalibration is due, and the next step.

The use cases that change a certification live in :mod:`calibration.services.certification`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    AuditEvent,
    CertificationStatus,
    DriftFlag,
    FlagRule,
    Level,
    Membership,
    QualificationOutcome,
    QualificationResult,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationWait,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    TrainerDecision,
    User,
    WaitStatus,
)
from .errors import NotFound
from .plain_words import earn_labels, plain_rule_message

S = CertificationStatus


def _membership(session: Session, program_id: int, user_id: int, *, lock: bool = False) -> Membership:
    stmt = select(Membership).where(
        Membership.user_id == user_id, Membership.program_id == program_id, Membership.role == Role.ASSESSOR
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    membership = session.scalar(stmt)
    if membership is None:
        raise NotFound("assessor")
    return membership


def open_attempt(session: Session, program_id: int, user_id: int) -> Round | None:
    """The person's qualification round that has no result yet (the attempt in progress)."""
    done = select(QualificationResult.round_id).where(QualificationResult.user_id == user_id)
    return session.scalar(
        select(Round)
        .join(Assignment, Assignment.round_id == Round.id)
        .where(
            Assignment.user_id == user_id,
            Round.program_id == program_id,
            Round.kind == RoundKind.QUALIFICATION,
            Round.status == RoundStatus.OPEN,
            Round.id.not_in(done),
        )
        .order_by(Round.id.desc())
        .limit(1)
    )


def results_of(session: Session, program_id: int, user_id: int) -> list[QualificationResult]:
    return list(
        session.scalars(
            select(QualificationResult)
            .where(QualificationResult.program_id == program_id, QualificationResult.user_id == user_id)
            .order_by(QualificationResult.id)
        )
    )


def awaiting_trainer(session: Session, program_id: int, user_id: int) -> QualificationResult | None:
    """The result the trainer must decide on: the latest is not a pass, undecided, and no attempt
    is in progress."""
    membership = _membership(session, program_id, user_id)
    if membership.certification_status != S.IN_TRAINING:
        return None
    found = results_of(session, program_id, user_id)
    if not found:
        return None
    latest = found[-1]
    if latest.outcome == QualificationOutcome.PASS or latest.trainer_decision is not None:
        return None
    if open_attempt(session, program_id, user_id) is not None:
        return None
    return latest


# ------------------------------------------------------------------------- the assessor's view
@dataclass(frozen=True)
class CheckLine:
    passed: bool | None
    message: str
    applicable: bool = True  # False: the check cannot fail on the rubric's scale

    @property
    def verdict(self) -> str:
        if not self.applicable:
            return "Not applicable"
        return {True: "Met", False: "Not met", None: "Not checked"}[self.passed]


#: Checks that cannot fail on a two-level scale (:func:`calibration.stats.passrule.evaluate_pass_rule`).
_NO_SECOND_LEVEL_CHECKS = frozenset({"adjacent", "discrepant"})


def check_line(stored: Mapping[str, Any], n_levels: int | None) -> CheckLine:
    """A stored check as shown. Results stored before ``applicable`` was kept lack the key: on a
    two-level rubric their within-one-level and two-levels-off checks cannot fail, so they are
    derived as not applicable rather than read as "Met"."""
    applicable = stored.get("applicable")
    if applicable is None:
        applicable = not (
            stored.get("name") in _NO_SECOND_LEVEL_CHECKS and n_levels is not None and n_levels <= 2
        )
    return CheckLine(stored["passed"], stored["message"], bool(applicable))


def _levels_of_rounds(session: Session, round_ids: list[int]) -> dict[int, int]:
    """The number of levels of each round's rubric."""
    if not round_ids:
        return {}
    return {
        int(rid): int(n)
        for rid, n in session.execute(
            select(Round.id, func.count(Level.id))
            .join(Level, Level.rubric_version_id == Round.rubric_version_id)
            .where(Round.id.in_(round_ids))
            .group_by(Round.id)
        ).all()
    }


@dataclass(frozen=True)
class ResultLine:
    attempt: int
    round_name: str
    outcome: QualificationOutcome
    message: str
    decided_at: dt.datetime
    checks: list[CheckLine]
    trainer_decision: TrainerDecision | None
    trainer_reason: str | None

    @property
    def outcome_text(self) -> str:
        return {"pass": "Passed", "fail": "Not passed", "too_few": "Too few to judge"}[self.outcome.value]


@dataclass(frozen=True)
class DueReason:
    """Why an assessor is ``recalibration_due``, from what actually happened: a confirmed drift
    flag, an expired certification (its real date), or a failed recalibration attempt."""

    kind: str  # "drift" | "expired" | "failed" | "other"
    flag: DriftFlag | None = None
    expired_on: dt.datetime | None = None
    failed_attempt: int | None = None
    round: Round | None = None  # the recalibration round to complete now
    waiting: bool = False  # no round yet: waiting for anchors the assessor has not seen
    said: str | None = None  # the reason recorded with the status change (for "other")


@dataclass(frozen=True)
class CertificationView:
    user_id: int
    name: str
    email: str
    status: CertificationStatus | None
    certified_at: dt.datetime | None
    expires_at: dt.datetime | None
    results: list[ResultLine]
    next_step: str  # to the assessor ("You ...")
    open_round: Round | None
    awaiting_trainer: bool
    suspension_reason: str | None = None
    practice_rounds: list[Round] = field(default_factory=list)
    trainer_step: str = ""  # to the trainer, about the assessor (never "your")
    due: DueReason | None = None


def _last_status_detail(
    session: Session, user_id: int, program_id: int, to: CertificationStatus
) -> dict[str, Any] | None:
    for detail_json in session.scalars(
        select(AuditEvent.detail_json)
        .where(
            AuditEvent.action == "certification.status",
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user_id),
            AuditEvent.program_id == program_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ):
        detail = json.loads(detail_json)
        if detail.get("to") == to.value:
            return dict(detail)
    return None


def _last_reason(session: Session, user_id: int, program_id: int, to: CertificationStatus) -> str | None:
    detail = _last_status_detail(session, user_id, program_id, to)
    return None if detail is None else str(detail.get("reason") or "")


def due_reason(session: Session, m: Membership, *, now: dt.datetime) -> DueReason:
    """Why the assessor is ``recalibration_due`` (see :class:`DueReason`)."""
    pending = session.scalar(
        select(Recalibration)
        .where(
            Recalibration.user_id == m.user_id,
            Recalibration.program_id == m.program_id,
            Recalibration.outcome == RecalibrationOutcome.PENDING,
        )
        .order_by(Recalibration.id.desc())
        .limit(1)
    )
    wait = session.scalar(
        select(RecalibrationWait)
        .where(
            RecalibrationWait.user_id == m.user_id,
            RecalibrationWait.program_id == m.program_id,
            RecalibrationWait.status == WaitStatus.WAITING,
        )
        .order_by(RecalibrationWait.id.desc())
        .limit(1)
    )
    last_passed = session.scalar(
        select(func.max(Recalibration.id)).where(
            Recalibration.user_id == m.user_id,
            Recalibration.program_id == m.program_id,
            Recalibration.outcome == RecalibrationOutcome.PASSED,
        )
    )
    last_failed = session.scalar(  # since the last pass: older fails are settled
        select(Recalibration)
        .where(
            Recalibration.user_id == m.user_id,
            Recalibration.program_id == m.program_id,
            Recalibration.outcome == RecalibrationOutcome.FAILED,
            Recalibration.id > (last_passed or 0),
        )
        .order_by(Recalibration.id.desc())
        .limit(1)
    )
    flag_id = (pending.flag_id if pending else None) or (wait.flag_id if wait else None)
    detail = _last_status_detail(session, m.user_id, m.program_id, S.RECALIBRATION_DUE) or {}
    if flag_id is None and detail.get("flag_ids"):
        flag_id = int(detail["flag_ids"][0])
    flag = session.get(DriftFlag, flag_id) if flag_id is not None else None
    rnd = pending.round if pending is not None else None
    waits = wait is not None and pending is None
    is_drift = flag is not None and flag.rule != FlagRule.EXPIRY
    attempt = pending.attempt if pending is not None else (last_failed.attempt + 1 if last_failed else 1)
    if attempt > 1 and last_failed is not None:
        return DueReason(
            "failed", flag if is_drift else None, failed_attempt=last_failed.attempt, round=rnd, waiting=waits
        )
    if is_drift:
        return DueReason("drift", flag, round=rnd, waiting=waits)
    if m.certification_expires_at is not None and m.certification_expires_at <= now:
        return DueReason("expired", expired_on=m.certification_expires_at, round=rnd, waiting=waits)
    return DueReason("other", said=str(detail.get("reason") or "") or None, round=rnd, waiting=waits)


def certification_view(
    session: Session, *, program_id: int, user_id: int, now: dt.datetime | None = None
) -> CertificationView:
    """Status, every qualification result with its reasons in plain language, and what happens next
    (told to the assessor, and to the trainer about the assessor)."""
    now = now or utcnow()
    found = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
    ).one_or_none()
    if found is None:
        raise NotFound("assessor")
    user, m = found
    names = dict(session.execute(select(Round.id, Round.name).where(Round.program_id == program_id)).all())
    stored = results_of(session, program_id, user_id)
    earned = earn_labels(session, [r.round_id for r in stored])  # the checks said in words
    n_levels = _levels_of_rounds(session, [r.round_id for r in stored])
    results = [
        ResultLine(
            r.attempt,
            names.get(r.round_id, ""),
            r.outcome,
            plain_rule_message(r.message, earned.get(r.round_id)),
            r.decided_at,
            [
                replace(line, message=plain_rule_message(line.message, earned.get(r.round_id)))
                for line in (check_line(c, n_levels.get(r.round_id)) for c in json.loads(r.checks_json))
            ],
            r.trainer_decision,
            r.trainer_reason,
        )
        for r in stored
    ]
    current = open_attempt(session, program_id, user_id)
    waiting = awaiting_trainer(session, program_id, user_id) is not None
    practice = list(
        session.scalars(
            select(Round)
            .join(Assignment, Assignment.round_id == Round.id)
            .where(
                Assignment.user_id == user_id,
                Round.program_id == program_id,
                Round.kind == RoundKind.PRACTICE,
            )
            .order_by(Round.id)
        )
    )
    suspension = (
        _last_reason(session, user_id, program_id, S.SUSPENDED)
        if m.certification_status == S.SUSPENDED
        else None
    )
    due = due_reason(session, m, now=now) if m.certification_status == S.RECALIBRATION_DUE else None
    shown_round = current
    if due is not None and due.round is not None and due.round.status == RoundStatus.OPEN:
        shown_round = due.round
    return CertificationView(
        user.id,
        user.name,
        user.email,
        m.certification_status,
        m.certified_at,
        m.certification_expires_at,
        results,
        _next_step(m, results, current, waiting, suspension, due),
        shown_round,
        waiting,
        suspension,
        practice,
        _trainer_step(user.name, m, results, current, waiting, due),
        due,
    )


def _day(value: dt.datetime | None) -> str:
    return "" if value is None else f"{value:%-d %B %Y}"


def _due_step(due: DueReason) -> str:
    """What the assessor does next while recalibration is due."""
    if due.round is not None:
        return f"Complete your recalibration round “{due.round.name}” by {_day(due.round.closes_at)}."
    if due.waiting:
        return (
            "Your recalibration round is waiting for anchors you have not seen yet; it is assigned to you "
            "by itself as soon as they are ready, and you will see it here. Nothing is needed from you until then."
        )
    return "Your lead trainer will assign a recalibration round and a session."


def _next_step(
    m: Membership,
    results: list[ResultLine],
    current: Round | None,
    waiting: bool,
    suspension: str | None,
    due: DueReason | None = None,
) -> str:
    status = m.certification_status
    if status == S.CERTIFIED:
        return (
            f"You are certified until {_day(m.certification_expires_at)}. We will remind you by email "
            "before it expires; renewing means completing a recalibration round."
        )
    if status == S.RECALIBRATION_DUE:
        due = due or DueReason("other")
        if due.kind == "failed":
            why = (
                f"You did not pass recalibration attempt {due.failed_attempt}, so recalibration is still due."
            )
        elif due.kind == "drift":
            why = (
                "Recalibration is due: your lead trainer confirmed a finding of the calibration checks "
                "about your recent scores (see what they found on your recalibration page)."
            )
        elif due.kind == "expired":
            why = f"Your certification expired on {_day(due.expired_on)}: recalibration is due."
        else:
            why = "Recalibration is due" + (f": {due.said}." if due.said else ".")
        return f"{why} {_due_step(due)}"
    if status == S.SUSPENDED:
        why = f" The reason given: “{suspension}”." if suspension else ""
        return f"Your certification is suspended.{why} Talk to your lead trainer about what happens next."
    if status == S.INVITED:
        return "Accept your invitation from the link in the email to start."
    latest = results[-1] if results else None
    if current is not None:
        if latest is not None and latest.outcome == QualificationOutcome.FAIL:
            return (
                f"You did not pass attempt {latest.attempt}. A new qualification round with different "
                f"anchors, “{current.name}”, is waiting for you; it closes {_day(current.closes_at)}."
            )
        return (
            f"Complete your qualification round “{current.name}” by {_day(current.closes_at)}. Start with "
            "the practice anchors if you have them: they never count, and they show you where your scores "
            "differ from the key."
        )
    if waiting and latest is not None:
        if latest.outcome == QualificationOutcome.TOO_FEW:
            return (
                "There was too little evidence to judge your round, so it counts as neither a pass nor a "
                "fail. Your lead trainer will assign more anchors."
            )
        return (
            "Your lead trainer will now decide what happens next: approve your certification, give you "
            "another attempt, or end your qualification. You will see the decision and the reason here."
        )
    return "Your lead trainer will assign your qualification round."


def _trainer_step(
    name: str,
    m: Membership,
    results: list[ResultLine],
    current: Round | None,
    waiting: bool,
    due: DueReason | None,
) -> str:
    """The same situation told to the trainer, about the assessor."""
    status = m.certification_status
    if status == S.CERTIFIED:
        return f"{name} is certified until {_day(m.certification_expires_at)}."
    if status == S.RECALIBRATION_DUE:
        due = due or DueReason("other")
        flag = f" (drift flag #{due.flag.id}: {due.flag.summary})" if due.flag is not None else ""
        if due.kind == "failed":
            why = f"{name} did not pass recalibration attempt {due.failed_attempt}{flag}."
        elif due.kind == "drift" and due.flag is not None:  # a drift reason always has its flag
            why = f"{name} is due for recalibration because drift flag #{due.flag.id} was confirmed: {due.flag.summary}."
        elif due.kind == "expired":
            why = f"{name}'s certification expired on {_day(due.expired_on)}; recalibration is due."
        else:
            why = f"{name} is due for recalibration" + (f": {due.said}." if due.said else ".")
        if due.round is not None:
            then = f"The recalibration round “{due.round.name}” closes {_day(due.round.closes_at)}."
        elif due.waiting:
            then = "The recalibration round is waiting for anchors (see below); it starts by itself once they exist."
        else:
            then = "No recalibration round has been assigned yet."
        return f"{why} {then}"
    if status == S.SUSPENDED:
        return f"{name} is suspended."
    if status == S.INVITED:
        return f"{name} has not accepted the invitation yet."
    latest = results[-1] if results else None
    if current is not None:
        if latest is not None and latest.outcome == QualificationOutcome.FAIL:
            return (
                f"{name} did not pass attempt {latest.attempt}; a new qualification round, “{current.name}”, "
                f"closes {_day(current.closes_at)}."
            )
        return f"{name} is working on the qualification round “{current.name}” (closes {_day(current.closes_at)})."
    if waiting and latest is not None:
        if latest.outcome == QualificationOutcome.TOO_FEW:
            return f"There was too little evidence to judge {name}'s round; the decision is the trainer's."
        return f"The pass rule has left the decision on {name}'s qualification to the trainer."
    return f"{name} has no qualification round yet."

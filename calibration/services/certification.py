"""Certification: status transitions, the qualification verdict, the trainer's decision, expiry.

Statuses (DESIGN §2): ``invited → in_training → certified → recalibration_due → certified``, or
``suspended``. Every change goes through :func:`set_status`, which refuses transitions the lifecycle
does not have and audits who, why, from and to.

Qualification: when an assessor's last sheet in a qualification round is final, the round's pass
rule (stored with the round) is evaluated on their accuracy against the key each sheet was scored
with. Pass → ``certified`` with a date and an expiry. Fail → a new attempt with different anchors,
up to the program's attempts (default 2); after that the trainer decides: approve (certified),
extend (one more attempt) or end (suspended), always with a reason. "Too few to judge" (minimum
evidence) is neither pass nor fail: it uses no attempt and waits for the trainer. Practice rounds
never reach this code.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    CertificationStatus,
    Membership,
    Program,
    QualificationOutcome,
    QualificationResult,
    RecalibrationWait,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RubricVersion,
    ScoreSheet,
    TrainerDecision,
    User,
    WaitStatus,
    effective_level,
)
from ..stats.accuracy import accuracy
from ..stats.passrule import evaluate_pass_rule
from . import audit, credentials, events, training, webhooks
from .certification_view import (
    CertificationView,
    CheckLine,
    DueReason,
    ResultLine,
    _membership,
    awaiting_trainer,
    certification_view,
    due_reason,
    open_attempt,
    results_of,
)
from .context import Actor, Member, SystemActor
from .errors import InvalidInput, NotFound
from .policy import CertificationPolicy
from .rules import pass_rule_from_json
from .score_rows import int_columns, keyed_scores
from .scoring import has_control_characters
from .selection import CoverageImpossible

__all__ = [
    "ALLOWED",
    "REASON_MAX_CHARS",
    "TRAINER_ROLES",
    "CertificationView",
    "CheckLine",
    "DueReason",
    "Expired",
    "Policy",
    "ResultLine",
    "S",
    "accuracy_rows",
    "after_sheet",
    "awaiting_trainer",
    "certification_view",
    "check_reason",
    "decide",
    "due_reason",
    "expire_due",
    "open_attempt",
    "program_policy",
    "reinstate",
    "results_of",
    "set_status",
    "suspend",
]

S = CertificationStatus
ALLOWED: dict[CertificationStatus | None, frozenset[CertificationStatus]] = {
    None: frozenset({S.INVITED, S.IN_TRAINING}),
    S.INVITED: frozenset({S.IN_TRAINING, S.SUSPENDED}),
    S.IN_TRAINING: frozenset({S.CERTIFIED, S.SUSPENDED}),
    S.CERTIFIED: frozenset({S.RECALIBRATION_DUE, S.SUSPENDED}),
    S.RECALIBRATION_DUE: frozenset({S.CERTIFIED, S.SUSPENDED}),
    S.SUSPENDED: frozenset({S.INVITED, S.IN_TRAINING, S.CERTIFIED, S.RECALIBRATION_DUE}),
}
REASON_MAX_CHARS = 2000
TRAINER_ROLES = (Role.LEAD_TRAINER, Role.ADMIN)


#: The certification numbers in force (defined in :mod:`calibration.services.policy`).
Policy = CertificationPolicy


def program_policy(session: Session, program_id: int, defaults: CertificationPolicy) -> CertificationPolicy:
    return defaults.for_program(session.scalar(select(Program.settings_json).where(Program.id == program_id)))


# ----------------------------------------------------------------------------------- transitions
def set_status(
    session: Session,
    actor: Actor,
    membership: Membership,
    new: CertificationStatus,
    *,
    reason: str,
    now: dt.datetime | None = None,
    certification_days: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move a membership to ``new`` (audited with who, why, from and to). Becoming certified sets
    the certification date and, with ``certification_days``, the expiry."""
    old = membership.certification_status
    if new not in ALLOWED[old]:
        raise InvalidInput(
            f"The status cannot change from {_label(old)} to {_label(new)}; nothing was changed."
        )
    now = now or utcnow()
    membership.certification_status = new
    extra: dict[str, Any] = dict(detail or {})
    if new == S.CERTIFIED and certification_days is not None:
        membership.certified_at = now
        membership.certification_expires_at = now + dt.timedelta(days=certification_days)
        extra["expires_at"] = membership.certification_expires_at.isoformat()
    session.flush()
    audit.record(
        session,
        actor,
        "certification.status",
        object_type="user",
        object_id=membership.user_id,
        program_id=membership.program_id,
        detail={"from": old and old.value, "to": new.value, "reason": reason, **extra},
    )
    webhooks.emit(
        session,
        membership.program_id,
        webhooks.CERTIFICATION_CHANGED,
        {
            "assessor_id": membership.user_id,
            "from": old and old.value,
            "to": new.value,
            "links": {"assessor": f"/api/v1/assessors/{membership.user_id}"},
        },
    )
    if old == S.RECALIBRATION_DUE and new != S.RECALIBRATION_DUE:
        _close_waits(session, actor, membership, new, now)
    _credential_follows(session, actor, membership, new, reason, now)


def _credential_follows(
    session: Session,
    actor: Actor,
    membership: Membership,
    new: CertificationStatus,
    reason: str,
    now: dt.datetime,
) -> None:
    """The Open Badges credential follows the status in the same transaction: certified issues one
    (signed at the boundary, which holds the key: an event); suspended or lapsed revokes at once."""
    if new == S.CERTIFIED:
        events.emit(session, events.CertificationGranted(membership.program_id, membership.user_id))
        return
    expires = membership.certification_expires_at
    lapsed = new == S.RECALIBRATION_DUE and expires is not None and expires <= now
    if new == S.SUSPENDED or lapsed:
        why = f"certification suspended: {reason}" if new == S.SUSPENDED else "certification lapsed"
        credentials.revoke_active(
            session, actor, program_id=membership.program_id, user_id=membership.user_id, reason=why, now=now
        )


def _close_waits(
    session: Session, actor: Actor, membership: Membership, new: CertificationStatus, now: dt.datetime
) -> None:
    """No longer recalibration_due: a recalibration waiting for anchors will not start (audited)."""
    for wait in session.scalars(
        select(RecalibrationWait).where(
            RecalibrationWait.user_id == membership.user_id,
            RecalibrationWait.program_id == membership.program_id,
            RecalibrationWait.status == WaitStatus.WAITING,
        )
    ):
        wait.status = WaitStatus.WITHDRAWN
        wait.resolved_at = now
        session.flush()
        audit.record(
            session, actor, "recalibration.wait", object_type="user", object_id=membership.user_id,
            program_id=membership.program_id, outcome="withdrawn",
            detail={"wait_id": wait.id, "status": new.value},
        )  # fmt: skip


def _label(status: CertificationStatus | None) -> str:
    return "no status" if status is None else status.value.replace("_", " ")


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give a reason; it is kept in the audit trail.", {"reason": ["Give a reason."]})
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidInput(
            "The reason is too long.",
            {
                "reason": [
                    f"The reason can be at most {REASON_MAX_CHARS:,} characters (you have {len(reason):,})."
                ]
            },
        )
    if has_control_characters(reason):
        raise InvalidInput(
            "The reason contains a control character.",
            {"reason": ["The reason contains a control character (such as NUL) that cannot be stored."]},
        )
    return reason


def _require_trainer(actor: Member) -> None:
    if actor.role not in TRAINER_ROLES:
        raise NotFound("assessor")


def suspend(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    user_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> Membership:
    _require_trainer(actor)
    reason = check_reason(reason)
    membership = _membership(session, program_id, user_id, lock=True)
    if membership.certification_status == S.SUSPENDED:
        raise InvalidInput("This assessor is already suspended; nothing was changed.")
    set_status(session, actor, membership, S.SUSPENDED, reason=reason, now=now)
    return membership


def reinstate(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    user_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> Membership:
    """Lift a suspension: back to certified if the certification is still valid, to recalibration
    due if it has expired, else to where onboarding stood (in training, or invited)."""
    _require_trainer(actor)
    reason = check_reason(reason)
    now = now or utcnow()
    membership = _membership(session, program_id, user_id, lock=True)
    if membership.certification_status != S.SUSPENDED:
        raise InvalidInput("Only a suspended assessor can be reinstated; nothing was changed.")
    user = session.get(User, user_id)
    assert user is not None
    if membership.certified_at is not None and membership.certification_expires_at is not None:
        target = S.CERTIFIED if membership.certification_expires_at > now else S.RECALIBRATION_DUE
    else:
        target = S.IN_TRAINING if user.password_hash else S.INVITED
    set_status(session, actor, membership, target, reason=reason, now=now)
    return membership


# ------------------------------------------------------------------------------ qualification
def accuracy_rows(session: Session, round_id: int, user_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(assessor levels, key levels) of every criterion-score, against each sheet's own key version."""
    stmt, _ = keyed_scores([round_id], "sheet", [effective_level()])
    arr = int_columns(session, stmt.where(ScoreSheet.assessor_id == user_id), 3)  # level, key, key version
    return arr[:, 0], arr[:, 1]


def after_sheet(
    session: Session,
    *,
    program_id: int,
    user_id: int,
    round_id: int,
    policy: Policy,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> QualificationResult | None:
    """Evaluate the pass rule once the assessor's last sheet in a qualification round is final.

    Returns the stored result (None for other kinds of round, or while sheets are missing). Called
    in the same transaction as the sheet; calling it again returns the stored result unchanged.
    """
    rnd = session.get(Round, round_id)
    if rnd is None or rnd.program_id != program_id or rnd.kind != RoundKind.QUALIFICATION:
        return None
    n_anchors = session.scalar(select(func.count()).where(RoundAnchor.round_id == round_id)) or 0
    n_done = (
        session.scalar(
            select(func.count()).where(ScoreSheet.round_id == round_id, ScoreSheet.assessor_id == user_id)
        )
        or 0
    )
    if n_anchors == 0 or n_done < n_anchors:
        return None
    existing = session.scalar(
        select(QualificationResult).where(
            QualificationResult.round_id == round_id, QualificationResult.user_id == user_id
        )
    )
    if existing is not None:
        return existing
    now = now or utcnow()
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None
    values, key = accuracy_rows(session, round_id, user_id)
    result = accuracy(values, key, levels=rubric.level_values, earn_cut=rubric.earn_cut)
    decision = evaluate_pass_rule(result, pass_rule_from_json(rnd.pass_rule_json), n_anchors=n_done)
    earlier = list(
        session.scalars(
            select(QualificationResult.outcome).where(
                QualificationResult.program_id == program_id, QualificationResult.user_id == user_id
            )
        )
    )
    row = QualificationResult(
        program_id=program_id,
        user_id=user_id,
        round_id=round_id,
        attempt=len(earlier) + 1,
        outcome=QualificationOutcome(decision.outcome),
        message=decision.message,
        checks_json=json.dumps(
            [
                {"name": c.name, "passed": c.passed, "message": c.message, "applicable": c.applicable}
                for c in decision.checks
            ]
        ),
        decided_at=now,
    )
    session.add(row)
    session.flush()
    system = SystemActor(program_id, request_id)
    audit.record(
        session,
        system,
        "qualification.result",
        object_type="user",
        object_id=user_id,
        detail={
            "round_id": round_id,
            "attempt": row.attempt,
            "outcome": decision.outcome,
            "message": decision.message,
        },
    )
    membership = _membership(session, program_id, user_id, lock=True)
    if decision.outcome == "pass":
        if membership.certification_status in (S.IN_TRAINING, S.RECALIBRATION_DUE):
            set_status(
                session,
                system,
                membership,
                S.CERTIFIED,
                reason=f"passed qualification round {round_id}",
                now=now,
                certification_days=policy.certification_days,
            )
    elif decision.outcome == "fail":
        fails = sum(1 for o in earlier if o == QualificationOutcome.FAIL) + 1
        if fails < policy.attempts and membership.certification_status == S.IN_TRAINING:
            try:
                training.assign_qualification_round(
                    session, system, program_id=program_id, user_id=user_id, window=policy.window
                )
            except (CoverageImpossible, InvalidInput) as exc:
                audit.record(
                    session,
                    system,
                    "qualification.assign",
                    object_type="user",
                    object_id=user_id,
                    outcome="unavailable",
                    detail={"reason": str(exc)},
                )
    return row


def decide(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    user_id: int,
    decision: str,
    reason: str,
    policy: Policy,
    now: dt.datetime | None = None,
) -> QualificationResult:
    """The trainer's decision after the pass rule left it to them: approve, extend or end."""
    _require_trainer(actor)
    try:
        choice = TrainerDecision(decision)
    except ValueError:
        raise InvalidInput(
            "Choose a decision.", {"decision": ["Choose approve, another attempt, or end."]}
        ) from None
    reason = check_reason(reason)
    now = now or utcnow()
    membership = _membership(session, program_id, user_id, lock=True)
    pending = awaiting_trainer(session, program_id, user_id)
    if pending is None:
        raise InvalidInput(
            "There is no qualification decision waiting for this assessor; nothing was changed."
        )
    if choice == TrainerDecision.APPROVE:
        set_status(
            session,
            actor,
            membership,
            S.CERTIFIED,
            reason=reason,
            now=now,
            certification_days=policy.certification_days,
            detail={"decision": "approve", "result_id": pending.id},
        )
    elif choice == TrainerDecision.EXTEND:
        try:
            training.assign_qualification_round(
                session, actor, program_id=program_id, user_id=user_id, window=policy.window
            )
        except CoverageImpossible as exc:
            raise InvalidInput(f"No further attempt could be assigned: {exc}") from None
    else:
        set_status(
            session,
            actor,
            membership,
            S.SUSPENDED,
            reason=reason,
            now=now,
            detail={"decision": "end", "result_id": pending.id},
        )
    pending.trainer_decision = choice
    pending.trainer_reason = reason
    pending.trainer_id = actor.user_id
    pending.trainer_decided_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "qualification.decision",
        object_type="user",
        object_id=user_id,
        detail={"result_id": pending.id, "decision": choice.value, "reason": reason},
    )
    return pending


# ------------------------------------------------------------------------------------ expiry
@dataclass(frozen=True)
class Expired:
    user_id: int
    program_id: int
    expires_at: dt.datetime


def expire_due(session: Session, *, now: dt.datetime | None = None) -> list[Expired]:
    """Every certified assessor whose certification has expired becomes ``recalibration_due``."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Membership)
            .where(
                Membership.role == Role.ASSESSOR,
                Membership.certification_status == S.CERTIFIED,
                Membership.certification_expires_at <= now,
            )
            .order_by(Membership.id)
            .with_for_update()
        )
    )
    out = []
    for m in due:
        assert m.certification_expires_at is not None
        set_status(
            session,
            SystemActor(m.program_id),
            m,
            S.RECALIBRATION_DUE,
            reason=f"certification expired on {m.certification_expires_at:%Y-%m-%d}",
            now=now,
        )
        out.append(Expired(m.user_id, m.program_id, m.certification_expires_at))
    return out

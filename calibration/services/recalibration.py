"""Recalibration: from a confirmed flag to a round of unseen anchors, a session booking, and the
verdict that restores ``certified`` or suspends (DESIGN §6).

* :func:`start`: the assessor becomes ``recalibration_due`` (audited through
  :func:`calibration.services.certification.set_status`), gets a recalibration round of anchors they
  have never seen covering every level, weighted toward the criteria they drift on, and is booked
  into the next session with room within the program's window. Every active anchor the assessor
  has never seen whose purpose counts (anything but practice) may serve.
* When no such round can be assembled yet, the recalibration *waits for anchors*
  (:class:`RecalibrationWait`, with the shortfall: which criteria need which key levels, and how
  many anchors in all; shown to trainers through :mod:`calibration.services.anchor_waits`). :func:`retry_waiting` starts what can start: when anchors are activated
  (:mod:`calibration.services.anchors`), on every ``evaluate-drift`` run, and when a trainer
  tries again (:func:`trainer_retry`).
* :func:`after_sheet`: once their last sheet in the round is final, the round's pass rule decides.
  Pass: ``certified`` again with a new expiry. Fail: a second attempt with other unseen anchors; a
  second fail suspends, pending the trainer. "Too few to judge" waits for the trainer.
* :func:`expire_deadlines`: a round not finished by its deadline suspends, pending the trainer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    CertificationStatus,
    DriftFlag,
    FlagRule,
    Membership,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationWait,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    SessionBooking,
    User,
    WaitStatus,
)
from ..stats.accuracy import accuracy
from ..stats.passrule import evaluate_pass_rule
from . import audit, drift, rounds, sessions
from . import flags as flag_review
from .anchor_waits import Shortfall, get_wait, shortfall_lines, waiting_of
from .certification import Policy, accuracy_rows, set_status
from .context import Actor, SystemActor
from .errors import InvalidInput
from .policy import DriftPolicy
from .recalibration_rounds import (
    COUNTING_PURPOSES,
    _failed_attempts,
    _new_round,
    _rubric_for,
    of_user,
    pending,
    plan_anchors,
)
from .rules import pass_rule_from_json
from .selection import DEFAULT_TARGET

__all__ = [
    "COUNTING_PURPOSES",
    "DRIFT_WEIGHT",
    "MAX_ATTEMPTS",
    "S",
    "Started",
    "after_final_sheet",
    "after_sheet",
    "confirm_flag",
    "evaluate_and_act",
    "expire_deadlines",
    "of_user",
    "pending",
    "plan_anchors",
    "retry_waiting",
    "start",
    "trainer_retry",
]

S = CertificationStatus
MAX_ATTEMPTS = 2
DRIFT_WEIGHT = 3.0


@dataclass(frozen=True)
class Started:
    recalibration: Recalibration | None
    booking: SessionBooking | None
    problem: str | None = None
    waiting: RecalibrationWait | None = None


def start(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    flags: list[DriftFlag],
    settings: DriftPolicy | Mapping[str, object],
    now: dt.datetime | None = None,
) -> Started:
    """Start (or continue) the assessor's recalibration for the given flags. Flushes."""
    now = now or utcnow()
    membership = session.scalar(
        select(Membership)
        .where(
            Membership.user_id == user_id,
            Membership.program_id == program_id,
            Membership.role == Role.ASSESSOR,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if membership is None or membership.certification_status not in (S.CERTIFIED, S.RECALIBRATION_DUE):
        status = (
            "no status"
            if membership is None or membership.certification_status is None
            else membership.certification_status.value.replace("_", " ")
        )
        return Started(None, None, f"The assessor's status is {status}, so no recalibration was started.")
    reason = "; ".join(f.summary for f in flags) or "recalibration started"
    if membership.certification_status == S.CERTIFIED:
        set_status(
            session, actor, membership, S.RECALIBRATION_DUE, reason=reason[:2000], now=now,
            detail={"flag_ids": [f.id for f in flags]},
        )  # fmt: skip
    in_force = DriftPolicy.of(settings)
    window_days = in_force.recalibration_window_days
    existing = pending(session, user_id)
    if existing is not None:
        if (stale := waiting_of(session, program_id, user_id)) is not None:
            stale.status, stale.resolved_at, stale.recalibration_id = WaitStatus.STARTED, now, existing.id
        booking = sessions.book(
            session, actor, program_id=program_id, user_id=user_id, recalibration_id=existing.id,
            window_days=window_days, now=now,
        )  # fmt: skip
        return Started(existing, booking)
    rubric_id = _rubric_for(session, program_id, flags)
    if rubric_id is None:
        return _wait(
            session, actor, program_id=program_id, user_id=user_id, flags=flags, rubric_id=None,
            shortfall=None, problem="The program has no active anchors with a master key other than practice anchors.",
            now=now,
        )  # fmt: skip
    weights = {f.criterion_id: DRIFT_WEIGHT for f in flags if f.criterion_id is not None}
    attempt = _failed_attempts(session, program_id, user_id) + 1
    target = max(in_force.min_anchors, DEFAULT_TARGET)
    plan = plan_anchors(
        session, program_id=program_id, user_id=user_id, rubric_id=rubric_id, target=target, weights=weights,
        seed=user_id * 100 + attempt,
    )  # fmt: skip
    if isinstance(plan, Shortfall):
        return _wait(
            session, actor, program_id=program_id, user_id=user_id, flags=flags, rubric_id=rubric_id,
            shortfall=plan, problem="", now=now,
        )  # fmt: skip
    try:
        with session.begin_nested():
            rnd = _new_round(
                session, actor, program_id=program_id, user_id=user_id, rubric_id=rubric_id, anchor_ids=plan,
                days=in_force.recalibration_round_days,
                attempt=attempt,
            )  # fmt: skip
    except InvalidInput as exc:
        return _wait(
            session, actor, program_id=program_id, user_id=user_id, flags=flags, rubric_id=rubric_id,
            shortfall=None, problem=str(exc), now=now,
        )  # fmt: skip
    waited = waiting_of(session, program_id, user_id)
    rec = Recalibration(
        program_id=program_id,
        user_id=user_id,
        flag_id=flags[0].id if flags else (waited.flag_id if waited else None),
        round_id=rnd.id,
        attempt=attempt,
        deadline=rnd.closes_at,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    if waited is not None:
        waited.status = WaitStatus.STARTED
        waited.resolved_at = now
        waited.recalibration_id = rec.id
        session.flush()
    audit.record(
        session,
        actor,
        "recalibration.start",
        object_type="user",
        object_id=user_id,
        program_id=program_id,
        detail={
            "round_id": rnd.id,
            "attempt": attempt,
            "flag_ids": [f.id for f in flags],
            "weights": weights,
            "anchor_ids": list(plan),
            "waited": None
            if waited is None
            else {"wait_id": waited.id, "since": waited.created_at.isoformat()},
        },
    )
    booking = sessions.book(
        session, actor, program_id=program_id, user_id=user_id, recalibration_id=rec.id,
        window_days=window_days, now=now,
    )  # fmt: skip
    return Started(rec, booking)


# ------------------------------------------------------------------------- waiting for anchors
def _wait(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    flags: Sequence[DriftFlag],
    rubric_id: int | None,
    shortfall: Shortfall | None,
    problem: str,
    now: dt.datetime,
) -> Started:
    """Record (or refresh) the wait. A new wait is audited, and so is a changed shortfall; a retry
    that finds the same shortfall only notes when it looked."""
    row = waiting_of(session, program_id, user_id)
    data = shortfall.to_json() if shortfall is not None else "{}"
    detail: dict[str, Any] = {
        "flag_ids": [f.id for f in flags],
        "rubric_version_id": rubric_id,
        "shortfall": json.loads(data),
        "reason": problem,
    }
    if row is None:
        row = RecalibrationWait(
            program_id=program_id,
            user_id=user_id,
            flag_id=flags[0].id if flags else None,
            rubric_version_id=rubric_id,
            status=WaitStatus.WAITING,
            shortfall_json=data,
            problem=problem,
            created_at=now,
            checked_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(
            session, actor, "recalibration.wait", object_type="user", object_id=user_id, program_id=program_id,
            outcome="waiting", detail={"wait_id": row.id, **detail},
        )  # fmt: skip
    else:
        changed = (row.shortfall_json, row.problem, row.rubric_version_id) != (data, problem, rubric_id)
        row.shortfall_json, row.problem, row.rubric_version_id = data, problem, rubric_id
        row.checked_at = now
        session.flush()
        if changed:
            audit.record(
                session, actor, "recalibration.wait", object_type="user", object_id=user_id,
                program_id=program_id, outcome="still_waiting", detail={"wait_id": row.id, **detail},
            )  # fmt: skip
    name = session.scalar(select(User.name).where(User.id == user_id)) or "The assessor"
    return Started(
        None,
        None,
        f"{name}'s recalibration is waiting for anchors: " + "; ".join(shortfall_lines(session, row)) + ".",
        waiting=row,
    )


def retry_waiting(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    wait_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[Started]:
    """Try again every recalibration of the program that waits for anchors (or one): start those
    that can start now; close the wait of anyone no longer ``recalibration_due``. Flushes."""
    now = now or utcnow()
    stmt = (
        select(RecalibrationWait)
        .where(RecalibrationWait.program_id == program_id, RecalibrationWait.status == WaitStatus.WAITING)
        .order_by(RecalibrationWait.id)
    )
    if wait_id is not None:
        stmt = stmt.where(RecalibrationWait.id == wait_id)
    rows = list(session.scalars(stmt))
    if not rows:
        return []
    settings = drift.program_drift_settings(session, program_id)
    out = []
    for row in rows:
        status = session.scalar(
            select(Membership.certification_status).where(
                Membership.user_id == row.user_id,
                Membership.program_id == program_id,
                Membership.role == Role.ASSESSOR,
            )
        )
        if status != S.RECALIBRATION_DUE:
            row.status = WaitStatus.WITHDRAWN
            row.resolved_at = now
            session.flush()
            said = "no status" if status is None else status.value.replace("_", " ")
            audit.record(
                session, actor, "recalibration.wait", object_type="user", object_id=row.user_id,
                program_id=program_id, outcome="withdrawn", detail={"wait_id": row.id, "status": said},
            )  # fmt: skip
            out.append(Started(None, None, f"The assessor's status is now {said}: the wait is closed."))
            continue
        flag = session.get(DriftFlag, row.flag_id) if row.flag_id else None
        out.append(
            start(
                session,
                actor,
                program_id=program_id,
                user_id=row.user_id,
                flags=[flag] if flag else [],
                settings=settings,
                now=now,
            )
        )
    return out


def trainer_retry(
    session: Session, actor: Actor, *, program_id: int, wait_id: int, now: dt.datetime | None = None
) -> Started:
    """A trainer's "try again now" for one waiting recalibration (audited). Flushes."""
    row = get_wait(session, program_id=program_id, wait_id=wait_id)
    if row.status != WaitStatus.WAITING:
        raise InvalidInput("This recalibration is no longer waiting for anchors; nothing was changed.")
    audit.record(
        session, actor, "recalibration.retry", object_type="user", object_id=row.user_id,
        program_id=program_id, detail={"wait_id": row.id},
    )  # fmt: skip
    [result] = retry_waiting(session, actor, program_id=program_id, wait_id=wait_id, now=now)
    return result


def after_sheet(
    session: Session,
    *,
    program_id: int,
    user_id: int,
    round_id: int,
    policy: Policy,
    settings: DriftPolicy | Mapping[str, object],
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> Recalibration | None:
    """Decide a recalibration once the assessor's last sheet in its round is final (None otherwise)."""
    rec = session.scalar(
        select(Recalibration).where(Recalibration.round_id == round_id, Recalibration.user_id == user_id)
    )
    if rec is None or rec.outcome != RecalibrationOutcome.PENDING:
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
    now = now or utcnow()
    rnd = rec.round
    rubric = rnd.rubric_version
    values, key = accuracy_rows(session, round_id, user_id)
    result = accuracy(values, key, levels=rubric.level_values, earn_cut=rubric.earn_cut)
    decision = evaluate_pass_rule(result, pass_rule_from_json(rnd.pass_rule_json), n_anchors=n_done)
    system = SystemActor(program_id, request_id)
    rec.message = decision.message
    rec.decided_at = now
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.program_id == program_id)
    )
    assert membership is not None
    if decision.outcome == "pass":
        rec.outcome = RecalibrationOutcome.PASSED
        if membership.certification_status == S.RECALIBRATION_DUE:
            set_status(
                session, system, membership, S.CERTIFIED, reason=f"passed recalibration round {round_id}",
                now=now, certification_days=policy.certification_days,
            )  # fmt: skip
    elif decision.outcome == "fail":
        rec.outcome = RecalibrationOutcome.FAILED
        session.flush()
        if _failed_attempts(session, program_id, user_id) >= MAX_ATTEMPTS:
            if membership.certification_status == S.RECALIBRATION_DUE:
                set_status(
                    session, system, membership, S.SUSPENDED,
                    reason="failed recalibration twice; suspended pending the lead trainer", now=now,
                )  # fmt: skip
        else:
            flag = session.get(DriftFlag, rec.flag_id) if rec.flag_id else None
            start(
                session, system, program_id=program_id, user_id=user_id,
                flags=[flag] if flag else [], settings=settings, now=now,
            )  # fmt: skip
    else:
        rec.outcome = RecalibrationOutcome.TOO_FEW
    session.flush()
    audit.record(
        session, system, "recalibration.result", object_type="user", object_id=user_id, program_id=program_id,
        detail={"round_id": round_id, "attempt": rec.attempt, "outcome": rec.outcome.value, "message": decision.message},
    )  # fmt: skip
    return rec


def expire_deadlines(session: Session, *, now: dt.datetime | None = None) -> list[Recalibration]:
    """Pending recalibrations past their deadline: missed, and the assessor suspended pending the trainer."""
    now = now or utcnow()
    out = []
    for rec in session.scalars(
        select(Recalibration)
        .where(Recalibration.outcome == RecalibrationOutcome.PENDING, Recalibration.deadline <= now)
        .order_by(Recalibration.id)
        .with_for_update()
    ):
        rec.outcome = RecalibrationOutcome.MISSED
        rec.decided_at = now
        rec.message = "The round was not completed by its deadline."
        system = SystemActor(rec.program_id)
        membership = session.scalar(
            select(Membership).where(
                Membership.user_id == rec.user_id, Membership.program_id == rec.program_id
            )
        )
        if membership is not None and membership.certification_status == S.RECALIBRATION_DUE:
            set_status(
                session, system, membership, S.SUSPENDED,
                reason=f"missed the recalibration deadline ({rec.deadline:%Y-%m-%d %H:%M} UTC); pending the lead trainer",
                now=now,
            )  # fmt: skip
        rnd = session.get(Round, rec.round_id)
        if rnd is not None and rnd.status == RoundStatus.OPEN:
            rounds.close_round(session, system, program_id=rec.program_id, round_id=rnd.id, now=now)
        session.flush()
        audit.record(
            session, system, "recalibration.result", object_type="user", object_id=rec.user_id,
            program_id=rec.program_id, detail={"round_id": rec.round_id, "outcome": "missed"},
        )  # fmt: skip
        out.append(rec)
    return out


# ---------------------------------------------------------------------------- flag use cases
def confirm_flag(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    flag_id: int,
    reason: str = "",
    now: dt.datetime | None = None,
) -> list[Started]:
    """Confirm a flag and start recalibration: for the flagged assessor, or for every certified
    assessor of the round when the flag is about the cohort. A lean is feedback, not drift:
    confirming it records that it was discussed and starts nothing."""
    now = now or utcnow()
    flag = flag_review.confirm(session, actor, program_id=program_id, flag_id=flag_id, reason=reason, now=now)
    if flag.rule == FlagRule.LEAN:
        return []
    settings = drift.program_drift_settings(session, program_id)
    assert flag.user_id is not None or flag.round_id is not None
    people = flag_review.affected_assessors(session, program_id, flag)
    return [
        start(session, actor, program_id=program_id, user_id=uid, flags=[flag], settings=settings, now=now)
        for uid in people
    ]


def evaluate_and_act(
    session: Session,
    program_id: int,
    *,
    now: dt.datetime | None = None,
    user_ids: Iterable[int] | None = None,
    cohort: bool = True,
    cohort_round: int | None = None,
    request_id: str | None = None,
) -> list[DriftFlag]:
    """Evaluate the rules; new expiry flags (and, if the program says so, every new assessor flag)
    are confirmed by the system, which starts recalibration. Returns the new flags."""
    now = now or utcnow()
    result = drift.evaluate_program(
        session, program_id, now=now, user_ids=user_ids, cohort=cohort, cohort_round=cohort_round,
        request_id=request_id,
    )  # fmt: skip
    settings = drift.program_drift_settings(session, program_id)
    system = SystemActor(program_id, request_id)
    for flag in result.flags:
        automatic = flag.rule == FlagRule.EXPIRY or (
            settings.auto_recalibrate and flag.user_id is not None and flag.rule != FlagRule.LEAN
        )
        if automatic:
            why = (
                "certification expired"
                if flag.rule.value == "expiry"
                else "the program confirms flags automatically"
            )
            confirm_flag(session, system, program_id=program_id, flag_id=flag.id, reason=why, now=now)
    return result.flags


def after_final_sheet(
    session: Session,
    *,
    program_id: int,
    user_id: int,
    round_id: int,
    policy: Policy,
    request_id: str | None = None,
) -> Recalibration | None:
    """The drift hook of a final submission, cheap unless it completes something: a recalibration
    round's last sheet gets its verdict; a calibration round's last sheet (for this assessor)
    evaluates the assessor's rules, and the cohort rule when every assigned assessor has finished."""
    kind = session.scalar(select(Round.kind).where(Round.id == round_id, Round.program_id == program_id))
    settings = drift.program_drift_settings(session, program_id)
    if kind == RoundKind.RECALIBRATION:
        return after_sheet(
            session, program_id=program_id, user_id=user_id, round_id=round_id, policy=policy,
            settings=settings, request_id=request_id,
        )  # fmt: skip
    if kind != RoundKind.CALIBRATION:
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
    evaluate_and_act(
        session, program_id, user_ids=[user_id], cohort=True, cohort_round=round_id, request_id=request_id
    )
    return None

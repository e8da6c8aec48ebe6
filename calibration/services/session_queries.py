"""Reading recalibration sessions and bookings: a session by id, the places taken, an assessor's
active booking, and the lists the trainer and the assessor see.

The use cases that schedule sessions and change bookings live in :mod:`calibration.services.sessions`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    BookingStatus,
    Membership,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    Role,
    Round,
    SessionBooking,
    SessionStatus,
    User,
)
from .errors import NotFound

ACTIVE = (BookingStatus.BOOKED, BookingStatus.ACCEPTED, BookingStatus.MOVE_REQUESTED)


def get_session_row(
    session: Session, *, program_id: int, session_id: int, lock: bool = False
) -> RecalibrationSession:
    stmt = select(RecalibrationSession).where(
        RecalibrationSession.id == session_id, RecalibrationSession.program_id == program_id
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(stmt)
    if row is None:
        raise NotFound("session")
    return row


def booked_count(session: Session, session_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                SessionBooking.session_id == session_id, SessionBooking.status.in_(ACTIVE)
            )
        )
        or 0
    )


def active_booking(session: Session, user_id: int, *, now: dt.datetime) -> SessionBooking | None:
    """The assessor's booking in a scheduled session that has not ended yet."""
    return session.scalar(
        select(SessionBooking)
        .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
        .where(
            SessionBooking.user_id == user_id,
            SessionBooking.status.in_(ACTIVE),
            RecalibrationSession.status == SessionStatus.SCHEDULED,
            RecalibrationSession.starts_at > now,
        )
        .order_by(RecalibrationSession.starts_at)
        .limit(1)
    )


def place_booking(
    session: Session, *, session_id: int, user_id: int, recalibration_id: int | None, now: dt.datetime
) -> SessionBooking:
    """The assessor's booking row in this session, made active: a new row, or, if they were booked
    here before and cancelled, the same row (the same calendar event comes back, one version later).
    The caller checks the session, its capacity and the assessor's other bookings first."""
    booking = session.scalar(
        select(SessionBooking).where(
            SessionBooking.session_id == session_id, SessionBooking.user_id == user_id
        )
    )
    if booking is None:
        booking = SessionBooking(
            session_id=session_id,
            user_id=user_id,
            recalibration_id=recalibration_id,
            status=BookingStatus.BOOKED,
            uid=f"booking-{uuid.uuid4()}@assessor-calibration",
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        session.add(booking)
    else:
        booking.recalibration_id = recalibration_id
        booking.status = BookingStatus.BOOKED
        booking.sequence += 1
        booking.updated_at = now
    session.flush()
    return booking


# -------------------------------------------------------------------------------------- views
@dataclass(frozen=True)
class SessionLine:
    row: RecalibrationSession
    booked: int

    @property
    def room(self) -> int:
        return max(self.row.capacity - self.booked, 0)


def session_lines(session: Session, program_id: int) -> list[SessionLine]:
    rows = list(
        session.scalars(
            select(RecalibrationSession)
            .where(RecalibrationSession.program_id == program_id)
            .order_by(RecalibrationSession.starts_at.desc())
        )
    )
    counts = dict(
        session.execute(
            select(SessionBooking.session_id, func.count())
            .where(SessionBooking.session_id.in_([r.id for r in rows]), SessionBooking.status.in_(ACTIVE))
            .group_by(SessionBooking.session_id)
        ).all()
    )
    return [SessionLine(r, counts.get(r.id, 0)) for r in rows]


@dataclass(frozen=True)
class Attendee:
    booking: SessionBooking
    name: str
    email: str
    round: Round | None
    outcome: RecalibrationOutcome | None


def attendees(session: Session, session_id: int) -> list[Attendee]:
    rows = session.execute(
        select(SessionBooking, User.name, User.email, Recalibration)
        .join(User, User.id == SessionBooking.user_id)
        .outerjoin(Recalibration, Recalibration.id == SessionBooking.recalibration_id)
        .where(SessionBooking.session_id == session_id)
        .order_by(User.name, User.id)
    ).all()
    return [Attendee(b, n, e, r.round if r else None, r.outcome if r else None) for b, n, e, r in rows]


def bookings_of(session: Session, user_id: int) -> list[SessionBooking]:
    return list(
        session.scalars(
            select(SessionBooking)
            .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
            .where(SessionBooking.user_id == user_id)
            .order_by(RecalibrationSession.starts_at.desc())
        )
    )


def trainer_choices(session: Session, program_id: int) -> list[tuple[int, str]]:
    return [
        (uid, name)
        for uid, name in session.execute(
            select(User.id, User.name)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.program_id == program_id, Membership.role.in_([Role.LEAD_TRAINER, Role.ADMIN]))
            .order_by(User.name, User.id)
        ).all()
    ]

"""A trainer books a named assessor into a session by hand (issue 17, item 9).

Automatic booking (:func:`calibration.services.sessions.book`) puts an assessor with a pending
recalibration into the soonest session with room. Here the trainer chooses both: any assessor of the
program, into this session. The same rules hold: the session must be scheduled and not started, its
capacity is kept (the row is locked while the places are counted), an assessor holds one active booking
at a time (a booking elsewhere is moved with "Move", not doubled), the booking is audited, and the
invitation goes out by the same event as every other booking change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Membership,
    Recalibration,
    RecalibrationOutcome,
    Role,
    SessionBooking,
    SessionStatus,
    User,
)
from . import audit, events
from .context import Actor
from .errors import InvalidInput, NotFound
from .session_queries import ACTIVE, active_booking, booked_count, get_session_row, place_booking

__all__ = ["Bookable", "book_named", "bookable_assessors"]


@dataclass(frozen=True)
class Bookable:
    user_id: int
    name: str
    waiting: bool  # a pending recalibration and no booking in an upcoming session


def bookable_assessors(session: Session, *, program_id: int, session_id: int) -> list[Bookable]:
    """Assessors of the program not booked in this session: those waiting for a session first."""
    now = utcnow()
    here = set(
        session.scalars(
            select(SessionBooking.user_id).where(
                SessionBooking.session_id == session_id, SessionBooking.status.in_(ACTIVE)
            )
        )
    )
    pending = set(
        session.scalars(
            select(Recalibration.user_id).where(
                Recalibration.program_id == program_id, Recalibration.outcome == RecalibrationOutcome.PENDING
            )
        )
    )
    people = session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.program_id == program_id, Membership.role == Role.ASSESSOR, User.is_active.is_(True)
        )
        .order_by(User.name, User.id)
    ).all()
    out = [
        Bookable(uid, name, uid in pending and active_booking(session, uid, now=now) is None)
        for uid, name in people
        if uid not in here
    ]
    return sorted(out, key=lambda b: not b.waiting)


def _local(when: dt.datetime, zone: str) -> str:
    return f"{when.astimezone(ZoneInfo(zone)):%A %-d %B %Y, %H:%M} ({zone})"


def book_named(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    session_id: int,
    user_id: int,
    now: dt.datetime | None = None,
) -> SessionBooking:
    """Book ``user_id`` into this session; InvalidInput (nothing written) when it cannot be done."""
    now = now or utcnow()
    row = get_session_row(session, program_id=program_id, session_id=session_id, lock=True)
    member = session.scalar(
        select(Membership).where(
            Membership.program_id == program_id,
            Membership.user_id == user_id,
            Membership.role == Role.ASSESSOR,
        )
    )
    if member is None or not member.user.is_active:
        raise NotFound("assessor")
    name = member.user.name
    field = "user_id"
    if row.status != SessionStatus.SCHEDULED or row.starts_at <= now:
        raise InvalidInput(
            "This session is not open for booking: it was cancelled or has started. Nothing was changed.",
            {field: ["Book into an upcoming session."]},
        )
    current = active_booking(session, user_id, now=now)
    if current is not None and current.session_id == row.id:
        raise InvalidInput(f"{name} is already booked into this session.", {field: ["Already booked here."]})
    if current is not None:
        elsewhere = f"{current.session.title}, {_local(current.session.starts_at, current.session.timezone)}"
        raise InvalidInput(
            f"{name} is already booked into {elsewhere}. Use “Move” on that session to change it; "
            "nothing was changed.",
            {field: [f"Already booked into {elsewhere}."]},
        )
    if booked_count(session, row.id) >= row.capacity:
        raise InvalidInput(
            f"This session is full ({row.capacity} places). Raise its capacity first; nothing was changed.",
            {field: ["The session is full."]},
        )
    recalibration_id = session.scalar(
        select(Recalibration.id)
        .where(
            Recalibration.program_id == program_id,
            Recalibration.user_id == user_id,
            Recalibration.outcome == RecalibrationOutcome.PENDING,
        )
        .order_by(Recalibration.deadline.desc(), Recalibration.id.desc())
        .limit(1)
    )
    booking = place_booking(
        session, session_id=row.id, user_id=user_id, recalibration_id=recalibration_id, now=now
    )
    booking.note = None
    audit.record(
        session,
        actor,
        "session.book",
        object_type="session_booking",
        object_id=booking.id,
        program_id=program_id,
        detail={
            "session_id": row.id,
            "user_id": user_id,
            "recalibration_id": recalibration_id,
            "by_hand": True,
        },
    )
    events.emit(session, events.BookingsChanged((user_id,)))
    return booking

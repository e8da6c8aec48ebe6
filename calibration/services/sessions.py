"""Recalibration sessions: trainers schedule them; flagged assessors are booked into the next one
with room inside the program's window; assessors accept or ask to move; trainers move or cancel.

Times are stored in UTC with the IANA time zone they were entered in. Capacity is checked under a
row lock on the session (PostgreSQL) or the write lock (SQLite), so two bookings cannot both take
the last place. Every booking change that the assessor's calendar must learn about raises the
booking's ``sequence``; the mail for each (booking, sequence) is sent once (see
:mod:`calibration.notify.bookings`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    BookingStatus,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    SessionBooking,
    SessionStatus,
    User,
)
from . import audit, events
from .context import Actor, Member
from .errors import InvalidInput, NotFound
from .feed_tokens import (
    feed_user,
    has_feed,
    new_feed_token,
    revoke_feed,
)
from .scoring import has_control_characters
from .session_fields import (
    LOCATION_MAX_CHARS,
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    NOTE_MAX_CHARS,
    TITLE_MAX_CHARS,
    SessionFields,
    _checked_fields,
    check_timezone,
)
from .session_queries import (
    ACTIVE,
    Attendee,
    SessionLine,
    active_booking,
    attendees,
    booked_count,
    bookings_of,
    get_session_row,
    place_booking,
    session_lines,
    trainer_choices,
)

__all__ = [
    "ACTIVE",
    "LOCATION_MAX_CHARS",
    "MAX_CAPACITY",
    "MAX_DURATION_MINUTES",
    "NOTE_MAX_CHARS",
    "TITLE_MAX_CHARS",
    "Attendee",
    "SessionFields",
    "SessionLine",
    "Waiting",
    "active_booking",
    "attendees",
    "book",
    "book_waiting",
    "booked_count",
    "bookings_of",
    "cancel_session",
    "check_timezone",
    "create_session",
    "feed_user",
    "get_booking",
    "get_session_row",
    "has_feed",
    "mark_attendance",
    "move_booking",
    "new_feed_token",
    "reschedule_session",
    "respond",
    "revoke_feed",
    "session_lines",
    "trainer_choices",
    "waiting_assessors",
]


def create_session(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    title: str,
    date: dt.date | None,
    time: dt.time | None,
    timezone: str,
    duration_minutes: int | None,
    location: str,
    trainer_id: int | None,
    capacity: int | None,
    now: dt.datetime | None = None,
) -> RecalibrationSession:
    """A scheduled session, its local start converted to UTC with ``timezone``. Raises InvalidInput
    with field errors (nothing written)."""
    f = _checked_fields(
        session,
        program_id=program_id,
        title=title,
        date=date,
        time=time,
        timezone=timezone,
        duration_minutes=duration_minutes,
        location=location,
        trainer_id=trainer_id,
        capacity=capacity,
        now=now or utcnow(),
    )
    row = RecalibrationSession(program_id=program_id, created_by_id=actor.user_id)
    f.apply_to(row)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "session.create",
        object_type="recalibration_session",
        object_id=row.id,
        program_id=program_id,
        detail=f.detail(),
    )
    return row


def reschedule_session(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    session_id: int,
    title: str,
    date: dt.date | None,
    time: dt.time | None,
    timezone: str,
    duration_minutes: int | None,
    location: str,
    trainer_id: int | None,
    capacity: int | None,
    now: dt.datetime | None = None,
) -> tuple[RecalibrationSession, int]:
    """Change an upcoming session's time, place, title, trainer or capacity.

    Everyone booked gets an updated calendar invitation (their booking's ``sequence`` goes up, so
    the change is mailed once). A new time or place asks them to accept again. The capacity cannot
    go below the places already taken. Returns the session and how many bookings were updated.
    Raises InvalidInput with field errors (nothing written).
    """
    now = now or utcnow()
    row = get_session_row(session, program_id=program_id, session_id=session_id, lock=True)
    if row.status != SessionStatus.SCHEDULED or row.starts_at <= now:
        raise InvalidInput("Only a scheduled session that has not started can be changed; nothing was saved.")
    f = _checked_fields(
        session,
        program_id=program_id,
        title=title,
        date=date,
        time=time,
        timezone=timezone,
        duration_minutes=duration_minutes,
        location=location,
        trainer_id=trainer_id,
        capacity=capacity,
        now=now,
    )
    taken = booked_count(session, row.id)
    if f.capacity < taken:
        raise InvalidInput(
            "Some fields need attention; nothing was saved.",
            {"capacity": [f"{taken} places are taken: the capacity cannot be lower; move someone first."]},
        )
    before, after = SessionFields.of(row).detail(), f.detail()
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        raise InvalidInput("Nothing was changed: the session already has these details.")
    f.apply_to(row)
    calendar_fields = {"title", "starts_at", "timezone", "duration_minutes", "location"}
    updated = 0
    if calendar_fields & set(changed):
        moved = bool({"starts_at", "duration_minutes", "location"} & set(changed))
        for booking in session.scalars(
            select(SessionBooking).where(
                SessionBooking.session_id == row.id, SessionBooking.status.in_(ACTIVE)
            )
        ):
            accepted_again = moved and booking.status == BookingStatus.ACCEPTED
            _touch(booking, BookingStatus.BOOKED if accepted_again else booking.status, now)
            _bookings_changed(session, booking)
            updated += 1
    session.flush()
    audit.record(
        session,
        actor,
        "session.update",
        object_type="recalibration_session",
        object_id=row.id,
        program_id=program_id,
        detail={"changed": changed, "before": {k: before[k] for k in changed}, "bookings_updated": updated},
    )
    return row, updated


def _touch(booking: SessionBooking, status: BookingStatus, now: dt.datetime) -> None:
    booking.status = status
    booking.sequence += 1
    booking.updated_at = now


def book(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    recalibration_id: int | None,
    window_days: int,
    now: dt.datetime | None = None,
    exclude_session_id: int | None = None,
) -> SessionBooking | None:
    """Book the assessor into the soonest scheduled session with room starting within the window.

    Returns the existing booking if they already have one, None when no session has room (the
    trainer is then asked to open one: :func:`waiting_assessors`)."""
    now = now or utcnow()
    existing = active_booking(session, user_id, now=now)
    if existing is not None:
        return existing
    candidates = list(
        session.scalars(
            select(RecalibrationSession)
            .where(
                RecalibrationSession.program_id == program_id,
                RecalibrationSession.status == SessionStatus.SCHEDULED,
                RecalibrationSession.starts_at > now,
                RecalibrationSession.starts_at <= now + dt.timedelta(days=window_days),
            )
            .order_by(RecalibrationSession.starts_at, RecalibrationSession.id)
        )
    )
    for candidate in candidates:
        if candidate.id == exclude_session_id:
            continue
        row = get_session_row(session, program_id=program_id, session_id=candidate.id, lock=True)
        if booked_count(session, row.id) >= row.capacity:
            continue
        booking = place_booking(
            session, session_id=row.id, user_id=user_id, recalibration_id=recalibration_id, now=now
        )
        audit.record(
            session,
            actor,
            "session.book",
            object_type="session_booking",
            object_id=booking.id,
            program_id=program_id,
            detail={"session_id": row.id, "user_id": user_id, "recalibration_id": recalibration_id},
        )
        _bookings_changed(session, booking)
        return booking
    return None


@dataclass(frozen=True)
class Waiting:
    user_id: int
    name: str
    recalibration_id: int
    deadline: dt.datetime


def waiting_assessors(session: Session, program_id: int, *, now: dt.datetime | None = None) -> list[Waiting]:
    """Assessors with a pending recalibration and no booking in an upcoming session."""
    now = now or utcnow()
    booked = (  # the condition of :func:`active_booking`, for every assessor in one query
        exists()
        .where(
            SessionBooking.user_id == Recalibration.user_id,
            SessionBooking.status.in_(ACTIVE),
            RecalibrationSession.id == SessionBooking.session_id,
            RecalibrationSession.status == SessionStatus.SCHEDULED,
            RecalibrationSession.starts_at > now,
        )
        .correlate(Recalibration)
    )
    rows = session.execute(
        select(Recalibration.id, Recalibration.user_id, Recalibration.deadline, User.name)
        .join(User, User.id == Recalibration.user_id)
        .where(
            Recalibration.program_id == program_id,
            Recalibration.outcome == RecalibrationOutcome.PENDING,
            ~booked,
        )
        .order_by(Recalibration.deadline, Recalibration.id)
    ).all()
    return [Waiting(uid, name, rid, deadline) for rid, uid, deadline, name in rows]


def book_waiting(
    session: Session, actor: Actor, *, program_id: int, window_days: int, now: dt.datetime | None = None
) -> list[SessionBooking]:
    """Book everyone waiting into sessions with room (after a session is created, and from cron)."""
    out = []
    for w in waiting_assessors(session, program_id, now=now):
        b = book(
            session, actor, program_id=program_id, user_id=w.user_id, recalibration_id=w.recalibration_id,
            window_days=window_days, now=now,
        )  # fmt: skip
        if b is not None:
            out.append(b)
    return out


def get_booking(session: Session, *, booking_id: int, user_id: int) -> SessionBooking:
    booking = session.scalar(
        select(SessionBooking).where(SessionBooking.id == booking_id, SessionBooking.user_id == user_id)
    )
    if booking is None:
        raise NotFound("booking")
    return booking


def respond(
    session: Session,
    actor: Member,
    *,
    booking_id: int,
    action: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> SessionBooking:
    """The assessor accepts their booking or asks to move it (with a note for the trainer)."""
    now = now or utcnow()
    booking = get_booking(session, booking_id=booking_id, user_id=actor.user_id)
    if booking.status not in ACTIVE or booking.session.status != SessionStatus.SCHEDULED:
        raise InvalidInput("This booking was cancelled; nothing was changed.")
    if booking.session.starts_at <= now:
        raise InvalidInput("This session has already started; nothing was changed.")
    note = note.strip()
    if action == "accept":
        booking.status = BookingStatus.ACCEPTED
        booking.note = None
    elif action == "move":
        if not note:
            raise InvalidInput("Say which times suit you.", {"note": ["Say which times suit you."]})
        if len(note) > NOTE_MAX_CHARS:
            raise InvalidInput(
                "The note is too long.", {"note": [f"The note can be at most {NOTE_MAX_CHARS} characters."]}
            )
        if has_control_characters(note):
            raise InvalidInput(
                "The note contains a control character.", {"note": ["Remove control characters."]}
            )
        booking.status = BookingStatus.MOVE_REQUESTED
        booking.note = note
    else:
        raise InvalidInput("Choose accept or ask to move.")
    booking.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        f"session.{action}",
        object_type="session_booking",
        object_id=booking.id,
        detail={"session_id": booking.session_id, "note": booking.note},
    )
    return booking


def move_booking(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    booking_id: int,
    target_session_id: int,
    now: dt.datetime | None = None,
) -> SessionBooking:
    """The trainer moves a booking to another session with room: the old one is cancelled (its
    calendar event too), the new one is booked."""
    now = now or utcnow()
    booking = session.scalar(
        select(SessionBooking)
        .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
        .where(SessionBooking.id == booking_id, RecalibrationSession.program_id == program_id)
    )
    if booking is None:
        raise NotFound("booking")
    if booking.status not in ACTIVE:
        raise InvalidInput("This booking was already cancelled; nothing was changed.")
    target = get_session_row(session, program_id=program_id, session_id=target_session_id, lock=True)
    if target.id == booking.session_id:
        raise InvalidInput("Choose a different session.", {"target": ["Choose a different session."]})
    if target.status != SessionStatus.SCHEDULED or target.starts_at <= now:
        raise InvalidInput(
            "Choose a session that is scheduled and has not started.",
            {"target": ["Choose an upcoming session."]},
        )
    if booked_count(session, target.id) >= target.capacity:
        raise InvalidInput(
            "That session is full; nothing was changed.", {"target": ["That session is full."]}
        )
    _touch(booking, BookingStatus.CANCELLED, now)
    session.flush()
    new = place_booking(
        session,
        session_id=target.id,
        user_id=booking.user_id,
        recalibration_id=booking.recalibration_id,
        now=now,
    )
    audit.record(
        session,
        actor,
        "session.move",
        object_type="session_booking",
        object_id=new.id,
        program_id=program_id,
        detail={"from_booking": booking.id, "from_session": booking.session_id, "to_session": target.id},
    )
    _bookings_changed(session, new)
    return new


def cancel_session(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    session_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> RecalibrationSession:
    """Cancel a session and its bookings (each attendee's calendar gets a cancellation)."""
    from .certification import check_reason

    reason = check_reason(reason)
    now = now or utcnow()
    row = get_session_row(session, program_id=program_id, session_id=session_id, lock=True)
    if row.status == SessionStatus.CANCELLED:
        raise InvalidInput("This session is already cancelled; nothing was changed.")
    row.status = SessionStatus.CANCELLED
    for booking in session.scalars(
        select(SessionBooking).where(SessionBooking.session_id == row.id, SessionBooking.status.in_(ACTIVE))
    ):
        _touch(booking, BookingStatus.CANCELLED, now)
        _bookings_changed(session, booking)
    session.flush()
    audit.record(
        session,
        actor,
        "session.cancel",
        object_type="recalibration_session",
        object_id=row.id,
        program_id=program_id,
        detail={"reason": reason},
    )
    return row


def mark_attendance(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    session_id: int,
    booking_id: int,
    attended: bool,
    now: dt.datetime | None = None,
) -> SessionBooking:
    """Record whether a booked assessor came, once the session has started (a mistake can be put
    right by marking again; each mark is audited with what it replaced)."""
    now = now or utcnow()
    row = get_session_row(session, program_id=program_id, session_id=session_id)
    booking = session.scalar(
        select(SessionBooking).where(SessionBooking.id == booking_id, SessionBooking.session_id == row.id)
    )
    if booking is None:
        raise NotFound("booking")
    if row.status == SessionStatus.CANCELLED:
        raise InvalidInput("This session was cancelled; there is no attendance to record.")
    if row.starts_at > now:
        raise InvalidInput("Attendance can be recorded once the session has started.")
    if booking.status not in ACTIVE:
        raise InvalidInput("This booking was cancelled; there is no attendance to record.")
    if booking.attended is attended:
        raise InvalidInput("That is already recorded; nothing was changed.")
    before = booking.attended
    booking.attended = attended
    booking.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "session.attendance",
        object_type="session_booking",
        object_id=booking.id,
        program_id=program_id,
        detail={"session_id": row.id, "user_id": booking.user_id, "attended": attended, "before": before},
    )
    return booking


# ------------------------------------------------------------------ booking events, scheduling
def _bookings_changed(session: Session, booking: SessionBooking) -> None:
    """Record that ``booking`` was made, moved, changed or cancelled: its mail (invitation, update
    or cancellation) is queued by whoever commits (:mod:`calibration.services.events`)."""
    events.emit(session, events.BookingsChanged((booking.user_id,)))


@dataclass(frozen=True)
class Scheduled:
    """A new session and the waiting assessors booked into sessions because of it."""

    row: RecalibrationSession
    booked: list[SessionBooking]


def schedule_session(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    title: str,
    date: dt.date | None,
    time: dt.time | None,
    timezone: str,
    duration_minutes: int | None,
    location: str,
    trainer_id: int | None,
    capacity: int | None,
    now: dt.datetime | None = None,
) -> Scheduled:
    """Create a session (:func:`create_session`) and book everyone waiting into sessions with room
    inside the program's window (:func:`book_waiting`), as one use case. Raises InvalidInput with
    field errors (nothing written)."""
    from .drift import program_drift_settings

    row = create_session(
        session, actor, program_id=program_id, title=title, date=date, time=time, timezone=timezone,
        duration_minutes=duration_minutes, location=location, trainer_id=trainer_id, capacity=capacity,
        now=now,
    )  # fmt: skip
    window = int(program_drift_settings(session, program_id).recalibration_window_days)
    booked = book_waiting(session, actor, program_id=program_id, window_days=window, now=now)
    return Scheduled(row, booked)

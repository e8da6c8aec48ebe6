"""Recalibration sessions: trainers schedule them; flagged assessors are booked into the next one
with room inside the program's window; assessors accept or ask to move; trainers move or cancel.

Times are stored in UTC with the IANA time zone they were entered in. Capacity is checked under a
row lock on the session (PostgreSQL) or the write lock (SQLite), so two bookings cannot both take
the last place. Every booking change that the assessor's calendar must learn about raises the
booking's ``sequence``; the mail for each (booking, sequence) is sent once (see
:mod:`calibration.notify.bookings`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    BookingStatus,
    CalendarFeedToken,
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
from . import audit, events
from .context import Actor
from .errors import InvalidInput, NotFound
from .scoring import ONE_LINE_MESSAGE, has_control_characters, is_one_line

TITLE_MAX_CHARS = 200
LOCATION_MAX_CHARS = 500
NOTE_MAX_CHARS = 1000
MAX_DURATION_MINUTES = 12 * 60
MAX_CAPACITY = 500
ACTIVE = (BookingStatus.BOOKED, BookingStatus.ACCEPTED, BookingStatus.MOVE_REQUESTED)


def _text(
    errors: dict[str, list[str]], name: str, label: str, value: str, limit: int, *, one_line: bool = False
) -> str:
    value = value.strip()
    if not value:
        errors[name] = [f"Enter the {label}."]
    elif len(value) > limit:
        errors[name] = [f"The {label} can be at most {limit} characters (you have {len(value)})."]
    elif one_line and not is_one_line(value):
        # The title goes into mail subjects, where a line break would end the header.
        errors[name] = [f"The {label} {ONE_LINE_MESSAGE}."]
    elif has_control_characters(value):
        errors[name] = [f"The {label} contains a control character (such as NUL) that cannot be stored."]
    return value


def check_timezone(name: str) -> ZoneInfo | None:
    name = name.strip()
    if not name or name not in available_timezones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class SessionFields:
    """A session's fields after the checks: the local start converted to UTC with ``timezone``."""

    title: str
    starts_at: dt.datetime
    timezone: str
    duration_minutes: int
    location: str
    trainer_id: int
    capacity: int

    @classmethod
    def of(cls, row: RecalibrationSession) -> SessionFields:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    def apply_to(self, row: RecalibrationSession) -> None:
        for name, value in dataclasses.asdict(self).items():
            setattr(row, name, value)

    def detail(self) -> dict[str, object]:
        """As the audit trail records them (times in ISO 8601)."""
        return {**dataclasses.asdict(self), "starts_at": self.starts_at.isoformat()}


def _checked_fields(
    session: Session,
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
    now: dt.datetime,
) -> SessionFields:
    """The checks shared by scheduling and rescheduling. Raises InvalidInput with field errors."""
    errors: dict[str, list[str]] = {}
    title = _text(errors, "title", "title", title, TITLE_MAX_CHARS, one_line=True)
    location = _text(errors, "location", "place or video link", location, LOCATION_MAX_CHARS, one_line=True)
    zone = check_timezone(timezone)
    if zone is None:
        errors["timezone"] = [
            "Choose a time zone by its IANA name, such as Europe/Berlin or America/New_York."
        ]
    if date is None:
        errors["date"] = ["Enter the date."]
    if time is None:
        errors["time"] = ["Enter the start time."]
    starts_at = None
    if zone is not None and date is not None and time is not None:
        local = dt.datetime.combine(date, time, tzinfo=zone)
        starts_at = local.astimezone(dt.UTC)
        if starts_at <= now:
            errors["date"] = ["The session must start in the future."]
    if duration_minutes is None or not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = [f"Enter the duration in minutes, from 1 to {MAX_DURATION_MINUTES}."]
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = [f"Enter how many assessors can attend, from 1 to {MAX_CAPACITY}."]
    trainer = None
    if trainer_id is not None:
        trainer = session.scalar(
            select(Membership).where(
                Membership.user_id == trainer_id,
                Membership.program_id == program_id,
                Membership.role.in_([Role.LEAD_TRAINER, Role.ADMIN]),
            )
        )
    if trainer is None:
        errors["trainer_id"] = ["Choose a trainer of this program."]
    if errors:
        raise InvalidInput("Some fields need attention; nothing was saved.", errors)
    assert starts_at is not None and trainer_id is not None and duration_minutes and capacity
    return SessionFields(title, starts_at, timezone.strip(), duration_minutes, location, trainer_id, capacity)


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


def _touch(booking: SessionBooking, status: BookingStatus, now: dt.datetime) -> None:
    booking.status = status
    booking.sequence += 1
    booking.updated_at = now


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
        booking = session.scalar(
            select(SessionBooking).where(
                SessionBooking.session_id == row.id, SessionBooking.user_id == user_id
            )
        )
        if booking is None:
            booking = SessionBooking(
                session_id=row.id,
                user_id=user_id,
                recalibration_id=recalibration_id,
                status=BookingStatus.BOOKED,
                uid=f"booking-{uuid.uuid4()}@assessor-calibration",
                sequence=0,
                created_at=now,
                updated_at=now,
            )
            session.add(booking)
        else:  # booked here before and cancelled: the same calendar event comes back
            booking.recalibration_id = recalibration_id
            _touch(booking, BookingStatus.BOOKED, now)
        session.flush()
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
    rows = session.execute(
        select(Recalibration.id, Recalibration.user_id, Recalibration.deadline, User.name)
        .join(User, User.id == Recalibration.user_id)
        .where(Recalibration.program_id == program_id, Recalibration.outcome == RecalibrationOutcome.PENDING)
        .order_by(Recalibration.deadline, Recalibration.id)
    ).all()
    return [
        Waiting(uid, name, rid, deadline)
        for rid, uid, deadline, name in rows
        if active_booking(session, uid, now=now) is None
    ]


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
    actor: Actor,
    *,
    booking_id: int,
    action: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> SessionBooking:
    """The assessor accepts their booking or asks to move it (with a note for the trainer)."""
    assert actor.user_id is not None
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
    new = session.scalar(
        select(SessionBooking).where(
            SessionBooking.session_id == target.id, SessionBooking.user_id == booking.user_id
        )
    )
    if new is None:
        new = SessionBooking(
            session_id=target.id,
            user_id=booking.user_id,
            recalibration_id=booking.recalibration_id,
            uid=f"booking-{uuid.uuid4()}@assessor-calibration",
            sequence=0,
            status=BookingStatus.BOOKED,
            created_at=now,
            updated_at=now,
        )
        session.add(new)
    else:
        _touch(new, BookingStatus.BOOKED, now)
    session.flush()
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


# ---------------------------------------------------------------------------------- feed tokens
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> str:
    """A new private feed link for the actor; any earlier link stops working. Returns the token
    (shown once; only its SHA-256 is stored)."""
    assert actor.user_id is not None
    now = now or utcnow()
    revoke_feed(session, actor, now=now, audited=False)
    token = secrets.token_urlsafe(32)
    session.add(CalendarFeedToken(user_id=actor.user_id, token_hash=_hash(token), created_at=now))
    session.flush()
    audit.record(session, actor, "calendar.feed_link", object_type="user", object_id=actor.user_id)
    return token


def revoke_feed(
    session: Session, actor: Actor, *, now: dt.datetime | None = None, audited: bool = True
) -> int:
    assert actor.user_id is not None
    result = session.execute(
        update(CalendarFeedToken)
        .where(CalendarFeedToken.user_id == actor.user_id, CalendarFeedToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    session.flush()
    n = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if audited:
        audit.record(
            session,
            actor,
            "calendar.feed_revoke",
            object_type="user",
            object_id=actor.user_id,
            detail={"revoked": n},
        )
    return n


def has_feed(session: Session, user_id: int) -> dt.datetime | None:
    return session.scalar(
        select(CalendarFeedToken.created_at).where(
            CalendarFeedToken.user_id == user_id, CalendarFeedToken.revoked_at.is_(None)
        )
    )


def feed_user(session: Session, token: str) -> User | None:
    """The user of a live feed token (None for an unknown or revoked one)."""
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(CalendarFeedToken, CalendarFeedToken.user_id == User.id)
        .where(
            CalendarFeedToken.token_hash == _hash(token),
            CalendarFeedToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )


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

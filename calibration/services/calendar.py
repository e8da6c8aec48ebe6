"""iCalendar (RFC 5545) for invitations and private feeds, built with the ``icalendar`` package,
which escapes and folds text: a title with a newline or ``END:VEVENT`` in it stays one property.

Invitations carry ``METHOD:REQUEST`` (or ``CANCEL``), the booking's stable UID and its SEQUENCE,
so calendar programs update or remove the same event. They ask for no reply (``RSVP=FALSE``): the
assessor answers on the service's page. A trainer's feed lists who is booked into each session. Session times are written in the session's
own time zone (with its VTIMEZONE), deadlines in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    Round,
    SessionBooking,
    SessionStatus,
    User,
)
from .sessions import ACTIVE

PRODID = "-//Assessor Calibration//Recalibration sessions//EN"


@dataclass(frozen=True)
class EventInfo:
    uid: str
    sequence: int
    title: str
    starts_at: dt.datetime  # aware
    ends_at: dt.datetime
    timezone: str | None
    location: str
    description: str
    cancelled: bool = False
    organizer: tuple[str, str] | None = None  # (name, email)
    attendee: tuple[str, str] | None = None


def _event(info: EventInfo, stamp: dt.datetime) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", info.uid)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("sequence", info.sequence)
    zone = ZoneInfo(info.timezone) if info.timezone else dt.UTC
    ev.add("dtstart", info.starts_at.astimezone(zone))
    ev.add("dtend", info.ends_at.astimezone(zone))
    ev.add("summary", info.title)
    if info.location:
        ev.add("location", info.location)
    if info.description:
        ev.add("description", info.description)
    ev.add("status", "CANCELLED" if info.cancelled else "CONFIRMED")
    if info.organizer:
        org = icalendar.vCalAddress(f"mailto:{info.organizer[1]}")
        org.params["cn"] = icalendar.vText(info.organizer[0])
        ev.add("organizer", org)
    if info.attendee:
        att = icalendar.vCalAddress(f"mailto:{info.attendee[1]}")
        att.params["cn"] = icalendar.vText(info.attendee[0])
        att.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        # No reply is asked of the calendar program: "Accept" there would mail the organizer, while
        # the booking is accepted (or a move asked for) on the service's own page, linked in the mail.
        att.params["rsvp"] = icalendar.vText("FALSE")
        ev.add("attendee", att)
    return ev


def calendar_bytes(events: Iterable[EventInfo], *, method: str | None, name: str | None = None) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    stamp = utcnow()
    for info in events:
        cal.add_component(_event(info, stamp))
    cal.add_missing_timezones()
    ical: bytes = cal.to_ical()
    return ical


def _session_description(row: RecalibrationSession) -> str:
    return (
        f"Recalibration session with {row.trainer.name}. Place or link: {row.location}. "
        "Your recalibration round is on your assessor dashboard."
    )


def _booked_names(session: Session, session_ids: list[int]) -> dict[int, list[str]]:
    """Who is booked into each session (active bookings), with the state of their booking."""
    out: dict[int, list[str]] = {}
    if not session_ids:
        return out
    for session_id, name, status in session.execute(
        select(SessionBooking.session_id, User.name, SessionBooking.status)
        .join(User, User.id == SessionBooking.user_id)
        .where(SessionBooking.session_id.in_(session_ids), SessionBooking.status.in_(ACTIVE))
        .order_by(User.name, User.id)
    ).all():
        state = {"accepted": "accepted", "move_requested": "asked to move"}.get(
            status.value, "not answered yet"
        )
        out.setdefault(session_id, []).append(f"{name} ({state})")
    return out


def _trainer_description(row: RecalibrationSession, booked: list[str]) -> str:
    """The trainer's own event: who is booked, not the assessor's wording."""
    who = "; ".join(booked) if booked else "nobody yet"
    return (
        f"You run this recalibration session ({len(booked)} of {row.capacity} places booked). "
        f"Booked: {who}. Place or link: {row.location}."
    )


def booking_event(booking: SessionBooking, user: User) -> EventInfo:
    row = booking.session
    cancelled = booking.status not in ACTIVE or row.status == SessionStatus.CANCELLED
    return EventInfo(
        uid=booking.uid,
        sequence=booking.sequence,
        title=row.title,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        location=row.location,
        description=_session_description(row),
        cancelled=cancelled,
        organizer=(row.trainer.name, row.trainer.email),
        attendee=(user.name, user.email),
    )


def booking_ics(booking: SessionBooking, user: User) -> tuple[bytes, str]:
    """The invitation (or cancellation) for one booking and its METHOD."""
    info = booking_event(booking, user)
    method = "CANCEL" if info.cancelled else "REQUEST"
    return calendar_bytes([info], method=method), method


def feed_events(session: Session, user_id: int, *, now: dt.datetime | None = None) -> list[EventInfo]:
    """A user's sessions (booked, or run as the trainer) from 30 days ago on, and the deadlines of
    their pending recalibration rounds."""
    now = now or utcnow()
    since = now - dt.timedelta(days=30)
    user = session.get(User, user_id)
    assert user is not None
    events: list[EventInfo] = []
    for booking in session.scalars(
        select(SessionBooking)
        .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
        .where(SessionBooking.user_id == user_id, RecalibrationSession.starts_at >= since)
        .order_by(RecalibrationSession.starts_at)
    ):
        events.append(booking_event(booking, user))
    runs = list(
        session.scalars(
            select(RecalibrationSession)
            .where(RecalibrationSession.trainer_id == user_id, RecalibrationSession.starts_at >= since)
            .order_by(RecalibrationSession.starts_at)
        )
    )
    booked = _booked_names(session, [row.id for row in runs])
    for row in runs:
        events.append(
            EventInfo(
                uid=f"session-{row.id}@assessor-calibration",
                sequence=0,
                title=row.title,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                timezone=row.timezone,
                location=row.location,
                description=_trainer_description(row, booked.get(row.id, [])),
                cancelled=row.status == SessionStatus.CANCELLED,
            )
        )
    for rec, rnd in session.execute(
        select(Recalibration, Round)
        .join(Round, Round.id == Recalibration.round_id)
        .where(Recalibration.user_id == user_id, Recalibration.outcome == RecalibrationOutcome.PENDING)
        .order_by(Recalibration.deadline)
    ).all():
        events.append(
            EventInfo(
                uid=f"deadline-{rec.id}@assessor-calibration",
                sequence=0,
                title=f"Deadline: {rnd.name}",
                starts_at=rec.deadline - dt.timedelta(minutes=30),
                ends_at=rec.deadline,
                timezone=None,
                location="",
                description="Complete your recalibration round before it closes.",
            )
        )
    return events


def feed_ics(session: Session, user: User) -> bytes:
    return calendar_bytes(feed_events(session, user.id), method="PUBLISH", name="Assessor calibration")

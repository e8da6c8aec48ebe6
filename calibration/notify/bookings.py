"""Mail for recalibration: booking invitations and cancellations with an ``.ics`` attachment, and
reminders before sessions and deadlines. Each is queued once.

A booking's mail is keyed by ``(booking, sequence)``: a new booking, a move or a cancellation
raises the sequence, so exactly one mail goes out per change, however many times (or however
concurrently) this runs. The claim (the sent-notice table of :mod:`calibration.services.notices`)
and the mail's row in the outbox (:mod:`calibration.notify.outbox`) are written in one transaction; the
outbox then sends it, records a failure and retries it (the trainer sees mail that did not go out
on the session page). A booking whose claim was never written is found again by the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import utcnow, write_intent
from ..models import (
    Program,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    SentNotice,
    SessionBooking,
    SessionStatus,
    User,
)
from ..services import calendar, drift, notices
from ..services.sessions import ACTIVE
from ..services.timezones import format_session_start, format_when, reader_zone_of
from . import mail, outbox

INVITATION = "session-invitation"
CANCELLATION = "session-cancellation"
SESSION_REMINDER = "session-reminder"
DEADLINE_REMINDER = "deadline-reminder"


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0


def _link(endpoint: str) -> str:
    if has_request_context():
        return url_for(endpoint, _external=True)
    base = str(current_app.config.get("PUBLIC_BASE_URL", "http://localhost")).rstrip("/")
    with current_app.test_request_context():
        return base + url_for(endpoint)


def start_for(row: RecalibrationSession, reader: User, program_zone: str | None) -> str:
    """The session's start as ``reader`` reads it: in their own zone when they set one, else the
    program's, the zone named, and in the session's own zone too when that differs, e.g.
    ``Tuesday 8 December 2026, 09:00 EST (15:00 CET in Europe/Berlin, the session’s zone)``. The
    ``.ics`` attachment keeps the session's own zone (its TZID): a calendar shows it in the reader's."""
    return format_session_start(row.starts_at, row.timezone, reader_zone_of(reader.timezone, program_zone))


def _program_zones(session: Session, program_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(program_ids))
    if not ids:
        return {}
    rows = session.execute(select(Program.id, Program.timezone).where(Program.id.in_(ids)))
    return {program_id: zone for program_id, zone in rows}


@dataclass(frozen=True)
class _About:
    program_id: int
    session_id: int | None


_Work = tuple[notices.DueNotice, mail.Mail, _About]


def _queue_in(session: Session, notice: notices.DueNotice, message: mail.Mail, about: _About) -> int | None:
    """Claim the notice (in a savepoint) and write its mail to the outbox, in ``session``'s
    transaction; the outbox row's id (None if another transaction claimed it first)."""
    if not notices.claim(session, notice):
        return None
    notices.mark_sent(session, notice.key, now=utcnow())
    row = outbox.queue(
        session,
        message,
        kind=notice.kind,
        program_id=about.program_id,
        session_id=about.session_id,
        user_id=notice.user_id,
    )
    return row.id


def _queue(
    maker: sessionmaker[Session], notice: notices.DueNotice, message: mail.Mail, about: _About
) -> int | None:
    """Claim the notice and queue its mail in a transaction of its own (committed here)."""
    with write_intent(), maker() as session:
        queued = _queue_in(session, notice, message, about)
        if queued is not None:
            outbox.cover(session, [queued])  # sent by this run right after; a job if it dies first
        session.commit()
        return queued


def _deliver(maker: sessionmaker[Session], work: list[_Work], out: Outcome) -> None:
    queued = [
        i for notice, message, about in work if (i := _queue(maker, notice, message, about)) is not None
    ]
    if queued:
        sent = outbox.deliver_due(maker, ids=queued)
        out.sent += sent.sent
        out.failed += sent.failed


def _taken(session: Session, keys: list[str]) -> set[str]:
    return set(session.scalars(select(SentNotice.key).where(SentNotice.key.in_(keys)))) if keys else set()


def _booking_mail(
    session: Session, b: SessionBooking, key: str, link: str, program_zone: str | None
) -> _Work | None:
    """The invitation, update or cancellation for one change of booking ``b`` (None when there is
    nothing to say: a booking cancelled before it was ever mailed)."""
    cancelled = b.status not in ACTIVE or b.session.status == SessionStatus.CANCELLED
    if cancelled and b.sequence == 0:
        return None  # never invited: nothing to cancel
    user = session.get(User, b.user_id)
    if user is None:  # the booking's foreign key makes this impossible
        raise LookupError(f"user {b.user_id} of booking {b.id} is gone")
    data, method = calendar.booking_ics(b, user)
    kind = CANCELLATION if method == "CANCEL" else INVITATION
    subject = (
        f"Cancelled: {b.session.title}"
        if cancelled
        else (
            f"Recalibration session: {b.session.title}" if b.sequence == 0 else f"Updated: {b.session.title}"
        )
    )
    message = mail.render_mail(
        "session_invitation",
        to=user.email,
        subject=subject,
        attachments=(
            mail.Attachment(
                "invite.ics", "text", "calendar", data, (("method", method), ("charset", "UTF-8"))
            ),
        ),
        name=user.name,
        row=b.session,
        when=start_for(b.session, user, program_zone),
        cancelled=cancelled,
        link=link,
    )
    notice = notices.DueNotice(key, kind, user.id, user.email, user.name, "", b.session.starts_at)
    return notice, message, _About(b.session.program_id, b.session_id)


def _booking_mails(session: Session, *, now: dt.datetime, user_ids: Iterable[int] | None) -> list[_Work]:
    """The mail of every change of an upcoming booking (of ``user_ids`` if given) not mailed yet."""
    link = _link("assessor_sessions.sessions_page")
    stmt = (
        select(SessionBooking)
        .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
        .where(RecalibrationSession.starts_at > now)
        .order_by(SessionBooking.id)
    )
    if user_ids is not None:
        stmt = stmt.where(SessionBooking.user_id.in_(list(user_ids)))
    bookings = list(session.scalars(stmt))
    keys = {b.id: f"booking:{b.id}:{b.sequence}" for b in bookings}
    taken = _taken(session, list(keys.values()))
    zones = _program_zones(session, (b.session.program_id for b in bookings if keys[b.id] not in taken))
    return [
        work
        for b in bookings
        if keys[b.id] not in taken
        and (work := _booking_mail(session, b, keys[b.id], link, zones.get(b.session.program_id))) is not None
    ]


def queue_booking_mails(
    session: Session, *, user_ids: Iterable[int], now: dt.datetime | None = None
) -> list[int]:
    """Queue the mail of the booking changes of ``user_ids`` not mailed yet, in ``session``'s
    transaction: the claims, the outbox rows and the changes commit (or roll back) together.
    Returns the outbox ids (the caller delivers them after its commit)."""
    work = _booking_mails(session, now=now or utcnow(), user_ids=user_ids)
    return [
        i for notice, message, about in work if (i := _queue_in(session, notice, message, about)) is not None
    ]


def send_booking_mails(
    maker: sessionmaker[Session], *, now: dt.datetime | None = None, user_ids: Iterable[int] | None = None
) -> Outcome:
    """The safety-net sweep (``evaluate-drift``): queue, each in its own transaction, and send the
    mail of every booking change of an upcoming session that was never queued, e.g. a booking made
    by a command or before its transaction queued its own mail (:func:`queue_booking_mails`)."""
    out = Outcome()
    with maker() as session:
        work = _booking_mails(session, now=now or utcnow(), user_ids=user_ids)
    _deliver(maker, work, out)
    return out


def send_reminders(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> Outcome:
    """Reminders before sessions (``session_reminder_hours``) and deadlines (``deadline_reminder_days``)."""
    now = now or utcnow()
    out = Outcome()
    link = _link("assessor_sessions.sessions_page")
    work: list[_Work] = []
    with maker() as session:
        programs = session.execute(select(Program.id, Program.settings_json, Program.timezone)).all()
        settings = {pid: drift.drift_settings(sj) for pid, sj, _ in programs}
        zones = {pid: zone for pid, _, zone in programs}
        for b in session.scalars(
            select(SessionBooking)
            .join(RecalibrationSession, RecalibrationSession.id == SessionBooking.session_id)
            .where(
                SessionBooking.status.in_(ACTIVE),
                RecalibrationSession.status == SessionStatus.SCHEDULED,
                RecalibrationSession.starts_at > now,
            )
            .order_by(SessionBooking.id)
        ):
            ahead = dt.timedelta(hours=float(settings[b.session.program_id].session_reminder_hours))
            if b.session.starts_at > now + ahead:
                continue
            user = b.user
            key = f"{SESSION_REMINDER}:{b.id}:{b.session.starts_at:%Y%m%dT%H%M}"
            message = mail.render_mail(
                "session_reminder", to=user.email, subject=f"Reminder: {b.session.title}",
                name=user.name, row=b.session, when=start_for(b.session, user, zones[b.session.program_id]),
                link=link,
            )  # fmt: skip
            work.append(
                (
                    notices.DueNotice(
                        key, SESSION_REMINDER, user.id, user.email, user.name, "", b.session.starts_at
                    ),
                    message,
                    _About(b.session.program_id, b.session_id),
                )
            )
        for rec in session.scalars(
            select(Recalibration)
            .where(Recalibration.outcome == RecalibrationOutcome.PENDING, Recalibration.deadline > now)
            .order_by(Recalibration.id)
        ):
            ahead = dt.timedelta(days=float(settings[rec.program_id].deadline_reminder_days))
            if rec.deadline > now + ahead:
                continue
            person = session.get(User, rec.user_id)
            assert person is not None
            key = f"{DEADLINE_REMINDER}:{rec.id}:{rec.deadline:%Y%m%dT%H%M}"
            message = mail.render_mail(
                "deadline_reminder", to=person.email, subject=f"Reminder: “{rec.round.name}” closes soon",
                name=person.name, round=rec.round, link=link,
                # In the assessor's own zone (else the program's), named: "14 December 2026 at 17:00 EST".
                deadline=format_when(
                    rec.deadline, reader_zone_of(person.timezone, zones[rec.program_id]), "%-d %B %Y at"
                ),
            )  # fmt: skip
            work.append(
                (
                    notices.DueNotice(
                        key, DEADLINE_REMINDER, person.id, person.email, person.name, "", rec.deadline
                    ),
                    message,
                    _About(rec.program_id, None),
                )
            )
        taken = _taken(session, [n.key for n, _, _ in work])
    _deliver(maker, [w for w in work if w[0].key not in taken], out)
    return out

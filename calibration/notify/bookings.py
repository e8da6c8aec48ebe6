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
    base = current_app.config.get("PUBLIC_BASE_URL", "http://localhost").rstrip("/")
    with current_app.test_request_context():
        return base + url_for(endpoint)


def local_time(row: RecalibrationSession) -> str:
    """The start as the session's own zone shows it, e.g. ``Tuesday 8 December 2026, 09:00 (Europe/Berlin)``."""
    from zoneinfo import ZoneInfo

    local = row.starts_at.astimezone(ZoneInfo(row.timezone))
    return f"{local:%A %-d %B %Y, %H:%M} ({row.timezone})"


@dataclass(frozen=True)
class _About:
    program_id: int
    session_id: int | None


def _queue(
    maker: sessionmaker[Session], notice: notices.DueNotice, message: mail.Mail, about: _About
) -> int | None:
    """Claim the notice and queue its mail in one transaction; the outbox row's id (None if another
    run claimed it first)."""
    with write_intent(), maker() as session:
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
        session.commit()
        return row.id


def _deliver(
    maker: sessionmaker[Session], work: list[tuple[notices.DueNotice, mail.Mail, _About]], out: Outcome
) -> None:
    queued = [
        i for notice, message, about in work if (i := _queue(maker, notice, message, about)) is not None
    ]
    if queued:
        sent = outbox.deliver_due(maker, ids=queued)
        out.sent += sent.sent
        out.failed += sent.failed


def _taken(session: Session, keys: list[str]) -> set[str]:
    return set(session.scalars(select(SentNotice.key).where(SentNotice.key.in_(keys)))) if keys else set()


def send_booking_mails(
    maker: sessionmaker[Session], *, now: dt.datetime | None = None, user_ids: Iterable[int] | None = None
) -> Outcome:
    """Send the invitation or cancellation for every booking change not mailed yet (upcoming sessions)."""
    now = now or utcnow()
    out = Outcome()
    link = _link("assessor_sessions.sessions_page")
    with maker() as session:
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
        work = []
        for b in bookings:
            if keys[b.id] in taken:
                continue
            cancelled = b.status not in ACTIVE or b.session.status == SessionStatus.CANCELLED
            if cancelled and b.sequence == 0:
                continue  # never invited: nothing to cancel
            user = session.get(User, b.user_id)
            assert user is not None
            data, method = calendar.booking_ics(b, user)
            kind = CANCELLATION if method == "CANCEL" else INVITATION
            subject = (
                f"Cancelled: {b.session.title}"
                if cancelled
                else (
                    f"Recalibration session: {b.session.title}"
                    if b.sequence == 0
                    else f"Updated: {b.session.title}"
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
                when=local_time(b.session),
                cancelled=cancelled,
                link=link,
            )
            notice = notices.DueNotice(
                keys[b.id], kind, user.id, user.email, user.name, "", b.session.starts_at
            )
            work.append((notice, message, _About(b.session.program_id, b.session_id)))
    _deliver(maker, work, out)
    return out


def send_reminders(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> Outcome:
    """Reminders before sessions (``session_reminder_hours``) and deadlines (``deadline_reminder_days``)."""
    now = now or utcnow()
    out = Outcome()
    link = _link("assessor_sessions.sessions_page")
    work = []
    with maker() as session:
        settings = {
            pid: drift.drift_settings(sj)
            for pid, sj in session.execute(select(Program.id, Program.settings_json)).all()
        }
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
                name=user.name, row=b.session, when=local_time(b.session), link=link,
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
                name=person.name, round=rec.round, deadline=rec.deadline, link=link,
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

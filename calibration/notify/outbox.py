"""The mail outbox: durable outgoing mail.

A change that should be reported by mail writes the mail as a row (:class:`OutgoingMail`) in its
own transaction (:func:`queue`, usually from the events the services recorded:
:mod:`calibration.notify.dispatch`), so the mail exists exactly when the change does. After the
commit the rows that transaction queued (:func:`take_queued`) are sent (:func:`deliver_due`) by
whoever committed (a web request's boundary, :mod:`calibration.web.boundary`, or a command), or by
a ``mail.deliver`` job (:data:`DELIVER_JOB`) that the transaction enqueued beside them
(:func:`enqueue_delivery`: mail the reply must not wait for). The periodic ``mail.deliver`` job
(every five minutes), ``flask send-mail``, ``send-reminders`` and ``evaluate-drift`` also send
whatever is due.

Each attempt is claimed with one conditional ``UPDATE`` (so two processes never send the same row:
on PostgreSQL a second worker's ``UPDATE`` waits for the first and then finds the row no longer
due) and recorded: the number of attempts, when, and the last error. The claim holds the row for
``MAIL_LEASE_SECONDS`` and, in the same transaction, enqueues a ``mail.deliver`` job for when it
runs out: if the process sending it dies, that job tries again. Recording the attempt withdraws
that job; a failed attempt enqueues the next one instead, after a growing wait (1, 2, 4 … minutes,
at most an hour); after ``MAIL_MAX_ATTEMPTS`` the row is marked failed and waits for a trainer's
"Try again now". Trainers see every mail of their program that has not gone out
(:func:`undelivered`). Once sent, a row's bodies and attachments are cleared: they can carry
one-time links, which the database should hold no longer than needed.

At most once per claim, at least once per mail: a process killed after the mail server accepted a
message but before the attempt was recorded sends it again when its claim runs out, with the same
``Message-ID`` (:func:`message_id`), by which mail programs recognise a repeat.

A password-reset request is queued as a row too (kind :data:`RESET_REQUEST`, holding only the
address typed), so the reply to "forgot password" does the same work whether or not the address
has an account; the account is looked up, and the link issued and mailed, after the reply.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app, url_for
from sqlalchemy import CursorResult, Result, event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.local import LocalProxy

from ..db import get_db, utcnow, write_intent
from ..models import JobStatus, MailStatus, OutgoingMail
from ..services import jobs, onboarding
from . import mail

log = logging.getLogger(__name__)

RESET_REQUEST = "password-reset-request"
RESET_MAIL = "password-reset"
DELIVER_JOB = "mail.deliver"  # payload ``{"ids": [...]}``: send those rows if due; ``{}``: all that is due
LEASE = dt.timedelta(minutes=5)  # default ``MAIL_LEASE_SECONDS``: a claimed row is not tried by anyone else
MAX_BACKOFF_MINUTES = 60
ERROR_MAX_CHARS = 300
SUBJECT_MAX_CHARS = 500


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (``Session.execute`` is typed as returning a plain ``Result``)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _app() -> Flask:
    """The application itself, not its context-local proxy (a thread outlives the request)."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def backoff(attempts: int) -> dt.timedelta:
    """How long a row waits after its ``attempts``-th failed try."""
    return dt.timedelta(minutes=min(MAX_BACKOFF_MINUTES, 2 ** max(0, attempts - 1)))


def _dump_attachments(items: Iterable[mail.Attachment]) -> str:
    return json.dumps(
        [
            {
                "filename": a.filename,
                "maintype": a.maintype,
                "subtype": a.subtype,
                "data": base64.b64encode(a.data).decode(),
                "params": [list(p) for p in a.params],
            }
            for a in items
        ]
    )


def _load_attachments(text: str) -> tuple[mail.Attachment, ...]:
    return tuple(
        mail.Attachment(
            a["filename"],
            a["maintype"],
            a["subtype"],
            base64.b64decode(a["data"]),
            tuple((str(k), str(v)) for k, v in a["params"]),
        )
        for a in json.loads(text or "[]")
    )


_QUEUED = "calibration.outbox.queued"


def queue(
    session: Session,
    message: mail.Mail,
    *,
    kind: str,
    program_id: int | None = None,
    session_id: int | None = None,
    user_id: int | None = None,
    now: dt.datetime | None = None,
) -> OutgoingMail:
    """Write ``message`` to the outbox in the caller's transaction (flushed, not committed)."""
    now = now or utcnow()
    row = OutgoingMail(
        kind=kind,
        program_id=program_id,
        session_id=session_id,
        user_id=user_id,
        to_address=message.to,
        reply_to=message.reply_to,
        subject=message.subject[:SUBJECT_MAX_CHARS],
        body_text=message.text,
        body_html=message.html,
        attachments_json=_dump_attachments(message.attachments),
        status=MailStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(_QUEUED, []).append(row.id)
    return row


def enqueue_delivery(session: Session, ids: Iterable[int]) -> None:
    """Have a ``mail.deliver`` job send these rows once the caller's transaction is committed
    (written in it, so the job exists exactly when the mail does, and is handed to the queue after
    the commit). Nothing is sent here: the caller's reply does not wait for the mail server."""
    ids = sorted(ids)
    if ids:
        jobs.enqueue(session, DELIVER_JOB, {"ids": ids}, dedupe_key=f"{DELIVER_JOB}:{ids[0]}:new")


def cover(session: Session, ids: Iterable[int]) -> None:
    """In the caller's transaction: a safety net for rows this process is about to send itself
    after the commit (a page that says whether its mail went). Should the process die before or
    while it sends them, a ``mail.deliver`` job sends them once ``MAIL_LEASE_SECONDS`` have passed;
    it is the job the first try's claim would enqueue (the claim moves it to its own end), withdrawn
    when the try is recorded. Not handed to the queue: the sweep finds it if it is ever due. Needs
    an app context."""
    at = utcnow() + _lease(_app())
    for mail_id in ids:
        jobs.enqueue(
            session,
            DELIVER_JOB,
            {"ids": [mail_id]},
            dedupe_key=_lease_job(mail_id, 1),
            run_after=at,
            hand_over=False,
        )


def _lease_job(mail_id: int, attempt: int) -> str:
    """The dedupe key of the job that takes over a row if its ``attempt``-th try is cut short."""
    return f"{DELIVER_JOB}:{mail_id}:lease{attempt}"


def _retry_job(mail_id: int, attempt: int) -> str:
    """The dedupe key of the job that makes the try after a failed ``attempt``-th one."""
    return f"{DELIVER_JOB}:{mail_id}:retry{attempt}"


def message_id(mail_id: int, created_at: dt.datetime, sender: str) -> str:
    """The ``Message-ID`` of outbox row ``mail_id``: the same on every try, so a repeat sent after
    a process died mid-way is recognisable as one (the creation time keeps ids apart across
    databases that reuse row numbers)."""
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    return f"<outbox.{mail_id}.{created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _lease(app: Flask) -> dt.timedelta:
    return dt.timedelta(seconds=int(app.config.get("MAIL_LEASE_SECONDS", LEASE.total_seconds())))


def take_queued(session: Session) -> tuple[int, ...]:
    """The ids of the mail :func:`queue` wrote in ``session`` since the last take (the boundary
    delivers them once its commit has succeeded)."""
    return tuple(session.info.pop(_QUEUED, []))


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    """A rolled-back transaction queued nothing (its rows are gone; their ids may be reused)."""
    session.info.pop(_QUEUED, None)


def queue_reset_request(
    session: Session, email: str, *, base_url: str, request_id: str | None, now: dt.datetime | None = None
) -> None:
    """Record a "forgot password" request; it is handled after the reply (see the module text).

    Like :func:`queue`, the row's id is kept in the session for :func:`take_queued`, so the
    boundary that commits knows there is mail to deliver."""
    now = now or utcnow()
    row = OutgoingMail(
        kind=RESET_REQUEST,
        to_address=email.strip()[:254],
        subject="",
        body_text=json.dumps({"base_url": base_url, "request_id": request_id}),
        body_html="",
        attachments_json="[]",
        status=MailStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    session.info.setdefault(_QUEUED, []).append(row.id)


# ------------------------------------------------------------------------------------- delivery
@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    to: str
    subject: str
    text: str
    html: str
    attachments_json: str
    attempts: int
    reply_to: str | None = None
    created_at: dt.datetime | None = None


def _claim(
    maker: sessionmaker[Session], mail_id: int, now: dt.datetime, lease: dt.timedelta = LEASE
) -> _Claimed | None:
    """Take the row for one try if it is pending and due at ``now``; None if it is not (sent, given
    up, waiting, or claimed by another process: the conditional ``UPDATE`` lets one through)."""
    # The claim runs from the present even when ``now`` is a batch's start, long past by this row.
    until = max(now, utcnow()) + lease
    with write_intent(), maker() as session:
        result = session.execute(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == mail_id,
                OutgoingMail.status == MailStatus.PENDING,
                OutgoingMail.next_attempt_at <= now,
            )
            .values(attempts=OutgoingMail.attempts + 1, last_attempt_at=now, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return None  # sent, given up, or claimed by another process meanwhile
        row = session.get(OutgoingMail, mail_id)
        assert row is not None
        claimed = _Claimed(
            row.id, row.kind, row.to_address, row.subject, row.body_text, row.body_html,
            row.attachments_json, row.attempts, row.reply_to, row.created_at,
        )  # fmt: skip
        # Should this process die before the try is recorded, this job makes the next one when the
        # claim runs out (the queue's sweep hands it over then; _finish withdraws it). A net laid
        # for this try before (:func:`cover`) is the same job: it now waits for the claim's end.
        net = jobs.enqueue(
            session,
            DELIVER_JOB,
            {"ids": [mail_id]},
            dedupe_key=_lease_job(mail_id, claimed.attempts),
            run_after=until,
            hand_over=False,
        )
        if net.status == JobStatus.QUEUED and net.run_after < until:
            net.run_after = until
        session.commit()
    return claimed


def _finish(
    maker: sessionmaker[Session], claimed: _Claimed, now: dt.datetime, error: str | None, max_attempts: int
) -> None:
    if error is None:
        values: dict[str, object] = {
            "status": MailStatus.SENT,
            "sent_at": now,
            "last_error": None,
            "body_text": "",
            "body_html": "",
            "attachments_json": "[]",
        }
    else:
        values = {
            "status": MailStatus.FAILED if claimed.attempts >= max_attempts else MailStatus.PENDING,
            "last_error": error[:ERROR_MAX_CHARS],
            "next_attempt_at": now + backoff(claimed.attempts),
        }
    stmt = update(OutgoingMail).where(OutgoingMail.id == claimed.id)
    if error is not None:  # a failure is recorded only while the claim is still this try's
        stmt = stmt.where(
            OutgoingMail.status == MailStatus.PENDING, OutgoingMail.attempts == claimed.attempts
        )
    with write_intent(), maker() as session:
        recorded = _rowcount(
            session.execute(stmt.values(**values).execution_options(synchronize_session=False))
        )
        jobs.cancel(session, _lease_job(claimed.id, claimed.attempts))
        if recorded and values["status"] == MailStatus.PENDING:
            jobs.enqueue(
                session,
                DELIVER_JOB,
                {"ids": [claimed.id]},
                dedupe_key=_retry_job(claimed.id, claimed.attempts),
                run_after=cast(dt.datetime, values["next_attempt_at"]),
            )
        session.commit()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, mail.MailError):
        return str(exc)
    return f"The message could not be built or handed over ({exc.__class__.__name__}: {exc})"


def _handle_reset_request(maker: sessionmaker[Session], claimed: _Claimed, app: Flask) -> int | None:
    """Look the address up, issue the link and queue its mail (all in one transaction); returns the
    queued mail's id, or None when nothing is to be sent (unknown address, throttled)."""
    details = json.loads(claimed.text or "{}")
    hours = app.config["PASSWORD_RESET_HOURS"]
    with write_intent(), maker() as session:
        requested = onboarding.request_password_reset(
            session,
            claimed.to,
            lifetime=dt.timedelta(hours=hours),
            request_id=details.get("request_id"),
            max_per_hour=app.config["PASSWORD_RESETS_PER_HOUR"],
        )
        queued = None
        if requested.user is not None and requested.token is not None:
            base = str(details.get("base_url") or app.config["PUBLIC_BASE_URL"]).rstrip("/") + "/"
            with app.test_request_context(base_url=base):
                link = url_for("account.reset_password", token=requested.token, _external=True)
                message = mail.render_mail(
                    "password_reset",
                    to=requested.user.email,
                    subject="Reset your Assessor Calibration password",
                    name=requested.user.name,
                    link=link,
                    hours=hours,
                )
            queued = queue(session, message, kind=RESET_MAIL, user_id=requested.user.id).id
            cover(session, [queued])  # sent just below, by this process
        session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == claimed.id)
            .values(status=MailStatus.SENT, sent_at=utcnow(), body_text="", last_error=None)
            .execution_options(synchronize_session=False)
        )
        jobs.cancel(session, _lease_job(claimed.id, claimed.attempts))
        session.commit()
    return queued


def _deliver_one(
    maker: sessionmaker[Session], mail_id: int, now: dt.datetime, out: Outcome, app: Flask
) -> None:
    claimed = _claim(maker, mail_id, now, _lease(app))
    if claimed is None:
        return
    max_attempts = int(app.config.get("MAIL_MAX_ATTEMPTS", 8))
    if claimed.kind == RESET_REQUEST:
        try:
            queued = _handle_reset_request(maker, claimed, app)
        except Exception as exc:  # recorded on the row and retried, never raised
            log.exception("password reset request %s could not be handled", claimed.id)
            _finish(maker, claimed, now, _describe(exc), max_attempts)
            out.failed += 1
            return
        if queued is not None:
            _deliver_one(maker, queued, utcnow(), out, app)  # queued just now: due now, not at ``now``
        return
    try:
        message = mail.Mail(
            to=claimed.to,
            subject=claimed.subject,
            text=claimed.text,
            html=claimed.html,
            attachments=_load_attachments(claimed.attachments_json),
            reply_to=claimed.reply_to,
            message_id=message_id(
                claimed.id,
                claimed.created_at or now,
                str(app.config.get("MAIL_SENDER") or "localhost"),
            ),
        )
        mail.get_mailer(app).send(message)
    except Exception as exc:  # a mail failure is recorded and retried, never a 500
        if not isinstance(exc, mail.MailError):
            log.exception("mail %s could not be sent", claimed.id)
        _finish(maker, claimed, now, _describe(exc), max_attempts)
        out.failed += 1
        return
    _finish(maker, claimed, now, None, max_attempts)
    out.sent += 1


def deliver_due(
    maker: sessionmaker[Session] | None = None,
    *,
    now: dt.datetime | None = None,
    program_id: int | None = None,
    ids: Iterable[int] | None = None,
    limit: int = 200,
) -> Outcome:
    """Send every pending row that is due (oldest first; only ``program_id``'s or ``ids`` if given).
    Needs an app context; never raises for a mail that cannot be sent."""
    app = _app()
    maker = maker or get_db(app).sessionmaker
    now = now or utcnow()
    stmt = (
        select(OutgoingMail.id)
        .where(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.id)
        .limit(limit)
    )
    if program_id is not None:
        stmt = stmt.where(OutgoingMail.program_id == program_id)
    if ids is not None:
        stmt = stmt.where(OutgoingMail.id.in_(list(ids)))
    with maker() as session:
        due = list(session.scalars(stmt))
    out = Outcome()
    for mail_id in due:
        _deliver_one(maker, mail_id, now, out, app)
    return out


@jobs.handler(DELIVER_JOB)
def deliver_job(maker: sessionmaker[Session], payload: dict[str, Any]) -> None:
    """The ``mail.deliver`` job: send the rows named in the payload (``ids``) that are due, or every
    row that is due (the periodic run). Idempotent: each try is claimed on its row, a sent row is
    never sent again, and a row that is not due (waiting, or being sent by another process) is left
    to the job its own state enqueued."""
    ids = payload.get("ids")
    deliver_due(maker, ids=[int(i) for i in ids] if ids else None)


def retry_failed(session: Session, *, program_id: int, now: dt.datetime | None = None) -> int:
    """Put the program's undelivered mail back in line for an attempt now; returns how many."""
    result = session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.program_id == program_id,
            or_(
                OutgoingMail.status == MailStatus.FAILED,
                (OutgoingMail.status == MailStatus.PENDING) & OutgoingMail.last_error.is_not(None),
            ),
        )
        .values(status=MailStatus.PENDING, next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def unsent_addresses(session: Session, ids: Iterable[int]) -> list[str]:
    """The recipients of those outbox rows that have not been sent (after an attempt to send them)."""
    return list(
        session.scalars(
            select(OutgoingMail.to_address)
            .where(OutgoingMail.id.in_(list(ids)), OutgoingMail.status != MailStatus.SENT)
            .order_by(OutgoingMail.id)
        )
    )


@dataclass(frozen=True)
class UndeliveredLine:
    id: int
    to: str
    subject: str
    session_id: int | None
    attempts: int
    last_attempt_at: dt.datetime | None
    last_error: str
    gave_up: bool
    next_attempt_at: dt.datetime


def undelivered(session: Session, *, program_id: int, session_id: int | None = None) -> list[UndeliveredLine]:
    """The program's mail that has not gone out after at least one attempt (oldest first)."""
    stmt = (
        select(OutgoingMail)
        .where(
            OutgoingMail.program_id == program_id,
            or_(
                OutgoingMail.status == MailStatus.FAILED,
                (OutgoingMail.status == MailStatus.PENDING) & (OutgoingMail.attempts > 0),
            ),
        )
        .order_by(OutgoingMail.id)
    )
    if session_id is not None:
        stmt = stmt.where(OutgoingMail.session_id == session_id)
    return [
        UndeliveredLine(
            r.id,
            r.to_address,
            r.subject,
            r.session_id,
            r.attempts,
            r.last_attempt_at,
            r.last_error or "",
            r.status == MailStatus.FAILED,
            r.next_attempt_at,
        )
        for r in session.scalars(stmt)
    ]

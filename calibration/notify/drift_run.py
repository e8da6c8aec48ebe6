"""One drift evaluation of every program (``flask evaluate-drift`` and the ``drift.evaluate`` job).

Order: missed deadlines suspend (pending the trainer); recalibrations waiting for anchors start where
the anchors now allow; every program's rules are evaluated and new flags recorded (expiry flags,
and with ``auto_recalibrate`` every assessor flag but a lean, start recalibration; a lean is
feedback and is counted apart); assessors waiting for a session are booked where there is room.
The mail of the booking changes is queued in the same transaction (the events the services
recorded, :mod:`calibration.notify.dispatch`) and sent after the commit; then a sweep mails any
booking change whose mail was never queued, and the reminders due go out, each claimed against a
unique key. Safe to run at any time and twice at once: a second run finds nothing new to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import utcnow, write_intent
from ..models import FlagRule, Program
from ..services import drift, events, jobs, recalibration, sessions
from ..services.context import SystemActor
from . import bookings as drift_mail
from . import dispatch, outbox

JOB_KIND = jobs.DRIFT_EVALUATE


@dataclass(frozen=True)
class Summary:
    flags: int
    leans: int
    resumed: int
    booked: int
    missed: int
    mails_sent: int
    reminders_sent: int
    failed: int


def evaluate_all(maker: sessionmaker[Session], *, now: dt.datetime | None = None) -> Summary:
    """Evaluate the drift rules of every program and act on them (see the module text). Needs an
    app context (mail)."""
    now = now or utcnow()
    with write_intent(), maker() as session:
        missed = recalibration.expire_deadlines(session, now=now)
        flags = leans = booked = resumed = 0
        for program_id in list(session.scalars(select(Program.id).order_by(Program.id))):
            resumed += sum(
                1
                for s in recalibration.retry_waiting(
                    session, SystemActor(program_id), program_id=program_id, now=now
                )
                if s.recalibration is not None
            )
            new = recalibration.evaluate_and_act(session, program_id, now=now)
            leans += sum(1 for f in new if f.rule == FlagRule.LEAN)
            flags += len(new) - sum(1 for f in new if f.rule == FlagRule.LEAN)
            window = int(drift.program_drift_settings(session, program_id).recalibration_window_days)
            booked += len(
                sessions.book_waiting(
                    session, SystemActor(program_id), program_id=program_id, window_days=window, now=now
                )
            )
        queued = dispatch.queue_for(session, events.take(session))
        outbox.cover(session, queued)  # sent just below; by a job should this run die first
        session.commit()
    booked_mail = outbox.deliver_due(maker, ids=queued) if queued else outbox.Outcome()
    swept = drift_mail.send_booking_mails(maker, now=now)
    reminders = drift_mail.send_reminders(maker, now=now)
    retried = outbox.deliver_due(maker, now=now)  # earlier mail that failed and is due again
    return Summary(
        flags=flags,
        leans=leans,
        resumed=resumed,
        booked=booked,
        missed=len(missed),
        mails_sent=booked_mail.sent + swept.sent,
        reminders_sent=reminders.sent,
        failed=booked_mail.failed + swept.failed + reminders.failed + retried.failed,
    )


@jobs.handler(JOB_KIND)
def evaluate_job(maker: sessionmaker[Session], _payload: dict[str, Any]) -> None:
    """The periodic (hourly) and after-import drift evaluation: idempotent, like the command."""
    evaluate_all(maker)

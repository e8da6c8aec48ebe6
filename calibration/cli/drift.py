"""``evaluate-drift``: evaluate the drift rules, start recalibrations, book sessions and send each
invitation and reminder once (safe for cron: a second run finds nothing new to do).

Order: missed deadlines suspend (pending the trainer); recalibrations waiting for anchors start where
the anchors now allow; every program's rules are evaluated and new
flags recorded (expiry flags, and with ``auto_recalibrate`` every assessor flag but a lean, start
recalibration; a lean is feedback and is counted apart); assessors waiting for a session are booked where there is room. The mail of the
booking changes is queued in the same transaction (the events the services recorded,
:mod:`calibration.notify.dispatch`) and sent after the commit; then a sweep mails any booking change
whose mail was never queued, and the reminders due go out, each claimed against a unique key.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import get_db, utcnow, write_intent
from ..models import FlagRule, Program
from ..notify import bookings as drift_mail
from ..notify import dispatch, outbox
from ..services import drift, events, recalibration, sessions
from ..services.context import SystemActor


@click.command("evaluate-drift")
@with_appcontext
def evaluate_drift() -> None:
    """Record new drift flags, start recalibrations, book sessions, mail invitations and reminders."""
    maker = get_db().sessionmaker
    now = utcnow()
    with write_intent(), maker() as session:
        missed = recalibration.expire_deadlines(session, now=now)
        flags = 0
        leans = 0
        booked = 0
        resumed = 0
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
        session.commit()
    booked_mail = outbox.deliver_due(maker, ids=queued) if queued else outbox.Outcome()
    swept = drift_mail.send_booking_mails(maker, now=now)
    mails = outbox.Outcome(booked_mail.sent + swept.sent, booked_mail.failed + swept.failed)
    reminders = drift_mail.send_reminders(maker, now=now)
    retried = outbox.deliver_due(maker, now=now)  # earlier mail that failed and is due again
    failed = mails.failed + reminders.failed + retried.failed
    click.echo(
        f"{flags} new flag(s); {resumed} waiting recalibration(s) started; {booked} booking(s); "
        f"{len(missed)} missed deadline(s); "
        f"{mails.sent} invitation mail(s) and {reminders.sent} reminder(s) sent"
        + (f", {failed} failed (will be retried)" if failed else "")
        + "."
        + (f" {leans} new lean finding(s): feedback for the assessor, no recalibration." if leans else "")
    )
    if failed:
        raise click.ClickException(f"{failed} mail(s) could not be sent.")

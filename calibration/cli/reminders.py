"""``send-reminders``: expire certifications that are due and send each notice once (safe for cron).

Run it as often as you like (e.g. hourly): an expired certification becomes ``recalibration_due``
once, and every reminder is claimed against a unique key before it is sent, so a second run, or two
runs at the same time, never send a notice twice. A notice whose mail fails is released and retried
by the next run; the command then exits non-zero.
"""

from __future__ import annotations

import click
from flask import current_app, url_for
from flask.cli import with_appcontext

from ..db import get_db, utcnow, write_intent
from ..notify import mail, outbox
from ..services import certification, notices
from ..services.timezones import format_day, format_when

SUBJECTS = {
    notices.EXPIRY_REMINDER: "Your assessor certification expires on {date}",
    notices.RECALIBRATION_DUE: "Your assessor certification has expired: recalibration is due",
}


def _link(endpoint: str) -> str:
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    with current_app.test_request_context():
        return base + url_for(endpoint)


@click.command("send-reminders")
@with_appcontext
def send_reminders() -> None:
    """Mark expired certifications recalibration-due and send due reminders (each exactly once)."""
    sessionmaker = get_db().sessionmaker
    defaults = certification.Policy.from_config(current_app.config)
    now = utcnow()
    with write_intent(), sessionmaker() as session:
        expired = certification.expire_due(session, now=now)
        session.commit()
    with sessionmaker() as session:
        due = notices.due_notices(session, defaults=defaults, now=now)
    link = _link("assessor.certification")
    sent = skipped = failed = 0
    for notice in due:
        with write_intent(), sessionmaker() as session:
            if not notices.claim(session, notice, now=now):
                skipped += 1
                continue
            session.commit()
        message = mail.render_mail(
            notice.kind.replace("-", "_"),
            to=notice.email,
            # In the person's own zone (else the program's): the date and time are theirs, named.
            subject=SUBJECTS[notice.kind].format(
                date=format_day(notice.expires_at, notice.zone, "%-d %B %Y")
            ),
            notice=notice,
            expires=format_when(notice.expires_at, notice.zone, "%-d %B %Y at"),
            link=link,
        )
        try:
            mail.send(message)
        except mail.MailError as exc:
            failed += 1
            click.echo(f"Could not send {notice.kind} to {notice.email}: {exc}", err=True)
            with write_intent(), sessionmaker() as session:
                notices.release(session, notice.key)
                session.commit()
            continue
        with write_intent(), sessionmaker() as session:
            notices.mark_sent(session, notice.key, now=utcnow())
            session.commit()
        sent += 1
    queued = outbox.deliver_due(sessionmaker, now=now)  # the outbox: new mail and retries due
    failed += queued.failed
    click.echo(
        f"{len(expired)} certification(s) now recalibration due; {sent} notice(s) sent"
        + (f", {skipped} already sent by another run" if skipped else "")
        + (f", {queued.sent} queued mail(s) sent" if queued.sent else "")
        + (f", {failed} failed (will be retried)" if failed else "")
        + "."
    )
    if failed:
        raise click.ClickException(f"{failed} notice(s) could not be sent.")


@click.command("send-mail")
@with_appcontext
def send_mail() -> None:
    """Send the outbox: new mail and earlier failures that are due again (safe for cron, e.g. every
    few minutes; two runs at once never send a mail twice). Exits non-zero if any mail failed."""
    outcome = outbox.deliver_due(get_db().sessionmaker, limit=10_000)
    click.echo(
        f"{outcome.sent} mail(s) sent"
        + (f", {outcome.failed} failed (will be retried)" if outcome.failed else "")
        + "."
    )
    if outcome.failed:
        raise click.ClickException(f"{outcome.failed} mail(s) could not be sent.")

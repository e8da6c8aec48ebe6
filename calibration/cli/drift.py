"""``evaluate-drift``: evaluate the drift rules, start recalibrations, book sessions and send each
invitation and reminder once (safe for cron: a second run finds nothing new to do). The work itself
is :func:`calibration.notify.drift_run.evaluate_all`, which the hourly ``drift.evaluate`` job runs too.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import get_db
from ..notify import drift_run


@click.command("evaluate-drift")
@with_appcontext
def evaluate_drift() -> None:
    """Record new drift flags, start recalibrations, book sessions, mail invitations and reminders."""
    s = drift_run.evaluate_all(get_db().sessionmaker)
    click.echo(
        f"{s.flags} new flag(s); {s.resumed} waiting recalibration(s) started; {s.booked} booking(s); "
        f"{s.missed} missed deadline(s); "
        f"{s.mails_sent} invitation mail(s) and {s.reminders_sent} reminder(s) sent"
        + (f", {s.failed} failed (will be retried)" if s.failed else "")
        + "."
        + (f" {s.leans} new lean finding(s): feedback for the assessor, no recalibration." if s.leans else "")
    )
    if s.failed:
        raise click.ClickException(f"{s.failed} mail(s) could not be sent.")

"""``expire-validity``: mark validity items seeded into live work that passed their expiry unanswered
as ``expired`` and report them (they stay listed on the trainer's page and in the API: never
dropped). Safe for cron: a second run finds nothing new."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..db import get_db, utcnow, write_intent
from ..models import Program, ValidityAssignment, ValidityStatus
from ..services import validity


@click.command("expire-validity")
@with_appcontext
def expire_validity() -> None:
    """Mark unanswered validity items past their expiry as expired, and report every program's counts."""
    maker = get_db().sessionmaker
    with write_intent(), maker() as session:
        done = validity.expire_due(session, now=utcnow())
        session.commit()
        slugs = dict(session.execute(select(Program.id, Program.slug)).all())
        counts: dict[int, dict[str, int]] = {}
        for pid, status, n in session.execute(
            select(ValidityAssignment.program_id, ValidityAssignment.status, func.count()).group_by(
                ValidityAssignment.program_id, ValidityAssignment.status
            )
        ).all():
            counts.setdefault(int(pid), {})[ValidityStatus(status).value] = int(n)
    for pid, ids in sorted(done.items()):
        click.echo(
            f"{slugs.get(pid, pid)}: {len(ids)} validity item(s) expired now: {', '.join(map(str, ids))}"
        )
    for pid, by_status in sorted(counts.items()):
        click.echo(
            f"{slugs.get(pid, pid)}: {by_status.get('assigned', 0)} waiting for an answer, "
            f"{by_status.get('answered', 0)} answered, {by_status.get('expired', 0)} expired"
        )
    if not done:
        click.echo("No validity item expired now.")

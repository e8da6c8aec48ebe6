"""Periodic work, run as jobs: drift evaluation (hourly), mail that is due (every five minutes:
the outbox's ``mail.deliver`` job with no ids, a sweep behind the jobs each mail has of its own),
and clearing finished job rows after a week. :func:`enqueue_periodic` is called by the
queue's minute task; each run is one job per period (its dedupe key names the period), so several
workers enqueue it once."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from ..db import get_db, utcnow, write_intent
from ..services import jobs
from . import drift_run, outbox

MAIL_JOB = outbox.DELIVER_JOB  # its handler is the outbox's
KEEP_FINISHED = dt.timedelta(days=7)


def enqueue_periodic(app: Flask, *, now: dt.datetime | None = None) -> None:
    """Enqueue this period's drift evaluation and mail run (once per period across all workers)."""
    now = now or utcnow()
    maker = get_db(app).sessionmaker
    with write_intent(), maker() as session:
        jobs.enqueue(session, drift_run.JOB_KIND, {}, dedupe_key=f"{drift_run.JOB_KIND}:{now:%Y-%m-%dT%H}")
        five = now.replace(minute=now.minute - now.minute % 5)
        jobs.enqueue(session, MAIL_JOB, {}, dedupe_key=f"{MAIL_JOB}:{five:%Y-%m-%dT%H:%M}")
        jobs.purge_finished(session, older_than=now - KEEP_FINISHED)
        session.commit()

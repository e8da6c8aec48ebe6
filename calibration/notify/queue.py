"""The job queue: hands committed jobs (:mod:`calibration.services.jobs`) to huey and runs them.

The ``job`` table is the durable record; huey only carries job ids to workers and runs the
periodic work. Storage follows the database: an SQLite deployment keeps the queue in a file of
its own in the instance folder (``JOBS_QUEUE_FILE``), a PostgreSQL one in the ``huey_*`` tables of
the same database (made by the migration), so app instances and ``flask worker`` processes on
several machines share one queue.

* :func:`dispatch` (called by whoever committed: the web boundary, commands, jobs that enqueue
  jobs) marks the jobs handed over and enqueues one huey task per job. With ``JOBS_IMMEDIATE``
  (the tests) huey runs in immediate mode: the job runs synchronously, right after the commit
  that enqueued it, never inside its transaction.
* :func:`sweep` hands over again what a worker should have and does not: jobs never handed over
  (the process died between commit and hand-over), handed over long ago, due again after a
  failure, or running under an expired lease (their worker was killed). Workers sweep at start,
  every ``JOBS_SWEEP_SECONDS``, and the periodic huey task sweeps every minute. Huey removes a
  message when a worker takes it; the sweep is what makes a worker killed with -9 lose nothing.
* :func:`run_due_jobs` runs every due job in this process now (tests, and the CLI).
* ``flask worker [--workers N]`` runs a consumer; ``JOBS_INLINE_WORKER`` starts one inside the
  app's own process (``make run``: no extra service).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterable
from typing import Any, cast

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, PostgresHuey, SqliteHuey, crontab
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.local import LocalProxy

from ..db import get_db, is_sqlite, utcnow, write_intent
from ..services import import_job, jobs  # noqa: F401 - registers the import job
from . import (
    jobs_periodic,
    outbox,  # noqa: F401 - registers the mail delivery handler
    webhook_delivery,  # noqa: F401 - registers the webhook delivery handler
)

log = logging.getLogger(__name__)

_EXTENSION = "calibration.jobs"


def _app() -> Flask:
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def _pg_dsn(url: str) -> str:
    """A libpq connection string from the app's SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class JobQueue:
    """One app's huey instance and its two tasks (run a job, sweep)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lease = dt.timedelta(seconds=int(app.config["JOBS_LEASE_SECONDS"]))
        self.redispatch_after = dt.timedelta(seconds=int(app.config["JOBS_REDISPATCH_SECONDS"]))
        self.immediate = bool(app.config["JOBS_IMMEDIATE"])
        url = app.config["DATABASE_URL"]
        self.huey: Huey
        if self.immediate:
            self.huey = MemoryHuey("calibration", immediate=True, results=False)
        elif is_sqlite(url):
            self.huey = SqliteHuey("calibration", filename=app.config["JOBS_QUEUE_FILE"], results=False)
        else:
            self.huey = PostgresHuey("calibration", dsn=_pg_dsn(url), results=False, create_tables=False)
        self.run_task = self.huey.task(name="calibration.run_job")(self._run)
        self.sweep_task = self.huey.periodic_task(crontab(minute="*"), name="calibration.sweep")(self._sweep)
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()
        self._inline: Any = None  # the consumer run inside this process, if any

    # -- tasks (run in a worker thread, or synchronously in immediate mode)
    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            maker = get_db(self.app).sessionmaker
            if jobs.run_job(maker, job_id, worker=worker_name(), lease=self.lease) == "retry":
                self.hand_over([job_id])  # due again after its wait: scheduled for then

    def _sweep(self) -> None:
        with self.app.app_context():
            sweep(self.app)
            jobs_periodic.enqueue_periodic(self.app)

    # -- hand-over
    def hand_over(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        maker = get_db(self.app).sessionmaker
        jobs.mark_dispatched(maker, ids)
        with maker() as session:
            due_at = jobs.run_after_of(session, ids)
        now = utcnow()
        for job_id in ids:
            when = due_at.get(job_id)
            try:
                if when is not None and when > now and not self.immediate:
                    self.run_task.schedule((job_id,), eta=when.replace(tzinfo=None))
                else:
                    self.run_task(job_id)
            except Exception:  # the row stays queued; the next sweep hands it over again
                log.exception("job %s could not be handed to the queue", job_id)

    # -- consumers
    def consumer(self, workers: int) -> Any:
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=True)

    def start_sweeper(self) -> None:
        """Sweep now and then every ``JOBS_SWEEP_SECONDS`` in a thread (workers only)."""
        interval = float(self.app.config["JOBS_SWEEP_SECONDS"])

        def loop() -> None:
            while True:
                try:
                    with self.app.app_context():
                        sweep(self.app)
                except Exception:  # e.g. the database is restarting: try again next time
                    log.exception("the job sweep failed")
                if self._stop.wait(interval):
                    return

        self._sweeper = threading.Thread(target=loop, name="job-sweeper", daemon=True)
        self._sweeper.start()

    def start_inline(self, workers: int = 1) -> None:
        """Run a consumer's threads inside this process (the development server)."""
        consumer = self._inline = self.consumer(workers)
        consumer.scheduler.start()  # not consumer.start(): the server keeps its own signal handlers
        for _name, worker in consumer.worker_threads:
            worker.start()
        self.start_sweeper()

    def stop(self) -> None:
        """Stop the sweeper and close this thread's connection to the queue's storage."""
        self._stop.set()
        if self._inline is not None:
            self._inline.stop_flag.set()  # its threads finish the job in hand, then end
        self.huey.storage.close()


def init_app(app: Flask) -> None:
    queue = JobQueue(app)
    app.extensions[_EXTENSION] = queue
    if app.config.get("JOBS_INLINE_WORKER") and not queue.immediate:
        queue.start_inline()


def get_queue(app: Flask | None = None) -> JobQueue:
    queue: JobQueue = (app or _app()).extensions[_EXTENSION]
    return queue


def dispatch(ids: Iterable[int], app: Flask | None = None) -> None:
    """After a commit: hand the jobs it enqueued to the queue (never raises for a queue failure)."""
    ids = list(ids)
    if ids:
        get_queue(app).hand_over(ids)


@sa_event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session: Session) -> None:
    """Every commit that enqueued jobs hands them to the queue (the web boundary's, a command's, a
    job's own). Outside an app nothing is handed over: the rows are committed, the sweep finds them.
    A savepoint's release fires this too: its jobs wait for the real commit."""
    if session.in_nested_transaction():
        return
    ids = jobs.take_enqueued(session)
    if not ids or not has_app_context() or _EXTENSION not in _app().extensions:
        return
    try:
        dispatch(ids)
    except Exception:  # the rows are committed; the next sweep hands them over
        log.exception("jobs %s could not be handed to the queue", ids)


def sweep(app: Flask | None = None, *, now: dt.datetime | None = None) -> int:
    """Hand over every job a worker should have and does not (see the module text); returns how many."""
    app = app or _app()
    with get_db(app).sessionmaker() as session:
        ids = jobs.due_for_dispatch(session, now=now, redispatch_after=get_queue(app).redispatch_after)
    if ids:
        get_queue(app).hand_over(ids)
    return len(ids)


def run_due_jobs(app: Flask | None = None, *, now: dt.datetime | None = None, rounds: int = 20) -> int:
    """Run every job that is due (at ``now``, default the present) in this process, including
    jobs the ones run enqueue; returns how many ran. For tests and one-off runs."""
    app = app or _app()
    queue = get_queue(app)
    ran = 0
    with app.app_context():
        maker = get_db(app).sessionmaker
        for _ in range(rounds):
            with maker() as session:
                due = jobs.due(session, now=now or utcnow())
            if not due:
                break
            for job_id in due:
                if jobs.run_job(maker, job_id, worker=worker_name(), now=now, lease=queue.lease) != "skipped":
                    ran += 1
    return ran


def enqueue_now(
    kind: str, payload: jobs.Payload, *, dedupe_key: str | None, program_id: int | None = None
) -> int:
    """Enqueue one job in a transaction of its own and hand it over (commands, periodic work)."""
    app = _app()
    with write_intent(), get_db(app).sessionmaker() as session:
        job = jobs.enqueue(session, kind, payload, dedupe_key=dedupe_key, program_id=program_id)
        ids = jobs.take_enqueued(session)
        session.commit()
        job_id = job.id
    dispatch(ids, app)
    return job_id

"""The job queue: durable rows, one job per dedupe key, run after the commit, retries, dead jobs,
expired leases taken over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from calibration.db import get_db, utcnow, write_intent
from calibration.models import Job, JobStatus
from calibration.notify.queue import run_due_jobs
from calibration.services import jobs

from .helpers import CALLS, FAILING_JOB, SLOW_JOB, count_rows


def test_same_dedupe_key_is_one_job(app, db):
    first = jobs.enqueue(db, SLOW_JOB, {"n": 1}, dedupe_key="k-1")
    again = jobs.enqueue(db, SLOW_JOB, {"n": 1}, dedupe_key="k-1")
    assert first.id == again.id
    assert jobs.take_enqueued(db) == (first.id,)
    db.rollback()
    assert db.scalar(select(Job.id)) is None


def test_a_job_runs_after_the_commit_that_enqueued_it(app):
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        job = jobs.enqueue(session, SLOW_JOB, {"n": 7}, dedupe_key="seven")
        assert count_rows(session) == 0  # not inside the transaction
        session.commit()  # JOBS_IMMEDIATE: the job runs now, after the commit
        job_id = job.id
    with maker() as session:
        assert count_rows(session) == 1
        assert session.get(Job, job_id).status == JobStatus.DONE
    # Enqueued again under the same key: the same job, already done, not run again.
    with app.app_context(), write_intent(), maker() as session:
        assert jobs.enqueue(session, SLOW_JOB, {"n": 7}, dedupe_key="seven").id == job_id
        session.commit()
    with maker() as session:
        assert count_rows(session) == 1


def test_a_rolled_back_transaction_enqueues_nothing(app):
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        jobs.enqueue(session, SLOW_JOB, {"n": 8}, dedupe_key=None)
        session.rollback()
        assert jobs.take_enqueued(session) == ()
    with maker() as session:
        assert session.scalar(select(Job.id)) is None
        assert count_rows(session) == 0


def test_failures_retry_with_backoff_then_the_job_is_dead(app):
    CALLS.clear()
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        job = jobs.enqueue(session, FAILING_JOB, {"fail": True}, dedupe_key="fails", max_attempts=3)
        session.commit()  # first try now
        job_id = job.id
    with maker() as session:
        row = session.get(Job, job_id)
        assert (row.status, row.attempts) == (JobStatus.QUEUED, 1)
        assert "the work failed" in row.last_error
        assert row.run_after > utcnow()  # waits before the next try
    assert run_due_jobs(app) == 0  # not due yet
    later = utcnow() + dt.timedelta(hours=2)
    assert run_due_jobs(app, now=later) == 2
    with maker() as session:
        row = session.get(Job, job_id)
        assert (row.status, row.attempts) == (JobStatus.DEAD, 3)
        assert [j.id for j in jobs.dead_jobs(session, program_id=None)] == [job_id]
    assert len(CALLS) == 3
    assert jobs.backoff(1) < jobs.backoff(2) < jobs.backoff(3) <= jobs.MAX_BACKOFF


def test_an_expired_lease_is_taken_over(app):
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        job = jobs.enqueue(
            session, SLOW_JOB, {"n": 9}, dedupe_key="nine", run_after=utcnow() + dt.timedelta(days=1)
        )
        session.commit()
        job_id = job.id
    now = utcnow() + dt.timedelta(days=1, seconds=1)
    # A worker claims it and dies (nothing more happens under its name).
    assert (
        jobs.claim(maker, job_id, worker="dead-worker", now=now, lease=dt.timedelta(seconds=30)) is not None
    )
    assert jobs.claim(maker, job_id, worker="other", now=now) is None  # its lease holds
    with maker() as session:
        assert jobs.due_for_dispatch(session, now=now + dt.timedelta(seconds=10)) == []
        assert jobs.due_for_dispatch(session, now=now + dt.timedelta(seconds=31)) == [job_id]
    assert run_due_jobs(app, now=now + dt.timedelta(seconds=31)) == 1
    with maker() as session:
        row = session.get(Job, job_id)
        assert (row.status, row.attempts, row.locked_by) == (JobStatus.DONE, 2, None)
        assert count_rows(session) == 1


def test_a_job_handed_over_but_never_claimed_is_handed_over_again(app, db):
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        job = jobs.enqueue(
            session, SLOW_JOB, {"n": 10}, dedupe_key="ten", run_after=utcnow() + dt.timedelta(days=1)
        )
        session.commit()
        job_id = job.id
    due = utcnow() + dt.timedelta(days=1, seconds=1)
    with maker() as session:
        assert jobs.due_for_dispatch(session, now=due) == [job_id]  # never handed over
    jobs.mark_dispatched(maker, [job_id], now=due)  # a worker took the message, then died
    wait = dt.timedelta(seconds=30)
    with maker() as session:
        assert jobs.due_for_dispatch(session, now=due + dt.timedelta(seconds=10), redispatch_after=wait) == []
        assert jobs.due_for_dispatch(session, now=due + dt.timedelta(seconds=31), redispatch_after=wait) == [
            job_id
        ]

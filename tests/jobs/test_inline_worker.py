"""``make run`` needs no extra service: with ``JOBS_INLINE_WORKER`` the app's own process runs a
worker on the embedded queue file, and a committed job is done without anything else started.
(The embedded SQLite database is what ``make run`` uses; PostgreSQL deployments run ``flask worker``.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from calibration import create_app
from calibration.db import get_db, write_intent
from calibration.models import Job, JobStatus
from calibration.notify.queue import get_queue
from calibration.services import jobs

from .helpers import SLOW_JOB, count_rows


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {
        **app_config,
        "JOBS_IMMEDIATE": False,
        "JOBS_INLINE_WORKER": True,
        "JOBS_QUEUE_FILE": str(tmp_path / "queue.sqlite3"),
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # make run's embedded database
def test_the_inline_worker_runs_committed_jobs(app, database_url):
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        job = jobs.enqueue(session, SLOW_JOB, {"n": 1}, dedupe_key="inline-1")
        session.commit()
        job_id = job.id
    deadline = time.monotonic() + 60  # a guard against a hang, not a measure of speed
    while True:
        with maker() as session:
            if session.get(Job, job_id).status == JobStatus.DONE:
                assert count_rows(session) == 1
                break
        assert time.monotonic() < deadline, "the inline worker did not run the job"
        time.sleep(0.1)
    assert get_queue(app)._inline is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_inline_worker_without_the_setting(app_config):
    other = create_app({**app_config, "JOBS_INLINE_WORKER": False})
    try:
        assert get_queue(other)._inline is None
    finally:
        get_queue(other).stop()
        get_db(other).dispose()

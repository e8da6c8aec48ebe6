"""Twenty concurrent retries of one POST with the same ``Idempotency-Key``, against a live
multi-process gunicorn on SQLite and PostgreSQL: one import, each row stored once, and every
retry gets the first answer."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from calibration.models import ApiIdempotencyKey, Job, OperationalImport, OperationalRating
from calibration.notify.queue import run_due_jobs
from calibration.services.operational_import import IMPORT_JOB

from ..server import gunicorn
from .helpers import bearer, make_token
from .test_api_import import _rows

pytestmark = pytest.mark.slow


def test_twenty_concurrent_retries_write_once(app, world, db, database_url, tmp_path):
    token = make_token(db, world, ["import"])
    body = json.dumps({"rubric_version_id": world.rubric_id, "rows": _rows(40)})
    headers = {**bearer(token), "Idempotency-Key": "one-batch", "Content-Type": "application/json"}
    env = {"IMPORT_DIR": str(tmp_path / "imports"), "API_RATE_PER_MINUTE": "1000"}
    with gunicorn(database_url, workers=2, extra_env=env) as base:

        def post(_: int) -> requests.Response:
            return requests.post(f"{base}/api/v1/operational-ratings", data=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(post, range(20)))
    assert [a.status_code for a in answers] == [202] * 20, [a.text for a in answers if a.status_code != 202]
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    db.rollback()
    assert db.scalar(select(func.count()).select_from(OperationalImport)) == 1
    # The import was accepted as one background job; a worker (here this process) stores it.
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == IMPORT_JOB)) == 1
    run_due_jobs(app)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(OperationalRating)) == 40
    assert db.scalar(select(func.count()).select_from(ApiIdempotencyKey)) == 1

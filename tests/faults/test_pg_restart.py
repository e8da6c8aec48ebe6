"""A PostgreSQL restart during traffic: clean 503 pages while it is down (no stack trace, nothing
half-stored), and the running app recovers by itself once it is back (pool_pre_ping)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from calibration.models import CriterionScore, ScoreSheet

from ..factories import build_world, score_form
from ..pg import PostgresUnavailable, create_split_database, private_postgres_server
from ..server import gunicorn
from .test_worker_kill import _TOKEN, login

pytestmark = pytest.mark.slow


@pytest.fixture
def restartable_postgres():  # type: ignore[no-untyped-def]
    """A PostgreSQL server of this test's own (the shared one must not be restarted under others)."""
    try:
        with private_postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")


def test_restart_gives_clean_503_then_recovers_without_restarting_the_app(restartable_postgres):
    pg = restartable_postgres
    _owner_url, url = create_split_database(pg.url, "calib_fault")  # served as the app role
    engine = create_engine(url, pool_pre_ping=True)  # survives the restart too
    with Session(engine) as s:
        world = build_world(s)

    with gunicorn(url, workers=2) as base:
        web = login(base, world.emails["assessor"])
        score_url = f"{base}/rounds/{world.round_id}/anchors/{world.anchors[0]}"
        token = _TOKEN.search(web.get(score_url, timeout=30).text).group(1)
        data = {**score_form(world, world.keys[world.anchors[0]]), "csrf_token": token}
        cookies = web.cookies.get_dict()

        statuses: Counter[int] = Counter()
        bad: list[str] = []
        stop = threading.Event()

        def traffic() -> None:
            own = requests.Session()
            own.cookies.update(cookies)
            while not stop.is_set():
                for path in ("/dashboard", f"/rounds/{world.round_id}", "/healthz"):
                    try:
                        resp = own.get(base + path, timeout=30, allow_redirects=False)
                    except requests.RequestException as exc:  # the app must always answer
                        bad.append(f"{path}: {exc!r}")
                        continue
                    statuses[resp.status_code] += 1
                    if resp.status_code not in (200, 503) or "Traceback" in resp.text:
                        bad.append(f"{path}: {resp.status_code} {resp.text[:200]!r}")
                time.sleep(0.02)

        workers = [threading.Thread(target=traffic) for _ in range(3)]
        for t in workers:
            t.start()
        time.sleep(1.0)
        for cycle in range(3):  # several restarts: connections die at different points of requests
            pg.stop("fast")  # every connection ends, as in a restart or failover
            try:
                time.sleep(1.0)
                if cycle == 0:
                    down = web.get(f"{base}/dashboard", timeout=30)
                    assert down.status_code == 503
                    page = down.text
                    assert "The service is briefly unavailable" in page and 'class="site-header"' in page
                    assert "Traceback" not in page and "psycopg" not in page and "sqlalchemy" not in page
                    assert down.headers["Retry-After"] == "5" and down.headers["Cache-Control"] == "no-store"
                    assert "Content-Security-Policy" in down.headers
                    # A submit while the database is down is refused cleanly and stores nothing.
                    refused = web.post(score_url, data=data, allow_redirects=False, timeout=30)
                    assert refused.status_code == 503 and "may not have been saved" in refused.text
            finally:
                pg.start()
            deadline = time.monotonic() + 30
            while web.get(f"{base}/dashboard", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, "the app did not recover after PostgreSQL came back"
                time.sleep(0.2)
            time.sleep(0.5)
        time.sleep(1.0)
        stop.set()
        for t in workers:
            t.join(30)
        assert bad == [], bad[:5]
        assert statuses[503] > 0 and statuses[200] > 0, statuses

        # Same app processes, same login: scoring works again, and the sheet is whole.
        resp = web.post(score_url, data=data, allow_redirects=False, timeout=30)
        assert resp.status_code == 302, resp.text[-500:]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ScoreSheet)) == 1
        assert s.scalar(select(func.count()).select_from(CriterionScore)) == len(world.criteria)
    engine.dispose()

"""A gunicorn worker SIGKILLed mid-submit leaves the whole sheet or nothing; a retry is answered
correctly ("already recorded" when it was stored); SQLite passes ``PRAGMA integrity_check`` after."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from calibration.models import AuditEvent, CriterionScore, ScoreSheet
from calibration.services.audit import verify_chain

from ..factories import PASSWORD, score_form
from ..server import gunicorn

pytestmark = pytest.mark.slow
CONFIG = str(Path(__file__).with_name("gunicorn_faults.py"))
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def login(base: str, email: str) -> requests.Session:
    web = requests.Session()
    token = _TOKEN.search(web.get(base + "/login", timeout=30).text).group(1)
    resp = web.post(
        base + "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302
    return web


def wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)
    return path.read_text()


def stored(database_url: str, round_id: int, anchor_id: int) -> tuple[int, int, int]:
    """(sheets, criterion scores, submit audit rows) for one anchor, read from a fresh connection."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as s:
            sheets = s.scalar(
                select(func.count()).where(ScoreSheet.round_id == round_id, ScoreSheet.anchor_id == anchor_id)
            )
            scores = s.scalar(
                select(func.count())
                .select_from(CriterionScore)
                .join(ScoreSheet, ScoreSheet.id == CriterionScore.sheet_id)
                .where(ScoreSheet.round_id == round_id, ScoreSheet.anchor_id == anchor_id)
            )
            audits = s.scalar(
                select(func.count()).where(
                    AuditEvent.action == "sheet.submit",
                    AuditEvent.detail_json.contains(f'"anchor_id":{anchor_id},'),
                )
            )
            assert verify_chain(s).ok
        return sheets, scores, audits
    finally:
        engine.dispose()


def integrity_check(database_url: str) -> None:
    if make_url(database_url).get_backend_name() != "sqlite":
        return
    path = make_url(database_url).database
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def submit_and_get_killed(
    web: requests.Session, url: str, data: dict[str, Any], fault_dir: Path, point: str
) -> None:
    """Arm ``point``, submit, SIGKILL the worker that stops there; the client sees the connection drop."""
    (fault_dir / f"arm-{point}").touch()
    outcome: dict[str, Any] = {}

    def post() -> None:
        try:
            outcome["status"] = web.post(url, data=data, allow_redirects=False, timeout=60).status_code
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=post)
    thread.start()
    pid = int(wait_for(fault_dir / f"paused-{point}"))
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    (fault_dir / f"paused-{point}").unlink()
    assert "error" in outcome or outcome.get("status", 0) >= 500, outcome


def test_killed_worker_leaves_all_or_nothing_and_retry_is_answered(world, database_url, tmp_path):
    fault_dir = tmp_path / "faults"
    fault_dir.mkdir()
    env = {"FAULT_DIR": str(fault_dir)}
    with gunicorn(database_url, workers=2, extra_env=env, extra_args=["-c", CONFIG]) as base:
        web = login(base, world.emails["assessor"])
        n_criteria = len(world.criteria)

        def form(anchor_id: int) -> tuple[str, dict[str, Any]]:
            url = f"{base}/rounds/{world.round_id}/anchors/{anchor_id}"
            token = _TOKEN.search(web.get(url, timeout=30).text).group(1)
            return url, {**score_form(world, world.keys[anchor_id]), "csrf_token": token}

        # 1. Killed inside the transaction (sheet row written, its scores not): nothing is stored.
        first = world.anchors[0]
        url, data = form(first)
        submit_and_get_killed(web, url, data, fault_dir, "insert")
        integrity_check(database_url)
        assert stored(database_url, world.round_id, first) == (0, 0, 0)
        # The retry stores the whole sheet once; another retry is told it was already recorded.
        retry = web.post(url, data=data, allow_redirects=False, timeout=60)
        assert retry.status_code == 302, retry.text[-500:]
        assert stored(database_url, world.round_id, first) == (1, n_criteria, 1)
        again = web.post(url, data=data, allow_redirects=False, timeout=60)
        assert again.status_code == 200 and "Already recorded." in again.text

        # 2. Killed after the commit, before the reply: the whole sheet is stored, the retry says so.
        second = world.anchors[1]
        url, data = form(second)
        submit_and_get_killed(web, url, data, fault_dir, "committed")
        integrity_check(database_url)
        assert stored(database_url, world.round_id, second) == (1, n_criteria, 1)
        retry = web.post(url, data=data, allow_redirects=False, timeout=60)
        assert retry.status_code == 200 and "Already recorded." in retry.text
        assert stored(database_url, world.round_id, second) == (1, n_criteria, 1)

        # The server carries on (gunicorn replaced the killed workers).
        assert web.get(f"{base}/dashboard", timeout=30).status_code == 200
    integrity_check(database_url)

"""A worker killed with -9 loses nothing and duplicates nothing: real ``flask worker`` processes on
SQLite and PostgreSQL, one killed mid-way, a new one started; every job is then done once in
effect (rows counted), every webhook delivery and every mail arrived (message ids counted)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from calibration.db import get_db, write_intent
from calibration.models import DeliveryStatus, Job, JobStatus, MailStatus, OutgoingMail, WebhookDelivery
from calibration.notify import mail, outbox
from calibration.services import jobs, webhooks
from calibration.services.context import Member

from ..mailsink import Sink, running_sink
from .helpers import SLOW_JOB, receiver, rows_written

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-credential-key-with-enough-length-012345"
PATIENCE = 180.0  # seconds: only a guard against a hung test, never a measure of speed


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Jobs go through the real queue (no immediate mode), shared with the worker processes."""
    return {**app_config, "JOBS_IMMEDIATE": False, "JOBS_QUEUE_FILE": str(tmp_path / "queue.sqlite3")}


@contextmanager
def worker(
    app_config: dict[str, Any], log: Path, extra: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        **(extra or {}),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": app_config["DATABASE_URL"],
        "SECRET_KEY": app_config["SECRET_KEY"],
        "CREDENTIAL_KEY": KEY,
        "CACHE_DIR": app_config["CACHE_DIR"],
        "JOBS_QUEUE_FILE": app_config["JOBS_QUEUE_FILE"],
        "JOBS_LEASE_SECONDS": "3",
        "JOBS_SWEEP_SECONDS": "1",
        "JOBS_REDISPATCH_SECONDS": "5",  # a message taken by the killed worker before it claimed the row
    }
    command = [sys.executable, "-m", "flask", "--app", "tests.jobs.worker_app", "worker", "--workers", "2"]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def wait_for(condition: Callable[[], bool], what: str, log: Path, app: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            with get_db(app).sessionmaker() as session:
                rows = session.execute(
                    select(Job.id, Job.status, Job.attempts, Job.lease_until, Job.dispatched_at)
                ).all()
            pytest.fail(f"gave up waiting for {what}; jobs: {rows}; worker log:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def job_states(app, kind: str = SLOW_JOB) -> dict[str, int]:
    """Jobs of ``kind`` by status (the workers' periodic jobs are not counted)."""
    with get_db(app).sessionmaker() as session:
        rows = session.execute(select(Job.status, func.count()).where(Job.kind == kind).group_by(Job.status))
        return {str(s): int(n) for s, n in rows}


def test_jobs_survive_a_worker_killed_with_minus_9(app, app_config, tmp_path):
    n = 8
    maker = get_db(app).sessionmaker
    with app.app_context(), write_intent(), maker() as session:
        for i in range(n):
            jobs.enqueue(session, SLOW_JOB, {"n": i, "sleep": 1.0}, dedupe_key=f"slow-{i}")
        session.commit()  # handed to the queue after the commit

    def rows() -> list[str]:
        with maker() as session:
            return rows_written(session)

    log = tmp_path / "worker.log"
    with worker(app_config, log) as first:
        wait_for(
            lambda: len(rows()) >= 2 and job_states(app).get("running", 0) >= 1, "the first rows", log, app
        )
        first.kill()  # SIGKILL: no clean-up, its running jobs keep their (soon expired) leases
        first.wait()
    assert len(rows()) < n and job_states(app).get("running", 0) >= 1
    with worker(app_config, log):
        wait_for(lambda: job_states(app) == {"done": n}, "every job to be done", log, app)
    written = rows()
    assert len(written) == n and len(set(written)) == n  # none lost, none twice
    with maker() as session:
        retried = session.scalar(select(func.count()).where(Job.kind == SLOW_JOB, Job.attempts > 1))
        assert retried >= 1  # the jobs cut short ran again, to the same effect
        assert (
            session.scalar(select(func.count()).where(Job.kind == SLOW_JOB, Job.status != JobStatus.DONE))
            == 0
        )


def test_webhook_deliveries_survive_a_worker_killed_with_minus_9(app, app_config, world, tmp_path):
    n = 6
    maker = get_db(app).sessionmaker
    me = Member(world.ids["trainer"], world.program_a)
    log = tmp_path / "worker.log"
    with receiver(delay=1.0) as hook:
        with app.app_context(), write_intent(), maker() as session:
            secret = webhooks.create_endpoint(
                session,
                me,
                url=hook.url,
                description="",
                event_types=webhooks.EVENT_TYPES,
                credential_key=KEY,
            ).secret
            for i in range(n):
                webhooks.emit(session, world.program_a, webhooks.FLAG_RAISED, {"flag_id": i})
            session.commit()

        def arrived() -> int:
            with maker() as session:
                return int(
                    session.scalar(
                        select(func.count()).where(WebhookDelivery.status == DeliveryStatus.SUCCEEDED)
                    )
                    or 0
                )

        with worker(app_config, log) as first:
            wait_for(lambda: len(hook.received) >= 2, "the first deliveries", log, app)
            first.kill()
            first.wait()
        assert arrived() < n
        with worker(app_config, log):
            wait_for(lambda: arrived() == n, "every delivery to arrive", log, app)
        ids = hook.msg_ids()
        with maker() as session:
            stored = set(session.scalars(select(WebhookDelivery.msg_id)))
        assert set(ids) == stored and len(stored) == n  # every event arrived; a repeat has the same id
        for got in hook.received:
            Webhook(secret).verify(got.body, got.headers)


class SlowSink(Sink):
    """An SMTP server that takes a second over each recipient before it accepts it (so a worker is
    killed while the server still holds the message, not yet accepted)."""

    def __init__(self) -> None:
        super().__init__()
        self.holding: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.holding.add(address)
        await asyncio.sleep(1.0)
        self.holding.discard(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_background_mail_survives_a_worker_killed_with_minus_9(app, app_config, tmp_path):
    """Mail sent by ``mail.deliver`` jobs: the worker is killed while a mail is with the server; the
    next worker sends it again once the try's claim runs out (``MAIL_LEASE_SECONDS``), and every mail
    arrives. A repeat (the server had accepted the message just before the kill) would carry the
    same Message-ID, so the count is of Message-IDs; the tests in ``test_mail_jobs.py`` show that a
    job run twice, or by two workers at once, sends once."""
    n = 6
    sender = "Calibration <calibration@example.test>"
    maker = get_db(app).sessionmaker
    log = tmp_path / "worker.log"
    with running_sink(SlowSink()) as sink:
        with app.app_context(), write_intent(), maker() as session:
            for i in range(n):
                message = mail.Mail(
                    to=f"person{i}@example.test", subject=f"Mail {i}", text="Hi", html="<p>Hi</p>"
                )
                outbox.enqueue_delivery(session, [outbox.queue(session, message, kind="test").id])
            session.commit()
        env = {
            "MAIL_BACKEND": "smtp",
            "MAIL_HOST": "127.0.0.1",
            "MAIL_PORT": str(sink.port),
            "MAIL_SECURITY": "none",
            "MAIL_SENDER": sender,
            "MAIL_LEASE_SECONDS": "3",
        }

        def rows() -> list[OutgoingMail]:
            with maker() as session:
                return list(session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))

        def sent() -> int:
            return sum(1 for r in rows() if r.status == MailStatus.SENT)

        with worker(app_config, log, env) as first:
            wait_for(
                lambda: len(sink.messages) >= 2 and bool(sink.holding), "mail in the server's hands", log, app
            )
            first.kill()
            first.wait()
        assert sent() < n
        with worker(app_config, log, env):
            wait_for(lambda: sent() == n, "every mail to be sent", log, app)
        stored = rows()
        expected = {outbox.message_id(r.id, r.created_at, sender) for r in stored}
        assert {m["Message-ID"] for m in sink.messages} == expected  # every mail arrived
        assert any(r.attempts > 1 for r in stored)  # the try cut short was made again

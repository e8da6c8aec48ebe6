"""Test support for jobs: a handler that writes rows idempotently, a webhook receiver, and the app
with a real queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from calibration import create_app
from calibration.db import get_db, utcnow, write_intent
from calibration.models import ApiRateWindow
from calibration.notify.queue import get_queue
from calibration.services import jobs

SLOW_JOB = "test.slow-row"
FAILING_JOB = "test.failing"
PREFIX = "jobtest:"
EPOCH = utcnow().replace(year=2000, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


@jobs.handler(SLOW_JOB)
def slow_row(maker: sessionmaker[Session], payload: dict[str, Any]) -> None:
    """Sleep, then write the row named in the payload once (a second run finds it and adds nothing)."""
    time.sleep(float(payload.get("sleep", 0)))
    bucket = f"{PREFIX}{payload['n']}"
    with write_intent(), maker() as session:
        exists = session.scalar(select(ApiRateWindow.bucket).where(ApiRateWindow.bucket == bucket))
        if exists is None:
            session.execute(insert(ApiRateWindow).values(bucket=bucket, window_start=EPOCH, count=1))
        session.commit()


CALLS: list[dict[str, Any]] = []


@jobs.handler(FAILING_JOB)
def failing(_maker: sessionmaker[Session], payload: dict[str, Any]) -> None:
    CALLS.append(payload)
    if payload.get("fail", True):
        raise RuntimeError("the work failed")


def rows_written(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(ApiRateWindow.bucket)
            .where(ApiRateWindow.bucket.like(f"{PREFIX}%"))
            .order_by(ApiRateWindow.bucket)
        )
    )


def count_rows(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(ApiRateWindow.bucket.like(f"{PREFIX}%"))) or 0)


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to give, in turn; then 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def msg_ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]


@contextmanager
def receiver(delay: float = 0.0, answers: list[int] | None = None) -> Iterator[Receiver]:
    """A tiny HTTP server on loopback that keeps what is POSTed to it."""
    state = Receiver(url="", answers=list(answers or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            time.sleep(state.delay)
            with state.lock:
                state.received.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
                code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def app_with_queue(config: dict[str, Any], folder: Path) -> Iterator[Flask]:
    """The app as deployed: jobs go through the real queue (no immediate mode) and run only when a
    worker (or the test, with ``run_due_jobs``) runs them; the queue file lives in ``folder``."""
    app = create_app({**config, "JOBS_IMMEDIATE": False, "JOBS_QUEUE_FILE": str(folder / "queue.sqlite3")})
    try:
        yield app
    finally:
        get_queue(app).stop()
        get_db(app).dispose()

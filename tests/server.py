"""A real multi-process gunicorn server on loopback, for tests that need real concurrency."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(
    database_url: str,
    *,
    workers: int = 4,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Serve ``wsgi:app`` on loopback; yield its base URL. ``extra_args`` go to gunicorn (e.g. ``-c conf.py``)."""
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "CACHE_DIR": tempfile.mkdtemp(prefix="calibration-cache-"),
        # The job queue's file (SQLite) stays out of the repository's instance folder.
        "JOBS_QUEUE_FILE": str(Path(tempfile.mkdtemp(prefix="calibration-jobs-")) / "queue.sqlite3"),
        **(extra_env or {}),
    }
    gunicorn_bin = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn_bin, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60"]
    # stderr goes to a file, not a pipe: a busy server (fault tests log every refused request)
    # must never block on a pipe nobody reads.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [*command, *(extra_args or []), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    err = errors.read().decode(errors="replace")
                    raise RuntimeError(f"gunicorn did not start: {err[-2000:]}")
                time.sleep(0.2)
            yield base
        finally:
            # The server may already have exited (it failed to start): keep its error, not ESRCH.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

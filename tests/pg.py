"""A private, throw-away PostgreSQL server for the test session (no system cluster touched).

``TEST_POSTGRES_URL`` points the suite at an existing server instead. Without either, the
PostgreSQL half of the suite is skipped, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresUnavailable(RuntimeError):
    pass


class PrivatePostgres:
    """A running private server: its URL, and stop/start/restart for fault tests."""

    def __init__(self, run_as: list[str], pg_ctl: str, data: Path, log: Path, options: str, url: str) -> None:
        self._run_as, self._pg_ctl, self._data, self._log, self._options = run_as, pg_ctl, data, log, options
        self.url = url

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self._run_as, self._pg_ctl, "-D", str(self._data), *args], check=check, capture_output=True
        )

    def start(self) -> None:
        self._ctl("-l", str(self._log), "-w", "-t", "60", "start", "-o", self._options)

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every client connection at once (as a restart does); ``immediate`` crashes."""
        self._ctl("-m", mode, "-w", "-t", "60", "stop", check=mode != "immediate")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()


@contextmanager
def private_postgres_server(
    *, durable: bool = False, max_connections: int = 200
) -> Iterator[PrivatePostgres]:
    """Start ``initdb`` + ``pg_ctl`` in a temporary directory; yield the running server.

    ``durable`` keeps PostgreSQL's default fsync/synchronous_commit (benchmarks); tests turn them off.
    """
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="calib-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres system user
        runuser = shutil.which("runuser")
        if not runuser:
            raise PostgresUnavailable("running as root and runuser is missing")
        subprocess.run(["chown", "-R", "postgres:postgres", str(root)], check=True)
        os.chmod(root, 0o755)
        run_as = [runuser, "-u", "postgres", "--"]
    port = _free_port()
    log = root / "server.log"
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
    if not durable:
        options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    server = PrivatePostgres(
        run_as, pg_ctl, data, log, options, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    )
    try:
        subprocess.run(
            [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(
            f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')[-500:]}"
        ) from exc
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[str]:
    """Start a private server (see :func:`private_postgres_server`); yield its URL (database postgres)."""
    with private_postgres_server() as server:
        yield server.url

"""A private, throw-away PostgreSQL server for the test session (no system cluster touched).

``TEST_POSTGRES_URL`` points the suite at an existing server instead. Without either, the
PostgreSQL half of the suite is skipped, except under ``CI=true`` where that is a failure.

Databases are split by role as in production (README, PostgreSQL): the owner role
(:data:`OWNER_ROLE`) owns the database and runs the migrations; the app connects as
:data:`APP_ROLE`, made by the ``create-app-role`` command's function, with row privileges only.
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

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from calibration.db.migrate import upgrade
from calibration.db.roles import grant_app_role

SUPERUSER_PASSWORD = "calib-superuser-test-password"
OWNER_ROLE, OWNER_PASSWORD = "calib_owner", "calib-owner-test-password"
APP_ROLE, APP_PASSWORD = "calib_app", "calib-app-test-password"


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
    # Passwords are checked over TCP (as in production), so the roles' passwords really matter.
    pwfile = root / "superuser-password"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
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
        run_as,
        pg_ctl,
        data,
        log,
        options,
        f"postgresql+psycopg://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres",
    )
    try:
        subprocess.run(
            [
                *run_as,
                initdb,
                "-D",
                str(data),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
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


def _as(url: str, role: str, password: str, database: str | None = None) -> str:
    parsed = make_url(url).set(username=role, password=password)
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def as_owner(url: str, database: str | None = None) -> str:
    """The same server (and database, unless named) as the owner role."""
    return _as(url, OWNER_ROLE, OWNER_PASSWORD, database)


def as_app(url: str, database: str | None = None) -> str:
    """The same server (and database, unless named) as the app role."""
    return _as(url, APP_ROLE, APP_PASSWORD, database)


def create_owned_database(server_url: str, name: str, *, template: str | None = None) -> None:
    """``CREATE DATABASE name OWNER`` the owner role (made first if missing), as the server's admin."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": OWNER_ROLE}) is None:
                # CREATEROLE: the owner runs create-app-role, as the README has it.
                conn.execute(text(f"CREATE ROLE {OWNER_ROLE} LOGIN CREATEROLE PASSWORD '{OWNER_PASSWORD}'"))
            if not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
                # A non-superuser admin (TEST_POSTGRES_URL) must be a member to create its databases.
                conn.execute(text(f"GRANT {OWNER_ROLE} TO current_user"))
            from_template = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}{from_template}'))
    finally:
        admin.dispose()


def create_split_database(server_url: str, name: str) -> tuple[str, str]:
    """A new database migrated by the owner role, with the app role granted: (owner URL, app URL)."""
    create_owned_database(server_url, name)
    owner_url = as_owner(server_url, name)
    upgrade(owner_url)
    grant_app_role(owner_url, APP_ROLE, APP_PASSWORD)
    return owner_url, as_app(server_url, name)

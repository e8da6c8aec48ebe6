"""Shared fixtures: every app test runs on SQLite and on PostgreSQL.

Each backend gets one migrated template database per session; each test gets a fresh copy
(a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from calibration import create_app
from calibration.db import get_db
from calibration.db.migrate import upgrade
from calibration.notify.queue import get_queue
from calibration.services.auth import use_cheap_hashing

from .pg import (
    PostgresUnavailable,
    as_app,
    as_owner,
    create_owned_database,
    create_split_database,
    private_postgres,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    use_cheap_hashing(True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        with private_postgres() as server_url:
            yield server_url
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """The template database, migrated by the owner role, with the app role granted (as in production)."""
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS calib_template"))
    admin.dispose()
    owner_url, _app_url = create_split_database(postgres_server, "calib_template")
    return owner_url


def _fresh_sqlite(template: Path, directory: Path) -> str:
    target = directory / f"test-{next(_counter)}.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database on each backend; on PostgreSQL as the app role
    (``owner_database_url`` is the same database as its owner, for migrations)."""
    if request.param == "sqlite":
        yield _fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    server = request.getfixturevalue("postgres_server")
    request.getfixturevalue("postgres_template")
    name = f"calib_test_{os.getpid()}_{next(_counter)}"
    create_owned_database(server, name, template="calib_template")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        # The app (and every test's session) connects as the app role: no ownership, no DDL.
        yield as_app(server, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def owner_database_url(database_url: str) -> str:
    """The same database as the role that owns it and runs migrations (SQLite has no roles)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return database_url
    return as_owner(database_url)


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "CREDENTIAL_KEY": "test-credential-key-with-enough-length-012345",
        "RUBRIC_DIR": str(ROOT / "rubrics"),
        "CACHE_DIR": str(tmp_path / "cache"),
        "IMPORT_DIR": str(tmp_path / "import-uploads"),
        "JOBS_IMMEDIATE": True,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    application = create_app(app_config)
    yield application
    get_queue(application).stop()
    get_db(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    """A session outside any request, for arranging data and checking what was stored."""
    with get_db(app).sessionmaker() as session:
        yield session


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, page: str = "/login") -> str:
    html = client.get(page).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1) or match.group(2)


def post_form(
    client: Any, url: str, data: dict[str, Any], *, token_page: str | None = None, **kw: Any
) -> Any:
    """POST with the CSRF token taken from a page, as a browser would."""
    payload = dict(data)
    payload["csrf_token"] = csrf_token(client, token_page or url)
    return client.post(url, data=payload, **kw)


@pytest.fixture
def login(client: Any) -> Callable[[str, str], Any]:
    def do_login(email: str, password: str = "pw-for-tests") -> Any:
        return post_form(client, "/login", {"email": email, "password": password})

    return do_login


@pytest.fixture
def world(db: Any) -> Any:
    from .factories import build_world

    built = build_world(db)
    db.rollback()  # end the read transaction: later checks must see what requests commit
    return built

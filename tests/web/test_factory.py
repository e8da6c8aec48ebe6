"""The application factory and configuration."""

from __future__ import annotations

import pytest

from calibration import create_app
from calibration.config import DEV_SECRET_KEY, ConfigError


def test_testing_config_is_applied(app):
    assert app.config["TESTING"] is True
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_default_database_is_sqlite_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["DATABASE_URL"].startswith("sqlite:///")
    assert app.config["DATABASE_URL"].endswith("instance/calibration.sqlite3")
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY


def test_environment_configures_database(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path}/env.sqlite3"
    monkeypatch.setenv("DATABASE_URL", url)
    assert create_app({"TESTING": True}).config["DATABASE_URL"] == url


def test_production_refuses_development_secret(monkeypatch):
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"TESTING": True})


def test_production_refuses_short_secret(monkeypatch):
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        create_app({"TESTING": True})


def test_production_starts_with_a_real_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CREDENTIAL_KEY", "c" * 48)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_to_start_without_a_credential_key(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    monkeypatch.delenv("CREDENTIAL_KEY", raising=False)
    with pytest.raises(ConfigError, match="CREDENTIAL_KEY is not set"):
        create_app()
    monkeypatch.setenv("CREDENTIAL_KEY", "short")
    with pytest.raises(ConfigError, match="CREDENTIAL_KEY is too short"):
        create_app()


def test_sqlite_pragmas(app):
    from calibration.db import get_db

    db = get_db(app)
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1


def test_sqlite_write_transactions_begin_immediate(app):
    """With write intent, the write lock is taken at BEGIN, so a second writer waits, not fails later."""
    from calibration.db import get_db, write_intent

    db = get_db(app)
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    statements: list[str] = []
    from sqlalchemy import event

    @event.listens_for(db.engine, "before_cursor_execute")
    def capture(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with write_intent(), db.engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    event.remove(db.engine, "before_cursor_execute", capture)
    # exec_driver_sql in the begin hook is itself captured: first BEGIN IMMEDIATE, then plain BEGIN.
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]

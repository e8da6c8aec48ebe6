"""Database plumbing: declarative base, engine set-up for SQLite and PostgreSQL, sessions.

SQLite is the embedded default. Every connection runs in WAL mode with ``synchronous=FULL``,
foreign keys on, a busy timeout and recursive triggers (so REPLACE/UPSERT fire the
immutability triggers). SQLAlchemy's pysqlite driver would otherwise open transactions lazily
with a deferred ``BEGIN``; under several writer processes that loses writes to "database is
locked", so we emit ``BEGIN`` ourselves and use ``BEGIN IMMEDIATE`` whenever the unit of work
is a write (see :func:`write_intent`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns timezone-aware UTC on both databases."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use calibration.db.utcnow() or an aware datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_write_intent: ContextVar[bool] = ContextVar("calibration_write_intent", default=False)


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Open the next SQLite transactions with ``BEGIN IMMEDIATE`` (take the write lock up front)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def has_write_intent() -> bool:
    """True inside :func:`write_intent` (or a request that writes): SQLite begins with a write lock."""
    return _write_intent.get()


def set_write_intent(value: bool) -> Any:
    return _write_intent.set(value)


def reset_write_intent(token: Any) -> None:
    _write_intent.reset(token)


def end_reading(session: Session) -> None:
    """End the reading part of a request that writes late (``web.hooks.writes_late``).

    On SQLite the reading transaction is committed (it wrote nothing), so that the next statement,
    under :func:`write_intent`, begins the write transaction with ``BEGIN IMMEDIATE``: the write
    lock, which all writers take in turn, is then held for the writing alone. On PostgreSQL
    readers and writers do not block each other, so the transaction simply goes on (no second
    connection check-out, no second ping).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class UnstorableText(ValueError):
    """A statement parameter holds NUL (U+0000): PostgreSQL cannot store it and SQLite would.

    Forms refuse control characters with a message beside the field; this is the net under
    every form (present and future), so that both databases refuse the same input, before it
    reaches either."""


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_nul(v) for v in value)
    return False


def _refuse_nul(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _executemany: bool
) -> None:
    if parameters and _contains_nul(parameters):
        raise UnstorableText("text with a NUL character cannot be stored")


def make_engine(url: str, *, busy_timeout_ms: int = 15000, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if not is_sqlite(url):
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        event.listen(engine, "before_cursor_execute", _refuse_nul)
        return engine

    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
            "PRAGMA recursive_triggers=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")

    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


class Database:
    """An engine and its session factory, owned by one app."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 15000) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, busy_timeout_ms=busy_timeout_ms)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def dispose(self) -> None:
        self.engine.dispose()


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through ``Session.execute`` matched.

    SQLAlchemy types ``Session.execute`` as returning a plain ``Result``; for these statements it
    is a ``CursorResult``, which carries the driver's ``rowcount``.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the result of an UPDATE or DELETE, got {type(result).__name__}")
    return int(result.rowcount or 0)


def init_app(app: Flask) -> None:
    """Create the app's engine and register per-request session clean-up."""
    url = app.config["DATABASE_URL"]
    if is_sqlite(url):
        # The SQLite file lives in the instance folder by default: make sure it exists.
        os.makedirs(app.instance_path, exist_ok=True)
    app.extensions["calibration.db"] = Database(url, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    db: Database = (app or current_app).extensions["calibration.db"]
    return db


def get_session() -> Session:
    """The request's (or CLI command's) session; committed once by the caller, closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except SQLAlchemyError:
            # The connection died after the response was made (database restart): its rollback
            # fails, but nothing uncommitted survives a dead connection, and the response stands.
            # SQLAlchemy has invalidated the connection; the pool's pre-ping replaces it.
            logging.getLogger(__name__).warning("database connection lost while closing a session")

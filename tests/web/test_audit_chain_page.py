"""The audit log page's chain status when the trail has been tampered with (issue 17, item 7).

The tamperer has enough privileges to get past the immutability triggers (on SQLite anyone with the
file; on PostgreSQL the owner role, since the app's role cannot: tests/migrations/test_app_role.py),
as in ``tests/cli/test_rubric_import.py::test_verify_audit_detects_tampering``. The page must then say
the chain is broken, at which row and why, like ``flask verify-audit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection

from calibration.db import get_db
from calibration.models import AuditEvent
from calibration.services import audit_log

BROKEN = re.compile(r"The audit trail is broken at row (\d+):</strong> ([^.]+)\.")


@pytest.fixture
def tamper(app: Any, owner_database_url: str) -> Callable[[str], None]:
    """Run one SQL statement on the audit trail with its triggers out of the way."""

    @contextmanager
    def tamperer() -> Iterator[Connection]:
        if get_db(app).is_sqlite:
            with get_db(app).engine.begin() as conn:
                yield conn
            return
        engine = create_engine(owner_database_url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
                yield conn
                conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
        finally:
            engine.dispose()

    def run(statement: str) -> None:
        with tamperer() as conn:
            if get_db(app).is_sqlite:
                for trigger in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
                ).scalars():
                    conn.exec_driver_sql(f'DROP TRIGGER "{trigger}"')
            conn.exec_driver_sql(statement)

    return run


def _status(client: Any, url: str = "/trainer/audit") -> str:
    resp = client.get(url)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    start = page.rindex("<div", 0, page.index('id="chain-status"'))
    return page[start : page.index("</div>", start)]


def _middle_row(db: Any) -> int:
    db.rollback()
    ids = list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
    assert len(ids) >= 3
    return ids[len(ids) // 2]


def test_an_altered_row_shows_the_chain_broken_after_check_again(client, login, world, db, tamper):
    audit_log.clear_chain_cache()
    login(world.emails["trainer"])
    assert "The audit trail is intact." in _status(client)
    victim = _middle_row(db)
    n_before = db.scalar(select(func.count(AuditEvent.id)))

    tamper(f"UPDATE audit_event SET outcome = 'forged' WHERE id = {victim}")

    # An altered row leaves the trail's size, last row and head as they were, so the page may
    # show the check it made a moment ago (it says when); "Check again now" recomputes the chain.
    again = _status(client, "/trainer/audit?recheck=1")
    found = BROKEN.search(again)
    assert found is not None, again
    assert int(found.group(1)) == victim
    assert found.group(2) == "row content does not match its hash (row altered)"
    assert 'role="alert"' in again and "The audit trail is intact." not in again
    assert "Check again now" in again
    # The broken result is what later views show too, and what a new process finds.
    assert BROKEN.search(_status(client)) is not None
    audit_log.clear_chain_cache()
    assert int(BROKEN.search(_status(client)).group(1)) == victim  # type: ignore[union-attr]
    # Viewing the page and re-checking wrote nothing to the trail but the views' own rows, if any.
    db.rollback()
    assert db.scalar(select(AuditEvent.outcome).where(AuditEvent.id == victim)) == "forged"
    assert db.scalar(select(func.count(AuditEvent.id))) >= n_before


def test_a_removed_row_is_seen_on_the_next_view(client, login, world, db, tamper):
    audit_log.clear_chain_cache()
    login(world.emails["admin"])
    assert "The audit trail is intact." in _status(client)
    victim = _middle_row(db)

    tamper(f"DELETE FROM audit_event WHERE id = {victim}")

    # The trail's size changed, so the next view checks again without being asked.
    status = _status(client)
    found = BROKEN.search(status)
    assert found is not None, status
    assert int(found.group(1)) > victim  # the row after the gap no longer links to its predecessor
    assert found.group(2) == "previous-hash link broken (row removed or reordered)"


def test_check_again_on_an_intact_trail_stays_intact(client, login, world, db):
    audit_log.clear_chain_cache()
    login(world.emails["trainer"])
    first = _status(client)
    assert "The audit trail is intact." in first
    again = _status(client, "/trainer/audit?recheck=1")
    assert "The audit trail is intact." in again and 'role="status"' in again

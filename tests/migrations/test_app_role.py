"""The server's PostgreSQL role: rows only, never ownership or DDL (issue 13, item 3).

The suite's PostgreSQL half already runs every app test as that role (``tests/conftest.py``);
these tests prove what it cannot do, and what ``create-app-role`` grants and refuses.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from calibration.db import get_db
from calibration.db.migrate import downgrade
from calibration.db.roles import INSUFFICIENT_PRIVILEGE
from calibration.models import AuditEvent, ScoreSheet

from ..factories import submit
from ..pg import APP_ROLE, OWNER_ROLE, as_app

on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
_names = itertools.count()

# What the issue names, and the other ways to switch immutability off or reshape the schema.
FORBIDDEN = [
    "ALTER TABLE score_sheet DISABLE TRIGGER USER",
    "ALTER TABLE score_sheet DISABLE TRIGGER score_sheet_immutable",
    "ALTER TABLE audit_event ADD COLUMN forged text",
    "ALTER TABLE score_sheet OWNER TO CURRENT_USER",
    "DROP TRIGGER score_sheet_immutable ON score_sheet",
    "DROP FUNCTION calibration_forbid_change() CASCADE",
    "CREATE OR REPLACE FUNCTION calibration_forbid_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN OLD; END $$",
    "TRUNCATE audit_event",
    "TRUNCATE score_sheet CASCADE",
    "TRUNCATE round CASCADE",
    "CREATE TABLE forged (id integer)",
    "CREATE TRIGGER forged AFTER INSERT ON round FOR EACH ROW EXECUTE FUNCTION calibration_forbid_change()",
    "DROP TABLE audit_event CASCADE",
    f"SET ROLE {OWNER_ROLE}",
    f"GRANT {OWNER_ROLE} TO CURRENT_USER",
    "UPDATE score_sheet SET notes = 'forged'",
    "DELETE FROM audit_event",
    "UPDATE criterion_score SET level_value = 1",
]


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


@on_postgresql
def test_the_served_role_cannot_switch_immutability_off_or_change_the_schema(app, world, db):
    """From the app's own connection every one of these is refused for lack of privilege."""
    submit(db, world, "assessor", notes="as submitted")
    db.commit()
    assert db.scalar(text("SELECT current_user")) == APP_ROLE
    sheets, events = (
        db.scalar(select(func.count(ScoreSheet.id))),
        db.scalar(select(func.count(AuditEvent.id))),
    )
    db.rollback()
    with get_db(app).engine.connect() as conn:
        for statement in FORBIDDEN:
            with pytest.raises(DBAPIError) as refused:
                conn.execute(text(statement))
            assert _sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE, (statement, str(refused.value))
            conn.rollback()
        # The triggers are still on, and nothing changed.
        assert (
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'score_sheet'::regclass "
                    "AND NOT tgisinternal AND tgenabled = 'O'"
                )
            )
            == 2
        )
        assert conn.scalar(select(func.count(ScoreSheet.id))) == sheets
        assert conn.scalar(select(func.count(AuditEvent.id))) == events
        assert conn.scalar(select(ScoreSheet.notes)) == "as submitted"
        assert conn.scalar(text("SELECT to_regclass('forged')")) is None


@on_postgresql
def test_the_owner_could_switch_the_triggers_off_which_is_why_the_server_is_not_the_owner(
    world, db, owner_database_url
):
    """The hole of the issue, on the owner's connection (rolled back): the split is what closes it."""
    submit(db, world, "assessor", notes="as submitted")
    db.commit()
    engine = create_engine(owner_database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("ALTER TABLE score_sheet DISABLE TRIGGER USER"))
            conn.execute(text("UPDATE score_sheet SET notes = 'forged'"))
            assert conn.scalar(select(ScoreSheet.notes)) == "forged"
            conn.rollback()
            assert conn.scalar(select(ScoreSheet.notes)) == "as submitted"
    finally:
        engine.dispose()


def _privileges(url: str, role: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.relname, p.privilege FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
                    "CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES',"
                    "'TRIGGER']) AS p(privilege) "
                    "WHERE c.relkind = 'r' AND has_table_privilege(:r, c.oid, p.privilege)"
                ),
                {"r": role},
            ).all()
    finally:
        engine.dispose()
    out: dict[str, set[str]] = {}
    for table, privilege in rows:
        out.setdefault(table, set()).add(privilege)
    return out


@on_postgresql
def test_the_app_role_has_row_privileges_only(owner_database_url):
    """What the suite's app role holds: no TRUNCATE, REFERENCES or TRIGGER anywhere, append-only
    tables insert-only (criterion scores: UPDATE on the id column, for the corrections' row lock),
    the migration table read-only, every other table read-write."""
    privileges = _privileges(owner_database_url, APP_ROLE)
    assert privileges["score_sheet"] == privileges["audit_event"] == {"SELECT", "INSERT"}
    assert privileges["score_correction"] == {"SELECT", "INSERT"}
    assert privileges["criterion_score"] == {"SELECT", "INSERT"}  # table-wide; the id column aside
    assert privileges["alembic_version"] == {"SELECT"}
    assert privileges["round"] == privileges["unit_level_count"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert all(not ({"TRUNCATE", "REFERENCES", "TRIGGER"} & held) for held in privileges.values())
    engine = create_engine(owner_database_url)
    try:
        with engine.connect() as conn:
            column = "has_column_privilege(:r, 'criterion_score', :c, 'UPDATE')"
            assert conn.scalar(text(f"SELECT {column}"), {"r": APP_ROLE, "c": "id"})
            assert not conn.scalar(text(f"SELECT {column}"), {"r": APP_ROLE, "c": "level_value"})
            assert not conn.scalar(
                text("SELECT has_schema_privilege(:r, current_schema(), 'CREATE')"), {"r": APP_ROLE}
            )
    finally:
        engine.dispose()


@pytest.fixture
def new_role(postgres_server: str, database_url: str) -> Iterator[str]:
    """A role name of this test's own; dropped afterwards (roles outlive databases)."""
    name = f"calib_extra_{os.getpid()}_{next(_names)}"
    yield name
    admin = create_engine(
        make_url(postgres_server).set(database=make_url(database_url).database), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}):
                conn.execute(text(f"DROP OWNED BY {name}"))
                conn.execute(text(f"DROP ROLE {name}"))
    finally:
        admin.dispose()


def _invoke(runner: Any, *args: str) -> Any:
    return runner.invoke(args=list(args))


@on_postgresql
def test_create_app_role_makes_a_role_the_server_can_run_as(runner, owner_database_url, new_role):
    result = _invoke(
        runner,
        "create-app-role",
        new_role,
        "--password",
        "it's 100% secret",
        "--database-url",
        owner_database_url,
    )
    assert result.exit_code == 0, result.output
    assert f"Role '{new_role}' created" in result.output
    assert (
        # practice_attempt: issue 16's practice tries, final like score sheets (migration 0016);
        # operational_rating: issue 18's imported live scoring, immutable too (migration 0018)
        "insert only (append-only): audit_event, criterion_score, operational_rating, practice_attempt, "
        "score_correction, score_sheet" in result.output
    )
    assert _privileges(owner_database_url, new_role) == _privileges(owner_database_url, APP_ROLE)

    # It logs in with that password (quoted by the server, not by hand) and reads and writes rows.
    url = make_url(owner_database_url).set(username=new_role, password="it's 100% secret")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT current_user")) == new_role
            conn.execute(text("INSERT INTO program (slug, name, settings_json, created_at) "
                              "VALUES ('p', 'P', '{}', now())"))  # fmt: skip
            with pytest.raises(DBAPIError) as refused:
                conn.execute(text("ALTER TABLE score_sheet DISABLE TRIGGER USER"))
            assert _sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
            conn.rollback()
    finally:
        engine.dispose()

    # Run again without a password: the grants are re-applied, the password kept.
    again = _invoke(runner, "create-app-role", new_role, "--database-url", owner_database_url)
    assert again.exit_code == 0, again.output
    assert f"Role '{new_role}' updated" in again.output


@on_postgresql
def test_migrate_runs_as_the_owner_and_new_tables_are_granted(runner, app, owner_database_url, db):
    """``migrate`` takes the owner's URL (the server's role could not); tables a later migration
    creates are usable by the app role at once (default privileges)."""
    downgrade(owner_database_url, "0006")  # drops score_correction, made again by 0007
    as_app = _invoke(runner, "migrate")  # DATABASE_URL is the app role's
    assert as_app.exit_code != 0
    assert "must be owner" in str(as_app.exception) or "permission denied" in str(as_app.exception)
    app.config["MIGRATE_DATABASE_URL"] = owner_database_url
    as_owner = _invoke(runner, "migrate")
    assert as_owner.exit_code == 0, as_owner.output
    assert "SELECT" in _privileges(owner_database_url, APP_ROLE)["score_correction"]
    assert db.scalar(text("SELECT count(*) FROM score_correction")) == 0


@on_postgresql
def test_create_app_role_refuses_with_a_plain_message_and_changes_nothing(
    runner, owner_database_url, postgres_server, new_role
):
    cases = [
        (["Bad-Name", "--password", "x"], "lower-case letters"),
        ([new_role], "does not exist yet: give it a password"),
        ([OWNER_ROLE, "--password", "x"], "is the role this command connects as"),
    ]
    for args, message in cases:
        result = _invoke(runner, "create-app-role", *args, "--database-url", owner_database_url)
        assert result.exit_code != 0
        assert message in result.output, result.output
        assert "Traceback" not in result.output

    # Not the owner (here: the app role itself): it may not create roles, and owns no table.
    app_url = as_app(owner_database_url)
    result = _invoke(runner, "create-app-role", new_role, "--password", "x", "--database-url", app_url)
    assert result.exit_code != 0
    assert "may not create or change roles" in result.output and "CREATE ROLE" in result.output
    result = _invoke(runner, "create-app-role", OWNER_ROLE, "--database-url", app_url)
    assert result.exit_code != 0
    assert "Run this command as the role that ran the migrations" in result.output

    # A role that can act as the owner is refused; nothing is granted.
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {new_role} LOGIN IN ROLE {OWNER_ROLE}"))
    finally:
        admin.dispose()
    result = _invoke(runner, "create-app-role", new_role, "--database-url", owner_database_url)
    assert result.exit_code != 0
    assert "Nothing was changed" in result.output and "member of the owner" in result.output
    assert _direct_grants(owner_database_url, new_role) == 0


def _direct_grants(url: str, role: str) -> int:
    """Privileges granted to the role itself (not through membership), on tables or by default."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT (SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
                        "        WHERE a.grantee = r.oid) "
                        "     + (SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a "
                        "        WHERE a.grantee = r.oid) "
                        "FROM pg_roles r WHERE r.rolname = :r"
                    ),
                    {"r": role},
                )
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_create_app_role_on_sqlite_says_there_are_no_roles(runner):
    result = _invoke(runner, "create-app-role", "calib_app", "--password", "x")
    assert result.exit_code != 0
    assert "SQLite has no database roles" in result.output


@on_postgresql
def test_create_app_role_asks_for_the_password_as_the_readme_shows(runner, owner_database_url, new_role):
    """``--password`` without a value prompts twice (hidden); ``APP_ROLE_PASSWORD`` also works."""
    result = runner.invoke(
        args=["create-app-role", new_role, "--password", "--database-url", owner_database_url],
        input="typed-secret\ntyped-secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "typed-secret" not in result.output
    _logs_in(owner_database_url, new_role, "typed-secret")
    again = runner.invoke(
        args=["create-app-role", new_role, "--database-url", owner_database_url],
        env={"APP_ROLE_PASSWORD": "from-the-environment"},
    )
    assert again.exit_code == 0, again.output
    _logs_in(owner_database_url, new_role, "from-the-environment")
    with pytest.raises(DBAPIError, match="password authentication failed"):
        _logs_in(owner_database_url, new_role, "typed-secret")  # the old one no longer works


def _logs_in(url: str, role: str, password: str) -> None:
    engine = create_engine(make_url(url).set(username=role, password=password))
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT current_user")) == role
    finally:
        engine.dispose()

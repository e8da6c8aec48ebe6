"""Migrations: one head, upgrade equals the models, every revision goes up and down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from calibration.db import Base, normalise_url
from calibration.db.migrate import alembic_config, downgrade, heads, upgrade


def test_single_head():
    assert len(heads()) == 1


def test_upgrade_matches_models(database_url):
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert diff == [], diff


def test_every_revision_up_and_down(owner_database_url):
    database_url = owner_database_url  # migrations run as the owner role
    script = ScriptDirectory.from_config(alembic_config(database_url))
    revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    # The per-test database is already at head: walk all the way down and back up, one step at a time.
    for revision in reversed(revisions):
        target = script.get_revision(revision).down_revision or "base"
        downgrade(database_url, target if isinstance(target, str) else target[0])
    engine = create_engine(normalise_url(database_url))
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    assert tables == set()
    for revision in revisions:
        upgrade(database_url, revision)
    engine = create_engine(normalise_url(database_url))
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# On PostgreSQL the app's role is refused by privilege first (tests/migrations/test_app_role.py);
# the owner's connection shows the trigger refuses even the owner.
REFUSED = r"immutable|permission denied"


@pytest.mark.parametrize("table", ["score_sheet", "criterion_score", "audit_event"])
def test_immutable_tables_refuse_update_and_delete(app, world, db, owner_database_url, table):
    """Even raw SQL from the app's own connection (or the owner's) cannot change final rows."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from ..factories import submit

    submit(db, world, "assessor", notes="n")
    db.commit()
    column = {"score_sheet": "notes", "criterion_score": "level_value", "audit_event": "outcome"}[table]
    value = {"score_sheet": "'changed'", "criterion_score": "1", "audit_event": "'forged'"}[table]
    for statement in (f"UPDATE {table} SET {column} = {value}", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match=REFUSED):
            db.execute(text(statement))
        db.rollback()
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(Exception, match=REFUSED):
            db.execute(text(f"TRUNCATE {table} CASCADE"))
        db.rollback()
        owner = create_engine(owner_database_url)
        try:
            with Session(owner) as as_owner:
                for statement in (
                    f"UPDATE {table} SET {column} = {value}",
                    f"DELETE FROM {table}",
                    f"TRUNCATE {table} CASCADE",
                ):
                    with pytest.raises(Exception, match="immutable"):
                        as_owner.execute(text(statement))
                    as_owner.rollback()
        finally:
            owner.dispose()
    else:
        row = db.execute(text(f"SELECT * FROM {table} LIMIT 1")).mappings().first()
        cols = ", ".join(row.keys())
        params = ", ".join(f":{k}" for k in row)
        with pytest.raises(Exception, match="immutable"):
            db.execute(text(f"REPLACE INTO {table} ({cols}) VALUES ({params})"), dict(row))
        db.rollback()


def test_0012_down_removes_only_the_flags_of_the_new_rules(app, world, db, owner_database_url):
    """Issue 15's rules (own drift, lean, cohort level) are new values of ``drift_flag.rule``; the code
    before 0012 cannot read them, so going down removes those flags (detaching recalibrations that
    point at them) and keeps every older flag with its stored parameters."""
    from calibration.models import DriftFlag, FlagRule, RecalibrationWait

    def flag(rule: FlagRule, n: int) -> DriftFlag:
        return DriftFlag(
            program_id=world.program_a, user_id=world.ids["assessor"], rule=rule, statistic="s",
            summary="s", evidence_hash=f"{n:064d}", parameters_json='{"lam": 0.2}',
        )  # fmt: skip

    kept, lean, own = flag(FlagRule.EWMA, 1), flag(FlagRule.LEAN, 2), flag(FlagRule.OWN_DRIFT, 3)
    db.add_all([kept, lean, own])
    db.flush()
    wait = RecalibrationWait(program_id=world.program_a, user_id=world.ids["assessor"], flag_id=own.id)
    db.add(wait)
    db.commit()
    ids = (kept.id, lean.id, own.id)
    wait_id = wait.id
    db.close()
    downgrade(owner_database_url, "0011")
    engine = create_engine(normalise_url(owner_database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, rule, parameters_json FROM drift_flag ORDER BY id")).all()
            waits = conn.execute(text("SELECT id, flag_id FROM recalibration_wait")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(ids[0], "ewma", '{"lam": 0.2}')]
    assert [tuple(r) for r in waits] == [(wait_id, None)]
    upgrade(owner_database_url, "head")

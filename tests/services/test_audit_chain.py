"""Audit rows are chained when their transaction commits, and vanish with a rollback."""

from __future__ import annotations

from sqlalchemy import func, select

from calibration.models import AuditEvent
from calibration.services import audit
from calibration.services.context import Member


def count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_rolled_back_transaction_leaves_no_audit_row(db, world):
    before = count(db)
    audit.record(db, Member(world.ids["trainer"], world.program_a), "test.rolled_back")
    db.rollback()
    db.commit()
    assert count(db) == before


def test_rows_are_chained_in_commit_order_and_verify(db, world):
    actor = Member(world.ids["trainer"], world.program_a, request_id="req-1")
    before = count(db)
    audit.record(db, actor, "test.first", object_type="thing", object_id=1)
    audit.record(db, actor, "test.second", object_type="thing", object_id=2)
    db.commit()
    rows = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)))[::-1]
    assert count(db) == before + 2
    assert [r.action for r in rows] == ["test.first", "test.second"]
    assert rows[1].prev_hash == rows[0].hash and rows[0].request_id == "req-1"
    assert audit.verify_chain(db).ok


class _Boom(Exception):
    pass


def test_a_rolled_back_savepoint_keeps_the_rows_recorded_before_it(db, world):
    actor = Member(world.ids["trainer"], world.program_a)
    before = count(db)
    audit.record(db, actor, "test.outer_before")
    try:
        with db.begin_nested():
            audit.record(db, actor, "test.inside_rolled_back")
            raise _Boom
    except _Boom:
        pass
    audit.record(db, actor, "test.outer_after")
    db.commit()
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.id > 0).order_by(AuditEvent.id)))
    assert count(db) == before + 2
    assert actions[-2:] == ["test.outer_before", "test.outer_after"]
    assert audit.verify_chain(db).ok


def test_a_released_savepoint_keeps_its_rows_until_the_outer_rollback(db, world):
    actor = Member(world.ids["trainer"], world.program_a)
    before = count(db)
    with db.begin_nested():
        audit.record(db, actor, "test.inside_released")
    db.commit()
    assert count(db) == before + 1
    with db.begin_nested():
        audit.record(db, actor, "test.inside_then_outer_rollback")
    db.rollback()
    db.commit()
    assert count(db) == before + 1


def test_nested_savepoints_drop_only_what_the_rolled_back_one_recorded(db, world):
    actor = Member(world.ids["trainer"], world.program_a)
    before = count(db)
    with db.begin_nested():
        audit.record(db, actor, "test.level1")
        try:
            with db.begin_nested():
                audit.record(db, actor, "test.level2_rolled_back")
                with db.begin_nested():
                    audit.record(db, actor, "test.level3_inside_rolled_back")
                raise _Boom
        except _Boom:
            pass
        audit.record(db, actor, "test.level1_after")
    db.commit()
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(2)))[::-1]
    assert actions == ["test.level1", "test.level1_after"]
    assert count(db) == before + 2

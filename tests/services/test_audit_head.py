"""The audit chain's head row: appends from many connections at once form one chain, and the
migration that adds the head continues a chain that already exists."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from calibration.db import make_engine, normalise_url, write_intent
from calibration.db.migrate import downgrade, upgrade
from calibration.models import AuditChainHead, AuditEvent
from calibration.services import audit
from calibration.services.context import Member


def test_concurrent_appends_form_one_chain(database_url, world):
    engine = make_engine(database_url)  # the app's engine: SQLite writes open with BEGIN IMMEDIATE
    threads, errors = 8, []
    barrier = threading.Barrier(threads)

    def append(i: int) -> None:
        try:
            with Session(engine) as session:
                barrier.wait(timeout=30)
                for j in range(5):
                    with write_intent():  # as a writing request: SQLite begins with the write lock
                        actor = Member(world.ids["trainer"], world.program_a)
                        audit.record(session, actor, f"test.append.{i}.{j}")
                        session.commit()
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    try:
        assert errors == []
        with Session(engine) as session:
            n = session.scalar(select(func.count()).where(AuditEvent.action.like("test.append.%")))
            assert n == threads * 5
            check = audit.verify_chain(session)
            assert check.ok, check
            last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
            assert session.scalar(select(AuditChainHead.last_hash)) == last
    finally:
        engine.dispose()


def test_the_head_continues_a_chain_that_predates_it(owner_database_url):
    downgrade(owner_database_url, "0010")
    engine = create_engine(normalise_url(owner_database_url))
    try:
        prev = audit.GENESIS
        with engine.begin() as conn:
            for i in range(3):
                fields = {
                    "at": f"2026-01-0{i + 1}T00:00:00+00:00", "actor_id": None, "program_id": None,
                    "action": f"old.{i}", "object_type": None, "object_id": None, "outcome": "ok",
                    "request_id": None, "detail": "{}",
                }  # fmt: skip
                digest = audit._digest(prev, fields)
                conn.execute(
                    text(
                        "INSERT INTO audit_event (at, action, outcome, detail_json, prev_hash, hash) "
                        "VALUES (:at, :action, 'ok', '{}', :prev, :hash)"
                    ),
                    {
                        "at": f"2026-01-0{i + 1} 00:00:00+00:00",
                        "action": f"old.{i}",
                        "prev": prev,
                        "hash": digest,
                    },
                )
                prev = digest
        upgrade(owner_database_url)
        with Session(engine) as session:
            assert session.scalar(select(AuditChainHead.last_hash)) == prev
            audit.record(session, Member(None, None), "test.after_the_head")
            session.commit()
            row = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
            assert row.prev_hash == prev
    finally:
        engine.dispose()

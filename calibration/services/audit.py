"""Append-only audit rows, chained by SHA-256 so that tampering is detectable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session, SessionTransaction

from ..db import utcnow
from ..models import AuditChainHead, AuditEvent
from .context import Actor

GENESIS = "0" * 64


def _payload(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)


def _digest(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + _payload(fields)).encode()).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "program_id": event.program_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "detail": event.detail_json,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | str | None = None,
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
    program_id: int | None = None,
) -> AuditEvent:
    """Queue one audit row; it is chained and written when the session commits.

    Appending to the chain needs the chain's lock (the row of ``audit_chain_head``, held to the
    end of the transaction). Taking it at commit, not here, keeps every other writer waiting only for
    an insert and a commit, not for the rest of this transaction's work. A rollback drops the row
    with everything else; a rolled-back savepoint drops only the rows recorded inside it.
    """
    event = AuditEvent(
        at=utcnow().replace(microsecond=0),
        actor_id=actor.user_id,
        program_id=program_id if program_id is not None else actor.program_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        request_id=actor.request_id,
        detail_json=json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), default=str),
    )
    session.info.setdefault(_PENDING, []).append((_innermost(session), event))
    return event


def _innermost(session: Session) -> SessionTransaction | None:
    """The transaction a row is recorded in: the open savepoint if any, else the outer transaction.

    ``None`` when no transaction has begun yet: such a row belongs to the outer transaction that
    the next statement or commit begins.
    """
    return session.get_nested_transaction() or session.get_transaction()


def flush_pending(session: Session) -> None:
    """Chain and insert the queued audit rows now (called before every commit).

    A savepoint's release fires ``before_commit`` too; the rows wait for the outer commit, since
    a savepoint further out may still roll back, and the chain's lock is only for the commit.

    The chain's lock is the row of ``audit_chain_head``, held to the commit. On PostgreSQL each
    row is appended by one statement that updates the head (its new hash computed in SQL from the
    head as it stands once the lock is granted) and inserts the audit row; on SQLite the write
    lock already serialises writers, and the hash is computed here.
    """
    if session.in_nested_transaction():
        return
    queued = session.info.pop(_PENDING, None)
    if not queued:
        return
    pending = [event for _, event in queued]
    if session.get_bind().dialect.name == "postgresql":
        for event in pending:
            _append_in_one_statement(session, event)
        return
    prev = session.scalar(select(AuditChainHead.last_hash).where(AuditChainHead.id == _HEAD))
    if prev is None:
        raise RuntimeError("the audit chain's head row is missing: run the migrations")
    last_prev = prev
    for event in pending:
        event.prev_hash = prev
        event.hash = _digest(prev, _hashed_fields(event))
        last_prev, prev = prev, event.hash
        session.add(event)
        session.flush()  # one at a time: ids follow the chain's order
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == _HEAD).values(prev_hash=last_prev, last_hash=prev)
    )


_HEAD = 1
_COPIED = ("at", "actor_id", "program_id", "action", "object_type", "object_id", "outcome", "request_id")


def _append_in_one_statement(session: Session, event: AuditEvent) -> None:
    """``WITH head AS (UPDATE audit_chain_head ... RETURNING) INSERT INTO audit_event SELECT ...``."""
    payload = _payload(_hashed_fields(event))
    head_table = AuditChainHead.__table__
    head = (
        update(AuditChainHead)
        .where(AuditChainHead.id == _HEAD)
        .values(
            prev_hash=head_table.c.last_hash,
            last_hash=func.encode(
                func.sha256(func.convert_to(head_table.c.last_hash.concat(literal("\n" + payload)), "UTF8")),
                "hex",
            ),
        )
        .returning(head_table.c.prev_hash, head_table.c.last_hash)
        .cte("head")
    )
    columns = AuditEvent.__table__.c
    values = [literal(getattr(event, name), columns[name].type).label(name) for name in _COPIED]
    values.append(literal(event.detail_json, columns["detail_json"].type).label("detail_json"))
    stmt = (
        insert(AuditEvent)
        .from_select(
            [*_COPIED, "detail_json", "prev_hash", "hash"],
            select(*values, head.c.prev_hash, head.c.last_hash),
        )
        .returning(columns["prev_hash"], columns["hash"])
    )
    row = session.execute(stmt).first()
    if row is None:
        raise RuntimeError("the audit chain's head row is missing: run the migrations")
    event.prev_hash, event.hash = row
    if _digest(event.prev_hash, _hashed_fields(event)) != event.hash:  # the SQL must hash as we do
        raise RuntimeError("the database computed a different audit hash; nothing was written")


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop the queued rows recorded in ``previous_transaction`` or in a savepoint inside it.

    SQLAlchemy reports every rollback here, a savepoint's too: rows recorded before the savepoint
    began, or after it ended, belong to its parent and stay queued with the changes they describe.
    """
    queued = session.info.get(_PENDING)
    if not queued:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)  # the outer transaction: everything goes
        return
    session.info[_PENDING] = [(tx, event) for tx, event in queued if not _within(tx, previous_transaction)]


def _within(tx: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while tx is not None:
        if tx is ancestor:
            return True
        tx = tx.parent
    return False


_PENDING = "calibration.audit.pending"
sa_event.listen(Session, "before_commit", flush_pending)
sa_event.listen(Session, "after_soft_rollback", _drop_rolled_back)


DENIED = "access.denied"


def record_denial(
    session: Session,
    actor: Actor,
    *,
    endpoint: str | None,
    rule: str | None,
    method: str,
    ids: Mapping[str, int],
    status: int,
    reason: str,
) -> AuditEvent:
    """Append an ``access.denied`` row: who was refused what (a route and its ids), and why.

    ``reason`` is ``role`` (the area is not for this role) or ``scope`` (the object is not
    the caller's, does not exist, or is hidden from them, e.g. feedback before a final sheet).
    """
    return record(
        session,
        actor,
        DENIED,
        object_type="route",
        object_id=(endpoint or "")[:64] or None,
        outcome="denied",
        detail={"rule": rule, "method": method, "ids": dict(ids), "status": status, "reason": reason},
    )


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainCheck:
    """Recompute every hash in id order; report the first row that does not match."""
    prev = GENESIS
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        count += 1
        if event.prev_hash != prev:
            return ChainCheck(False, count, event.id, "previous-hash link broken (row removed or reordered)")
        if _digest(prev, _hashed_fields(event)) != event.hash:
            return ChainCheck(False, count, event.id, "row content does not match its hash (row altered)")
        prev = event.hash
    return ChainCheck(True, count)

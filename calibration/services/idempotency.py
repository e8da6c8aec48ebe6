"""Idempotency keys for the API's POSTs: the first answer to a request is kept per token and key,
so a retried request (same key, same request) gets that answer again and writes nothing.

A request claims its key with one ``INSERT ... ON CONFLICT DO NOTHING``: of twenty concurrent
retries exactly one inserts the claim and does the work; the others find the claim and wait for
its answer. A claim whose request failed (a server error) is released, so a retry may try again;
a claim left unanswered longer than :data:`STALE_AFTER` (its server died) may be taken over.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import ApiIdempotencyKey

#: A claim with no answer after this long belongs to a request that will never answer.
STALE_AFTER = dt.timedelta(minutes=2)
#: Answers are kept this long (a retry after that is a new request).
KEEP_FOR = dt.timedelta(days=1)

State = Literal["new", "replay", "mismatch", "pending"]


@dataclass(frozen=True)
class Claim:
    """``new``: this request does the work (``id`` is its claim); ``replay``: the first answer;
    ``mismatch``: the key was used for another request; ``pending``: the first is still running."""

    state: State
    id: int | None = None
    status: int | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def claim(
    session: Session, token_id: int, key: str, request_hash: str, *, now: dt.datetime | None = None
) -> Claim:
    """Claim ``key`` for this token and request, or say what became of the first claim. Flushes."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_id = session.execute(
        insert(ApiIdempotencyKey)
        .values(token_id=token_id, key=key, request_hash=request_hash, created_at=now, response_headers="{}")
        .on_conflict_do_nothing(index_elements=[ApiIdempotencyKey.token_id, ApiIdempotencyKey.key])
        .returning(ApiIdempotencyKey.id)
    ).scalar_one_or_none()
    if new_id is not None:
        return Claim("new", new_id)
    row = session.execute(
        select(ApiIdempotencyKey).where(ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.key == key)
    ).scalar_one()
    if row.request_hash != request_hash:
        return Claim("mismatch", row.id)
    if row.status is not None:
        if row.created_at < now - KEEP_FOR:  # an old answer: this is a new request
            return _take_over(session, row.id, now, answered=True)
        return Claim("replay", row.id, row.status, row.response_body, json.loads(row.response_headers))
    if row.created_at < now - STALE_AFTER:
        return _take_over(session, row.id, now, answered=False)
    return Claim("pending", row.id)


def _take_over(session: Session, claim_id: int, now: dt.datetime, *, answered: bool) -> Claim:
    condition = ApiIdempotencyKey.status.is_not(None) if answered else ApiIdempotencyKey.status.is_(None)
    result = session.execute(
        update(ApiIdempotencyKey)
        .where(ApiIdempotencyKey.id == claim_id, condition, ApiIdempotencyKey.created_at < now - STALE_AFTER)
        .values(created_at=now, status=None, response_body=None, response_headers="{}", finished_at=None)
    )
    session.flush()
    return Claim("new", claim_id) if rows_matched(result) else Claim("pending", claim_id)


def answer(
    session: Session,
    claim_id: int,
    *,
    status: int,
    body: str,
    headers: dict[str, str],
    now: dt.datetime | None = None,
) -> None:
    """Keep the first answer of a claimed request. Flushes."""
    session.execute(
        update(ApiIdempotencyKey)
        .where(ApiIdempotencyKey.id == claim_id)
        .values(
            status=status,
            response_body=body,
            response_headers=json.dumps(headers),
            finished_at=now or utcnow(),
        )
    )
    session.flush()


def release(session: Session, claim_id: int) -> None:
    """Give up an unanswered claim (its request failed): a retry may try again. Flushes."""
    session.execute(
        delete(ApiIdempotencyKey).where(ApiIdempotencyKey.id == claim_id, ApiIdempotencyKey.status.is_(None))
    )
    session.flush()

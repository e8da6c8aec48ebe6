"""Private calendar feed links: an assessor's secret feed address, created, revoked and resolved.

Only the SHA-256 of a token is stored; the token is shown once. The feed itself is built by
:mod:`calibration.services.calendar`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import (
    CalendarFeedToken,
    User,
)
from . import audit
from .context import Member, Person


# ---------------------------------------------------------------------------------- feed tokens
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(session: Session, actor: Member | Person, *, now: dt.datetime | None = None) -> str:
    """A new private feed link for the actor; any earlier link stops working. Returns the token
    (shown once; only its SHA-256 is stored)."""
    now = now or utcnow()
    revoke_feed(session, actor, now=now, audited=False)
    token = secrets.token_urlsafe(32)
    session.add(CalendarFeedToken(user_id=actor.user_id, token_hash=_hash(token), created_at=now))
    session.flush()
    audit.record(session, actor, "calendar.feed_link", object_type="user", object_id=actor.user_id)
    return token


def revoke_feed(
    session: Session, actor: Member | Person, *, now: dt.datetime | None = None, audited: bool = True
) -> int:
    result = session.execute(
        update(CalendarFeedToken)
        .where(CalendarFeedToken.user_id == actor.user_id, CalendarFeedToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    session.flush()
    n = rows_matched(result)
    if audited:
        audit.record(
            session,
            actor,
            "calendar.feed_revoke",
            object_type="user",
            object_id=actor.user_id,
            detail={"revoked": n},
        )
    return n


def has_feed(session: Session, user_id: int) -> dt.datetime | None:
    return session.scalar(
        select(CalendarFeedToken.created_at).where(
            CalendarFeedToken.user_id == user_id, CalendarFeedToken.revoked_at.is_(None)
        )
    )


def feed_user(session: Session, token: str) -> User | None:
    """The user of a live feed token (None for an unknown or revoked one)."""
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(User)
        .join(CalendarFeedToken, CalendarFeedToken.user_id == User.id)
        .where(
            CalendarFeedToken.token_hash == _hash(token),
            CalendarFeedToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )

"""Single-use account tokens for invitation and password-reset links.

A token is 32 random bytes (``secrets.token_urlsafe``); only its SHA-256 is stored, so a database
reader cannot use a link. A token works once, until it expires, unless revoked; issuing a new token
for the same person and purpose revokes the earlier ones (a resent link replaces the old one).
Using a token is one conditional ``UPDATE``, so two requests racing with the same link cannot both
succeed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import AccountToken, TokenPurpose
from .errors import DomainError

# Longest token we look up: anything longer is not ours (and is not hashed at all).
MAX_TOKEN_CHARS = 128

REASONS = {
    "unknown": "This link is not valid. It may be incomplete or mistyped: copy the whole link from the email.",
    "expired": "This link has expired.",
    "used": "This link has already been used.",
    "revoked": "This link has been withdrawn, usually because a newer one was sent.",
}


class TokenInvalid(DomainError):
    """The link cannot be used; ``reason`` is one of unknown, expired, used, revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASONS[reason])
        self.reason = reason


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # goes into the emailed link only; never stored or logged
    row: AccountToken


def issue(
    session: Session,
    *,
    purpose: TokenPurpose,
    user_id: int,
    program_id: int | None,
    lifetime: dt.timedelta,
    created_by_id: int | None = None,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """A new token for the person and purpose; earlier live tokens of that purpose are revoked."""
    now = now or utcnow()
    revoke_all(session, purpose=purpose, user_id=user_id, now=now)
    token = secrets.token_urlsafe(32)
    row = AccountToken(
        purpose=purpose,
        token_hash=token_hash(token),
        user_id=user_id,
        program_id=program_id,
        created_at=now,
        expires_at=now + lifetime,
        created_by_id=created_by_id,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token, row)


def revoke_all(
    session: Session, *, purpose: TokenPurpose, user_id: int, now: dt.datetime | None = None
) -> int:
    """Revoke every live token of this purpose for the person; returns how many."""
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.purpose == purpose,
            AccountToken.user_id == user_id,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
        )
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)


def check(
    session: Session, token: str, *, purpose: TokenPurpose, now: dt.datetime | None = None
) -> AccountToken:
    """The token's row if the link can be used now, else TokenInvalid with the reason."""
    now = now or utcnow()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid("unknown")
    row = session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == token_hash(token), AccountToken.purpose == purpose
        )
    )
    if row is None:
        raise TokenInvalid("unknown")
    if row.used_at is not None:
        raise TokenInvalid("used")
    if row.revoked_at is not None:
        raise TokenInvalid("revoked")
    if row.expires_at <= now:
        raise TokenInvalid("expired")
    return row


def consume(session: Session, row: AccountToken, *, now: dt.datetime | None = None) -> None:
    """Mark the token used, only if still unused, unrevoked and unexpired (else TokenInvalid)."""
    now = now or utcnow()
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == row.id,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(result) != 1:
        raise TokenInvalid("used")
    session.expire(row)


def live_token(session: Session, *, purpose: TokenPurpose, user_id: int) -> AccountToken | None:
    """The person's newest token of this purpose (live or not), for status pages."""
    return session.scalar(
        select(AccountToken)
        .where(AccountToken.purpose == purpose, AccountToken.user_id == user_id)
        .order_by(AccountToken.id.desc())
        .limit(1)
    )

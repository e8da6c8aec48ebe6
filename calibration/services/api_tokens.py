"""Program API tokens: created and revoked by admins and lead trainers, resolved on each API call.

Only the SHA-256 of a token is stored; the token is shown once. Every creation, revocation and
refusal is audited; uses are audited once per token per minute (the first request of each minute,
with the endpoint), while the per-minute request counts stay in ``api_rate_window``: a scoring
platform polling several times a second would otherwise add hundreds of thousands of rows a day to a
hash-chained trail whose every append waits for the chain's lock.

Rate limits are counted in the database, so several server instances share them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import ApiRateWindow, ApiToken, Role
from . import audit
from .context import Member, SystemActor
from .errors import InvalidInput, NotFound

#: What a token may be allowed to do. ``trainer`` reads as the program's trainers do: the only
#: scope that ever sees master keys and rationales. ``import`` and ``validity`` are for the
#: operational imports and validity seeding (issue 18 items 4 and 6); ``admin`` for what the program's
#: admins and lead trainers see of its webhooks (item 7).
SCOPES: dict[str, str] = {
    "read": (
        "Read rubrics, rounds, score sheets, assessors and their profiles, anchors (no keys), reports, "
        "flags and sessions"
    ),
    "trainer": "Read as the program's trainers: also master keys and their rationales",
    "import": "Import operational ratings",
    "validity": "Ask for validity anchors and send their scores back",
    "admin": "Read the webhook endpoints and their deliveries with every try, as the Webhooks page shows them",
}
#: Scopes that include reading.
READ_SCOPES = frozenset({"read", "trainer"})
KEY_SCOPE = "trainer"
#: Requests per token per minute. Requests without a valid token are counted per address too, but
#: only to audit them once per minute: they always get 401 (a 256-bit token cannot be guessed, and
#: a refusal that turned into 429 under load would tell a caller about other callers' traffic).
RATE_PER_MINUTE = 600
TOKEN_PREFIX = "cal_"
MANAGERS = frozenset({Role.ADMIN, Role.LEAD_TRAINER})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _must_manage(actor: Member) -> None:
    if actor.role not in MANAGERS:
        raise NotFound("no such page")


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # shown once


def create_token(
    session: Session, actor: Member, *, name: str, scopes: Iterable[str], now: dt.datetime | None = None
) -> NewToken:
    """A new token for the actor's program; returns it in clear (only its SHA-256 is kept)."""
    _must_manage(actor)
    name = name.strip()
    chosen = sorted(set(scopes))
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name that says who uses it."]
    elif len(name) > 120:
        errors["name"] = ["Keep the name to 120 characters or fewer."]
    if not chosen:
        errors["scopes"] = ["Choose at least one thing the token may do."]
    elif unknown := [s for s in chosen if s not in SCOPES]:
        errors["scopes"] = [f"Unknown permission: {', '.join(unknown)}."]
    if errors:
        raise InvalidInput("The token was not created: check the fields marked below.", errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        program_id=actor.program_id,
        name=name,
        token_hash=_hash(token),
        prefix=token[:10],
        scopes=" ".join(chosen),
        created_at=now or utcnow(),
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "api_token.create", object_type="api_token", object_id=row.id,
        detail={"name": name, "scopes": chosen},
    )  # fmt: skip
    return NewToken(row.id, token)


def revoke_token(session: Session, actor: Member, token_id: int, *, now: dt.datetime | None = None) -> bool:
    """Revoke one of the program's tokens (True if it was live; a second revoke changes nothing)."""
    _must_manage(actor)
    row = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.program_id == actor.program_id)
    )
    if row is None:
        raise NotFound("no such token")
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_by_id=actor.user_id)
    )
    session.flush()
    changed = rows_matched(result) > 0
    audit.record(
        session, actor, "api_token.revoke", object_type="api_token", object_id=row.id,
        detail={"name": row.name, "was_live": changed},
    )  # fmt: skip
    return changed


def program_tokens(session: Session, actor: Member) -> list[ApiToken]:
    _must_manage(actor)
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.program_id == actor.program_id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


# ----------------------------------------------------------------------------- use on a request
@dataclass(frozen=True)
class Caller:
    """A live token, as the API sees it."""

    token_id: int
    program_id: int
    scopes: frozenset[str]

    @property
    def sees_keys(self) -> bool:
        return KEY_SCOPE in self.scopes


@dataclass(frozen=True)
class Admission:
    """What the guard decided: ``caller`` when admitted, else the refusal's status and reason."""

    caller: Caller | None
    status: int = 200
    reason: str = ""
    retry_after: int = 0


def _window(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0)


def _count(session: Session, bucket: str, window: dt.datetime) -> int:
    """Add one request to the bucket's minute and return the minute's count (one statement, so
    concurrent instances never lose a count)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(ApiRateWindow)
        .values(bucket=bucket, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=[ApiRateWindow.bucket, ApiRateWindow.window_start],
            set_={"count": ApiRateWindow.count + 1},
        )
        .returning(ApiRateWindow.count)
    )
    return int(session.execute(stmt).scalar_one())


def _prune(session: Session, now: dt.datetime) -> None:
    """Drop counts older than an hour (about once a minute per instance: on the first count of a
    minute)."""
    from sqlalchemy import delete

    session.execute(delete(ApiRateWindow).where(ApiRateWindow.window_start < now - dt.timedelta(hours=1)))


def admit(
    session: Session,
    token: str | None,
    *,
    client: str,
    endpoint: str,
    method: str,
    request_id: str | None,
    rate: int | None = None,
    now: dt.datetime | None = None,
    allowed: frozenset[str] = READ_SCOPES,
) -> Admission:
    """Resolve a bearer token, count the request against its rate limit (``rate`` per minute,
    default :data:`RATE_PER_MINUTE`), check it has one of the ``allowed`` scopes (default: a reading
    scope) and audit as described in the module's docstring. Flushes; the caller commits (a refusal
    is committed too)."""
    now = now or utcnow()
    window = _window(now)
    row = None
    if token and len(token) <= 200:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        reason = "missing" if not token else ("revoked" if row is not None else "unknown")
        # Without a valid token, count per address: one audit row per address per minute (with the
        # count so far in the bucket), so anyone cannot grow the trail at will.
        n = _count(session, f"anon:{client[:60]}", window)
        if n == 1:
            _prune(session, now)
        if n == 1 or row is not None:
            audit.record(
                session, SystemActor(row.program_id if row else None, request_id), "api.refused",
                object_type="api_token", object_id=row.id if row else None, outcome="denied",
                detail={"reason": reason, "endpoint": endpoint, "method": method, "status": 401},
            )  # fmt: skip
        return Admission(None, 401, reason)
    caller = Caller(row.id, row.program_id, row.scope_set)
    actor = SystemActor(row.program_id, request_id)
    n = _count(session, f"token:{row.id}", window)
    if n > (rate or RATE_PER_MINUTE):
        audit.record(
            session, actor, "api.refused", object_type="api_token", object_id=row.id, outcome="denied",
            detail={"reason": "rate", "endpoint": endpoint, "method": method, "status": 429, "count": n},
        )  # fmt: skip
        return Admission(None, 429, "rate", retry_after=60 - now.second)
    if not (caller.scopes & allowed):
        refuse(
            session,
            caller,
            endpoint=endpoint,
            method=method,
            status=403,
            reason="scope",
            request_id=request_id,
        )
        return Admission(None, 403, "scope")
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    if n == 1:
        _prune(session, now)
        audit.record(
            session, actor, "api.use", object_type="api_token", object_id=row.id,
            detail={"endpoint": endpoint, "method": method, "minute": window.isoformat()},
        )  # fmt: skip
    session.flush()
    return Admission(caller)


def refuse(
    session: Session,
    caller: Caller,
    *,
    endpoint: str,
    method: str,
    status: int,
    reason: str,
    request_id: str | None,
    ids: dict[str, int] | None = None,
) -> None:
    """Audit a refusal of an admitted token (an object of another program, a missing scope)."""
    audit.record(
        session, SystemActor(caller.program_id, request_id), "api.refused", object_type="api_token",
        object_id=caller.token_id, outcome="denied",
        detail={"reason": reason, "endpoint": endpoint, "method": method, "status": status, "ids": ids or {}},
    )  # fmt: skip

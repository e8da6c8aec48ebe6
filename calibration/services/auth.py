"""Passwords (argon2id) and server-side login sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from ..db import utcnow
from ..models import AuthSession, LoginAttempt, TokenPurpose, User
from . import audit, tokens
from .context import Actor, Person, SystemActor
from .errors import AuthenticationFailed, LoginThrottled

# argon2id with the library's RFC 9106 "low memory" parameters; tests swap in a cheap profile.
_DEFAULT_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
_hasher = _DEFAULT_HASHER


def use_cheap_hashing(enabled: bool) -> None:
    """For tests only: argon2id with minimal cost so fixtures stay fast."""
    global _hasher
    _hasher = _CHEAP_HASHER if enabled else _DEFAULT_HASHER


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _DEFAULT_HASHER.hash("not-a-real-password")


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str  # goes into the signed cookie; only its hash is stored


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)


#: Failed logins are warned about once this few attempts are left before the pause.
WARN_WHEN_LEFT = 2


def lockout_warning(failures: int, throttle: Throttle) -> str:
    """What to add to a failed login's message once the pause is near (else ""), from the count of
    recent failures for the address typed. The count is kept for every address, registered or not,
    so the words are the same either way and never tell whether an account exists."""
    left = throttle.max_failures - failures
    minutes = int(throttle.window.total_seconds() // 60)
    if left <= 0:
        return (
            f" That was the last attempt: logins with this email address are paused for {minutes} "
            "minutes. You can reset your password meanwhile."
        )
    if left <= WARN_WHEN_LEFT:
        return (
            f" {left} attempt{'s' if left != 1 else ''} left before logins with this email address "
            f"are paused for {minutes} minutes."
        )
    return ""


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    request_id: str | None = None,
    throttle: Throttle = Throttle(),
) -> LoginResult:
    """Check the password and open a new server-side session. Audited either way.

    Failures are counted per email address in the database (whether or not the account
    exists, so the reply never tells which addresses are registered); the last attempts before
    the limit are warned about (:func:`lockout_warning`); past the limit, attempts are refused
    without checking the password until the window has passed.
    """
    address = normalise_email(email)
    since = utcnow() - throttle.window
    failures = session.scalar(
        select(func.count()).where(LoginAttempt.email == address, LoginAttempt.at > since)
    )
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if (failures or 0) >= throttle.max_failures:
        audit.record(
            session,
            (Person(user.id, request_id) if user else SystemActor(request_id=request_id)),
            "login",
            object_type="user",
            object_id=user.id if user else None,
            outcome="throttled",
        )
        minutes = int(throttle.window.total_seconds() // 60)
        raise LoginThrottled(f"Too many failed attempts. Wait {minutes} minutes, then try again.")
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        session.add(LoginAttempt(email=address))
        audit.record(
            session,
            (Person(user.id, request_id) if user else SystemActor(request_id=request_id)),
            "login",
            object_type="user",
            object_id=user.id if user else None,
            outcome="failure",
            detail={"reason": "inactive" if (user and ok) else "bad_credentials"},
        )
        raise AuthenticationFailed(
            "The email or password is not right." + lockout_warning((failures or 0) + 1, throttle)
        )
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == address))
    token = open_session(session, user.id)
    audit.record(
        session,
        Person(user.id, request_id),
        "login",
        object_type="user",
        object_id=user.id,
    )
    session.flush()
    return LoginResult(user, token)


def open_session(session: Session, user_id: int) -> str:
    """A new server-side login session; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=_token_hash(token), user_id=user_id))
    return token


def resolve_session(
    session: Session, token: str, *, idle: dt.timedelta, absolute: dt.timedelta
) -> AuthSession | None:
    """The live session for a cookie token, or None (unknown, ended, idle or too old)."""
    row = session.scalar(
        select(AuthSession)
        .where(AuthSession.token_hash == _token_hash(token))
        .options(joinedload(AuthSession.user))  # every request reads the user: one statement, not two
    )
    if row is None or row.ended_at is not None or not row.user.is_active:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        return None
    return row


def session_owner(session: Session, token: str) -> int | None:
    """The user a login session token belongs to, live or not (None for an unknown token): what
    was typed after a session ran out is bound to this user."""
    return session.scalar(select(AuthSession.user_id).where(AuthSession.token_hash == _token_hash(token)))


def touch(session: Session, row: AuthSession) -> None:
    """Record activity (at most once a minute, to keep reads from writing)."""
    now = utcnow()
    if now - row.last_seen_at > dt.timedelta(minutes=1):
        row.last_seen_at = now
        session.flush()


def end_session(session: Session, token: str, *, actor: Actor, reason: str = "logout") -> None:
    audit.record(session, actor, reason, object_type="user", object_id=actor.user_id)
    session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == _token_hash(token), AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def set_password(session: Session, user: User, password: str, *, reason: str) -> None:
    """The one way a password is set (invitation, reset, change, command line): store its hash, end
    every login session of the person and withdraw every outstanding reset link, so an older reset
    mail can no longer take the account. The caller has checked the password and audits the change."""
    user.password_hash = hash_password(password)
    end_all_sessions(session, user.id, reason=reason)
    tokens.revoke_all(session, purpose=TokenPurpose.PASSWORD_RESET, user_id=user.id)


def end_all_sessions(session: Session, user_id: int, *, reason: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )

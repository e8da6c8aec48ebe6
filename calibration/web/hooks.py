"""Per-request plumbing: request id, the logged-in user, write intent, security headers."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request, session
from sqlalchemy import select, update
from werkzeug.middleware.proxy_fix import ProxyFix

from ..db import get_session, has_write_intent, reset_write_intent, set_write_intent, utcnow
from ..models import AuthSession, Membership
from ..services import auth as auth_service
from .boundary import write_apart

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_View = TypeVar("_View", bound=Callable[..., Any])
_LATE_VIEWS: set[Callable[..., Any]] = set()  # filled at import time by @writes_late, never after


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        # Behind that many reverse proxies, believe their X-Forwarded-For/-Proto (so HTTPS is
        # recognised and HSTS sent); with none configured the headers are ignored (spoofable).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
    # First of all hooks (before CSRFProtect's, which reads the body and may refuse it with 400/413):
    # every response, refusals included, carries a request id and knows who is signed in.
    app.before_request_funcs.setdefault(None, [])[:0] = [_start_request, _load_user]
    app.after_request(_security_headers)
    app.teardown_request(_end_request)
    app.context_processor(lambda: {"current_user": g.get("user"), "current_membership": g.get("membership")})


def writes_late(view: _View) -> _View:
    """Mark a view that opens its own write transaction, with :func:`..db.write_intent`, once it has
    done its reading: its request starts as a reading one (on SQLite a deferred ``BEGIN``, not
    ``BEGIN IMMEDIATE``), so the write lock is not held while it checks who, what and the form.
    Such a view ends its reading transaction (a commit that writes nothing) before it writes
    (``boundary.attempt(..., late=True)``)."""
    _LATE_VIEWS.add(view)
    return view


def _start_request() -> None:
    g.request_id = secrets.token_hex(8)
    view = current_app.view_functions.get(request.endpoint or "")
    late = view in _LATE_VIEWS
    g.write_token = set_write_intent(request.method in _WRITE_METHODS and not late)


def _end_request(_exc: BaseException | None) -> None:
    token = g.pop("write_token", None)
    if token is not None:
        reset_write_intent(token)


def _load_user() -> None:
    g.user = None
    g.membership = None
    token = session.get("sid")
    if not token:
        return
    cfg = current_app.config
    db_session = get_session()
    row = auth_service.resolve_session(
        db_session,
        token,
        idle=dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
        absolute=dt.timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]),
    )
    if row is None:
        # Kept for this request only: a score page POST binds what was typed to the session's owner.
        g.lapsed_sid = token
        session.pop("sid", None)
        return
    if utcnow() - row.last_seen_at > dt.timedelta(minutes=1):
        # Activity stamp for the idle timeout (at most once a minute).
        stamp = update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=utcnow())
        if has_write_intent():
            # A writing request already holds SQLite's write lock in its own transaction: a second
            # connection would wait for it until the busy timeout. The stamp commits with the request.
            db_session.execute(stamp)
        else:
            # A reading request never commits: a short write of its own.
            write_apart(stamp)
    g.user = row.user
    g.auth_session_id = row.id
    g.membership = db_session.scalar(
        select(Membership).where(Membership.user_id == row.user_id).order_by(Membership.id).limit(1)
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Request-ID"] = g.get("request_id", "")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if g.get("user") is not None:
        # Pages behind login can show scores or keys: never store them in caches.
        headers["Cache-Control"] = "no-store"
    return response

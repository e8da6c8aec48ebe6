"""Access rules, one per blueprint (deny by default), and the acting user as a service Actor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..db import get_session, write_intent
from ..models import Role
from ..services import audit
from ..services.context import Actor, Member, Person, SystemActor

log = logging.getLogger(__name__)


def require_roles(*roles: Role) -> Callable[[], Response | None]:
    """A ``before_request`` hook: anonymous users go to the login page, other roles get 404."""

    def guard() -> Response | None:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        membership = g.get("membership")
        if membership is None or membership.role not in roles:
            audit_denial("role", 404)
            abort(404)
        return None

    return guard


def actor() -> Member:
    """The signed-in member behind a role guard: who acts, and the program that scopes the use case.

    A view that can be reached without a membership (signing in or out, the account pages) uses
    :func:`acting` instead; reaching this without one is a missing guard, answered with 404.
    """
    user, membership = g.get("user"), g.get("membership")
    if user is None or membership is None:
        abort(404)
    return Member(user.id, membership.program_id, membership.role, g.get("request_id"))


def acting() -> Actor:
    """Whoever is acting on this request: a member, a signed-in person outside a program, or (for
    an anonymous request) the service itself."""
    user, membership = g.get("user"), g.get("membership")
    request_id = g.get("request_id")
    if user is None:
        return SystemActor(request_id=request_id)
    if membership is None:
        return Person(user.id, request_id)
    return Member(user.id, membership.program_id, membership.role, request_id)


def audit_denial(reason: str, status: int) -> None:
    """Append an ``access.denied`` row for a signed-in user refused by a guard or a scope check.

    The request's own transaction is rolled back first (nothing it did is kept, and on SQLite
    it may hold the write lock); the row is committed on its own. Only the route pattern and
    integer ids are kept, never the raw path or query (they could carry tokens). Anonymous
    requests are not audited (they are sent to the login page, and would let anyone grow the
    trail). A database failure here is logged and the refusal still happens.
    """
    me = acting()
    if me.user_id is None:
        return
    rule = request.url_rule.rule if request.url_rule is not None else None
    ids = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)}
    session = get_session()
    try:
        with write_intent():
            session.rollback()
            audit.record_denial(
                session,
                me,
                endpoint=request.endpoint,
                rule=rule,
                method=request.method,
                ids=ids,
                status=status,
                reason=reason,
            )
            session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("could not audit an access denial (%s %s)", request.method, request.endpoint)


def audit_after_read(write: Callable[[Session], Any]) -> None:
    """Commit an audit row from a page that only reads (a GET that shows a master key).

    Call it once the page is rendered, with plain values captured before: the request's read
    transaction is ended (nothing was written in it) and ``write`` runs in a short write of its
    own, as exports do (on SQLite a read transaction upgraded to a write can fail under load).
    A failure is not swallowed: a page whose showing must be on the trail is not served without it.
    """
    session = get_session()
    session.rollback()
    with write_intent():
        write(session)
        session.commit()

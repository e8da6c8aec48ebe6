"""Access rules, one per blueprint (deny by default), and the acting user as a service Actor."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ..models import Role
from ..services.context import Actor


def require_roles(*roles: Role) -> Callable[[], Response | None]:
    """A ``before_request`` hook: anonymous users go to the login page, other roles get 404."""

    def guard() -> Response | None:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        membership = g.get("membership")
        if membership is None or membership.role not in roles:
            abort(404)
        return None

    return guard


def actor() -> Actor:
    membership = g.get("membership")
    return Actor(
        user_id=g.user.id if g.get("user") else None,
        program_id=membership.program_id if membership else None,
        role=membership.role if membership else None,
        request_id=g.get("request_id"),
    )

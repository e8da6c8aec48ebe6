"""Access rules, one per blueprint (deny by default), and the acting user as a service Actor.

Every blueprint installs exactly one :class:`Guard` with ``bp.before_request(...)``: it lets in
only the endpoints it declares public, and refuses everything else to a request that does not
meet its rule (anonymous: the login page; a signed-in user without the role: 404, audited). So a
view added later is closed until someone declares it public. :func:`check_installed` refuses to
start an app with a blueprint that has no guard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, abort, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ..models import Role
from ..services import audit
from ..services.context import Actor, Member, Person, SystemActor
from .boundary import commit_alone


@dataclass(frozen=True)
class Guard:
    """A blueprint's access rule, run before each of its views.

    ``roles``: the membership roles let in (None: any signed-in person, whatever their role).
    ``public``: the endpoints anyone may open without signing in (the way in, or a page whose
    emailed link is the credential), each named in full (``"account.reset_password"``).
    """

    roles: frozenset[Role] | None
    public: frozenset[str] = frozenset()

    def __call__(self) -> Response | None:
        if request.endpoint in self.public:
            return None
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if self.roles is not None:
            membership = g.get("membership")
            if membership is None or membership.role not in self.roles:
                audit_denial("role", 404)
                abort(404)
        return None


def require_roles(*roles: Role, public: Iterable[str] = ()) -> Guard:
    """A guard: anonymous users go to the login page, other roles get 404."""
    if not roles:
        raise ValueError("name at least one role (require_login lets in any signed-in person)")
    return Guard(frozenset(roles), frozenset(public))


def require_login(*, public: Iterable[str] = ()) -> Guard:
    """A guard for pages about one's own account: any signed-in person, whatever their role."""
    return Guard(None, frozenset(public))


def guard_of(app: Flask, blueprint: str) -> Guard | None:
    """The guard installed on ``blueprint`` in ``app`` (None if it has none)."""
    found = [f for f in app.before_request_funcs.get(blueprint, []) if isinstance(f, Guard)]
    if len(found) > 1:
        raise RuntimeError(f"blueprint {blueprint!r} has {len(found)} guards; install exactly one")
    return found[0] if found else None


def check_installed(app: Flask) -> None:
    """Refuse to run an app with a blueprint that has no guard, or a public endpoint that names
    a view of another blueprint or none at all (a typo there would leave nothing public, or
    suggest something is that is not)."""
    endpoints = set(app.view_functions)
    for name in app.blueprints:
        rule = guard_of(app, name)
        if rule is None:
            raise RuntimeError(f"blueprint {name!r} has no guard: install one with bp.before_request(...)")
        for endpoint in rule.public:
            if endpoint.partition(".")[0] != name or endpoint not in endpoints:
                raise RuntimeError(f"blueprint {name!r} declares an unknown public endpoint {endpoint!r}")


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

    The request's own transaction is thrown away (nothing it did is kept, and on SQLite it may
    hold the write lock); the row is committed on its own (:func:`.boundary.commit_alone`). Only
    the route pattern and integer ids are kept, never the raw path or query (they could carry
    tokens). Anonymous requests are not audited (they are sent to the login page, and would let
    anyone grow the trail). A database failure here is logged and the refusal still happens.
    """
    me = acting()
    if me.user_id is None:
        return
    rule = request.url_rule.rule if request.url_rule is not None else None
    ids = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)}
    endpoint, method = request.endpoint, request.method
    commit_alone(
        lambda s: audit.record_denial(
            s, me, endpoint=endpoint, rule=rule, method=method, ids=ids, status=status, reason=reason
        ),
        what=f"an access denial ({method} {endpoint})",
    )

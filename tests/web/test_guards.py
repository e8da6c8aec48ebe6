"""Deny by default: every blueprint has exactly one guard, installed in one place, and every
endpoint it does not declare public refuses an anonymous request. A view added later is closed
until someone declares it public."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Blueprint

from calibration.models import Role
from calibration.web.guards import Guard, check_installed, guard_of, require_login, require_roles

from ..conftest import csrf_token
from .test_access import PUBLIC as MATRIX_PUBLIC


def _declared_public(app: Any) -> set[str]:
    found: set[str] = set()
    for name in app.blueprints:
        guard = guard_of(app, name)
        assert guard is not None, name
        found |= guard.public
    return found


def _refused_anonymously(response: Any) -> bool:
    """Sent to the login page (302 to /login) or not found, or (the API's token guard) 401 with a
    problem: never the page itself."""
    if response.status_code == 404:
        return True
    if response.status_code == 401 and response.mimetype == "application/problem+json":
        return True
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def test_every_blueprint_has_one_guard(app: Any) -> None:
    assert app.blueprints, "no blueprints registered"
    for name in app.blueprints:
        assert isinstance(guard_of(app, name), Guard), f"blueprint {name!r} has no guard"


def test_public_endpoints_are_declared_once_and_match_the_access_matrix(app: Any) -> None:
    # The guards' public sets are the only way in without signing in; the access matrix
    # (tests/web/test_access.py) lists the same pages as public, besides the static files, and
    # besides signing out, a POST that needs no live session (the matrix checks its GET is 405).
    declared = _declared_public(app)
    assert declared - MATRIX_PUBLIC == {"auth.logout"}
    assert MATRIX_PUBLIC - declared == {"static"}


def test_every_endpoint_not_declared_public_refuses_an_anonymous_request(app: Any, client: Any) -> None:
    public = _declared_public(app) | {"static"}
    token = csrf_token(client)  # a valid token: the refusal must come from the guard, not CSRF
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        _, path = rule.build(dict.fromkeys(rule.arguments, 1))
        if "GET" in rule.methods:
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token})
        assert _refused_anonymously(response), f"{rule.endpoint} {path}: {response.status_code}"
        checked += 1
    assert checked > 50  # every audience's pages were asked for, not a handful


def _add_probe(app: Any, blueprint: str) -> str:
    """A throwaway view on ``blueprint`` that nobody declared public (as a careless new page)."""
    path = f"/probe-{blueprint}"
    app.add_url_rule(path, endpoint=f"{blueprint}.probe", view_func=lambda: "the probe's secret page")
    return path


def test_a_new_view_is_refused_until_declared_public(app: Any, client: Any) -> None:
    probes = {name: _add_probe(app, name) for name in app.blueprints}
    for name, path in probes.items():
        response = client.get(path)
        assert _refused_anonymously(response), f"a new view on {name!r} is open: {response.status_code}"
        assert "secret" not in response.get_data(as_text=True)


def test_a_new_view_is_refused_to_the_wrong_role(app: Any, client: Any, world: Any, login: Any) -> None:
    probes = {name: _add_probe(app, name) for name in app.blueprints}  # before any request
    login(world.emails["assessor"])
    for name in ("trainer", "admin"):
        response = client.get(probes[name])
        assert response.status_code == 404, f"an assessor opened a new view on {name!r}"
    # Behind the assessor's own guard, or a login-only one, the signed-in assessor gets the page:
    # what refused the others was their guard.
    for name in ("assessor", "calendar", "account"):
        assert client.get(probes[name]).status_code == 200, name


def test_an_app_with_an_unguarded_blueprint_does_not_start(app: Any) -> None:
    naked = Blueprint("naked", __name__, url_prefix="/naked")
    naked.add_url_rule("/", endpoint="page", view_func=lambda: "open to anyone")
    app.register_blueprint(naked)
    with pytest.raises(RuntimeError, match="'naked' has no guard"):
        check_installed(app)


def test_a_public_endpoint_must_name_a_view_of_its_own_blueprint(app: Any) -> None:
    typo = Blueprint("typo", __name__, url_prefix="/typo")
    typo.add_url_rule("/", endpoint="page", view_func=lambda: "page")
    typo.before_request(require_login(public={"typo.pgae"}))
    app.register_blueprint(typo)
    with pytest.raises(RuntimeError, match=r"unknown public endpoint 'typo\.pgae'"):
        check_installed(app)


def test_a_role_guard_names_at_least_one_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()
    assert require_roles(Role.ADMIN).roles == frozenset({Role.ADMIN})
    assert require_login().roles is None

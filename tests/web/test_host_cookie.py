"""In production mode (served over HTTPS) the session cookie carries the ``__Host-`` prefix, with
Secure, HttpOnly, SameSite, ``Path=/`` and no Domain, and logging in works with it. Both databases."""

from __future__ import annotations

from typing import Any

import pytest

from calibration import create_app
from calibration.config import ConfigError

from ..conftest import post_form
from ..factories import PASSWORD


def https_client(app: Any) -> Any:
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "calibration.example.test"})
    return client


@pytest.fixture
def app_config(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The production configuration from the environment; only the database and rubrics come from
    the test (and TESTING, which leaves the cookie settings alone)."""
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    for name in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_NAME"):
        monkeypatch.delenv(name, raising=False)
    return app_config


def set_cookie_headers(resp: Any) -> list[str]:
    return resp.headers.getlist("Set-Cookie")


def test_the_session_cookie_has_the_host_prefix_over_https(app, world):
    assert app.config["ENV_NAME"] == "production"
    client = https_client(app)
    page = client.get("/login")
    [cookie] = [c for c in set_cookie_headers(page) if c.startswith("__Host-session=")]
    attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= set(attributes)
    assert not any(a.startswith("domain") for a in attributes)
    assert not any(c.startswith("session=") for c in set_cookie_headers(page))

    resp = post_form(client, "/login", {"email": world.emails["assessor"], "password": PASSWORD})
    assert resp.status_code == 302
    assert all(c.startswith("__Host-session=") for c in set_cookie_headers(resp))
    assert client.get("/dashboard").status_code == 200
    assert client.get_cookie("__Host-session") is not None and client.get_cookie("session") is None


def test_a_host_cookie_that_browsers_would_refuse_is_refused_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIBRATION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CREDENTIAL_KEY", "c" * 48)  # production needs one (issue 19)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    with pytest.raises(ConfigError, match="SESSION_COOKIE_DOMAIN"):
        create_app({"SESSION_COOKIE_DOMAIN": "example.test"})
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        create_app({"SESSION_COOKIE_NAME": "__Host-session", "SESSION_COOKIE_SECURE": False})
    plain = create_app({"SESSION_COOKIE_SECURE": False})  # served over plain HTTP: no prefix
    assert plain.config["SESSION_COOKIE_NAME"] == "session"

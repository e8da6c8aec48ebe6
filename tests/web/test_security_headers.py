"""Security headers, caching and the request size limit, checked from outside (test client and gunicorn)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from calibration import create_app
from calibration.db import get_db
from calibration.models import ScoreSheet

from ..conftest import csrf_token, post_form
from ..factories import score_form, submit
from ..server import gunicorn
from .test_access import PUBLIC, _areas

CSP_DIRECTIVES = ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'")


def url_values(world: Any) -> dict[str, Any]:
    """Ids from the world for every URL parameter the access matrix knows."""
    values: dict[str, Any] = {
        "round_id": world.round_id,
        "anchor_id": world.anchors[0],
        "filename": "app.css",
    }
    for area in _areas():
        values.update(getattr(area, "URL_VALUES", lambda w: {})(world))
    return values


def get_urls(app: Any, world: Any) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET rule, with the world's ids; parameters nobody provides (tokens of
    routes added later) get a harmless placeholder, so a new route is covered without an edit here."""
    values = url_values(world)
    out = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC or "GET" not in rule.methods:
                continue
            args = {}
            for name in rule.arguments:
                converter = type(rule._converters[name]).__name__  # Werkzeug has no public map
                default = 1 if converter in {"IntegerConverter", "NumberConverter"} else "placeholder-0"
                args[name] = values.get(name, default)
            out.append((rule.endpoint, url_for(rule.endpoint, **args)))
    return out


def assert_common_headers(headers: Any, where: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    for directive in CSP_DIRECTIVES:
        assert directive in csp, (where, directive, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (where, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert re.fullmatch(r"[0-9a-f]{16}", headers.get("X-Request-ID", "")), where


def test_headers_on_public_private_error_and_static_responses(client, login, world):
    responses = {
        "login": client.get("/login"),
        "static": client.get("/static/app.css"),
        "unknown": client.get("/no-such-page"),
        "logout GET": client.get("/logout"),
    }
    login(world.emails["assessor"])
    responses["dashboard"] = client.get("/dashboard")
    responses["other program"] = client.get(f"/rounds/{world.round_b}")
    assert [r.status_code for r in responses.values()] == [200, 200, 404, 405, 200, 404]
    for where, resp in responses.items():
        assert_common_headers(resp.headers, where)
        # Plain HTTP: HSTS would be meaningless (and is ignored by browsers) there.
        assert "Strict-Transport-Security" not in resp.headers, where
        resp.close()


def test_hsts_only_over_https_and_forwarded_proto_only_from_trusted_proxies(app_config, world):
    plain = create_app(app_config)
    try:
        client = plain.test_client()
        secure = client.get("/login", base_url="https://calibration.test")
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        # Without a trusted proxy configured, anyone could send the header: it is ignored.
        spoofed = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in spoofed.headers
    finally:
        get_db(plain).dispose()
    proxied = create_app({**app_config, "TRUSTED_PROXIES": 1})
    try:
        client = proxied.test_client()
        resp = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "Strict-Transport-Security" not in client.get("/login").headers
    finally:
        get_db(proxied).dispose()


@pytest.mark.parametrize("role", ["assessor", "assessor2", "trainer", "admin", "trainer_b", "assessor_b"])
def test_every_authenticated_response_is_no_store(app, client, login, world, db, role):
    """Pages behind login show scores, keys or people: no cache may keep any of them, whatever the status."""
    submit(db, world, "assessor")  # so the assessor's feedback page (the key) is reachable
    login(world.emails[role])
    seen = 0
    for _endpoint, url in get_urls(app, world):
        for suffix in ("", "?key=current"):
            resp = client.get(url + suffix)
            assert resp.headers.get("Cache-Control") == "no-store", (role, url + suffix, resp.status_code)
            assert_common_headers(resp.headers, url)
            seen += 1
    assert seen > 40
    # The JSON and error responses of a signed-in user too.
    for url in ("/healthz", "/no-such-page"):
        assert client.get(url).headers.get("Cache-Control") == "no-store", url


def test_oversized_request_gets_a_friendly_413_and_stores_nothing(app, client, login, world, db):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    token = csrf_token(client)
    resp = client.post("/login", data={"csrf_token": token, "email": "x@y.test", "password": "p" * 70_000})
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert "That upload is too large" in page and "at most 64 KB" in page
    assert 'class="site-header"' in page and "Traceback" not in page
    assert_common_headers(resp.headers, "413")

    login(world.emails["assessor"])
    url = f"/rounds/{world.round_id}/anchors/{world.anchors[0]}"
    data = score_form(world, world.keys[world.anchors[0]], notes="n" * 70_000)
    resp = post_form(client, url, data)
    assert resp.status_code == 413
    assert "That upload is too large" in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


@pytest.mark.slow
def test_headers_hsts_and_413_through_real_gunicorn(world, database_url):
    with gunicorn(database_url, workers=1, extra_env={"MAX_CONTENT_LENGTH": "65536"}) as base:
        web = requests.Session()
        page = web.get(base + "/login")
        assert_common_headers(page.headers, "login")
        assert "Strict-Transport-Security" not in page.headers
        # gunicorn believes X-Forwarded-Proto from loopback (its forwarded_allow_ips): a local TLS proxy.
        behind_tls = web.get(base + "/login", headers={"X-Forwarded-Proto": "https"})
        assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        big = web.post(
            base + "/login",
            data={"csrf_token": token, "email": "x@y.test", "password": "p" * 200_000},
            allow_redirects=False,
            timeout=30,
        )
        assert big.status_code == 413
        assert "That upload is too large" in big.text and "Traceback" not in big.text
        assert_common_headers(big.headers, "413")
        missing = web.get(base + "/rounds/999999", allow_redirects=False)
        assert missing.status_code == 302  # anonymous: to the login page
        assert "Traceback" not in web.get(base + "/no-such-page").text

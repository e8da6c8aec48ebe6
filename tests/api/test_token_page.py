"""The API token page: made by admins and lead trainers, shown once, stored hashed, revoked."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select

from calibration.models import ApiToken, AuditEvent

from ..conftest import post_form
from .helpers import bearer, make_token

PAGE = "/trainer/api-tokens"
SHOWN = re.compile(r'id="new-token" type="text" readonly value="([^"]+)"')


def test_make_a_token_shown_once_and_stored_hashed(client, login, world, db):
    login(world.emails["trainer"])
    r = post_form(
        client, PAGE + "/new", {"name": "Scoring platform", "scopes": ["read", "import"]}, token_page=PAGE
    )
    assert r.status_code == 200
    token = SHOWN.search(r.get_data(as_text=True)).group(1)
    db.rollback()
    row = db.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.prefix, row.name} and row.scopes == "import read"
    assert row.program_id == world.program_a
    assert token not in client.get(PAGE).get_data(as_text=True)  # shown once
    created = db.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert created.object_id == str(row.id) and token not in created.detail_json
    assert client.get("/api/v1/rounds", headers=bearer(token)).status_code == 200
    assert "never" not in client.get(PAGE).get_data(as_text=True)  # last used is shown


def test_bad_input_keeps_what_was_typed_and_writes_nothing(client, login, world, db):
    login(world.emails["admin"])
    r = post_form(client, PAGE + "/new", {"name": "Kept name", "scopes": []}, token_page=PAGE)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Choose at least one thing the token may do." in html and 'value="Kept name"' in html
    r = post_form(client, PAGE + "/new", {"name": " ", "scopes": ["read", "everything"]}, token_page=PAGE)
    assert r.status_code == 400
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0
    assert db.scalar(select(func.count()).where(AuditEvent.action == "api_token.create")) == 0


def test_revoke_stops_the_token(client, login, world, db):
    token = make_token(db, world, ["read"])
    token_id = db.scalar(select(ApiToken.id))
    login(world.emails["trainer"])
    r = post_form(client, f"{PAGE}/{token_id}/revoke", {}, token_page=PAGE)
    assert r.status_code == 302
    assert client.get("/api/v1/rounds", headers=bearer(token)).status_code == 401
    db.rollback()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "api_token.revoke")) == 1
    assert "revoked" in client.get(PAGE).get_data(as_text=True)


def test_another_programs_token_cannot_be_revoked_or_seen(client, login, world, db):
    make_token(db, world, ["read"], program="b")
    token_id = db.scalar(select(ApiToken.id))
    login(world.emails["trainer"])
    assert "test [&#39;read&#39;]" not in client.get(PAGE).get_data(as_text=True)
    assert post_form(client, f"{PAGE}/{token_id}/revoke", {}, token_page=PAGE).status_code == 404
    db.rollback()
    assert db.scalar(select(ApiToken.revoked_at)) is None


def test_assessors_get_404(client, login, world):
    login(world.emails["assessor"])
    assert client.get(PAGE).status_code == 404

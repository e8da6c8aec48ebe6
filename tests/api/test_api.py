"""Issue 18 items 1-3: the /api/v1 foundation (tokens, guard, problems, pages, ETags, blindness)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import ApiRateWindow, ApiToken, AuditEvent
from calibration.services import api_tokens

from .helpers import bearer, make_token

READS = [
    "/api/v1/rubrics",
    "/api/v1/rounds",
    "/api/v1/assessors",
    "/api/v1/anchors",
    "/api/v1/flags",
    "/api/v1/sessions",
]


def _audit(db, action):  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_no_data_without_a_valid_token(client, world, db, login):
    login(world.emails["trainer"])  # a browser's login session is no API credential
    revoked = make_token(db, world, ["read"])
    row = db.scalar(select(ApiToken).where(ApiToken.name == "test ['read']"))
    row.revoked_at = row.created_at
    db.commit()
    for headers in ({}, {"Authorization": "Bearer nope"}, bearer(revoked), {"Authorization": "Basic x"}):
        for url in [*READS, f"/api/v1/rounds/{world.round_id}"]:
            r = client.get(url, headers=headers)
            assert r.status_code == 401, (url, headers)
            assert r.mimetype == "application/problem+json"
            body = r.get_json()
            assert body["status"] == 401 and "items" not in body
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    refusals = _audit(db, "api.refused")
    # every refusal of a known (revoked) token is audited; unknown/missing ones once per address per minute
    assert sum(1 for e in refusals if json.loads(e.detail_json)["reason"] == "revoked") == len(READS) + 1
    assert any(json.loads(e.detail_json)["reason"] in {"missing", "unknown"} for e in refusals)


def test_reads_in_the_tokens_program(client, world, db):
    token = make_token(db, world, ["read"])
    for url in READS:
        r = client.get(url, headers=bearer(token))
        assert r.status_code == 200, url
        assert r.mimetype == "application/json"
        assert "items" in r.get_json() and "next_cursor" in r.get_json()
    rounds = client.get("/api/v1/rounds", headers=bearer(token)).get_json()["items"]
    assert [x["id"] for x in rounds] == [world.round_id]
    assert rounds[0]["opens_at"].endswith("Z")
    assessors = client.get("/api/v1/assessors", headers=bearer(token)).get_json()["items"]
    assert {a["id"] for a in assessors} == {world.ids["assessor"], world.ids["assessor2"]}
    assert all("certification_status" in a for a in assessors)
    rubric_id = client.get("/api/v1/rubrics", headers=bearer(token)).get_json()["items"][0]["id"]
    rubric = client.get(f"/api/v1/rubrics/{rubric_id}", headers=bearer(token)).get_json()
    assert rubric["criteria"] and rubric["levels"]
    db.rollback()
    assert db.scalar(select(ApiToken.last_used_at)) is not None
    uses = _audit(db, "api.use")
    windows = db.scalar(select(func.count()).select_from(ApiRateWindow))
    assert len(uses) == windows  # the first request of each minute (one, unless a minute turned)
    assert db.scalar(select(func.sum(ApiRateWindow.count))) == len(READS) + 4


def test_another_programs_objects_are_404_and_audited(client, world, db):
    token_b = make_token(db, world, ["trainer"], program="b")
    for url in (
        f"/api/v1/rounds/{world.round_id}",
        f"/api/v1/anchors/{world.anchors[0]}",
        f"/api/v1/assessors/{world.ids['assessor']}",
        "/api/v1/rounds/999999",
        "/api/v1/rounds/99999999999999999999",
    ):
        r = client.get(url, headers=bearer(token_b))
        assert r.status_code == 404, url
        assert r.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/rounds/{world.round_b}", headers=bearer(token_b)).status_code == 200
    ids = [x["id"] for x in client.get("/api/v1/anchors", headers=bearer(token_b)).get_json()["items"]]
    assert ids == [world.anchor_b]
    refused = [json.loads(e.detail_json) for e in _audit(db, "api.refused")]
    assert [d["status"] for d in refused] == [404] * 5


def test_key_and_rationale_only_for_the_trainer_scope(client, world, db):
    reader = make_token(db, world, ["read"])
    trainer = make_token(db, world, ["trainer"])
    for url in ("/api/v1/anchors", f"/api/v1/anchors/{world.anchors[0]}"):
        text = client.get(url, headers=bearer(reader)).get_data(as_text=True)
        assert "rationale" not in text
        assert '"key": null' in text or '"key":null' in text
    assert _audit(db, "anchor.key_view") == []  # nothing shown, nothing on the trail
    one = client.get(f"/api/v1/anchors/{world.anchors[0]}", headers=bearer(trainer)).get_json()
    assert one["key"]["entries"] and all("rationale" in e for e in one["key"]["entries"])
    views = _audit(db, "anchor.key_view")
    assert len(views) == 1 and json.loads(views[0].detail_json)["anchor_id"] == world.anchors[0]
    assert json.loads(views[0].detail_json)["via"].startswith("api token ")
    client.get("/api/v1/anchors", headers=bearer(trainer))
    assert len(_audit(db, "anchor.key_view")) == 1 + len(world.anchors)


def test_a_token_without_a_reading_scope_is_refused(client, world, db):
    token = make_token(db, world, ["import"])
    r = client.get("/api/v1/rounds", headers=bearer(token))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert [json.loads(e.detail_json)["reason"] for e in _audit(db, "api.refused")] == ["scope"]


def test_cursor_pagination_and_limits(client, world, db):
    token = make_token(db, world, ["read"])
    seen, cursor = [], None
    while True:
        url = "/api/v1/anchors?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=bearer(token)).get_json()
        seen += [x["id"] for x in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(world.anchors)
    for bad, field in (
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("cursor=zzz", "cursor"),
    ):
        r = client.get(f"/api/v1/anchors?{bad}", headers=bearer(token))
        assert r.status_code == 400 and r.mimetype == "application/problem+json", bad
        assert [e["field"] for e in r.get_json()["errors"]] == [field], bad
    # a cursor of another list is refused too
    rounds_cursor = client.get("/api/v1/anchors?limit=1", headers=bearer(token)).get_json()["next_cursor"]
    assert client.get(f"/api/v1/rounds?cursor={rounds_cursor}", headers=bearer(token)).status_code == 400


def test_etag_and_not_modified(client, world, db):
    token = make_token(db, world, ["read"])
    r = client.get("/api/v1/rounds", headers=bearer(token))
    etag = r.headers["ETag"]
    again = client.get("/api/v1/rounds", headers={**bearer(token), "If-None-Match": etag})
    assert again.status_code == 304 and not again.data


def test_errors_are_problems(client, world, db, app):
    token = make_token(db, world, ["read"])
    r = client.get("/api/v1/nothing-here", headers=bearer(token))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = client.delete("/api/v1/rounds", headers=bearer(token))
    assert r.status_code == 405 and r.mimetype == "application/problem+json" and "GET" in r.headers["Allow"]
    r = client.post("/api/v1/rounds", data=b"x" * (2 * 1024 * 1024), headers=bearer(token))
    assert r.status_code in (405, 413) and r.mimetype == "application/problem+json"


def test_body_size_limit(client, world, db, app):
    token = make_token(db, world, ["read"])
    r = client.get("/api/v1/rounds", data=b"x" * (1024 * 1024 + 1), headers=bearer(token))
    assert r.status_code == 413 and r.mimetype == "application/problem+json"


def test_rate_limit_is_counted_in_the_database(app, client, world, db, monkeypatch):
    app.config["API_RATE_PER_MINUTE"] = 3
    token = make_token(db, world, ["read"])
    fixed = utcnow().replace(second=30)  # one minute for all six requests
    monkeypatch.setattr(api_tokens, "utcnow", lambda: fixed)
    codes = [client.get("/api/v1/rounds", headers=bearer(token)).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get("/api/v1/rounds", headers=bearer(token))
    assert int(r.headers["Retry-After"]) >= 0 and r.mimetype == "application/problem+json"
    db.rollback()
    assert db.scalar(select(func.sum(ApiRateWindow.count))) == 6
    assert sum(1 for e in _audit(db, "api.refused") if json.loads(e.detail_json)["reason"] == "rate") == 3


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/reference"])
def test_document_and_reference_need_no_token(client, path):
    assert client.get(path).status_code == 200


def test_served_document_validates(client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert {"/rubrics", "/rounds", "/assessors", "/anchors", "/flags", "/sessions"} <= set(doc["paths"])


def test_two_instances_share_one_count(app_config, world, db, monkeypatch):
    """Two app instances on one database: the limit is counted once for both."""
    from calibration import create_app
    from calibration.db import get_db

    fixed = utcnow().replace(second=30)  # one minute for every request
    monkeypatch.setattr(api_tokens, "utcnow", lambda: fixed)
    token = make_token(db, world, ["read"])
    apps = [create_app({**app_config, "API_RATE_PER_MINUTE": 4}) for _ in range(2)]
    try:
        clients = [a.test_client() for a in apps]
        codes = [clients[i % 2].get("/api/v1/rounds", headers=bearer(token)).status_code for i in range(6)]
    finally:
        for a in apps:
            get_db(a).dispose()
    assert codes == [200, 200, 200, 200, 429, 429]


def test_old_counts_are_pruned(client, world, db):
    import datetime as dt

    db.add(ApiRateWindow(bucket="token:999", window_start=utcnow() - dt.timedelta(hours=2), count=5))
    db.commit()
    token = make_token(db, world, ["read"])
    assert client.get("/api/v1/rounds", headers=bearer(token)).status_code == 200
    db.rollback()
    assert db.scalars(select(ApiRateWindow.bucket)).all() == [f"token:{db.scalar(select(ApiToken.id))}"]


def test_a_nul_character_is_a_problem_naming_the_field(client, world, db):
    """Found by the stateful schemathesis run: a NUL in a text parameter reached the database layer,
    which refuses it, and the API answered with the HTML error page instead of problem+json."""
    token = make_token(db, world, ["read", "validity"])
    r = client.get("/api/v1/rubrics", query_string={"slug": "a\x00b"}, headers=bearer(token))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.get_json()["errors"]] == ["slug"]
    r = client.post(
        "/api/v1/validity/assignments",
        json={"assessor": "x\x00@a.test", "external_ref": "q-1"},
        headers=bearer(token) | {"Idempotency-Key": "nul-1"},
    )
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.get_json()["errors"]] == ["assessor"]


def test_text_the_database_refuses_is_a_problem_on_the_api(app, client, world, db):
    """Whatever route a NUL takes to the database, an API caller gets problem+json, not a page."""
    from calibration.db import UnstorableText

    @app.get("/api/v1/_test_unstorable")
    def _unstorable() -> None:
        raise UnstorableText("text with a NUL character cannot be stored")

    token = make_token(db, world, ["read"])
    r = client.get("/api/v1/_test_unstorable", headers=bearer(token))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert "NUL" in r.get_json()["detail"]

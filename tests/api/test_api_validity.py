"""Issue 18 item 6 through the API: scope `validity` only (a `read` token is refused, audited),
the served item carries evidence and rubric but no key, rationale, title or anchor id, answers are
scored and idempotent, bad input is problem+json naming the field, other programs are 404, lists
page with cursors and ETags, attachments download under a neutral name with the token."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import AuditEvent, ValidityAssignment

from ..conftest import post_form
from ..factories_validity import fresh_anchors, key_of, set_validity_rules
from .helpers import bearer, make_token, posting

URL = "/api/v1/validity/assignments"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return {**app_config, "ATTACHMENT_DIR": str(tmp_path / "attachments")}


@pytest.fixture
def live(db, world):  # type: ignore[no-untyped-def]
    anchors = fresh_anchors(db, world, 4, title="Secret anchor title")
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    return anchors


def _audit(db, action):  # type: ignore[no-untyped-def]
    db.rollback()
    return [
        json.loads(e.detail_json) for e in db.scalars(select(AuditEvent).where(AuditEvent.action == action))
    ]


def _ask(client, token, who="assessor@a.test", ref="queue-1", **more):  # type: ignore[no-untyped-def]
    return client.post(URL, json={"assessor": who, "external_ref": ref, **more}, headers=posting(token))


def test_read_or_trainer_tokens_are_refused_and_audited(client, world, db, live):
    for scopes in (["read"], ["trainer"], ["import"]):
        token = make_token(db, world, scopes)
        for r in (
            _ask(client, token),
            client.get(URL, headers=bearer(token)),
            client.post(
                f"{URL}/1/scores",
                json={"levels": {}, "scored_at": "2026-01-01T00:00:00Z"},
                headers=posting(token),
            ),
        ):
            assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert db.scalar(select(func.count()).select_from(ValidityAssignment)) == 0
    refused = _audit(db, "api.refused")
    ours = {"api.create_assignment", "api.list_assignments", "api.post_scores"}
    assert sum(1 for d in refused if d["status"] == 403 and d["endpoint"] in ours) == 9


def test_served_item_has_evidence_and_rubric_but_no_marker(client, world, db, live):
    token = make_token(db, world, ["validity"])
    r = _ask(client, token)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    text = r.get_data(as_text=True)
    assert body["item"]["evidence_markdown"].startswith("Live evidence")
    assert [c["key"] for c in body["item"]["rubric"]["criteria"]]
    for marker in (
        "Secret anchor title",
        "Live rationale",
        "rationale",
        '"entries"',
        "anchor_id",
        "calibration",
        "purpose",
    ):
        assert marker not in text, marker
    assert body["assignment"]["status"] == "assigned" and body["assignment"]["result"] is None
    again = _ask(client, token)
    assert again.status_code == 200 and again.get_json()["assignment"]["id"] == body["assignment"]["id"]
    assert db.scalar(select(func.count()).select_from(ValidityAssignment)) == 1
    [assigned] = _audit(db, "validity.assign")
    assert assigned["external_ref"] == "queue-1" and assigned["token_id"] is not None


def test_refusals_are_problem_json_with_a_reason_code(client, world, db, live):
    token = make_token(db, world, ["validity"])
    r = _ask(client, token, who="nobody@a.test")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = _ask(client, token, who=world.emails["assessor_b"])  # another program's assessor
    assert r.status_code == 404
    r = _ask(client, token, live_items=3)
    assert r.status_code == 201  # the live-items rule is off in this program
    set_validity_rules(db, world.program_a, live_items_between=20)
    r = _ask(client, token, ref="queue-2", live_items=3)
    assert r.status_code == 409 and r.get_json()["code"] == "rate_live_items"
    set_validity_rules(db, world.program_a, live_items_between=0, max_per_week=1)
    r = _ask(client, token, ref="queue-3")
    assert r.status_code == 409 and r.get_json()["code"] == "rate_weekly"
    assert db.scalar(select(func.count()).select_from(ValidityAssignment)) == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"assessor": "assessor@a.test"}, "external_ref"),
        ({"assessor": "assessor@a.test", "external_ref": "has space"}, "external_ref"),
        ({"assessor": "assessor@a.test", "external_ref": "x", "extra": 1}, "extra"),
        ({"assessor": "", "external_ref": "x"}, "assessor"),
        ({"assessor": "assessor@a.test", "external_ref": "x", "live_items": -1}, "live_items"),
        ({"assessor": "assessor@a.test", "external_ref": "\x00"}, "external_ref"),
    ],
)
def test_bad_bodies_are_400_naming_the_field_and_write_nothing(client, world, db, live, payload, field):
    token = make_token(db, world, ["validity"])
    r = client.post(URL, json=payload, headers=posting(token))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.get_json()["errors"]]
    assert db.scalar(select(func.count()).select_from(ValidityAssignment)) == 0


def test_not_json_is_400(client, world, db, live):
    token = make_token(db, world, ["validity"])
    for data, kind in (
        (b"not json", "application/json"),
        (b"a=1", "application/x-www-form-urlencoded"),
        (b"[1]", "application/json"),
    ):
        r = client.post(URL, data=data, content_type=kind, headers=posting(token))
        assert r.status_code == 400 and r.mimetype == "application/problem+json"


def test_scores_are_stored_scored_and_idempotent(client, world, db, live):
    token = make_token(db, world, ["validity"])
    served = _ask(client, token).get_json()["assignment"]
    row = db.get(ValidityAssignment, served["id"])
    key = key_of(db, row.anchor_id)
    db.rollback()
    url = f"{URL}/{served['id']}/scores"
    at = utcnow().isoformat()
    r = client.post(url, json={"levels": key, "scored_at": at}, headers=posting(token))
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["status"] == "answered" and body["result"] is None  # no key to the validity scope
    assert '"entries"' not in r.get_data(as_text=True) and "rationale" not in r.get_data(as_text=True)
    assert client.post(url, json={"levels": key, "scored_at": at}, headers=posting(token)).status_code == 200
    other = {k: (v % 3) + 1 for k, v in key.items()}
    r = client.post(url, json={"levels": other, "scored_at": at}, headers=posting(token))
    assert r.status_code == 409 and r.get_json()["code"] == "already_answered"
    # A token with the trainer scope too sees the result against the key.
    both = make_token(db, world, ["validity", "trainer"])
    r = client.post(url, json={"levels": key, "scored_at": at}, headers=posting(both))
    result = r.get_json()["result"]
    assert result["exact"] == result["n"] == len(key) and result["anchor_id"] == row.anchor_id
    assert len(_audit(db, "validity.score")) == 1


def test_levels_that_do_not_fit_are_422_and_other_programs_404(client, world, db, live):
    token = make_token(db, world, ["validity"])
    served = _ask(client, token).get_json()["assignment"]
    url = f"{URL}/{served['id']}/scores"
    r = client.post(
        url, json={"levels": {"nope": 1}, "scored_at": utcnow().isoformat()}, headers=posting(token)
    )
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "levels.nope" in [e["field"] for e in r.get_json()["errors"]]
    token_b = make_token(db, world, ["validity", "trainer"], program="b")
    r = client.post(
        url, json={"levels": {"nope": 1}, "scored_at": utcnow().isoformat()}, headers=posting(token_b)
    )
    assert r.status_code == 404
    assert (
        client.get(f"{URL}?assessor_id={world.ids['assessor']}", headers=bearer(token_b)).get_json()["items"]
        == []
    )
    assert db.get(ValidityAssignment, served["id"]).status.value == "assigned"


def test_list_pages_filters_and_etags(client, world, db, live):
    token = make_token(db, world, ["validity"])
    for n in range(3):
        assert _ask(client, token, ref=f"q{n}").status_code == 201
    seen, cursor = [], None
    while True:
        r = client.get(f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=bearer(token))
        assert r.status_code == 200
        seen += [i["external_ref"] for i in r.get_json()["items"]]
        cursor = r.get_json()["next_cursor"]
        if not cursor:
            break
    assert seen == ["q0", "q1", "q2"]
    r = client.get(URL, headers=bearer(token))
    assert client.get(URL, headers={**bearer(token), "If-None-Match": r.headers["ETag"]}).status_code == 304
    assert client.get(f"{URL}?status=expired", headers=bearer(token)).get_json()["items"] == []
    assert client.get(f"{URL}?status=bogus", headers=bearer(token)).status_code == 400


def test_attachments_download_with_the_token_under_a_neutral_name(app, client, world, db, live):
    trainer = app.test_client()
    assert (
        post_form(
            trainer, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"}
        ).status_code
        == 302
    )
    for anchor_id in live:
        url = f"/trainer/anchors/{anchor_id}/attachments"
        assert post_form(trainer, url, {"file": (io.BytesIO(PDF), "secret-title.pdf")}).status_code == 302
    token = make_token(db, world, ["validity"])
    body = _ask(client, token).get_json()
    [attachment] = body["item"]["attachments"]
    assert attachment["name"] == "evidence-1.pdf" and "secret" not in json.dumps(body)
    path = attachment["url"].split("://", 1)[1].split("/", 1)[1]
    with client.get("/" + path, headers=bearer(token)) as r:  # a file response: close it
        assert r.status_code == 200 and r.get_data() == PDF
        disposition = r.headers["Content-Disposition"]
    assert "evidence-1.pdf" in disposition and "secret" not in disposition
    assert client.get("/" + path).status_code == 401
    assert client.get("/" + path, headers=bearer(make_token(db, world, ["read"]))).status_code == 403

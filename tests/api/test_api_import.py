"""``POST /api/v1/operational-ratings`` and ``GET /api/v1/imports/{id}`` (issue 18 item 4): 202
with the status resource, 422 problem+json naming each bad row (nothing written), scopes (a read
token gets 403, another program's token 404), audit, and ``Idempotency-Key``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import AuditEvent, ImportSource, OperationalImport, OperationalRating

from ..factories_operational import CRITERIA
from .helpers import bearer, make_token

URL = "/api/v1/operational-ratings"


def _rows(n: int, *, level: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "submission_id": f"L-{i}",
            "criterion": CRITERIA[i % len(CRITERIA)],
            "assessor": "assessor@a.test",
            "level": level,
            "read": 1,
            "scored_at": "2026-03-01T14:05:00+01:00",
        }
        for i in range(n)
    ]


def _post(client: Any, token: str, body: Any, key: str | None = "key-1") -> Any:
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def _counts(db: Any) -> tuple[int, int]:
    db.rollback()
    return (
        int(db.scalar(select(func.count()).select_from(OperationalImport))),
        int(db.scalar(select(func.count()).select_from(OperationalRating))),
    )


def test_a_valid_batch_is_accepted_and_its_status_can_be_read(client, world, db):
    token = make_token(db, world, ["import"])
    r = _post(client, token, {"rubric_version_id": world.rubric_id, "rows": _rows(12)})
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert (body["status"], body["rows_total"], body["rows_stored"], body["source"]) == (
        "done",
        12,
        12,
        "api",
    )
    assert r.headers["Location"] == f"/api/v1/imports/{body['id']}"
    status = client.get(r.headers["Location"], headers=bearer(token))
    assert status.status_code == 200 and status.get_json() == body and status.headers["ETag"]
    assert _counts(db) == (1, 12)
    imp = db.get(OperationalImport, body["id"])
    assert imp.source == ImportSource.API and imp.token_id is not None and imp.created_by_id is None
    created = db.scalar(select(AuditEvent).where(AuditEvent.action == "operational_import.create"))
    assert json.loads(created.detail_json)["token_id"] == imp.token_id
    assert db.scalar(select(func.count()).where(AuditEvent.action == "api.use")) >= 1
    # The same rows again (a new request): nothing new, counted as already stored.
    again = _post(client, token, {"rubric_version_id": world.rubric_id, "rows": _rows(12)}, key="key-2")
    assert (again.get_json()["rows_stored"], again.get_json()["rows_already"]) == (0, 12)
    assert _counts(db) == (2, 12)


def test_bad_rows_are_a_422_naming_each_row_and_field_and_nothing_is_written(client, world, db):
    token = make_token(db, world, ["import"])
    rows = _rows(5)
    rows[1]["level"] = 9
    rows[2]["assessor"] = "stranger@a.test"
    rows[3]["scored_at"] = "2026-03-01 14:05"
    rows[4] = dict(rows[0])  # the same submission, criterion and read as rows[0]
    r = _post(client, token, {"rubric_version_id": world.rubric_id, "rows": rows})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    fields = [e["field"] for e in r.get_json()["errors"]]
    assert fields == ["rows.1.level", "rows.2.assessor", "rows.3.scored_at", "rows.4.read"]
    assert _counts(db) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"rows": _rows(1)},
        {"rubric_version_id": 1, "rows": []},
        {"rubric_version_id": 1, "rows": [{"x": 1}]},
        [1],
    ],
    ids=["no-version", "no-rows", "bad-row", "not-an-object"],
)
def test_a_body_of_the_wrong_shape_is_a_422_problem(client, world, db, body):
    token = make_token(db, world, ["import"])
    r = _post(client, token, body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert all(e["location"] == "body" for e in r.get_json()["errors"])
    assert _counts(db) == (0, 0)


def test_another_programs_rubric_version_is_named_and_refused(client, world, db):
    token = make_token(db, world, ["import"], program="b")
    r = _post(client, token, {"rubric_version_id": world.rubric_id, "rows": _rows(1)})
    assert r.status_code == 422
    assert [e["field"] for e in r.get_json()["errors"]] == ["rubric_version_id"]
    assert _counts(db) == (0, 0)


def test_scopes_a_read_token_gets_403_and_another_program_404(client, world, db):
    read = make_token(db, world, ["read", "trainer"])
    r = _post(client, read, {"rubric_version_id": world.rubric_id, "rows": _rows(1)})
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert "import" in r.get_json()["detail"]
    refused = db.scalars(select(AuditEvent).where(AuditEvent.action == "api.refused")).all()
    assert any(json.loads(e.detail_json)["status"] == 403 for e in refused)
    importer = make_token(db, world, ["import"])
    made = _post(client, importer, {"rubric_version_id": world.rubric_id, "rows": _rows(1)}).get_json()
    assert client.get(f"/api/v1/imports/{made['id']}", headers=bearer(read)).status_code == 200
    other = make_token(db, world, ["import", "read"], program="b")
    r = client.get(f"/api/v1/imports/{made['id']}", headers=bearer(other))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    db.rollback()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "api.refused")) == len(refused) + 1
    assert _counts(db) == (1, 1)


def test_a_post_needs_an_idempotency_key(client, world, db):
    token = make_token(db, world, ["import"])
    r = _post(client, token, {"rubric_version_id": world.rubric_id, "rows": _rows(1)}, key=None)
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _counts(db) == (0, 0)


def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing(client, world, db):
    token = make_token(db, world, ["import"])
    body = {"rubric_version_id": world.rubric_id, "rows": _rows(3)}
    first = _post(client, token, body, key="retry-me")
    second = _post(client, token, body, key="retry-me")
    assert first.status_code == second.status_code == 202
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _counts(db) == (1, 3)
    changed = _post(client, token, {**body, "rows": _rows(4)}, key="retry-me")
    assert changed.status_code == 422 and changed.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert _counts(db) == (1, 3)
    # A 422 is an answer too: its retry gets it again.
    bad = {"rubric_version_id": world.rubric_id, "rows": _rows(1, level=9)}
    assert _post(client, token, bad, key="bad-once").status_code == 422
    replay = _post(client, token, bad, key="bad-once")
    assert replay.status_code == 422 and replay.headers["Idempotent-Replayed"] == "true"
    # Keys are per token: another token's same key is a new request.
    db.rollback()  # end the read above: the token is written next
    other = make_token(db, world, ["import"])
    assert _post(client, other, body, key="retry-me").get_json()["rows_already"] == 3
    assert _counts(db) == (2, 3)


def test_an_id_no_table_could_hold_is_404_not_500(client, world, db):
    token = make_token(db, world, ["import"])
    for import_id in (2**31, 2**70):
        r = client.get(f"/api/v1/imports/{import_id}", headers=bearer(token))
        assert r.status_code == 404 and r.mimetype == "application/problem+json"

"""Issue 18 item 7 through the API: webhook deliveries listed with their tries for a token with the
`admin` scope (paged, filtered by endpoint, event type and status), endpoints with their counts;
never a secret or a payload; other scopes are 403 and other programs 404, each refusal and use
audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from calibration.models import AuditEvent

from .helpers import bearer, make_token, seed_deliveries

DELIVERIES = "/api/v1/webhooks/deliveries"
ENDPOINTS = "/api/v1/webhooks/endpoints"


@pytest.fixture
def seeded(db: Any, world: Any) -> dict[str, int]:
    seed_deliveries(db, world, program="b")  # another program's: never listed
    return seed_deliveries(db, world)


def _audit(db: Any, action: str) -> list[dict[str, Any]]:
    db.rollback()
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    return [json.loads(e.detail_json) for e in rows]


def test_deliveries_with_every_try_newest_first(client, world, db, seeded):
    token = make_token(db, world, ["admin"])
    r = client.get(DELIVERIES, headers=bearer(token))
    assert r.status_code == 200, r.get_data(as_text=True)
    items = r.get_json()["items"]
    assert [d["id"] for d in items] == [seeded["untried"], seeded["waiting"], seeded["delivered"]]
    by_id = {d["id"]: d for d in items}
    delivered, waiting, untried = (by_id[seeded[k]] for k in ("delivered", "waiting", "untried"))
    assert delivered["status"] == "succeeded" and delivered["succeeded_at"].endswith("Z")
    assert [(a["status_code"], a["error"]) for a in delivered["attempts"]] == [
        (503, "The endpoint answered 503."),
        (204, None),
    ]
    assert delivered["attempt_count"] == 2 and delivered["next_attempt_at"] is None
    assert waiting["status"] == "pending" and waiting["attempt_count"] == 1
    assert [(a["status_code"], a["error"]) for a in waiting["attempts"]] == [(None, "Connection refused")]
    assert waiting["next_attempt_at"].endswith("Z")  # the next try is shown while pending
    assert untried["attempts"] == [] and untried["event_type"] == "round.closed"
    assert {d["endpoint_id"] for d in items} == {seeded["endpoint"]}
    assert all(d["msg_id"].startswith("msg_") for d in items)


def test_no_secret_and_no_payload(client, world, db, seeded):
    token = make_token(db, world, ["admin"])
    texts = [
        client.get(url, headers=bearer(token)).get_data(as_text=True)
        for url in (
            DELIVERIES,
            f"{DELIVERIES}/{seeded['delivered']}",
            ENDPOINTS,
            f"{ENDPOINTS}/{seeded['endpoint']}",
        )
    ]
    for text in texts:
        for leak in ("whsec_", "secret_hint", "secret_encrypted", "payload", "never shown", '"data"'):
            assert leak not in text


def test_filters_and_paging(client, world, db, seeded):
    token = make_token(db, world, ["admin"])

    def ids(**params: Any) -> list[int]:
        r = client.get(DELIVERIES, query_string=params, headers=bearer(token))
        assert r.status_code == 200, r.get_data(as_text=True)
        return [d["id"] for d in r.get_json()["items"]]

    assert ids(status="succeeded") == [seeded["delivered"]]
    assert ids(status="pending") == [seeded["untried"], seeded["waiting"]]
    assert ids(status="failed") == []
    assert ids(event_type="flag.raised") == [seeded["delivered"]]
    assert ids(endpoint_id=seeded["endpoint"], event_type="round.closed") == [
        seeded["untried"],
        seeded["waiting"],
    ]
    other = seed_deliveries(db, world, program="b")["endpoint"]
    assert ids(endpoint_id=other) == []  # another program's endpoint: nothing of it
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(DELIVERIES, query_string=params, headers=bearer(token)).get_json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [seeded["untried"], seeded["waiting"], seeded["delivered"]]
    for bad in ({"status": "lost"}, {"event_type": "nope"}, {"endpoint_id": 0}, {"cursor": "x"}):
        r = client.get(DELIVERIES, query_string=bad, headers=bearer(token))
        assert r.status_code == 400 and r.mimetype == "application/problem+json", bad
        assert r.get_json()["errors"][0]["field"] == next(iter(bad))


def test_endpoints_with_their_counts(client, world, db, seeded):
    token = make_token(db, world, ["admin"])
    items = client.get(ENDPOINTS, headers=bearer(token)).get_json()["items"]
    assert [e["id"] for e in items] == [seeded["endpoint"]]
    one = client.get(f"{ENDPOINTS}/{seeded['endpoint']}", headers=bearer(token)).get_json()
    assert one == items[0]
    assert one["url"] == "https://hooks.example.org/a" and one["enabled"] is True
    assert one["event_types"] == ["flag.raised", "round.closed"]
    assert one["deliveries"] == {"pending": 2, "succeeded": 1, "failed": 0}


def test_other_programs_are_404_and_other_scopes_403_audited(client, world, db, seeded):
    theirs = seed_deliveries(db, world, program="b")
    token = make_token(db, world, ["admin"])
    for url in (
        f"{DELIVERIES}/{theirs['delivered']}",
        f"{ENDPOINTS}/{theirs['endpoint']}",
        f"{DELIVERIES}/99999",
    ):
        r = client.get(url, headers=bearer(token))
        assert r.status_code == 404 and r.mimetype == "application/problem+json", url
    refused = _audit(db, "api.refused")
    assert sum(1 for d in refused if d["status"] == 404) == 3
    for scopes in (["read"], ["trainer"], ["import"], ["validity"]):
        other = make_token(db, world, scopes)
        for url in (
            DELIVERIES,
            f"{DELIVERIES}/{seeded['delivered']}",
            ENDPOINTS,
            f"{ENDPOINTS}/{seeded['endpoint']}",
        ):
            r = client.get(url, headers=bearer(other))
            assert r.status_code == 403 and r.mimetype == "application/problem+json", (scopes, url)
            assert "admin" in r.get_json()["detail"]
    refused = _audit(db, "api.refused")
    ours = {
        "api.list_webhook_deliveries",
        "api.get_webhook_delivery",
        "api.list_webhook_endpoints",
        "api.get_webhook_endpoint",
    }
    assert sum(1 for d in refused if d["status"] == 403 and d["endpoint"] in ours) == 16


def test_every_use_is_audited(client, world, db, seeded):
    token = make_token(db, world, ["admin"])
    assert client.get(DELIVERIES, headers=bearer(token)).status_code == 200
    uses = _audit(db, "api.use")
    assert any(d.get("endpoint") == "api.list_webhook_deliveries" for d in uses), uses


def test_an_admin_scoped_token_reads_nothing_else(client, world, db, seeded):
    token = make_token(db, world, ["admin"])
    for url in ("/api/v1/rounds", "/api/v1/validity/assignments"):
        assert client.get(url, headers=bearer(token)).status_code == 403, url

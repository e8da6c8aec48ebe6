"""The audit trail is complete: refusals, exports, round changes and submissions each leave a row with
the request id of the response that caused it; no password or token reaches the logs or the trail."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import func, select

from calibration.models import AuditEvent
from calibration.services.audit import verify_chain

from ..conftest import csrf_token, post_form
from ..factories import PASSWORD, score_form
from ..factories_rounds import covering_set
from .test_trainer_rounds_admin import act, new_round_data, stamp


def _as(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def events_for(db: Any, resp: Any) -> list[AuditEvent]:
    """The audit rows written by the request that produced ``resp`` (by its X-Request-ID)."""
    db.rollback()
    request_id = resp.headers["X-Request-ID"]
    assert request_id
    return list(db.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id)))


def test_guard_and_scope_refusals_are_audited_with_request_id(app, world, db):
    assessor = _as(app, world.emails["assessor"])
    cases = [
        (f"/trainer/rounds/{world.round_id}", "role", "trainer.round_page"),
        ("/admin/", "role", "admin.index"),
        # Blindness: the key before a final sheet is refused like any out-of-scope object.
        (f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/feedback", "scope", "assessor.feedback"),
        (f"/rounds/{world.round_b}", "scope", "assessor.round_page"),
        (f"/rounds/{world.round_id}/anchors/{world.anchor_b}", "scope", "assessor.score"),
    ]
    for url, reason, endpoint in cases:
        resp = assessor.get(url)
        assert resp.status_code == 404, url
        (event,) = events_for(db, resp)
        assert (event.action, event.outcome, event.actor_id) == (
            "access.denied",
            "denied",
            world.ids["assessor"],
        )
        assert event.object_type == "route" and event.object_id == endpoint
        detail = json.loads(event.detail_json)
        assert detail["reason"] == reason and detail["status"] == 404 and detail["method"] == "GET"
        assert "?" not in (detail["rule"] or "")

    # A state-changing attempt on another program's round: refused, audited, nothing else written.
    trainer_b = _as(app, world.emails["trainer_b"])
    db.rollback()
    before = db.scalar(select(func.count()).where(AuditEvent.action != "access.denied"))
    resp = post_form(trainer_b, f"/trainer/rounds/{world.round_id}/close", {}, token_page="/trainer/")
    assert resp.status_code == 404
    (event,) = events_for(db, resp)
    assert event.action == "access.denied" and json.loads(event.detail_json)["method"] == "POST"
    assert db.scalar(select(func.count()).where(AuditEvent.action != "access.denied")) == before

    # Anonymous visitors are sent to log in: not an authorization failure, no row.
    anonymous = app.test_client()
    resp = anonymous.get(f"/rounds/{world.round_id}")
    assert resp.status_code == 302 and events_for(db, resp) == []
    assert verify_chain(db).ok


def test_exports_round_changes_and_submissions_carry_the_request_id(app, world, db):
    first_id = db.scalar(select(func.max(AuditEvent.id)))
    trainer = _as(app, world.emails["trainer"])
    resp = trainer.get(f"/trainer/rounds/{world.round_id}/export.csv")
    assert resp.status_code == 200
    assert [e.action for e in events_for(db, resp)] == ["export.csv"]

    covering_set(db, world, "Covering")
    db.commit()
    resp = post_form(trainer, "/trainer/rounds/new", new_round_data(world))
    assert resp.status_code == 302
    (created,) = events_for(db, resp)
    assert created.action == "round.create" and created.actor_id == world.ids["trainer"]
    round_id = int(created.object_id)
    steps = [
        ("anchors/auto", {"target": "5"}, "round.anchors_set"),
        ("open", {}, "round.open"),
    ]
    for action, data, expected in steps:
        resp = act(trainer, round_id, action, data)
        assert resp.status_code == 302, (action, resp.get_data(as_text=True))
        assert [e.action for e in events_for(db, resp)] == [expected]
    from calibration.models import Round

    closes = db.get(Round, round_id).closes_at
    new_date, new_time = stamp(closes.replace(year=closes.year + 1))
    resp = act(trainer, round_id, "extend", {"closes_date": new_date, "closes_time": new_time})
    assert [e.action for e in events_for(db, resp)] == ["round.extend"]
    resp = act(trainer, round_id, "close")
    assert [e.action for e in events_for(db, resp)] == ["round.close"]

    assessor = _as(app, world.emails["assessor"])
    url = f"/rounds/{world.round_id}/anchors/{world.anchors[0]}"
    resp = post_form(assessor, url, score_form(world, world.keys[world.anchors[0]]))
    assert resp.status_code == 302
    (submitted,) = events_for(db, resp)
    assert submitted.action == "sheet.submit" and submitted.actor_id == world.ids["assessor"]

    # Every row written by a request has its request id (the world's rows came from no request).
    db.rollback()
    unstamped = select(func.count()).where(AuditEvent.id > first_id, AuditEvent.request_id.is_(None))
    assert db.scalar(unstamped) == 0
    assert verify_chain(db).ok


def _secrets_of(app: Any, client: Any) -> list[str]:
    """The signed session cookie and the server-side session token inside it."""
    cookie = client.get_cookie("session")
    if cookie is None:
        return []
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return [cookie.value, *([data["sid"]] if data.get("sid") else [])]


def test_no_password_or_token_in_logs_or_audit(app, world, db, caplog):
    caplog.set_level(logging.DEBUG)
    # The SQL log too: any parameter that carried a secret would show up there.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    secrets: list[str] = [PASSWORD, "Wrong-Passw0rd-typed"]
    client = app.test_client()
    token = csrf_token(client)
    secrets.append(token)
    resp = client.post(
        "/login",
        data={"email": world.emails["assessor"], "password": "Wrong-Passw0rd-typed", "csrf_token": token},
    )
    assert resp.status_code == 400
    assert (
        post_form(client, "/login", {"email": world.emails["assessor"], "password": PASSWORD}).status_code
        == 302
    )
    secrets += _secrets_of(app, client)
    assert client.get("/dashboard").status_code == 200
    assert post_form(client, "/logout", {}, token_page="/dashboard").status_code == 302
    if "account.forgot_password" in app.view_functions:
        # The reset request (its mailed token must stay out of the logs too: the mail test checks it).
        post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
        # Its mail is sent by the job the request enqueued (run right after the commit here): the
        # job's log lines are part of what is checked.
    assert len(secrets) >= 5

    logged = "\n".join(record.getMessage() + " " + repr(record.args) for record in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL was not logged"
    db.rollback()
    trail = "\n".join(
        " ".join(str(v) for v in row)
        for row in db.execute(
            select(
                AuditEvent.action, AuditEvent.object_id, AuditEvent.outcome, AuditEvent.request_id,
                AuditEvent.detail_json,
            )
        )
    )  # fmt: skip
    assert "login" in trail and "logout" in trail
    for secret in secrets:
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}…"
        assert secret not in trail, f"a secret reached the audit trail: {secret[:6]}…"

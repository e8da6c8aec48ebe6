"""Seeing a master key is on the audit trail: an assessor's first sight of a key version in their
feedback (not every reload), every trainer look at an anchor's key, and throttled logins."""

from __future__ import annotations

import json

from sqlalchemy import select

from calibration.models import Anchor, AnchorKeyVersion, AnchorPurpose, AuditEvent
from calibration.services import anchors as anchor_service
from calibration.services import challenges
from calibration.services.audit import verify_chain
from calibration.services.context import Member
from calibration.services.key_views import KEY_VIEW, OBJECT_TYPE

from ..conftest import post_form
from ..factories import score_form, submit


def key_views(db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == KEY_VIEW).order_by(AuditEvent.id)))


def key_version_id(db, anchor_id: int, version: int = 1) -> int:  # type: ignore[no-untyped-def]
    found = db.scalar(
        select(AnchorKeyVersion.id).where(
            AnchorKeyVersion.anchor_id == anchor_id, AnchorKeyVersion.version == version
        )
    )
    assert found is not None
    return found


def feedback_url(world, i: int) -> str:  # type: ignore[no-untyped-def]
    return f"/rounds/{world.round_id}/anchors/{world.anchors[i]}/feedback"


def test_first_feedback_view_records_who_saw_which_key_version(client, login, world, db):
    sheet = submit(db, world, "assessor", 0)
    sheet_id = sheet.id
    login(world.emails["assessor"])
    assert key_views(db) == []  # submitting shows nothing yet
    resp = client.get(feedback_url(world, 0))
    assert resp.status_code == 200 and "Why the key says so" in resp.get_data(as_text=True)
    [row] = key_views(db)
    assert row.actor_id == world.ids["assessor"] and row.program_id == world.program_a
    assert row.object_type == OBJECT_TYPE
    assert row.object_id == str(key_version_id(db, world.anchors[0]))
    assert row.outcome == "ok" and row.request_id
    assert json.loads(row.detail_json) == {
        "anchor_id": world.anchors[0],
        "version": 1,
        "via": "feedback",
        "round_id": world.round_id,
        "sheet_id": sheet_id,
    }
    # Reloading the feedback does not flood the trail.
    for _ in range(3):
        assert client.get(feedback_url(world, 0)).status_code == 200
    assert len(key_views(db)) == 1
    assert verify_chain(db).ok


def test_submitting_through_the_page_then_feedback_records_once(client, login, world, db):
    login(world.emails["assessor"])
    url = f"/rounds/{world.round_id}/anchors/{world.anchors[1]}"
    resp = post_form(client, url, score_form(world, world.keys[world.anchors[1]]), follow_redirects=True)
    assert resp.status_code == 200 and "Why the key says so" in resp.get_data(as_text=True)
    assert [r.object_id for r in key_views(db)] == [str(key_version_id(db, world.anchors[1]))]
    # A second submit of the same sheet ("already recorded") shows the feedback again: no new row.
    again = post_form(
        client, url, score_form(world, world.keys[world.anchors[1]]), token_page=feedback_url(world, 1)
    )
    assert "already" in again.get_data(as_text=True).lower()
    assert client.get(url).status_code == 302  # the score page sends a final sheet to its feedback
    assert len(key_views(db)) == 1


def test_no_key_view_before_the_sheet_is_final(client, login, world, db):
    login(world.emails["assessor"])
    assert client.get(feedback_url(world, 0)).status_code == 404
    assert client.get(f"/rounds/{world.round_id}/anchors/{world.anchors[0]}").status_code == 200
    assert key_views(db) == []


def test_each_key_version_and_anchor_is_recorded_once_per_assessor(client, login, world, db):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0)
    login(world.emails["assessor"])
    client.get(feedback_url(world, 0))
    # The trainer saves key version 2; the assessor's feedback still shows the version the
    # sheet was scored against, which they have already seen.
    trainer = Member(world.ids["trainer"], world.program_a)
    anchor = world.anchors[0]
    anchor_service.change_key(
        db,
        trainer,
        program_id=world.program_a,
        anchor_id=anchor,
        levels={c: 1 for c in world.criteria},
        rationales={c: "Changed after review." for c in world.criteria},
        reason="review",
        base_version=1,
    )
    db.commit()
    client.get(feedback_url(world, 0))
    submit(db, world, "assessor", 2)
    client.get(feedback_url(world, 2))
    client.get(feedback_url(world, 2))
    rows = key_views(db)
    assert [(r.actor_id, r.object_id) for r in rows] == [
        (world.ids["assessor"], str(key_version_id(db, anchor))),
        (world.ids["assessor"], str(key_version_id(db, world.anchors[2]))),
    ]
    # Another assessor seeing the same key version is a row of its own.
    other = client.application.test_client()
    post_form(other, "/login", {"email": world.emails["assessor2"], "password": "pw-for-tests"})
    assert other.get(feedback_url(world, 0)).status_code == 200
    last = key_views(db)[-1]
    assert last.actor_id == world.ids["assessor2"] and last.object_id == str(key_version_id(db, anchor))
    assert verify_chain(db).ok


def test_trainer_key_views_are_recorded_every_time(client, login, world, db):
    anchor = world.anchors[3]
    login(world.emails["trainer"])
    for _ in range(2):
        assert client.get(f"/trainer/anchors/{anchor}").status_code == 200
    assert client.get(f"/trainer/anchors/{anchor}/key").status_code == 200
    rows = key_views(db)
    assert [json.loads(r.detail_json)["via"] for r in rows] == ["anchor_page", "anchor_page", "key_form"]
    for row in rows:
        assert row.actor_id == world.ids["trainer"] and row.object_type == OBJECT_TYPE
        assert row.object_id == str(key_version_id(db, anchor))
        detail = json.loads(row.detail_json)
        assert detail["anchor_id"] == anchor and detail["version"] == 1
    assert json.loads(rows[0].detail_json)["versions_listed"] == [1]
    # Other trainer pages about the anchor do not show the key: nothing recorded.
    assert client.get(f"/trainer/anchors/{anchor}/edit").status_code == 200
    assert client.get("/trainer/anchors").status_code == 200
    assert len(key_views(db)) == 3
    assert verify_chain(db).ok


def test_no_key_view_without_a_key_or_outside_the_program(client, login, world, db):
    draft = Anchor(
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        title="Draft without a key",
        evidence_md="Evidence.",
        purpose=AnchorPurpose.CALIBRATION,
    )
    db.add(draft)
    db.commit()
    login(world.emails["trainer"])
    assert client.get(f"/trainer/anchors/{draft.id}").status_code == 200
    assert client.get(f"/trainer/anchors/{draft.id}/key").status_code == 200
    assert client.get(f"/trainer/anchors/{world.anchor_b}").status_code == 404
    assert client.get(f"/trainer/anchors/{world.anchor_b}/key").status_code == 404
    # A key form sent back with errors is a change attempt, not a new look at the key.
    bad = post_form(client, f"/trainer/anchors/{world.anchors[0]}/key", {"reason": ""}, token_page="/login")
    assert bad.status_code == 400
    assert key_views(db) == []


def test_throttled_login_is_audited(client, login, world, db, app):
    app.config["LOGIN_MAX_FAILURES"] = 2
    for _ in range(2):
        assert login(world.emails["assessor2"], "wrong").status_code == 400
    resp = login(world.emails["assessor2"])  # the right password, refused: throttled
    assert resp.status_code == 400 and "Too many failed attempts" in resp.get_data(as_text=True)
    db.rollback()
    rows = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "login").order_by(AuditEvent.id)))
    assert [r.outcome for r in rows] == ["failure", "failure", "throttled"]
    throttled = rows[-1]
    assert throttled.actor_id == world.ids["assessor2"] and throttled.object_type == "user"
    assert throttled.object_id == str(world.ids["assessor2"]) and throttled.request_id
    assert verify_chain(db).ok


def test_a_trainer_reading_a_key_challenge_is_a_key_view(client, login, world, db):
    submit(db, world, "assessor", 1)
    asked = challenges.raise_challenge(
        db,
        Member(world.ids["assessor"], world.program_a),
        round_id=world.round_id,
        anchor_id=world.anchors[1],
        criterion_id=world.criteria[0],
        argument="The evidence shows the higher level in the second section.",
    )
    db.commit()
    challenge_id = asked.id
    login(world.emails["trainer"])
    assert client.get("/trainer/challenges").status_code == 200  # the list shows no key
    assert key_views(db) == []
    page = client.get(f"/trainer/challenges/{challenge_id}")
    assert page.status_code == 200 and "rationale" in page.get_data(as_text=True)
    [row] = key_views(db)
    assert row.actor_id == world.ids["trainer"]
    assert row.object_id == str(key_version_id(db, world.anchors[1]))
    assert json.loads(row.detail_json) == {"anchor_id": world.anchors[1], "version": 1, "via": "challenge"}

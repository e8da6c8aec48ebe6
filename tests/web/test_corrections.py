"""Correcting a final score through the trainer pages, and what the assessor then sees. Both databases."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from calibration.models import AuditEvent, ScoreCorrection

from ..conftest import post_form
from ..factories import submit
from ..onboarding.conftest import smtp_sink  # noqa: F401 -- the fixture, reused

REASON = "Asha reported a slip: she meant the level below."


@pytest.fixture
def app_config(app_config, smtp_sink):  # type: ignore[no-untyped-def]  # noqa: F811
    """Notices go to the local SMTP sink (a real server on loopback)."""
    return {**app_config, "MAIL_BACKEND": "smtp", "MAIL_HOST": "127.0.0.1", "MAIL_PORT": smtp_sink.port,
            "MAIL_SECURITY": "none"}  # fmt: skip


def off_by_one(world):  # type: ignore[no-untyped-def]
    key = list(world.keys[world.anchors[0]])
    key[0] = key[0] + 1 if key[0] < max(world.levels) else key[0] - 1
    return key


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def form(world, level: int, reason: str = REASON) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"criterion": str(world.criteria[0]), "level": str(level), "reason": reason}


def test_trainer_corrects_a_score_and_the_assessor_reads_why(client, login, world, db, app, smtp_sink):  # noqa: F811
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world), notes="my notes")
    key_level = world.keys[world.anchors[0]][0]
    login(world.emails["trainer"])

    report = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    sheets_url = f"/trainer/rounds/{world.round_id}/assessors/{world.ids['assessor']}/sheets"
    assert sheets_url in report
    page = client.get(sheets_url).get_data(as_text=True)
    assert f"/trainer/sheets/{sheet.id}/correct" in page and "my notes" in page

    url = f"/trainer/sheets/{sheet.id}/correct"
    resp = post_form(client, url, form(world, key_level))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{sheets_url}#sheet-{sheet.id}")
    after = client.get(sheets_url).get_data(as_text=True)
    assert "Correction recorded" in after and html.escape(REASON) in after
    assert "1 score in this round was corrected" in client.get(f"/trainer/rounds/{world.round_id}").get_data(
        as_text=True
    )
    assert count(db, ScoreCorrection) == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.correct"))
    assert event.actor_id == world.ids["trainer"] and event.request_id

    assessor = app.test_client()
    post_form(assessor, "/login", {"email": world.emails["assessor"], "password": "pw-for-tests"})
    fb = assessor.get(f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/feedback").get_data(as_text=True)
    assert "Corrections to your scores" in fb and html.escape(REASON) in fb
    assert f"you submitted {off_by_one(world)[0]}" in fb
    assert f"exactly on <strong>{len(world.criteria)} of {len(world.criteria)}</strong>" in fb

    # The assessor is told, with the reason and a link to the feedback.
    [notice] = smtp_sink.to(world.emails["assessor"])
    assert notice["Subject"].startswith("A score of yours was corrected")
    body = notice.get_body(("plain",)).get_content()
    assert (
        REASON in body and f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/feedback#corrections" in body
    )


def test_bad_input_keeps_what_was_typed_writes_nothing_and_is_never_a_500(client, login, world, db):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    login(world.emails["trainer"])
    url = f"/trainer/sheets/{sheet.id}/correct"
    audit_before = count(db, AuditEvent)
    cases = [
        (form(world, world.keys[world.anchors[0]][0], "too short"), "at least 10 characters"),
        (form(world, off_by_one(world)[0], "Typed with care, but no change."), "already stands at"),
        (form(world, 99, "A level that the rubric does not have."), "this rubric&#39;s levels"),
        (
            {**form(world, 2, "A level that is not even a number."), "level": "two"},
            "this rubric&#39;s levels",
        ),
        ({**form(world, 2, "A criterion from somewhere else."), "criterion": "999999"}, "criteria"),
        (form(world, 2, "x" * 2001), "at most 2,000"),
        (form(world, 2, "A reason with a \x01 control character"), "control character"),
        ({"criterion": str(world.criteria[0]), "level": "2"}, "Say why"),
    ]
    for data, message in cases:
        resp = post_form(client, url, data)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400, (data, resp.status_code)
        assert message in body, (data, message)
        assert "nothing was saved" in body.lower()
        reason = data.get("reason", "")
        if reason and "\x01" not in reason:
            assert html.escape(reason, quote=False) in body  # what was typed is kept
    assert count(db, ScoreCorrection) == 0
    assert count(db, AuditEvent) - audit_before == 0


def test_other_programs_and_assessors_cannot_correct(app, world, db):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    url = f"/trainer/sheets/{sheet.id}/correct"
    for who, token_page in (
        ("trainer_b", "/trainer/"),
        ("assessor", "/dashboard"),
        ("assessor2", "/dashboard"),
    ):
        c = app.test_client()
        post_form(c, "/login", {"email": world.emails[who], "password": "pw-for-tests"})
        resp = post_form(c, url, form(world, world.keys[world.anchors[0]][0]), token_page=token_page)
        assert resp.status_code == 404, who
        if who == "trainer_b":
            assert "Asha" not in resp.get_data(as_text=True)  # nothing about program A's assessor
    assert count(db, ScoreCorrection) == 0


def test_export_and_profile_follow_the_correction(client, login, world, db):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    key_level = world.keys[world.anchors[0]][0]
    login(world.emails["trainer"])
    profile_url = f"/trainer/assessors/{world.ids['assessor']}"
    before = client.get(profile_url).get_data(as_text=True)
    assert post_form(client, f"/trainer/sheets/{sheet.id}/correct", form(world, key_level)).status_code == 302
    after = client.get(profile_url).get_data(as_text=True)
    assert before != after  # a new cache state: the profile is recomputed
    csv_text = client.get(f"/trainer/rounds/{world.round_id}/export.csv").get_data(as_text=True)
    header, *rows = [line.split(",") for line in csv_text.strip().splitlines()]
    corrected = [dict(zip(header, r, strict=True)) for r in rows if r[header.index("corrections")] == "1"]
    assert [(r["level"], r["submitted_level"]) for r in corrected] == [
        (str(key_level), str(off_by_one(world)[0]))
    ]

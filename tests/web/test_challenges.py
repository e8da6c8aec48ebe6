"""Key challenges from outside: an assessor questions the key from their feedback (only once final),
the lead trainer answers (the key stands, or a newer version is linked), the author reads the
answer; other people and programs see nothing. Both databases."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from calibration.models import AuditEvent, ChallengeStatus, KeyChallenge
from calibration.services.anchors import change_key
from calibration.services.context import Member

from ..conftest import post_form
from ..factories import submit
from ..onboarding.conftest import smtp_sink  # noqa: F401 -- the fixture, reused

ARGUMENT = "The teacher's log shows daily use of the data, which the rubric calls proficient."
ANSWER = "The log shows collection, not use: the rubric asks for decisions drawn from the data."


@pytest.fixture
def app_config(app_config, smtp_sink):  # type: ignore[no-untyped-def]  # noqa: F811
    """Notices go to the local SMTP sink (a real server on loopback)."""
    return {**app_config, "MAIL_BACKEND": "smtp", "MAIL_HOST": "127.0.0.1", "MAIL_PORT": smtp_sink.port,
            "MAIL_SECURITY": "none"}  # fmt: skip


def feedback_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/feedback"


def ask(client, world, criterion: int | str, argument: str = ARGUMENT):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        feedback_url(world) + "/challenge",
        {"criterion": str(criterion), "argument": argument},
        token_page="/dashboard",
    )


def count(db) -> int:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count(KeyChallenge.id)))


def as_user(app, world, who: str):  # type: ignore[no-untyped-def]
    c = app.test_client()
    post_form(c, "/login", {"email": world.emails[who], "password": "pw-for-tests"})
    return c


def test_an_assessor_questions_the_key_and_reads_the_answer(app, world, db, client, login, smtp_sink):  # noqa: F811
    sheet = submit(db, world, "assessor", 0)
    login(world.emails["assessor"])
    page = client.get(feedback_url(world)).get_data(as_text=True)
    assert "Question the key on a criterion" in page
    resp = ask(client, world, world.criteria[1])
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/feedback#challenges")
    db.rollback()
    c = db.scalar(select(KeyChallenge))
    assert (c.sheet_id, c.criterion_id, c.assessor_id, c.status) == (
        sheet.id,
        world.criteria[1],
        world.ids["assessor"],
        ChallengeStatus.OPEN,
    )
    assert c.key_version_id == sheet.key_version_id and c.program_id == world.program_a
    page = client.get(feedback_url(world)).get_data(as_text=True)
    assert str(escape(ARGUMENT)) in page and "has not answered yet" in page
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "key.challenge"))
    assert event.actor_id == world.ids["assessor"] and event.object_id == str(c.id)

    # The program's lead trainer is told (not the admin, not another program's trainer).
    assert [m["To"] for m in smtp_sink.messages] == [world.emails["trainer"]]
    told = smtp_sink.to(world.emails["trainer"])[0].get_body(("plain",)).get_content()
    assert ARGUMENT in told and f"/trainer/challenges/{c.id}" in told

    trainer = as_user(app, world, "trainer")
    listing = trainer.get("/trainer/challenges").get_data(as_text=True)
    assert f"/trainer/challenges/{c.id}" in listing and "open" in listing
    detail = trainer.get(f"/trainer/challenges/{c.id}").get_data(as_text=True)
    assert str(escape(ARGUMENT)) in detail and "Rationale for" in detail  # the key's own rationale

    # "Changed" needs a newer key version first; the typed answer is kept.
    url = f"/trainer/challenges/{c.id}/answer"
    refused = post_form(trainer, url, {"outcome": "key_changed", "response": ANSWER}, token_page="/trainer/")
    assert refused.status_code == 400 and "has not changed since" in refused.get_data(as_text=True)
    assert str(escape(ANSWER)) in refused.get_data(as_text=True)
    ok = post_form(trainer, url, {"outcome": "key_stands", "response": ANSWER}, token_page="/trainer/")
    assert ok.status_code == 302
    again = post_form(trainer, url, {"outcome": "key_stands", "response": ANSWER}, token_page="/trainer/")
    assert again.status_code == 400 and "already been answered" in again.get_data(as_text=True)
    db.rollback()
    c = db.get(KeyChallenge, c.id)
    db.refresh(c)
    assert c.status == ChallengeStatus.KEY_STANDS and c.response == ANSWER
    assert c.resolved_by_id == world.ids["trainer"] and c.resolved_at is not None
    detail = json.loads(
        db.scalar(select(AuditEvent.detail_json).where(AuditEvent.action == "key.challenge_answer"))
    )
    assert detail["outcome"] == "key_stands"
    page = client.get(feedback_url(world)).get_data(as_text=True)
    assert "The key stands." in page and str(escape(ANSWER)) in page
    [answered] = smtp_sink.to(world.emails["assessor"])
    assert answered["Subject"].startswith("Your question about a key was answered")
    text = answered.get_body(("plain",)).get_content()
    assert "The key stands." in text and ANSWER in text and "/feedback#challenges" in text


def test_a_changed_key_is_linked_to_the_challenge(app, world, db, client, login):
    submit(db, world, "assessor", 0)
    login(world.emails["assessor"])
    assert ask(client, world, world.criteria[0]).status_code == 302
    db.rollback()
    c = db.scalar(select(KeyChallenge))
    key = world.keys[world.anchors[0]]
    changed = [key[0] % 4 + 1, *key[1:]]
    version = change_key(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        anchor_id=world.anchors[0],
        levels=dict(zip(world.criteria, changed, strict=True)),
        rationales={cid: f"Revised rationale {cid}" for cid in world.criteria},
        reason="An assessor showed the first criterion was misread.",
        base_version=1,
    )
    db.commit()
    trainer = as_user(app, world, "trainer")
    resp = post_form(
        trainer,
        f"/trainer/challenges/{c.id}/answer",
        {"outcome": "key_changed", "response": "You were right; the key now reads the log as use."},
        token_page="/trainer/",
    )
    assert resp.status_code == 302
    db.rollback()
    c = db.get(KeyChallenge, c.id)
    db.refresh(c)
    assert c.status == ChallengeStatus.KEY_CHANGED and c.new_key_version_id == version.id
    assert "The key was changed (now version 2)" in client.get(feedback_url(world)).get_data(as_text=True)


def test_bad_questions_keep_what_was_typed_and_send_nothing(app, world, db, client, login):
    submit(db, world, "assessor", 0)
    login(world.emails["assessor"])
    cases = [
        (world.criteria[0], "too short", "at least 20 characters"),
        (-1, ARGUMENT, "Choose the criterion"),
        (world.other_rubric_criterion, ARGUMENT, "Choose the criterion"),
        ("abc", ARGUMENT, "Choose the criterion"),
        (world.criteria[0], "A control \x01 character inside a long enough argument", "control character"),
        (world.criteria[0], "x" * 2001, "At most 2,000"),
    ]
    for criterion, argument, message in cases:
        resp = ask(client, world, criterion, argument)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400, (criterion, argument[:20])
        assert message in body, message
        if "\x01" not in argument and len(argument) < 2000:
            assert str(escape(argument)) in body
    assert count(db) == 0
    assert ask(client, world, world.criteria[0]).status_code == 302
    twice = ask(client, world, world.criteria[0])
    assert twice.status_code == 400  # that criterion is no longer offered, and the service refuses it
    assert count(db) == 1


def test_blind_before_final_and_private_to_its_author(app, world, db):
    submit(db, world, "assessor", 0)
    colleague = as_user(app, world, "assessor2")  # has not scored anchor 0: the key is hidden
    assert ask(colleague, world, world.criteria[0]).status_code == 404
    assert count(db) == 0
    author = as_user(app, world, "assessor")
    assert ask(author, world, world.criteria[0]).status_code == 302
    db.rollback()
    cid = db.scalar(select(KeyChallenge.id))
    submit(db, world, "assessor2", 0)
    page = colleague.get(feedback_url(world)).get_data(as_text=True)
    assert str(escape(ARGUMENT)) not in page  # only its author sees a challenge
    for who, status in (("trainer_b", 404), ("assessor", 404), ("admin", 200), ("trainer", 200)):
        assert as_user(app, world, who).get(f"/trainer/challenges/{cid}").status_code == status, who
    other_trainer = as_user(app, world, "trainer_b")
    assert ARGUMENT not in other_trainer.get("/trainer/challenges").get_data(as_text=True)
    resp = post_form(
        other_trainer,
        f"/trainer/challenges/{cid}/answer",
        {"outcome": "key_stands", "response": ANSWER},
        token_page="/trainer/",
    )
    assert resp.status_code == 404
    db.rollback()
    assert db.get(KeyChallenge, cid).status == ChallengeStatus.OPEN

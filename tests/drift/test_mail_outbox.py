"""Issue 13, item 1: a line break in a session title is refused where it is entered; a title that is
already stored with one (from before that check) still gives a one-line subject and no extra header;
and a mail that fails after the commit is kept in the outbox, shown to the trainer and retried, never
a 500. Both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from calibration.db import utcnow
from calibration.models import (
    DriftFlag,
    MailStatus,
    OutgoingMail,
    RecalibrationSession,
    SessionBooking,
    User,
)
from calibration.notify import outbox
from calibration.services import drift

from ..conftest import post_form
from ..factories_drift import build_history, fresh_anchors, make_session, pool

EVIL = "X\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:evil"


def session_fields(world: Any, title: str) -> dict[str, str]:
    day = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    return {
        "title": title, "date": day, "time": "09:00", "timezone": "Europe/Berlin", "duration_minutes": "90",
        "location": "Room 1", "trainer_id": str(world.ids["trainer"]), "capacity": "3",
    }  # fmt: skip


def test_a_title_with_a_line_break_is_refused_where_it_is_entered(app, world, db, client, login):
    login(world.emails["trainer"])
    for title in (EVIL, "Tab\tinside", "Line\u2028separator"):
        r = post_form(client, "/trainer/sessions", session_fields(world, title))
        html = r.get_data(as_text=True)
        assert r.status_code == 400 and "must be one line of plain text" in html, title
        assert "Room 1" in html  # what was typed is kept
    db.rollback()
    assert db.scalar(select(func.count()).select_from(RecalibrationSession)) == 0
    # The same rule when a session is changed.
    session_id = make_session(db, world, days=4, title="Good title")
    fields = {f"edit-{k}": v for k, v in session_fields(world, EVIL).items()}
    r = post_form(
        client, f"/trainer/sessions/{session_id}/edit", fields, token_page=f"/trainer/sessions/{session_id}"
    )
    assert r.status_code == 400 and "must be one line of plain text" in r.get_data(as_text=True)
    db.rollback()
    assert db.get(RecalibrationSession, session_id).title == "Good title"


def drifting_flag(db: Any, world: Any, title: str) -> tuple[DriftFlag, int, str]:
    """A confirmed-ready drift flag for one assessor and a session with room (titled ``title``)."""
    fresh_anchors(db, world)
    people = pool(db, world, 7)
    drifter = people[2]
    build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    session_id = make_session(db, world, days=5, capacity=3)
    # As if stored before titles were checked to be one line.
    db.execute(update(RecalibrationSession).where(RecalibrationSession.id == session_id).values(title=title))
    drift.evaluate_program(db, world.program_a)
    db.commit()
    flag = db.scalar(
        select(DriftFlag).where(
            DriftFlag.user_id == drifter, DriftFlag.criterion_id.is_(None), DriftFlag.rule == "own_drift"
        )
    )
    email = db.scalar(select(User.email).where(User.id == drifter))
    return flag, session_id, email


def confirm(client: Any, flag: DriftFlag) -> Any:
    return post_form(
        client,
        f"/trainer/flags/{flag.id}/confirm",
        {"confirm-reason": ""},
        token_page=f"/trainer/flags/{flag.id}",
    )


def test_a_stored_title_with_line_breaks_still_sends_a_one_line_subject(
    app, world, db, smtp_sink, client, login
):
    flag, session_id, email = drifting_flag(db, world, "X\r\nBcc: evil@example.test\r\nSUMMARY:evil")
    login(world.emails["trainer"])
    r = confirm(client, flag)
    assert r.status_code == 302, r.get_data(as_text=True)
    [msg] = smtp_sink.to(email)
    assert msg["Subject"] == "Recalibration session: X Bcc: evil@example.test SUMMARY:evil"
    assert msg["Bcc"] is None and "\n" not in msg["Subject"]
    db.rollback()
    row = db.scalar(select(OutgoingMail).where(OutgoingMail.session_id == session_id))
    assert row.status == MailStatus.SENT and row.attempts == 1
    assert row.body_text == row.body_html == "" and row.attachments_json == "[]"  # links not kept


def test_a_failed_mail_is_kept_shown_and_retried_never_a_500(
    app, world, db, smtp_sink, client, login, runner, monkeypatch
):
    flag, session_id, email = drifting_flag(db, world, "Spring recalibration")
    good = app.extensions["calibration.mailer"]
    mailer_type = type(good)
    app.extensions["calibration.mailer"] = mailer_type(
        host="127.0.0.1", port=1, sender="x@example.test", security="none", timeout=2
    )
    login(world.emails["trainer"])
    r = confirm(client, flag)
    assert r.status_code == 302
    assert "could not be sent yet" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert smtp_sink.to(email) == []
    db.rollback()
    assert db.get(DriftFlag, flag.id).status.value == "confirmed"  # the change stands
    assert db.scalar(select(SessionBooking).where(SessionBooking.session_id == session_id)) is not None
    row = db.scalar(select(OutgoingMail).where(OutgoingMail.session_id == session_id))
    assert (row.status, row.attempts, row.to_address) == (MailStatus.PENDING, 1, email)
    assert "could not be reached" in row.last_error

    # The trainer sees it on the session page and on the program's mail page.
    for page in (f"/trainer/sessions/{session_id}", "/trainer/mail"):
        html = client.get(page).get_data(as_text=True)
        assert "Mail not sent" in html and email in html and "could not be reached" in html, page

    # A second run before the wait is over does not hammer the server; after it, send-mail sends it.
    app.extensions["calibration.mailer"] = good
    assert runner.invoke(args=["send-mail"]).exit_code == 0
    assert smtp_sink.to(email) == []
    later = utcnow() + outbox.backoff(1) + dt.timedelta(seconds=1)
    monkeypatch.setattr("calibration.notify.outbox.utcnow", lambda: later)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0 and "1 mail(s) sent" in result.output, result.output
    [msg] = smtp_sink.to(email)
    assert msg["Subject"] == "Recalibration session: Spring recalibration"
    assert runner.invoke(args=["send-mail"]).exit_code == 0
    assert len(smtp_sink.to(email)) == 1  # sent once
    db.rollback()
    db.expire_all()
    row = db.get(OutgoingMail, row.id)
    assert (row.status, row.attempts) == (MailStatus.SENT, 2)
    assert "All mail has gone out" in client.get("/trainer/mail").get_data(as_text=True)


def test_mail_given_up_on_waits_for_the_trainer(app, world, db, smtp_sink, client, login):
    flag, session_id, email = drifting_flag(db, world, "Autumn recalibration")
    good = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = type(good)(
        host="127.0.0.1", port=1, sender="x@example.test", security="none", timeout=2
    )
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    login(world.emails["trainer"])
    assert confirm(client, flag).status_code == 302
    db.rollback()
    row = db.scalar(select(OutgoingMail).where(OutgoingMail.session_id == session_id))
    assert row.status == MailStatus.FAILED
    assert "Stopped trying" in client.get("/trainer/mail").get_data(as_text=True)
    # Another program's trainer does not see it.
    other = app.test_client()
    post_form(other, "/login", {"email": world.emails["trainer_b"], "password": "pw-for-tests"})
    assert email not in other.get("/trainer/mail").get_data(as_text=True)

    app.extensions["calibration.mailer"] = good
    r = post_form(client, "/trainer/mail/retry", {}, token_page="/trainer/mail")
    assert r.status_code == 302
    assert "1 of 1 mail(s) sent" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(smtp_sink.to(email)) == 1


def test_an_invitation_the_mail_server_refuses_is_kept_and_retried(app, world, db, smtp_sink, client, login):
    good = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = type(good)(
        host="127.0.0.1", port=1, sender="x@example.test", security="none", timeout=2
    )
    login(world.emails["trainer"])
    r = post_form(client, "/trainer/invitations", {"emails": "new.person@example.test"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "did not accept the invitation for new.person@example.test" in page
    assert "new.person@example.test" in client.get("/trainer/mail").get_data(as_text=True)
    app.extensions["calibration.mailer"] = good
    r = post_form(client, "/trainer/mail/retry", {}, token_page="/trainer/mail")
    assert r.status_code == 302
    [msg] = smtp_sink.to("new.person@example.test")
    assert msg["Subject"] == "You are invited to assess for Program alpha"
    assert "/invitation/" in msg.get_body(("plain",)).get_content()

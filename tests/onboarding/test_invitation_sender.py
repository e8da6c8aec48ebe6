"""Issue 16: the invitation mail names the trainer who sent it, and replies go to them (Reply-To),
through the real SMTP sink. The resent link does the same, and a name that would break a header
(a line break) cannot add headers to the mail."""

from __future__ import annotations

from email.utils import getaddresses

from sqlalchemy import select

from calibration.models import OutgoingMail, User

from ..conftest import post_form
from .conftest import html_of, text_of
from .test_tokens import NEW, as_trainer, invite


def test_the_invitation_names_the_inviter_and_replies_go_to_them(app, world, db, smtp_sink):
    invite(app, world, smtp_sink)
    (msg,) = smtp_sink.to(NEW)
    trainer_email = world.emails["trainer"]
    trainer_name = db.scalar(select(User.name).where(User.email == trainer_email))
    assert getaddresses([msg["Reply-To"]]) == [(trainer_name, trainer_email)]
    assert msg["From"] == "Calibration <calibration@example.test>"  # sent by the service, as before
    text, html = text_of(msg), html_of(msg)
    assert f"{trainer_name} ({trainer_email}) invites you" in text
    assert f"your reply goes to {trainer_name}" in text
    assert trainer_name in html and f"mailto:{trainer_email}" in html
    db.rollback()
    assert db.scalar(select(OutgoingMail.reply_to).where(OutgoingMail.to_address == NEW)) == (
        f"{trainer_name} <{trainer_email}>"
    )


def test_a_resent_invitation_comes_from_the_trainer_who_resent_it(app, world, db, smtp_sink):
    invite(app, world, smtp_sink)
    db.rollback()
    user_id = db.scalar(select(User.id).where(User.email == NEW))
    admin = app.test_client()
    post_form(admin, "/login", {"email": world.emails["admin"], "password": "pw-for-tests"})
    resp = post_form(admin, f"/trainer/invitations/{user_id}/resend", {}, token_page="/trainer/invitations")
    assert resp.status_code == 302
    first, second = smtp_sink.to(NEW)
    assert getaddresses([first["Reply-To"]])[0][1] == world.emails["trainer"]
    assert getaddresses([second["Reply-To"]])[0][1] == world.emails["admin"]


def test_a_line_break_in_the_inviters_name_adds_no_header(app, world, db, smtp_sink):
    trainer = db.scalar(select(User).where(User.email == world.emails["trainer"]))
    trainer.name = "Lena\r\nBcc: victim@example.test"
    db.commit()
    client = as_trainer(app, world)
    assert post_form(client, "/trainer/invitations", {"emails": NEW}).status_code == 302
    (msg,) = smtp_sink.to(NEW)
    assert msg["Bcc"] is None
    assert getaddresses([msg["Reply-To"]])[0][1] == world.emails["trainer"]

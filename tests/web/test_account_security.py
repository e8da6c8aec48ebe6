"""Changing one's password and an admin switching an account off end sessions for real: an old
cookie replayed from another browser fails. Both are audited; bad input changes nothing. Both
databases."""

from __future__ import annotations

import json

from sqlalchemy import select

from calibration.models import AuditEvent, AuthSession, User

from ..conftest import post_form
from ..factories import PASSWORD

NEW = "a completely new passphrase"


def signed_in(app, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert post_form(c, "/login", {"email": email, "password": password}).status_code == 302
    return c


def change(client, current: str, new: str = NEW, confirm: str | None = None):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        "/account/password",
        {"current": current, "password": new, "confirm": new if confirm is None else confirm},
    )


def test_changing_the_password_ends_every_other_session(app, world, db):
    here = signed_in(app, world.emails["assessor"])
    elsewhere = signed_in(app, world.emails["assessor"])
    assert elsewhere.get("/dashboard").status_code == 200
    resp = change(here, PASSWORD)
    assert resp.status_code == 302
    assert here.get("/dashboard").status_code == 200  # this browser got a fresh session
    assert elsewhere.get("/dashboard").status_code == 302  # the old cookie no longer works
    assert (
        post_form(
            app.test_client(), "/login", {"email": world.emails["assessor"], "password": PASSWORD}
        ).status_code
        == 400
    )
    signed_in(app, world.emails["assessor"], NEW)
    db.rollback()
    ended = db.scalars(select(AuthSession.end_reason).where(AuthSession.ended_at.is_not(None))).all()
    assert ended.count("password_change") == 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "password.change"))
    assert event.actor_id == world.ids["assessor"] and NEW not in (event.detail_json or "")


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(app, world, db):
    here = signed_in(app, world.emails["trainer"])
    before = db.get(User, world.ids["trainer"]).password_hash
    for current, new, confirm, message in (
        ("not my password", NEW, None, "not your current password"),
        (PASSWORD, "short", None, "at least 10 characters"),
        (PASSWORD, NEW, "something else entirely", "not the same"),
        (PASSWORD, PASSWORD, None, "different from the current one"),
    ):
        resp = change(here, current, new, confirm)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and message in body, message
        assert NEW not in body and PASSWORD not in body  # passwords are never sent back
    db.rollback()
    db.expire_all()
    assert db.get(User, world.ids["trainer"]).password_hash == before
    assert here.get("/trainer/").status_code == 200
    assert app.test_client().get("/account/password").status_code == 302  # anonymous: to the login


def switch(client, user_id: int, state: str, reason: str = "Left the program in June."):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        f"/admin/users/{user_id}/account",
        {f"u{user_id}-state": state, f"u{user_id}-reason": reason},
        token_page="/admin/",
    )


def test_an_admin_switches_an_account_off_and_on(app, world, db):
    admin = signed_in(app, world.emails["admin"])
    assessor = signed_in(app, world.emails["assessor"])
    uid = world.ids["assessor"]
    page = admin.get("/admin/").get_data(as_text=True)
    assert f"/admin/users/{uid}/account" in page and f"/admin/users/{world.ids['admin']}/account" not in page

    no_reason = switch(admin, uid, "off", "   ")
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.get_data(as_text=True)
    assert assessor.get("/dashboard").status_code == 200

    assert switch(admin, uid, "off").status_code == 302
    assert assessor.get("/dashboard").status_code == 302  # the session ended at once
    login = post_form(app.test_client(), "/login", {"email": world.emails["assessor"], "password": PASSWORD})
    assert login.status_code == 400
    again = switch(admin, uid, "off")
    assert again.status_code == 400 and "already switched off" in again.get_data(as_text=True)

    assert switch(admin, uid, "on", "Back for the spring rounds.").status_code == 302
    signed_in(app, world.emails["assessor"])
    db.rollback()
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(["user.deactivate", "user.activate"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, json.loads(e.detail_json)["reason"]) for e in events] == [
        ("user.deactivate", "Left the program in June."),
        ("user.activate", "Back for the spring rounds."),
    ]


def test_no_switching_off_oneself_other_programs_or_as_a_trainer(app, world, db):
    admin = signed_in(app, world.emails["admin"])
    me = switch(admin, world.ids["admin"], "off")
    assert me.status_code == 400 and "your own account" in me.get_data(as_text=True)
    assert switch(admin, world.ids["assessor_b"], "off").status_code == 404  # another program's person
    trainer = signed_in(app, world.emails["trainer"])
    assert switch(trainer, world.ids["assessor"], "off").status_code == 404  # not an admin
    db.rollback()
    db.expire_all()
    assert all(u.is_active for u in db.scalars(select(User)))

"""Every outstanding reset link ends when the password changes by any path (a reset, the account
page, the command line) and when an admin switches the account off. Both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from calibration.models import AccountToken, TokenPurpose

from ..conftest import post_form
from ..factories import PASSWORD
from .conftest import link_path

NEW = "a completely new passphrase"
TAKEOVER = "the attacker's own passphrase"


def reset_link(app: Any, sink: Any, email: str) -> str:
    assert post_form(app.test_client(), "/password/forgot", {"email": email}).status_code == 200
    return link_path(sink.to(email)[-1])


def signed_in(app: Any, email: str, password: str = PASSWORD) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": password}).status_code == 302
    return client


def assert_link_is_dead(app: Any, path: str, email: str) -> None:
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 400 and "withdrawn" in page.get_data(as_text=True)
    taken = post_form(client, path, {"password": TAKEOVER, "confirm": TAKEOVER}, token_page="/login")
    assert taken.status_code == 400
    login = post_form(app.test_client(), "/login", {"email": email, "password": TAKEOVER})
    assert login.status_code == 400


def test_changing_the_password_ends_an_earlier_reset_link(app, world, db, smtp_sink):
    email = world.emails["assessor"]
    path = reset_link(app, smtp_sink, email)
    assert app.test_client().get(path).status_code == 200  # live until the password changes
    me = signed_in(app, email)
    resp = post_form(
        me,
        "/account/password",
        {"current": PASSWORD, "password": NEW, "confirm": NEW},
        token_page="/account/password",
    )
    assert resp.status_code == 302
    assert_link_is_dead(app, path, email)
    signed_in(app, email, NEW)
    db.rollback()
    rows = db.scalars(select(AccountToken).where(AccountToken.purpose == TokenPurpose.PASSWORD_RESET)).all()
    assert rows and all(r.revoked_at is not None and r.used_at is None for r in rows)


def test_using_one_reset_link_ends_the_others(app, world, db, smtp_sink):
    """Two reset mails: the newer replaces the older; using it leaves no live link behind."""
    email = world.emails["assessor"]
    older = reset_link(app, smtp_sink, email)
    newer = reset_link(app, smtp_sink, email)
    assert older != newer
    assert (
        post_form(
            app.test_client(), newer, {"password": NEW, "confirm": NEW}, token_page="/login"
        ).status_code
        == 302
    )
    assert_link_is_dead(app, older, email)
    db.rollback()
    live = db.scalars(
        select(AccountToken).where(
            AccountToken.purpose == TokenPurpose.PASSWORD_RESET,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
        )
    ).all()
    assert live == []


def test_switching_the_account_off_ends_its_reset_links(app, world, db, smtp_sink):
    email, uid = world.emails["assessor"], world.ids["assessor"]
    path = reset_link(app, smtp_sink, email)
    admin = signed_in(app, world.emails["admin"])
    off = post_form(
        admin,
        f"/admin/users/{uid}/account",
        {f"u{uid}-state": "off", f"u{uid}-reason": "Left the program in June."},
        token_page="/admin/",
    )
    assert off.status_code == 302
    assert_link_is_dead(app, path, email)
    # Switched back on, the old link stays dead: the person asks for a new one.
    on = post_form(
        admin,
        f"/admin/users/{uid}/account",
        {f"u{uid}-state": "on", f"u{uid}-reason": "Back for the spring rounds."},
        token_page="/admin/",
    )
    assert on.status_code == 302
    assert_link_is_dead(app, path, email)
    signed_in(app, email)


def test_the_command_line_password_ends_reset_links(app, world, db, smtp_sink, runner):
    email = world.emails["assessor"]
    path = reset_link(app, smtp_sink, email)
    result = runner.invoke(args=["set-password", "--email", email], input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert_link_is_dead(app, path, email)
    signed_in(app, email, NEW)

"""Common passwords are refused on every path that sets a password (accepting an invitation, a reset
link, the account page, the command line), with a plain reason, keeping what was typed elsewhere and
writing nothing. Both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from calibration.models import CertificationStatus, Membership, User
from calibration.services import common_passwords

from ..conftest import post_form
from ..factories import PASSWORD
from .conftest import link_path
from .test_tokens import invite

COMMON = ["qwertyuiop", "Password123", "1234567890", "iloveyou12", "Sunshine2024!"]
WHY = "one of the most common passwords"
GOOD = "brisk otter lantern"


def test_the_list_is_real_and_large():
    assert common_passwords.list_size() >= 10_000
    for word in COMMON:
        assert common_passwords.is_common(word), word
    for fine in (GOOD, "pw-for-tests", "correct horse battery", "a brand new passphrase", "12-otter-lamp"):
        assert not common_passwords.is_common(fine), fine


def assert_refused(resp: Any, *kept: str) -> None:
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and WHY in body
    for text in kept:
        assert text in body


def test_accepting_an_invitation(app, world, db, smtp_sink):
    _, path = invite(app, world, smtp_sink, "common.pw@example.test")
    client = app.test_client()
    for weak in COMMON:
        resp = post_form(client, path, {"name": "Cora Common", "password": weak, "confirm": weak})
        assert_refused(resp, "Cora Common")
    db.rollback()
    user = db.scalar(select(User).where(User.email == "common.pw@example.test"))
    assert user.password_hash is None
    member = db.scalar(select(Membership).where(Membership.user_id == user.id))
    assert member.certification_status == CertificationStatus.INVITED
    assert (
        post_form(client, path, {"name": "Cora Common", "password": GOOD, "confirm": GOOD}).status_code == 302
    )


def test_a_reset_link(app, world, db, smtp_sink):
    post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
    path = link_path(smtp_sink.to(world.emails["assessor"])[-1])
    before = db.get(User, world.ids["assessor"]).password_hash
    for weak in COMMON:
        assert_refused(post_form(app.test_client(), path, {"password": weak, "confirm": weak}))
    db.rollback()
    db.expire_all()
    assert db.get(User, world.ids["assessor"]).password_hash == before
    assert post_form(app.test_client(), path, {"password": GOOD, "confirm": GOOD}).status_code == 302


def test_the_account_page(app, world, db):
    client = app.test_client()
    post_form(client, "/login", {"email": world.emails["trainer"], "password": PASSWORD})
    for weak in COMMON:
        resp = post_form(
            client, "/account/password", {"current": PASSWORD, "password": weak, "confirm": weak}
        )
        assert_refused(resp)
    login = post_form(app.test_client(), "/login", {"email": world.emails["trainer"], "password": PASSWORD})
    assert login.status_code == 302  # the old password still works: nothing changed


@pytest.mark.parametrize("command", ["set-password", "create-user"])
def test_the_command_line(app, world, db, runner, command):
    args = ["--email", world.emails["assessor"]]
    if command == "create-user":
        args = [
            "--program",
            "alpha",
            "--email",
            "cli.person@example.test",
            "--name",
            "Cli",
            "--role",
            "assessor",
        ]
    result = runner.invoke(args=[command, *args], input="qwertyuiop\nqwertyuiop\n")
    assert result.exit_code != 0 and WHY in result.output
    db.rollback()
    assert db.scalar(select(User).where(User.email == "cli.person@example.test")) is None
    login = post_form(app.test_client(), "/login", {"email": world.emails["assessor"], "password": PASSWORD})
    assert login.status_code == 302
    ok = runner.invoke(args=[command, *args], input=f"{GOOD}\n{GOOD}\n")
    assert ok.exit_code == 0, ok.output

"""Issue 13, item 8: "forgot password" does the same work before replying whether or not the
address has an account: the same SQL statements, no password hashing, no mail rendered or sent;
one outbox row holds what was typed. The account is looked up and the link mailed after the reply.
Checked structurally (statements and calls counted), never by the clock; bench/reset_timing.py
measures the times. Both databases."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select

from calibration.db import get_db
from calibration.models import AuditEvent, MailStatus, OutgoingMail
from calibration.notify import mail, outbox
from calibration.services import auth

from ..conftest import csrf_token

UNKNOWN = "nobody@nowhere.test"


def _shape(statement: str) -> str:
    """The statement with its literal values (SQLite inlines none; a stray one would show) blanked."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(statement.split()))


def reply_work(app: Any, monkeypatch: Any, address: str) -> tuple[list[str], dict[str, int], bytes]:
    """What one POST does before its reply: SQL statements, hashing and mail calls, and the page."""
    calls = {"hash": 0, "verify": 0, "render": 0, "send": 0, "background": 0}

    def counting(name: str, real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(auth, "hash_password", counting("hash", auth.hash_password))
    monkeypatch.setattr(auth, "verify_password", counting("verify", auth.verify_password))
    monkeypatch.setattr(mail, "render_mail", counting("render", mail.render_mail))
    monkeypatch.setattr(mail, "send", counting("send", mail.send))
    # The work after the reply is started, not run, here: it is checked below on its own.
    monkeypatch.setattr(
        outbox, "deliver_in_background", lambda: calls.__setitem__("background", calls["background"] + 1)
    )
    client = app.test_client()
    token = csrf_token(client, "/password/forgot")
    statements: list[str] = []
    engine = get_db(app).engine

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(_shape(statement))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        resp = client.post("/password/forgot", data={"email": address, "csrf_token": token})
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert resp.status_code == 200
    monkeypatch.undo()
    return statements, calls, resp.get_data()


def test_known_and_unknown_addresses_do_the_same_work_before_the_reply(
    app, world, db, smtp_sink, monkeypatch
):
    known_sql, known_calls, known_page = reply_work(app, monkeypatch, world.emails["assessor"])
    unknown_sql, unknown_calls, unknown_page = reply_work(app, monkeypatch, UNKNOWN)
    assert known_page == unknown_page
    assert known_sql == unknown_sql, (known_sql, unknown_sql)
    assert any("INSERT INTO outgoing_mail" in s for s in known_sql)
    assert not any("user_account" in s or "account_token" in s for s in known_sql)  # no look-up yet
    assert known_calls == unknown_calls == {"hash": 0, "verify": 0, "render": 0, "send": 0, "background": 1}
    assert smtp_sink.messages == []

    # After the reply: the known address gets its link, the unknown one nothing; both are audited.
    db.rollback()
    requests = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == outbox.RESET_REQUEST)).all()
    assert sorted(r.to_address for r in requests) == sorted([world.emails["assessor"], UNKNOWN])
    with app.app_context():
        done = outbox.deliver_due()
    assert (done.sent, done.failed) == (1, 0)
    assert [m["To"] for m in smtp_sink.messages] == [world.emails["assessor"]]
    db.rollback()
    db.expire_all()
    rows = db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
    assert all(r.status == MailStatus.SENT for r in rows) and len(rows) == 3
    assert all(r.body_text == "" for r in rows)  # neither the typed address's details nor the link stay
    outcomes = db.scalars(
        select(AuditEvent.outcome)
        .where(AuditEvent.action == "password.reset_request")
        .order_by(AuditEvent.id)
    ).all()
    assert sorted(outcomes) == ["no_account", "ok"]
    assert db.scalar(select(AuditEvent.request_id).where(AuditEvent.action == "password.reset_request"))


def test_a_reset_request_that_cannot_be_handled_is_kept_and_retried(app, world, db, smtp_sink, monkeypatch):
    """A failure while handling the request after the reply is recorded on its row, never lost."""
    client = app.test_client()
    client.post(
        "/password/forgot",
        data={"email": world.emails["assessor"], "csrf_token": csrf_token(client, "/password/forgot")},
    )
    mail.drain()
    db.rollback()
    [request] = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == outbox.RESET_REQUEST)).all()
    assert request.status == MailStatus.SENT  # handled in the background after the reply
    assert len(smtp_sink.to(world.emails["assessor"])) == 1

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("template store unavailable")

    monkeypatch.setattr(mail, "render_mail", broken)
    client.post(
        "/password/forgot",
        data={"email": world.emails["assessor"], "csrf_token": csrf_token(client, "/password/forgot")},
    )
    mail.drain()
    db.rollback()
    db.expire_all()
    latest = db.scalars(
        select(OutgoingMail).where(OutgoingMail.kind == outbox.RESET_REQUEST).order_by(OutgoingMail.id.desc())
    ).first()
    assert (latest.status, latest.attempts) == (MailStatus.PENDING, 1)
    assert "template store unavailable" in latest.last_error
    assert len(smtp_sink.to(world.emails["assessor"])) == 1


def test_the_make_run_outbox_backend_still_gets_the_link(app_config, world, tmp_path):
    """``make run`` writes mail as .eml files: the reset link arrives there through the outbox."""
    import email
    import email.policy

    from calibration import create_app

    folder = tmp_path / "eml"
    local = create_app({**app_config, "MAIL_BACKEND": "outbox", "MAIL_OUTBOX_DIR": str(folder)})
    client = local.test_client()
    token = csrf_token(client, "/password/forgot")
    assert (
        client.post(
            "/password/forgot", data={"email": world.emails["assessor"], "csrf_token": token}
        ).status_code
        == 200
    )
    mail.drain()
    [path] = folder.glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == world.emails["assessor"]
    assert "/password/reset/" in msg.get_body(("plain",)).get_content()
    get_db(local).dispose()

"""Issue 13, item 8: "forgot password" does the same work before replying whether or not the
address has an account: the same SQL statements, no password hashing, no mail rendered or sent;
one outbox row holds what was typed, and one ``mail.deliver`` job, written with it, will handle it.
The account is looked up and the link mailed by that job, after the reply. The app here hands jobs
to the real queue as deployed (no immediate mode): nothing runs until a worker (here
``run_due_jobs``) takes the job. Checked structurally (statements and calls counted), never by the
clock; bench/reset_timing.py measures the times. Both databases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from calibration.db import get_db
from calibration.models import AuditEvent, Job, JobStatus, MailStatus, OutgoingMail
from calibration.notify import mail, outbox
from calibration.notify.queue import get_queue, run_due_jobs
from calibration.services import auth

from ..conftest import csrf_token

UNKNOWN = "nobody@nowhere.test"


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Jobs go through the real queue: a request enqueues, only a worker runs them."""
    return {**app_config, "JOBS_IMMEDIATE": False, "JOBS_QUEUE_FILE": str(tmp_path / "queue.sqlite3")}


def mail_jobs(db: Any) -> dict[str, int]:
    """``mail.deliver`` jobs by status."""
    db.rollback()
    rows = db.execute(
        select(Job.status, func.count()).where(Job.kind == outbox.DELIVER_JOB).group_by(Job.status)
    )
    return {str(status): int(n) for status, n in rows}


def _shape(statement: str) -> str:
    """The statement with its literal values (SQLite inlines none; a stray one would show) blanked."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(statement.split()))


def reply_work(app: Any, monkeypatch: Any, address: str) -> tuple[list[str], dict[str, int], bytes]:
    """What one POST does before its reply: SQL statements, hashing, mail and SMTP calls, and the page."""
    calls = {"hash": 0, "verify": 0, "render": 0, "send": 0, "smtp": 0}

    def counting(name: str, real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(auth, "hash_password", counting("hash", auth.hash_password))
    monkeypatch.setattr(auth, "verify_password", counting("verify", auth.verify_password))
    monkeypatch.setattr(mail, "render_mail", counting("render", mail.render_mail))
    monkeypatch.setattr(mail, "send", counting("send", mail.send))
    mailer = type(mail.get_mailer(app))
    monkeypatch.setattr(mailer, "send", counting("smtp", mailer.send))
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
    assert any("INSERT INTO job" in s for s in known_sql)  # the job that will handle it, with it
    assert not any("user_account" in s or "account_token" in s for s in known_sql)  # no look-up yet
    assert known_calls == unknown_calls == {"hash": 0, "verify": 0, "render": 0, "send": 0, "smtp": 0}
    assert smtp_sink.messages == []

    # After the reply: one job per request waits for a worker; the request rows are untried.
    db.rollback()
    requests = db.scalars(select(OutgoingMail).where(OutgoingMail.kind == outbox.RESET_REQUEST)).all()
    assert sorted(r.to_address for r in requests) == sorted([world.emails["assessor"], UNKNOWN])
    assert [r.attempts for r in requests] == [0, 0]
    assert mail_jobs(db) == {"queued": 2}
    # A worker runs them: the known address gets its link, the unknown one nothing; both are audited.
    assert run_due_jobs(app) == 2
    assert [m["To"] for m in smtp_sink.messages] == [world.emails["assessor"]]
    # The two jobs, and the safety net of each of the three tries (two requests, one link),
    # withdrawn once the try was recorded: nothing is left to run.
    assert mail_jobs(db) == {"done": 5}
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
    run_due_jobs(app)
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
    run_due_jobs(app)
    db.rollback()
    db.expire_all()
    latest = db.scalars(
        select(OutgoingMail).where(OutgoingMail.kind == outbox.RESET_REQUEST).order_by(OutgoingMail.id.desc())
    ).first()
    assert (latest.status, latest.attempts) == (MailStatus.PENDING, 1)
    assert "template store unavailable" in latest.last_error
    assert len(smtp_sink.to(world.emails["assessor"])) == 1
    # A job of its own tries again once the wait is over.
    [retry] = db.scalars(
        select(Job).where(Job.kind == outbox.DELIVER_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert retry.run_after == latest.next_attempt_at and retry.payload_json == f'{{"ids": [{latest.id}]}}'


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
    assert run_due_jobs(local) >= 1  # the worker (make run starts one inside the server)
    [path] = folder.glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == world.emails["assessor"]
    assert "/password/reset/" in msg.get_body(("plain",)).get_content()
    get_queue(local).stop()
    get_db(local).dispose()

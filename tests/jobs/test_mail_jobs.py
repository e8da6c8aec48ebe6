"""Mail on the job queue (issue 18, item 8): background mail is sent by a ``mail.deliver`` job written
in the same transaction as the mail; the job is idempotent (run twice, or by two workers at once, a
mail is sent once); a try cut short (the process died mid-send) is made again by the job its claim
enqueued; a failed send is retried by a job after a growing wait, then waits for the trainer's
"Try again now". Real mail to a local SMTP sink; both databases."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from calibration.db import get_db, utcnow, write_intent
from calibration.models import Job, JobStatus, MailStatus, OutgoingMail
from calibration.notify import mail, outbox
from calibration.notify.queue import run_due_jobs
from calibration.services import jobs

from ..conftest import post_form
from ..mailsink import Sink, running_sink

SENDER = "Calibration <calibration@example.test>"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture
def app_config(app_config, smtp_sink):  # type: ignore[no-untyped-def]
    """Mail goes to the local SMTP sink (a real server on loopback); jobs run right after the commit."""
    return {**app_config, "MAIL_BACKEND": "smtp", "MAIL_HOST": "127.0.0.1", "MAIL_PORT": smtp_sink.port,
            "MAIL_SECURITY": "none", "MAIL_SENDER": SENDER}  # fmt: skip


def put_mail(
    app: Any, *, to: str = "someone@example.test", program_id: int | None = None, job: bool = True
) -> int:
    """One outbox mail, with (``job``) or without its ``mail.deliver`` job, committed."""
    maker = get_db(app).sessionmaker
    message = mail.Mail(to=to, subject="Hello", text="Hello there.", html="<p>Hello there.</p>")
    with app.app_context(), write_intent(), maker() as session:
        row = outbox.queue(session, message, kind="test", program_id=program_id)
        if job:
            outbox.enqueue_delivery(session, [row.id])
        session.commit()  # JOBS_IMMEDIATE: the job runs right after this commit
        return row.id


def mail_row(db: Any, mail_id: int) -> OutgoingMail:
    db.rollback()
    db.expire_all()
    row = db.get(OutgoingMail, mail_id)
    assert row is not None
    return row


def queued_mail_jobs(db: Any) -> list[Job]:
    db.rollback()
    return list(
        db.scalars(
            select(Job).where(Job.kind == outbox.DELIVER_JOB, Job.status == JobStatus.QUEUED).order_by(Job.id)
        )
    )


def run_handler(app: Any, payload: dict[str, Any]) -> None:
    """What a worker does with a ``mail.deliver`` job's payload."""
    with app.app_context():
        jobs.handler_for(outbox.DELIVER_JOB)(get_db(app).sessionmaker, payload)


def test_background_mail_is_sent_by_the_job_enqueued_with_it(app, world, db, smtp_sink):
    """ "Forgot password" delivers in the background: the request's transaction holds the request
    row and the job that handles it; the job (run after the commit) looks the address up and mails
    the link, with a Message-ID that names the outbox row."""
    resp = post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
    assert resp.status_code == 200
    db.rollback()
    request, link = db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
    assert (request.kind, link.kind) == (outbox.RESET_REQUEST, outbox.RESET_MAIL)
    assert request.status == link.status == MailStatus.SENT
    [job] = db.scalars(select(Job).where(Job.dedupe_key == f"{outbox.DELIVER_JOB}:{request.id}:new")).all()
    assert (job.status, job.payload_json) == (JobStatus.DONE, f'{{"ids": [{request.id}]}}')
    [msg] = smtp_sink.to(world.emails["assessor"])
    assert msg["Message-ID"] == outbox.message_id(link.id, link.created_at, SENDER)
    assert queued_mail_jobs(db) == []  # the safety nets of both tries were withdrawn


def test_a_mail_job_run_twice_sends_once(app, db, smtp_sink):
    mail_id = put_mail(app)
    assert len(smtp_sink.messages) == 1
    run_handler(app, {"ids": [mail_id]})  # the same job again (a redelivered message)
    run_handler(app, {})  # the periodic run
    # The job row itself back in line, as after a lease lost mid-way: claimed and run again.
    with write_intent(), get_db(app).sessionmaker() as session:
        session.execute(
            update(Job)
            .where(Job.dedupe_key == f"{outbox.DELIVER_JOB}:{mail_id}:new")
            .values(status=JobStatus.QUEUED, run_after=utcnow() - dt.timedelta(seconds=1))
        )
        session.commit()
    assert run_due_jobs(app) == 1
    assert len(smtp_sink.messages) == 1
    row = mail_row(db, mail_id)
    assert (row.status, row.attempts) == (MailStatus.SENT, 1)


def test_two_workers_at_once_send_each_mail_once(app, db, smtp_sink):
    """Four workers handle the same job's payload at the same moment: the claim on each row lets
    one of them through (on PostgreSQL the others' UPDATE waits, then finds the row taken)."""
    ids = [put_mail(app, to=f"person{i}@example.test", job=False) for i in range(3)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            run_handler(app, {"ids": ids})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(m["To"] for m in smtp_sink.messages) == [f"person{i}@example.test" for i in range(3)]
    assert [(mail_row(db, i).status, mail_row(db, i).attempts) for i in ids] == [(MailStatus.SENT, 1)] * 3


class Killed(BaseException):
    """The process dies mid-send (nothing after this runs: no record of the try)."""


class DyingMailer:
    def send(self, message: mail.Mail) -> None:
        raise Killed


def test_a_try_cut_short_is_made_again_by_its_job_once_the_claim_runs_out(app, db, smtp_sink, monkeypatch):
    mail_id = put_mail(app, job=False)
    good = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = DyingMailer()
    with pytest.raises(Killed):
        run_handler(app, {"ids": [mail_id]})
    app.extensions["calibration.mailer"] = good
    row = mail_row(db, mail_id)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 1)  # claimed, never recorded
    [net] = queued_mail_jobs(db)  # written with the claim
    assert net.dedupe_key == f"{outbox.DELIVER_JOB}:{mail_id}:lease1"
    assert net.run_after == row.next_attempt_at >= row.last_attempt_at + outbox.LEASE

    assert run_due_jobs(app) == 0  # while the claim holds, nobody sends it
    assert smtp_sink.messages == []
    later = row.next_attempt_at + dt.timedelta(seconds=1)
    with get_db(app).sessionmaker() as session:
        assert net.id in jobs.due_for_dispatch(session, now=later)  # the sweep hands it to a worker
    monkeypatch.setattr("calibration.notify.outbox.utcnow", lambda: later)
    assert run_due_jobs(app, now=later) == 1
    assert run_due_jobs(app, now=later) == 0
    [msg] = smtp_sink.messages
    assert msg["Message-ID"] == outbox.message_id(mail_id, row.created_at, SENDER)  # as on the first try
    row = mail_row(db, mail_id)
    assert (row.status, row.attempts) == (MailStatus.SENT, 2)
    assert queued_mail_jobs(db) == []


def test_a_failed_send_is_retried_by_its_job_with_backoff_then_waits_for_the_trainer(
    app, world, db, smtp_sink, client, login, monkeypatch
):
    good = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = type(good)(
        host="127.0.0.1", port=1, sender=SENDER, security="none", timeout=2
    )
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    email = world.emails["assessor"]
    mail_id = put_mail(app, to=email, program_id=world.program_a)  # its job's try fails
    for attempt in (1, 2):
        row = mail_row(db, mail_id)
        assert (row.status, row.attempts) == (MailStatus.PENDING, attempt)
        assert "could not be reached" in row.last_error
        assert row.next_attempt_at - row.last_attempt_at == outbox.backoff(attempt)  # 1, then 2 minutes
        [retry] = queued_mail_jobs(db)
        assert retry.dedupe_key == f"{outbox.DELIVER_JOB}:{mail_id}:retry{attempt}"
        assert retry.run_after == row.next_attempt_at
        assert run_due_jobs(app) == 0  # not before the wait is over
        later = row.next_attempt_at + dt.timedelta(seconds=1)
        monkeypatch.setattr("calibration.notify.outbox.utcnow", lambda later=later: later)
        assert run_due_jobs(app, now=later) == 1
    row = mail_row(db, mail_id)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)  # given up on: no job tries again
    assert queued_mail_jobs(db) == []
    assert run_due_jobs(app, now=later + dt.timedelta(days=1)) == 0
    assert smtp_sink.messages == []

    login(world.emails["trainer"])
    assert "Stopped trying" in client.get("/trainer/mail").get_data(as_text=True)
    app.extensions["calibration.mailer"] = good
    r = post_form(client, "/trainer/mail/retry", {}, token_page="/trainer/mail")
    assert r.status_code == 302
    assert "1 of 1 mail(s) sent" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(smtp_sink.to(email)) == 1
    row = mail_row(db, mail_id)
    assert (row.status, row.attempts) == (MailStatus.SENT, 4)
    assert (
        db.scalar(select(func.count()).where(Job.kind == outbox.DELIVER_JOB, Job.status == JobStatus.QUEUED))
        == 0
    )


def test_mail_a_page_sends_itself_is_sent_by_a_job_if_the_process_dies(
    app, world, db, smtp_sink, client, login, monkeypatch
):
    """A page that sends its mail during the request (to say whether it went) commits a safety-net
    job with it: the process dies after the commit, before the try (first invitation) or during it
    (second); once the claim's time is over the job sends each mail, once."""
    login(world.emails["trainer"])

    def dying(*_args: Any, **_kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(outbox, "deliver_due", dying)
    with pytest.raises(Killed):
        post_form(client, "/trainer/invitations", {"emails": "first@example.test"})
    monkeypatch.undo()
    good = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = DyingMailer()
    with pytest.raises(Killed):
        post_form(client, "/trainer/invitations", {"emails": "second@example.test"})
    app.extensions["calibration.mailer"] = good

    db.rollback()
    first, second = db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
    assert (first.to_address, first.attempts, second.to_address, second.attempts) == (
        "first@example.test", 0, "second@example.test", 1,
    )  # fmt: skip
    nets = queued_mail_jobs(db)
    assert [j.dedupe_key for j in nets] == [f"{outbox.DELIVER_JOB}:{r.id}:lease1" for r in (first, second)]
    assert nets[0].run_after >= first.created_at + outbox.LEASE
    assert nets[1].run_after == second.next_attempt_at  # moved to the end of the try's claim
    assert run_due_jobs(app) == 0 and smtp_sink.messages == []
    later = max(j.run_after for j in nets) + dt.timedelta(seconds=1)
    monkeypatch.setattr("calibration.notify.outbox.utcnow", lambda: later)
    assert run_due_jobs(app, now=later) == 2
    assert run_due_jobs(app, now=later) == 0
    assert sorted(m["To"] for m in smtp_sink.messages) == ["first@example.test", "second@example.test"]
    assert queued_mail_jobs(db) == []


def test_mail_a_page_sent_itself_leaves_no_job_to_run(app, world, db, smtp_sink, client, login):
    login(world.emails["trainer"])
    assert post_form(client, "/trainer/invitations", {"emails": "new@example.test"}).status_code == 302
    assert len(smtp_sink.to("new@example.test")) == 1
    db.rollback()
    [net] = db.scalars(select(Job).where(Job.kind == outbox.DELIVER_JOB)).all()
    assert net.status == JobStatus.DONE  # withdrawn once the try was recorded, never run
    assert net.attempts == 0

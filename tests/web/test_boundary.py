"""Issue 14: the web layer's one transaction boundary (:func:`calibration.web.boundary.attempt`).

A use case that succeeds is committed once, the events it recorded become outbox mail in the same
transaction, and exactly that mail is delivered after the commit. A refusal rolls everything back
(rows, events, queued mail), shows the field errors on the form and writes nothing; any other
error rolls back and propagates. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from wtforms import StringField

from calibration.db import get_session
from calibration.models import AuditEvent, MailStatus, OutgoingMail
from calibration.notify import dispatch, mail, outbox
from calibration.services import audit, events
from calibration.services.context import SystemActor
from calibration.services.errors import InvalidInput, NotFound
from calibration.web import boundary

TO = "someone@example.test"


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name")


class Recorder:
    """A mailer that keeps what it is given (or refuses everything, as a server that is down)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.sent: list[mail.Mail] = []
        self.refuse = refuse

    def send(self, message: mail.Mail) -> None:
        if self.refuse:
            raise mail.MailError("The mail server could not be reached (test).")
        self.sent.append(message)


@pytest.fixture
def mailer(app: Any) -> Recorder:
    recorder = Recorder()
    app.extensions["calibration.mailer"] = recorder
    return recorder


@pytest.fixture
def request_session(app: Any) -> Iterator[Session]:
    """The request's session, inside a request (what a view sees)."""
    with app.test_request_context("/", method="POST"):
        yield get_session()


def commits(session: Session) -> list[int]:
    """The session's commits (a savepoint's release fires ``after_commit`` too: not counted)."""
    counted: list[int] = []
    event.listen(session, "after_commit", lambda s: None if s.in_nested_transaction() else counted.append(1))
    return counted


def write_audit_row(session: Session, action: str = "test.boundary") -> None:
    audit.record(session, SystemActor(), action, object_type="test", object_id=1)


def queue_mail(session: Session, subject: str = "Hello") -> int:
    return outbox.queue(session, mail.Mail(TO, subject, "text", "<p>text</p>"), kind="test").id


def stored(db: Any, model: Any, **where: Any) -> int:
    db.rollback()
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return int(db.scalar(stmt))


def test_a_use_case_that_succeeds_is_committed_once_and_returns_its_value(app, db, request_session):
    counted = commits(request_session)

    def work(s: Session) -> str:
        write_audit_row(s)
        return "the value"

    outcome = boundary.attempt(work)
    assert isinstance(outcome, boundary.Done) and outcome.ok
    assert outcome.value == "the value"
    assert outcome.mail == boundary.MailOutcome()  # nothing was queued, nothing sent
    assert counted == [1]
    assert stored(db, AuditEvent, action="test.boundary") == 1


def test_a_refusal_rolls_back_keeps_the_field_errors_on_the_form_and_writes_nothing(
    app, db, request_session, mailer
):
    form = NameForm(data={"name": "what was typed"})
    counted = commits(request_session)

    def work(s: Session) -> None:
        write_audit_row(s)
        queue_mail(s)
        events.emit(s, events.ScoreCorrected(1))
        raise InvalidInput(
            "Some fields need attention.", {"name": ["Too short."], "elsewhere": ["Not a field."]}
        )

    outcome = boundary.attempt(work, form=form)
    assert isinstance(outcome, boundary.Refused) and not outcome.ok
    assert outcome.message == "Some fields need attention."
    assert form.name.errors == ["Too short."] and form.form_errors == ["Not a field."]
    assert form.name.data == "what was typed"  # what was typed is kept
    assert counted == []
    assert events.pending(request_session) == []  # the events went with the transaction
    assert outbox.take_queued(request_session) == ()  # and so did the queued mail's ids
    assert stored(db, AuditEvent, action="test.boundary") == 0
    assert stored(db, OutgoingMail) == 0
    assert mailer.sent == []


def test_only_the_listed_domain_errors_are_refused_others_roll_back_and_propagate(
    app, db, request_session, mailer
):
    def work(s: Session) -> None:
        write_audit_row(s)
        queue_mail(s)
        raise NotFound("thing")

    with pytest.raises(NotFound):
        boundary.attempt(work)  # NotFound is not in ``refuse``: the error pages handle it
    assert stored(db, AuditEvent, action="test.boundary") == 0 and stored(db, OutgoingMail) == 0

    outcome = boundary.attempt(work, refuse=(InvalidInput, NotFound))
    assert isinstance(outcome, boundary.Refused) and isinstance(outcome.error, NotFound)
    assert stored(db, OutgoingMail) == 0 and mailer.sent == []


def test_an_unexpected_error_rolls_back_and_propagates(app, db, request_session, mailer):
    counted = commits(request_session)

    def work(s: Session) -> None:
        write_audit_row(s)
        queue_mail(s)
        events.emit(s, events.BookingsChanged((1,)))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        boundary.attempt(work, form=NameForm(data={"name": "x"}))
    assert counted == []
    assert events.pending(request_session) == [] and outbox.take_queued(request_session) == ()
    assert stored(db, AuditEvent, action="test.boundary") == 0
    assert stored(db, OutgoingMail) == 0
    assert mailer.sent == []


def test_mail_queued_in_the_transaction_is_delivered_after_the_commit(app, db, request_session, mailer):
    seen_at_send: list[int] = []

    class Checking(Recorder):
        def send(self, message: mail.Mail) -> None:
            # Delivery runs in sessions of its own: the row is already committed when it is sent.
            seen_at_send.append(stored(db, OutgoingMail, subject=message.subject))
            super().send(message)

    checking = Checking()
    app.extensions["calibration.mailer"] = checking
    outcome = boundary.attempt(lambda s: queue_mail(s, "Queued here"))
    assert isinstance(outcome, boundary.Done)
    assert outcome.mail.queued == (outcome.value,)
    assert (outcome.mail.sent, outcome.mail.failed) == (1, 0)
    assert [m.subject for m in checking.sent] == ["Queued here"] and seen_at_send == [1]
    db.rollback()
    row = db.get(OutgoingMail, outcome.value)
    assert row.status == MailStatus.SENT and row.attempts == 1


def test_mail_of_an_earlier_transaction_is_not_sent_by_the_next_one(app, db, request_session, mailer):
    """Only the mail queued by this transaction is delivered (``send-mail`` sends the rest)."""
    earlier = outbox.queue(db, mail.Mail(TO, "Earlier", "t", "h"), kind="test").id
    db.commit()
    outcome = boundary.attempt(lambda s: queue_mail(s, "Now"))
    assert isinstance(outcome, boundary.Done) and outcome.mail.queued == (outcome.value,)
    assert [m.subject for m in mailer.sent] == ["Now"]
    db.rollback()
    assert db.get(OutgoingMail, earlier).status == MailStatus.PENDING


def test_a_mail_that_fails_is_kept_and_counted_never_raised(app, db, request_session):
    app.extensions["calibration.mailer"] = Recorder(refuse=True)
    outcome = boundary.attempt(lambda s: queue_mail(s, "Will fail"))
    assert isinstance(outcome, boundary.Done)
    assert (outcome.mail.sent, outcome.mail.failed) == (0, 1)
    db.rollback()
    row = db.get(OutgoingMail, outcome.value)
    assert row.status == MailStatus.PENDING and row.attempts == 1 and "could not be reached" in row.last_error


def test_events_become_outbox_mail_in_the_same_transaction(app, db, request_session, mailer, monkeypatch):
    """The boundary hands the recorded events to the notify layer before its commit: the mail they
    call for is in the same transaction (a rollback at commit would take both)."""
    handed: list[list[events.Event]] = []
    commits_before: list[int] = []
    real = dispatch.queue_for
    counted = commits(request_session)

    def spy(session: Session, happened: list[events.Event]) -> tuple[int, ...]:
        handed.append(list(happened))
        commits_before.append(len(counted))
        queue_mail(session, "Because of an event")
        return real(session, happened)

    monkeypatch.setattr(dispatch, "queue_for", spy)

    def work(s: Session) -> None:
        write_audit_row(s)
        events.emit(s, events.BookingsChanged(()))

    outcome = boundary.attempt(work)
    assert isinstance(outcome, boundary.Done)
    assert handed == [[events.BookingsChanged(())]]
    assert commits_before == [0] and counted == [1]  # queued before the one commit
    assert events.pending(request_session) == []  # taken, not handed twice
    assert len(outcome.mail.queued) == 1 and outcome.mail.sent == 1
    assert [m.subject for m in mailer.sent] == ["Because of an event"]


def test_delivery_later_leaves_the_mail_to_the_send_mail_command(app, db, request_session, mailer):
    outcome = boundary.attempt(lambda s: queue_mail(s, "Later"), deliver="later")
    assert isinstance(outcome, boundary.Done)
    assert outcome.mail == boundary.MailOutcome((outcome.value,))
    assert mailer.sent == []
    db.rollback()
    assert db.get(OutgoingMail, outcome.value).status == MailStatus.PENDING


def test_due_for_program_also_sends_the_programs_other_due_mail(app, db, world, request_session, mailer):
    """The trainer's "try again" and the booking pages: after the commit, the program's due mail
    goes too (another program's does not)."""
    mine = outbox.queue(db, mail.Mail(TO, "Mine, due", "t", "h"), kind="test", program_id=world.program_a).id
    theirs = outbox.queue(
        db, mail.Mail(TO, "Theirs, due", "t", "h"), kind="test", program_id=world.program_b
    ).id
    db.commit()
    outcome = boundary.attempt(lambda s: 7, due_for_program=world.program_a)
    assert isinstance(outcome, boundary.Done) and outcome.value == 7
    assert outcome.mail == boundary.MailOutcome((), sent=1, failed=0)
    assert [m.subject for m in mailer.sent] == ["Mine, due"]
    db.rollback()
    assert db.get(OutgoingMail, mine).status == MailStatus.SENT
    assert db.get(OutgoingMail, theirs).status == MailStatus.PENDING


def test_page_is_400_with_an_error_and_200_without(app):
    assert boundary.page("<p>form</p>", None) == "<p>form</p>"
    assert boundary.page("<p>form</p>", "Some fields need attention.") == ("<p>form</p>", 400)

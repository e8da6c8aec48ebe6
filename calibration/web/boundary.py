"""The web layer's one transaction boundary: the only place in ``calibration/web`` that commits.

A view that changes something calls :func:`attempt` with the use case, a function of the session:

    outcome = attempt(lambda s: service.do_it(s, me, ...), form=form)
    if outcome.ok:
        flash("Done."); return redirect(...)
    return render_page(..., page_error=outcome.message)   # 400, what was typed is kept

``attempt`` runs the use case; on success it turns the events the services recorded
(:mod:`calibration.services.events`) into outbox mail *in the same transaction*, commits once, and
then delivers the mail it queued (or, for ``deliver="background"``, leaves it to a job enqueued
in that same transaction). On a domain error it rolls everything back (events included),
puts an :class:`InvalidInput`'s field errors next to the form's fields, and returns the refusal for
the view to show. Any other exception rolls back and propagates (the error pages handle it).

A use case with no refusal to show on its page uses :func:`carry_out` (every error propagates).

The few writes that are not a use case of their own go through the other helpers here:
:func:`commit_after_read` (an audit row for a page that only reads), :func:`commit_alone`
(a write that must be kept whatever the request does next, such as an access denial) and
:func:`write_apart` (bookkeeping beside a reading request); :func:`discard` throws a failed
request's transaction away before its error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from ..db import end_reading, get_db, get_session, write_intent
from ..services import events
from ..services.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

T = TypeVar("T")
Delivery = Literal["now", "background", "later"]
Page = Any  # a Flask response value: str, (str, status) or Response


@dataclass(frozen=True)
class MailOutcome:
    """What the boundary delivered after the commit (``failed`` mails are kept and retried)."""

    queued: tuple[int, ...] = ()
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Done(Generic[T]):
    """The use case succeeded and is committed."""

    value: T
    mail: MailOutcome = field(default_factory=MailOutcome)
    ok: Literal[True] = True


@dataclass(frozen=True)
class Refused:
    """A domain rule refused the use case; nothing was written."""

    error: DomainError
    ok: Literal[False] = False

    @property
    def message(self) -> str:
        return str(self.error)


Outcome = Done[T] | Refused


def apply_errors(form: FlaskForm | None, exc: DomainError) -> None:
    """Show a service's field errors next to the fields (unknown names go to the form's own list)."""
    if form is None or not isinstance(exc, InvalidInput):
        return
    for name, messages in exc.field_errors.items():
        found = form._fields.get(name)
        if found is not None:
            found.errors = [*found.errors, *messages]
        else:
            form.form_errors.extend(messages)


def page(html: str, page_error: str | None) -> str | tuple[str, int]:
    """A re-rendered form page: 400 when it shows an error, else 200."""
    return (html, 400) if page_error else html


@contextmanager
def _writing(late: bool) -> Iterator[None]:
    if late:
        end_reading(get_session())  # a ``writes_late`` view ends its reading first
        with write_intent():
            yield
    else:
        yield


def attempt(
    work: Callable[[Session], T],
    *,
    form: FlaskForm | None = None,
    refuse: tuple[type[DomainError], ...] = (InvalidInput,),
    keep: tuple[type[DomainError], ...] = (),
    late: bool = False,
    deliver: Delivery = "now",
    due_for_program: int | None = None,
) -> Done[T] | Refused:
    """Run ``work`` in the request's transaction and commit once, or roll back on a refusal.

    ``refuse``: the domain errors the view shows on its own page (default: bad input); any other
    error rolls back and propagates. ``keep``: refusals whose writes are committed all the same
    (a failed sign-in is audited and counted). ``late``: the view is ``writes_late`` (end its
    reading first). ``deliver``: send the mail queued by this transaction now (in the request, so
    the page can say what failed; a try that fails or is cut short is retried by a job), in the
    ``background`` (a ``mail.deliver`` job enqueued in this transaction sends it after the commit:
    the reply does not wait for the mail server or tell anything by its timing), or ``later``
    (leave it to the periodic mail job and the ``send-mail`` command). ``due_for_program``: after
    the mail of this transaction, also send that program's other mail that is due (earlier failures
    whose wait is over, or mail put back in line by the use case), and count it in ``Done.mail``.
    """
    session = get_session()
    kept: DomainError | None = None
    try:
        with _writing(late):
            try:
                value = work(session)
            except keep as exc:
                kept = exc
            queued = _queue_mail(session)
            _plan_delivery(session, queued, deliver)
            session.commit()
    except refuse as exc:
        session.rollback()
        apply_errors(form, exc)
        return Refused(exc)
    except BaseException:
        session.rollback()
        raise
    mail = _deliver(queued, deliver, due_for_program)
    if kept is not None:
        apply_errors(form, kept)
        return Refused(kept)
    return Done(value, mail)


def carry_out(work: Callable[[Session], T], *, late: bool = False, deliver: Delivery = "now") -> Done[T]:
    """:func:`attempt` for a use case with no refusal of its own to show: every error rolls back
    and propagates (the error pages answer it), so what comes back is always done."""
    outcome = attempt(work, refuse=(), late=late, deliver=deliver)
    if isinstance(outcome, Refused):  # not reached: nothing is refused
        raise outcome.error
    return outcome


def _queue_mail(session: Session) -> tuple[int, ...]:
    from ..notify import dispatch  # the notify layer sits above services and beside web

    return dispatch.queue_for(session, events.take(session))


def _plan_delivery(session: Session, queued: tuple[int, ...], how: Delivery) -> None:
    """Before the commit: the job that sends the mail (``background``), or the one that takes over
    should this process die before it has sent it (``now``)."""
    if not queued or how == "later":
        return
    from ..notify import outbox

    if how == "background":
        outbox.enqueue_delivery(session, queued)
    else:
        outbox.cover(session, queued)


def _deliver(queued: tuple[int, ...], how: Delivery, due_for_program: int | None) -> MailOutcome:
    if how in ("later", "background") or not (queued or due_for_program is not None):
        return MailOutcome(queued)  # background: the job enqueued with the mail sends it
    from ..notify import outbox

    result = outbox.deliver_due(ids=queued) if queued else outbox.Outcome()
    if due_for_program is not None:
        more = outbox.deliver_due(program_id=due_for_program)
        result = outbox.Outcome(result.sent + more.sent, result.failed + more.failed)
    return MailOutcome(queued, result.sent, result.failed)


def commit_after_read(write: Callable[[Session], Any]) -> None:
    """Commit an audit row from a page that only reads (a GET that shows a master key).

    Call it once the page is rendered, with plain values captured before: the request's read
    transaction is ended (nothing was written in it) and ``write`` runs in a short write of its
    own, as exports do (on SQLite a read transaction upgraded to a write can fail under load).
    A failure is not swallowed: a page whose showing must be on the trail is not served without it.
    """
    session = get_session()
    session.rollback()
    with write_intent():
        write(session)
        session.commit()


def commit_alone(write: Callable[[Session], Any], *, what: str) -> bool:
    """Throw away the request's own transaction and keep ``write`` on its own (an access denial).

    A database failure is logged (naming ``what``) and reported as False: the caller goes on with
    its refusal all the same.
    """
    session = get_session()
    try:
        with write_intent():
            session.rollback()
            write(session)
            session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("could not write %s", what)
        return False
    return True


def discard() -> bool:
    """Throw away the request's transaction (an error page is about to be shown).

    A database that cannot even roll back is logged and reported as False: the error page is
    shown all the same.
    """
    try:
        get_session().rollback()
    except SQLAlchemyError:
        log.debug("rollback after a failure failed too", exc_info=True)
        return False
    return True


def write_apart(statement: Executable) -> None:
    """Run one statement in a short transaction of its own, beside the request's session.

    For bookkeeping a reading request must not turn into a write (the activity stamp of a login
    session): the request's own transaction stays a read and is never committed.
    """
    with write_intent(), get_db().engine.begin() as conn:
        conn.execute(statement)

"""The boundary's refusals and helpers used by the sign-in and account pages: a refusal whose
writes are kept (a failed sign-in is audited and counted), a use case with no refusal of its own
(:func:`carry_out`), and throwing a failed request's transaction away (:func:`discard`)."""

from __future__ import annotations

from typing import Any

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from calibration.db import get_session
from calibration.models import LoginAttempt
from calibration.services.errors import AuthenticationFailed, InvalidInput
from calibration.web import boundary


class _Form(FlaskForm):
    email = StringField("Email")


def _attempts(db: Any, email: str) -> int:
    db.rollback()  # a fresh look at what was committed
    return db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == email))


def _count_and_fail(error: Exception) -> Any:
    def work(session: Any) -> None:
        session.add(LoginAttempt(email="someone@a.test"))
        session.flush()
        raise error

    return work


def test_a_kept_refusal_commits_what_was_written_and_is_shown(app, db):
    with app.test_request_context("/login", method="POST"):
        form = _Form(meta={"csrf": False})
        outcome = boundary.attempt(
            _count_and_fail(AuthenticationFailed("The email or password is not right.")),
            form=form,
            keep=(AuthenticationFailed,),
        )
        assert not outcome.ok
        assert outcome.message == "The email or password is not right."
    assert _attempts(db, "someone@a.test") == 1


def test_a_plain_refusal_writes_nothing_and_puts_the_errors_on_the_form(app, db):
    with app.test_request_context("/login", method="POST"):
        form = _Form(meta={"csrf": False})
        outcome = boundary.attempt(
            _count_and_fail(InvalidInput("Check the address.", {"email": ["Not an address."]})),
            form=form,
            keep=(AuthenticationFailed,),
        )
        assert not outcome.ok and outcome.message == "Check the address."
        assert form.email.errors == ["Not an address."]
    assert _attempts(db, "someone@a.test") == 0


def test_carry_out_commits_or_lets_every_error_through(app, db):
    with app.test_request_context("/", method="POST"):

        def record(session: Any) -> int:
            session.add(LoginAttempt(email="done@a.test"))
            return 7

        done = boundary.carry_out(record)
        assert done.ok and done.value == 7
        with pytest.raises(InvalidInput):  # no refusal of its own: the error pages answer it
            boundary.carry_out(_count_and_fail(InvalidInput("no")))
    assert _attempts(db, "done@a.test") == 1
    assert _attempts(db, "someone@a.test") == 0


def test_discard_throws_the_request_transaction_away(app, db):
    with app.test_request_context("/", method="POST"):
        get_session().add(LoginAttempt(email="gone@a.test"))
        get_session().flush()
        assert boundary.discard()
        get_session().commit()  # nothing is left to commit
    assert _attempts(db, "gone@a.test") == 0

"""Issue 17, item 9: a trainer books a named assessor by hand (capacity kept, audited, invitation
mailed, bad input refused with nothing written); invitations ask for no calendar reply; the trainer's
feed lists who is booked."""

from __future__ import annotations

import json

import icalendar
import pytest
from sqlalchemy import func, select

from calibration.models import AuditEvent, Role, SessionBooking, User
from calibration.services import calendar, hand_booking
from calibration.services.context import Member
from calibration.services.errors import NotFound

from ..conftest import post_form
from ..factories_drift import make_session


def _bookings(db, session_id):  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(
        select(func.count()).where(
            SessionBooking.session_id == session_id, SessionBooking.status.in_(["booked", "accepted"])
        )
    )


def _book(client, session_id, user_id):  # type: ignore[no-untyped-def]
    return post_form(
        client, f"/trainer/sessions/{session_id}/book", {"book-user_id": str(user_id)},
        token_page=f"/trainer/sessions/{session_id}",
    )  # fmt: skip


def test_a_named_assessor_is_booked_by_hand_and_sent_the_invitation(app, world, db, client, login, smtp_sink):
    row = make_session(db, world, days=4, capacity=1, title="Thursday calibration")
    login(world.emails["trainer"])
    page = client.get(f"/trainer/sessions/{row}").get_data(as_text=True)
    assert "Book an assessor" in page and "Asha Assessor" in page
    r = _book(client, row, world.ids["assessor"])
    assert r.status_code == 302, r.get_data(as_text=True)
    assert _bookings(db, row) == 1
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "session.book")).all()
    detail = json.loads(audit[0].detail_json)
    assert len(audit) == 1 and detail["by_hand"] is True and detail["user_id"] == world.ids["assessor"]
    [msg] = smtp_sink.to(world.emails["assessor"])
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "REQUEST" and str(event["SUMMARY"]) == "Thursday calibration"
    attendee = event["ATTENDEE"]
    assert str(attendee.params["RSVP"]) == "FALSE"  # the answer is given on the service's page
    # The session is full now: a second assessor is refused, and nothing is written.
    r = _book(client, row, world.ids["assessor2"])
    assert r.status_code == 400 and "This session is full (1 places)" in r.get_data(as_text=True)
    assert _bookings(db, row) == 1
    assert db.scalar(select(func.count()).where(AuditEvent.action == "session.book")) == 1


def test_booking_someone_booked_elsewhere_or_twice_or_a_stranger_is_refused(app, world, db, client, login):
    first = make_session(db, world, days=3, title="First")
    second = make_session(db, world, days=6, title="Second")
    login(world.emails["trainer"])
    assert _book(client, first, world.ids["assessor"]).status_code == 302
    again = _book(client, first, world.ids["assessor"])
    assert again.status_code == 400  # not offered any more: the choice itself is refused
    elsewhere = _book(client, second, world.ids["assessor"])
    body = elsewhere.get_data(as_text=True)
    assert elsewhere.status_code == 400 and "already booked into First" in body and "Move" in body
    # An assessor of another program is not offered, and the service refuses them too.
    outsider = world.ids["assessor_b"]
    assert _book(client, second, outsider).status_code == 400
    with pytest.raises(NotFound):
        hand_booking.book_named(
            db, Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER),
            program_id=world.program_a, session_id=second, user_id=outsider,
        )  # fmt: skip
    db.rollback()
    assert _bookings(db, second) == 0
    assert db.scalar(select(func.count()).where(AuditEvent.action == "session.book")) == 1


def test_the_trainer_feed_lists_who_is_booked_in_trainer_words(app, world, db, client, login):
    row = make_session(db, world, days=4, capacity=3, title="Friday calibration")
    login(world.emails["trainer"])
    assert _book(client, row, world.ids["assessor"]).status_code == 302
    assert _book(client, row, world.ids["assessor2"]).status_code == 302
    trainer = db.get(User, world.ids["trainer"])
    cal = icalendar.Calendar.from_ical(calendar.feed_ics(db, trainer))
    [event] = [e for e in cal.walk("VEVENT") if str(e["UID"]) == f"session-{row}@assessor-calibration"]
    text = str(event["DESCRIPTION"])
    assert "You run this recalibration session (2 of 3 places booked)" in text
    assert "Asha Assessor (not answered yet)" in text and "Ben Second (not answered yet)" in text
    assert "your assessor dashboard" not in text


def test_only_the_programs_trainers_may_book_by_hand(app, world, db, client, login):
    row = make_session(db, world, days=4, title="Scoped")
    data = {"book-user_id": str(world.ids["assessor"])}
    login(world.emails["trainer_b"])
    assert client.get(f"/trainer/sessions/{row}").status_code == 404
    r = post_form(client, f"/trainer/sessions/{row}/book", data, token_page="/trainer/sessions")
    assert r.status_code == 404
    other = app.test_client()
    post_form(other, "/login", {"email": world.emails["assessor"], "password": "pw-for-tests"})
    r = post_form(other, f"/trainer/sessions/{row}/book", data, token_page="/dashboard")
    assert r.status_code == 404  # the trainer pages do not exist for an assessor
    assert _bookings(db, row) == 0

"""Issue 14: booking mail is sent one way. Every booking change records ``BookingsChanged``; the
mail is queued (claim + outbox row) in the transaction of the change and kept or rolled back with
it; the command's sweep only finds a change whose mail was never queued. Both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from calibration.db import get_db, utcnow
from calibration.models import MailStatus, OutgoingMail, RecalibrationSession, SentNotice, SessionBooking
from calibration.notify import bookings, outbox
from calibration.services import events, sessions
from calibration.services.errors import InvalidInput

from ..factories_drift import fresh_anchors, make_session, pool
from ..factories_rounds import trainer
from .test_sessions import _recal


def count(db: Any, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)))


def book(db: Any, world: Any, user_id: int) -> SessionBooking | None:
    return sessions.book(
        db, trainer(world), program_id=world.program_a, user_id=user_id, recalibration_id=None, window_days=14
    )


def same_details(row: RecalibrationSession, **changes: Any) -> dict[str, Any]:
    local = row.starts_at.astimezone(ZoneInfo(row.timezone))
    return {
        "title": row.title, "date": local.date(), "time": local.time().replace(second=0, microsecond=0),
        "timezone": row.timezone, "duration_minutes": row.duration_minutes, "location": row.location,
        "trainer_id": row.trainer_id, "capacity": row.capacity, **changes,
    }  # fmt: skip


def test_every_booking_change_records_an_event(app, world, db):
    first, second = pool(db, world, 3)[:2]
    here = make_session(db, world, days=3, capacity=3, title="Here")
    there = make_session(db, world, days=5, capacity=3, title="There")
    events.take(db)

    booking = book(db, world, first)
    assert booking is not None and booking.session_id == here
    assert events.take(db) == [events.BookingsChanged((first,))]
    assert book(db, world, first) is booking and events.take(db) == []  # already booked: no change
    book(db, world, second)
    db.commit()
    events.take(db)

    moved = sessions.move_booking(
        db, trainer(world), program_id=world.program_a, booking_id=booking.id, target_session_id=there
    )
    assert moved.session_id == there and events.take(db) == [events.BookingsChanged((first,))]
    db.commit()

    row = db.get(RecalibrationSession, here)
    sessions.reschedule_session(
        db,
        trainer(world),
        program_id=world.program_a,
        session_id=here,
        **same_details(row, location="Room 2"),
    )
    assert events.take(db) == [events.BookingsChanged((second,))]  # the one still booked there
    db.commit()

    sessions.cancel_session(db, trainer(world), program_id=world.program_a, session_id=there, reason="Ill")
    assert events.take(db) == [events.BookingsChanged((first,))]
    db.commit()


def test_a_refused_change_records_nothing_once_rolled_back(app, world, db):
    make_session(db, world, days=3, capacity=3)
    row = db.scalar(select(RecalibrationSession))
    book(db, world, pool(db, world, 3)[0])
    db.commit()
    events.take(db)
    with pytest.raises(InvalidInput):
        sessions.reschedule_session(
            db, trainer(world), program_id=world.program_a, session_id=row.id, **same_details(row, capacity=0)
        )
    db.rollback()
    assert events.pending(db) == []


def test_booking_mail_is_queued_in_the_transaction_of_the_change(app, world, db, smtp_sink):
    person = pool(db, world, 3)[0]
    make_session(db, world, days=3, capacity=3, title="Queued with it")
    email = world_email(db, person)
    with app.app_context():
        booking = book(db, world, person)
        assert booking is not None
        queued = bookings.queue_booking_mails(db, user_ids=[person])
        assert len(queued) == 1
        db.rollback()  # the change is refused after all: its claim and its mail go with it
        assert count(db, SessionBooking) == count(db, SentNotice) == count(db, OutgoingMail) == 0

        booking = book(db, world, person)
        assert booking is not None
        [mail_id] = bookings.queue_booking_mails(db, user_ids=[person])
        assert bookings.queue_booking_mails(db, user_ids=[person]) == []  # claimed once
        db.commit()
        booking_id = booking.id
        row = db.get(OutgoingMail, mail_id)
        assert (row.kind, row.status, row.to_address) == (bookings.INVITATION, MailStatus.PENDING, email)
        assert db.scalar(select(SentNotice.key)) == f"booking:{booking_id}:0"
        # The command's sweep finds nothing left to queue; the outbox sends it once.
        assert bookings.send_booking_mails(get_db(app).sessionmaker) == bookings.Outcome(0, 0)
        assert outbox.deliver_due(ids=[mail_id]).sent == 1
    [msg] = smtp_sink.to(email)
    assert msg["Subject"] == "Recalibration session: Queued with it"


def test_the_sweep_still_mails_a_change_that_was_never_queued(app, world, db, smtp_sink):
    person = pool(db, world, 3)[0]
    make_session(db, world, days=3, capacity=3, title="Made by a command")
    book(db, world, person)
    db.commit()  # committed without queuing its mail (as a command, or code from before)
    with app.app_context():
        assert bookings.send_booking_mails(get_db(app).sessionmaker) == bookings.Outcome(1, 0)
        assert bookings.queue_booking_mails(db, user_ids=[person]) == []  # nothing left to queue
    assert [m["Subject"] for m in smtp_sink.to(world_email(db, person))] == [
        "Recalibration session: Made by a command"
    ]


def test_scheduling_a_session_books_the_waiting_as_one_use_case(app, world, db):
    fresh_anchors(db, world)
    people = pool(db, world, 3)[:2]
    started = _recal(db, people)
    assert all(s.booking is None for s in started)  # no session yet: both wait
    events.take(db)
    fields = {
        "title": "", "date": None, "time": None, "timezone": "Europe/Berlin", "duration_minutes": 90,
        "location": "Room 1", "trainer_id": world.ids["trainer"], "capacity": 5,
    }  # fmt: skip
    with pytest.raises(InvalidInput):
        sessions.schedule_session(db, trainer(world), program_id=world.program_a, **fields)
    db.rollback()
    assert count(db, RecalibrationSession) == 0 and count(db, SessionBooking) == 0

    local = (utcnow() + dt.timedelta(days=3)).astimezone(ZoneInfo("Europe/Berlin"))
    fields.update(title="New one", date=local.date(), time=dt.time(9, 0))
    done = sessions.schedule_session(db, trainer(world), program_id=world.program_a, **fields)
    assert done.row.title == "New one" and done.row.id is not None
    assert sorted(b.user_id for b in done.booked) == sorted(people)
    assert {b.session_id for b in done.booked} == {done.row.id}
    expected = [events.BookingsChanged((p,)) for p in people]
    assert sorted(events.take(db), key=repr) == sorted(expected, key=repr)
    db.commit()
    assert sessions.waiting_assessors(db, world.program_a) == []


def world_email(db: Any, user_id: int) -> str:
    from calibration.models import User

    user = db.get(User, user_id)
    assert user is not None
    return user.email

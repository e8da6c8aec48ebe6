"""Rescheduling a session: everyone booked gets an updated invitation (same UID, higher SEQUENCE,
the new time, parsed back from the mail); a new time asks them to accept again; bad input keeps what
was typed and changes nothing; other programs get 404. Both databases."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import AuditEvent, BookingStatus, RecalibrationSession, SessionBooking
from calibration.services import recalibration
from calibration.services.context import SystemActor

from ..conftest import post_form
from ..factories_drift import fresh_anchors, make_session


def _booked(db, world, session_id: int) -> SessionBooking:  # type: ignore[no-untyped-def]
    started = recalibration.start(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor"], flags=[],
        settings={"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5},
    )  # fmt: skip
    db.commit()
    assert started.booking is not None and started.booking.session_id == session_id
    return started.booking


def _form(row: RecalibrationSession, **changes: str) -> dict[str, str]:
    local = row.starts_at.astimezone(ZoneInfo(row.timezone))
    data = {
        "title": row.title,
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "timezone": row.timezone,
        "duration_minutes": str(row.duration_minutes),
        "location": row.location,
        "trainer_id": str(row.trainer_id),
        "capacity": str(row.capacity),
        **changes,
    }
    return {f"edit-{k}": v for k, v in data.items()}


def _events(sink, email: str) -> list[tuple[str, str, int, dt.datetime]]:  # type: ignore[no-untyped-def]
    out = []
    for msg in sink.to(email):
        [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        event = cal.walk("VEVENT")[0]
        out.append((str(cal["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART")))
    return out


def test_a_new_time_reaches_every_calendar_and_asks_to_accept_again(
    app, world, db, client, login, smtp_sink, runner
):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3, title="Reading evidence", timezone="Europe/Berlin")
    booking = _booked(db, world, sid)
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0  # sends the first invitation
    booking = db.get(SessionBooking, booking.id)
    booking.status = BookingStatus.ACCEPTED
    db.commit()
    row = db.get(RecalibrationSession, sid)
    new_day = (row.starts_at + dt.timedelta(days=2)).astimezone(ZoneInfo("America/Chicago")).date()

    login(world.emails["trainer"])
    page = client.get(f"/trainer/sessions/{sid}").get_data(as_text=True)
    assert "Change the time or place" in page and 'value="Reading evidence"' in page
    resp = post_form(
        client,
        f"/trainer/sessions/{sid}/edit",
        _form(row, date=new_day.isoformat(), time="15:30", timezone="America/Chicago"),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    row = db.get(RecalibrationSession, sid)
    local = row.starts_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.date(), local.hour, local.minute, row.timezone) == (new_day, 15, 30, "America/Chicago")
    booking = db.get(SessionBooking, booking.id)
    assert booking.status == BookingStatus.BOOKED and booking.sequence == 1

    events = _events(smtp_sink, world.emails["assessor"])
    assert [(m, s) for m, _, s, _ in events] == [("REQUEST", 0), ("REQUEST", 1)]
    assert events[0][1] == events[1][1] == booking.uid  # same event, updated in place
    assert events[1][3].astimezone(dt.UTC) == row.starts_at
    assert smtp_sink.to(world.emails["assessor"])[-1]["Subject"] == "Updated: Reading evidence"

    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "session.update"))
    detail = json.loads(event.detail_json)
    assert detail["changed"] == ["starts_at", "timezone"] and detail["bookings_updated"] == 1
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    assert len(smtp_sink.to(world.emails["assessor"])) == 2  # each change is mailed once


def test_a_larger_room_changes_no_calendar(app, world, db, client, login, smtp_sink, runner):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3, capacity=2)
    booking = _booked(db, world, sid)
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    login(world.emails["trainer"])
    row = db.get(RecalibrationSession, sid)
    resp = post_form(client, f"/trainer/sessions/{sid}/edit", _form(row, capacity="8"))
    assert resp.status_code == 302
    db.rollback()
    assert db.get(RecalibrationSession, sid).capacity == 8
    assert db.get(SessionBooking, booking.id).sequence == 0
    assert len(smtp_sink.to(world.emails["assessor"])) == 1


def test_bad_changes_keep_what_was_typed_and_change_nothing(app, world, db, client, login):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3, capacity=2)
    _booked(db, world, sid)
    row = db.get(RecalibrationSession, sid)
    before = (row.title, row.starts_at, row.timezone, row.capacity, row.location)
    yesterday = (utcnow() - dt.timedelta(days=1)).date().isoformat()
    login(world.emails["trainer"])
    cases = [
        (_form(row, date=yesterday, location="Room 12, typed with care"), "must start in the future"),
        (_form(row, timezone="Mars/Olympus", location="Room 12, typed with care"), "IANA name"),
        (_form(row, capacity="0", location="Room 12, typed with care"), "from 1 to"),
        (_form(row, capacity="abc", location="Room 12, typed with care"), "Not a valid integer"),
        (_form(row), "Nothing was changed"),
    ]
    for data, message in cases:
        resp = post_form(client, f"/trainer/sessions/{sid}/edit", data, token_page=f"/trainer/sessions/{sid}")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400, (data, resp.status_code)
        assert message in body, message
        if "Room 12" in data["edit-location"]:
            assert 'value="Room 12, typed with care"' in body
    # Below the places taken (one booking): refused with the reason.
    resp = post_form(client, f"/trainer/sessions/{sid}/edit", _form(row, capacity="1"))
    assert resp.status_code == 302  # one place taken, capacity one: allowed
    db.rollback()
    row = db.get(RecalibrationSession, sid)
    from ..factories_reports import add_assessors

    other = add_assessors(db, world.program_a, 1)[0]
    db.add(
        SessionBooking(session_id=sid, user_id=other, status=BookingStatus.BOOKED, uid="b-x@x", sequence=0)
    )
    db.commit()
    resp = post_form(
        client, f"/trainer/sessions/{sid}/edit", _form(row, capacity="1", title="Smaller room now")
    )
    assert resp.status_code == 400 and "2 places are taken" in resp.get_data(as_text=True)
    db.rollback()
    assert db.get(RecalibrationSession, sid).title == before[0]


def test_other_programs_and_past_or_cancelled_sessions(app, world, db, client, login):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3)
    row = db.get(RecalibrationSession, sid)
    data = _form(row, title="Hijacked title")
    other = app.test_client()
    post_form(other, "/login", {"email": world.emails["trainer_b"], "password": "pw-for-tests"})
    assert post_form(other, f"/trainer/sessions/{sid}/edit", data, token_page="/trainer/").status_code == 404
    login(world.emails["trainer"])
    assert (
        post_form(client, f"/trainer/sessions/{sid}/cancel", {"cancel-reason": "Trainer is ill."}).status_code
        == 302
    )
    assert "Change the time or place" not in client.get(f"/trainer/sessions/{sid}").get_data(as_text=True)
    resp = post_form(client, f"/trainer/sessions/{sid}/edit", data, token_page=f"/trainer/sessions/{sid}")
    assert resp.status_code == 400 and "Only a scheduled session" in resp.get_data(as_text=True)
    db.rollback()
    assert db.get(RecalibrationSession, sid).title == "Recalibration session"

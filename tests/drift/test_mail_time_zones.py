"""Session mail names its times in the recipient's zone: their own when they set one, else the
program's, always with the zone named, and the session's own zone beside it when that differs.
The ``.ics`` attachment keeps the session's zone (TZID). Sent through a real SMTP sink."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select

from calibration.models import Program, RecalibrationSession, User

from ..conftest import post_form
from ..factories_drift import make_session
from ..mailsink import html_of, text_of
from .test_reschedule import _booked, _form

NEW_YORK, CHICAGO, BERLIN = "America/New_York", "America/Chicago", "Europe/Berlin"


def _zones(db: Any, world: Any, *, program: str, assessor: str | None) -> None:
    db.get(Program, world.program_a).timezone = program
    db.get(User, world.ids["assessor"]).timezone = assessor
    db.commit()


def _at(starts_at: dt.datetime, zone: str, day_format: str = "") -> str:
    local = starts_at.astimezone(ZoneInfo(zone))
    day = f"{local:{day_format}}" if day_format else ""
    return f"{day}{local:%H:%M} {local.tzname()}"


def _tzid(msg: Any) -> str:
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    return str(event["DTSTART"].params["TZID"])


def test_a_booking_by_hand_mails_a_new_york_assessor_new_york_time(app, world, db, client, login, smtp_sink):
    _zones(db, world, program="UTC", assessor=NEW_YORK)
    sid = make_session(
        db, world, days=4, title="Thursday calibration", timezone=BERLIN, local_time=dt.time(15)
    )
    starts_at = db.get(RecalibrationSession, sid).starts_at
    login(world.emails["trainer"])
    resp = post_form(
        client, f"/trainer/sessions/{sid}/book", {"book-user_id": str(world.ids["assessor"])},
        token_page=f"/trainer/sessions/{sid}",
    )  # fmt: skip
    assert resp.status_code == 302, resp.get_data(as_text=True)
    [msg] = smtp_sink.to(world.emails["assessor"])
    local = starts_at.astimezone(ZoneInfo(NEW_YORK))
    for body in (text_of(msg), html_of(msg)):
        assert f"When: {local:%A %-d %B %Y}, {_at(starts_at, NEW_YORK)}" in body, body
        # The session's own zone, for whoever joins from there.
        assert f"{_at(starts_at, BERLIN)} in Europe/Berlin, the session’s zone" in body
        assert _at(starts_at, "UTC") not in body  # never the stored UTC reading
    assert _tzid(msg) == BERLIN  # the calendar file keeps the session's zone


def test_without_a_zone_of_their_own_the_assessor_reads_the_programs(
    app, world, db, client, login, smtp_sink, runner
):
    """The first invitation (sent by the drift run) and the move's update are both in the
    program's zone; the session's zone is not repeated when it is the reader's."""
    _zones(db, world, program=CHICAGO, assessor=None)
    from ..factories_drift import fresh_anchors

    fresh_anchors(db, world)
    sid = make_session(db, world, days=3, title="Reading evidence", timezone=CHICAGO)
    _booked(db, world, sid)
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    row = db.get(RecalibrationSession, sid)
    [first] = smtp_sink.to(world.emails["assessor"])
    assert f"When: {_at(row.starts_at, CHICAGO, '%A %-d %B %Y, ')}" in text_of(first)
    assert "the session’s zone" not in text_of(first)

    # The trainer moves it to 15:30 Berlin time: the update reads in Chicago time, Berlin beside it.
    new_day = (row.starts_at + dt.timedelta(days=2)).astimezone(ZoneInfo(BERLIN)).date()
    login(world.emails["trainer"])
    resp = post_form(
        client,
        f"/trainer/sessions/{sid}/edit",
        _form(row, date=new_day.isoformat(), time="15:30", timezone=BERLIN),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    moved = db.get(RecalibrationSession, sid).starts_at
    update = smtp_sink.to(world.emails["assessor"])[-1]
    assert update["Subject"] == "Updated: Reading evidence"
    body = text_of(update)
    assert f"When: {_at(moved, CHICAGO, '%A %-d %B %Y, ')}" in body, body
    assert "15:30 CET in Europe/Berlin, the session’s zone" in body or "15:30 CEST in Europe/Berlin" in body
    assert _tzid(update) == BERLIN


def test_the_session_reminder_is_in_the_assessors_own_zone(app, world, db, runner, smtp_sink):
    _zones(db, world, program=NEW_YORK, assessor="Asia/Tokyo")
    from ..factories_drift import fresh_anchors

    fresh_anchors(db, world)
    sid = make_session(db, world, days=0.5, title="Tomorrow's session", timezone=NEW_YORK)
    _booked(db, world, sid)
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    starts_at = db.scalar(select(RecalibrationSession.starts_at).where(RecalibrationSession.id == sid))
    [reminder] = [m for m in smtp_sink.to(world.emails["assessor"]) if m["Subject"].startswith("Reminder")]
    body = text_of(reminder)
    assert f"starts {_at(starts_at, 'Asia/Tokyo', '%A %-d %B %Y, ')}" in body, body
    assert f"{_at(starts_at, NEW_YORK)}" in body and "in America/New_York, the session’s zone" in body

"""The private feed: one VEVENT per session, the right instant across time zones, text escaped by
the library, a revocable token stored only as its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select, update

from calibration.db import utcnow
from calibration.models import CalendarFeedToken, RecalibrationSession
from calibration.services import calendar, sessions
from calibration.services.context import Actor

from ..conftest import post_form
from ..factories_drift import fresh_anchors, make_session

TRICKY = "Recalibration\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:injected; a, b"


def _book_into(db, world, session_ids):  # type: ignore[no-untyped-def]
    from calibration.models import BookingStatus, SessionBooking

    for sid in session_ids:
        db.add(
            SessionBooking(
                session_id=sid,
                user_id=world.ids["assessor"],
                status=BookingStatus.BOOKED,
                uid=f"booking-test-{sid}@x",
                sequence=0,
            )
        )
    db.commit()


def test_feed_has_one_event_per_session_at_the_right_time_with_escaped_text(app, world, db):
    fresh_anchors(db, world, sets=1)
    ny = make_session(db, world, days=5, timezone="America/New_York", local_time=dt.time(9, 0))
    # Titles are one line since issue 13 (they reach mail subjects); a row stored before that check
    # can still hold line breaks, and the feed must escape them.
    db.execute(update(RecalibrationSession).where(RecalibrationSession.id == ny).values(title=TRICKY))
    db.commit()
    berlin = make_session(
        db, world, days=6, timezone="Europe/Berlin", local_time=dt.time(9, 0), title="Berlin, 9:00"
    )
    _book_into(db, world, [ny, berlin])
    user = db.get(__import__("calibration.models", fromlist=["User"]).User, world.ids["assessor"])
    data = calendar.feed_ics(db, user)
    cal = icalendar.Calendar.from_ical(data)
    events = [e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("booking-")]
    assert len(events) == 2
    lines = data.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == 2 and lines.count(b"END:VEVENT") == 2
    assert b"SUMMARY:Recalibration\\nEND:VEVENT\\nBEGIN:VEVENT\\nSUMMARY:injected\\; a\\, b" in data.replace(
        b"\r\n ", b""
    )
    by_uid = {str(e["UID"]): e for e in events}
    e_ny, e_berlin = by_uid[f"booking-test-{ny}@x"], by_uid[f"booking-test-{berlin}@x"]
    assert str(e_ny["SUMMARY"]) == TRICKY
    for event, zone in ((e_ny, "America/New_York"), (e_berlin, "Europe/Berlin")):
        start = event.decoded("DTSTART")
        assert start.tzinfo is not None
        local = start.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (9, 0)
        assert event["DTSTART"].params["TZID"] == zone
        assert event.decoded("DTEND") - start == dt.timedelta(minutes=90)
    # 09:00 in New York and 09:00 in Berlin are six hours apart (same calendar day offsets aside).
    ny_utc = e_ny.decoded("DTSTART").astimezone(dt.UTC)
    assert ny_utc.hour - 9 in (4, 5)  # EDT or EST
    assert e_berlin.decoded("DTSTART").astimezone(dt.UTC).hour in (7, 8)  # CEST or CET
    assert {tz["TZID"] for tz in cal.walk("VTIMEZONE")} == {"America/New_York", "Europe/Berlin"}


def test_feed_link_is_private_and_revocable(app, world, db, client, login):
    fresh_anchors(db, world, sets=1)
    sid = make_session(db, world, days=3)
    _book_into(db, world, [sid])
    login(world.emails["assessor"])
    page = post_form(client, "/calendar/link", {}, token_page="/calendar")
    assert page.status_code == 200
    link = re.search(r'value="(http[^"]+\.ics)"', page.get_data(as_text=True)).group(1)
    path = link.split("localhost", 1)[-1]
    token = path.rsplit("/", 1)[1][: -len(".ics")]
    db.rollback()
    stored = db.scalar(select(CalendarFeedToken.token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    anonymous = app.test_client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert b"Recalibration session" in feed.data
    assert anonymous.get("/calendar/not-a-token.ics").status_code == 404
    post_form(client, "/calendar/revoke", {}, token_page="/calendar")
    assert anonymous.get(path).status_code == 404


def test_invalid_session_input_is_refused_with_a_clear_message(app, world, db, client, login):
    login(world.emails["trainer"])
    day = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    r = post_form(
        client, "/trainer/sessions",
        {"title": "Kept title", "date": day, "time": "09:00", "timezone": "Mars/Olympus", "duration_minutes": "90",
         "location": "Room 1", "trainer_id": str(world.ids["trainer"]), "capacity": "0"},
    )  # fmt: skip
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Kept title" in html and "IANA name" in html
    db.rollback()
    assert sessions.session_lines(db, world.program_a) == []
    r = post_form(
        client, "/trainer/sessions",
        {"title": "Bad\x00", "date": day, "time": "09:00", "timezone": "Europe/Berlin", "duration_minutes": "90",
         "location": "Room 1", "trainer_id": str(world.ids["trainer"]), "capacity": "3"},
    )  # fmt: skip
    assert r.status_code == 400 and "control character" in r.get_data(as_text=True)
    r = post_form(
        client, "/trainer/sessions",
        {"title": "Good", "date": day, "time": "09:00", "timezone": "Europe/Berlin", "duration_minutes": "90",
         "location": "Room 1", "trainer_id": str(world.ids["trainer"]), "capacity": "3"},
    )  # fmt: skip
    assert r.status_code == 302
    db.rollback()
    [line] = sessions.session_lines(db, world.program_a)
    local = line.row.starts_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().isoformat(), local.hour) == (day, 9)
    _ = Actor  # services take an Actor; views build it from the login

"""Recording who came to a recalibration session: only once it has started, only for live
bookings, audited with what each mark replaced; the assessor sees it. Both databases."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import AuditEvent, RecalibrationSession, SessionBooking

from ..conftest import post_form
from ..factories_drift import fresh_anchors, make_session
from .test_reschedule import _booked


def _mark(client, sid: int, bid: int, value: str):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        f"/trainer/sessions/{sid}/bookings/{bid}/attendance",
        {"attendance-attended": value},
        token_page=f"/trainer/sessions/{sid}",
    )


def test_attendance_is_recorded_after_the_start_and_audited(app, world, db, client, login):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3)
    booking = _booked(db, world, sid)
    login(world.emails["trainer"])

    early = _mark(client, sid, booking.id, "yes")
    assert early.status_code == 400 and "once the session has started" in early.get_data(as_text=True)
    assert "Did not attend" not in client.get(f"/trainer/sessions/{sid}").get_data(as_text=True)

    row = db.get(RecalibrationSession, sid)
    row.starts_at = utcnow() - dt.timedelta(minutes=30)  # the session is under way
    db.commit()
    page = client.get(f"/trainer/sessions/{sid}").get_data(as_text=True)
    assert "Did not attend" in page and "Change the time or place" not in page

    assert _mark(client, sid, booking.id, "yes").status_code == 302
    db.rollback()  # end the read snapshot
    db.expire_all()  # and forget what it loaded
    assert db.get(SessionBooking, booking.id).attended is True
    again = _mark(client, sid, booking.id, "yes")
    assert again.status_code == 400 and "already recorded" in again.get_data(as_text=True)
    bogus = _mark(client, sid, booking.id, "maybe")
    assert bogus.status_code == 400 and "Choose attended or did not attend" in bogus.get_data(as_text=True)
    assert _mark(client, sid, booking.id, "no").status_code == 302  # a mistake put right
    db.rollback()  # end the read snapshot
    db.expire_all()  # and forget what it loaded
    assert db.get(SessionBooking, booking.id).attended is False

    marks = [
        json.loads(e.detail_json)
        for e in db.scalars(
            select(AuditEvent).where(AuditEvent.action == "session.attendance").order_by(AuditEvent.id)
        )
    ]
    assert [(m["attended"], m["before"]) for m in marks] == [(True, None), (False, True)]

    assessor = app.test_client()
    post_form(assessor, "/login", {"email": world.emails["assessor"], "password": "pw-for-tests"})
    assert "recorded as not attended" in assessor.get("/sessions").get_data(as_text=True)


def test_other_programs_assessors_and_cancelled_bookings(app, world, db, client, login):
    fresh_anchors(db, world)
    sid = make_session(db, world, days=3)
    booking = _booked(db, world, sid)
    row = db.get(RecalibrationSession, sid)
    row.starts_at = utcnow() - dt.timedelta(minutes=5)
    db.commit()
    for who, token_page in (("trainer_b", "/trainer/"), ("assessor", "/dashboard")):
        other = app.test_client()
        post_form(other, "/login", {"email": world.emails[who], "password": "pw-for-tests"})
        resp = post_form(
            other,
            f"/trainer/sessions/{sid}/bookings/{booking.id}/attendance",
            {"attendance-attended": "yes"},
            token_page=token_page,
        )
        assert resp.status_code == 404, who
    login(world.emails["trainer"])
    assert _mark(client, sid, 999_999, "yes").status_code == 404
    b = db.get(SessionBooking, booking.id)
    b.status = "cancelled"
    db.commit()
    resp = _mark(client, sid, booking.id, "yes")
    assert resp.status_code == 400 and "booking was cancelled" in resp.get_data(as_text=True)
    db.rollback()  # end the read snapshot
    db.expire_all()  # and forget what it loaded
    assert db.get(SessionBooking, booking.id).attended is None

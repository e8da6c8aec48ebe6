"""Booking respects capacity and the program's window; confirmed flags start recalibration with a
round of unseen anchors; invitations carry an .ics that parses back; evaluate-drift twice yields the
same flags, bookings and mails."""

from __future__ import annotations

import datetime as dt
import json

import icalendar
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import (
    AuditEvent,
    CertificationStatus,
    DriftFlag,
    FlagStatus,
    Membership,
    Recalibration,
    RoundAnchor,
    SentNotice,
    SessionBooking,
)
from calibration.services import recalibration, sessions
from calibration.services.context import SystemActor
from calibration.services.rounds import seen_anchors

from ..factories_drift import build_history, fresh_anchors, make_session, pool, set_drift_settings
from ..factories_rounds import trainer


def _ics(msg):  # type: ignore[no-untyped-def]
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part, icalendar.Calendar.from_ical(part.get_payload(decode=True))


def _recal(db, user_ids, sessions_ok=True):  # type: ignore[no-untyped-def]
    out = []
    for uid in user_ids:
        out.append(
            recalibration.start(
                db, SystemActor(1), program_id=1, user_id=uid, flags=[],
                settings={"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5},
            )
        )  # fmt: skip
    db.commit()
    return out


def test_booking_respects_capacity_and_the_window(app, world, db):
    fresh_anchors(db, world)
    people = pool(db, world, 5)[:4]
    soon = make_session(db, world, days=3, capacity=1, title="Soon")
    later = make_session(db, world, days=6, capacity=2, title="Later")
    make_session(db, world, days=20, capacity=10, title="Outside the window")
    started = _recal(db, people)
    booked = {s.recalibration.user_id: s.booking.session_id for s in started if s.booking}  # type: ignore[union-attr]
    assert list(booked.values()) == [soon, later, later]
    assert len([s for s in started if s.booking is None]) == 1
    waiting = sessions.waiting_assessors(db, world.program_a)
    assert [w.user_id for w in waiting] == [people[3]]
    assert sessions.booked_count(db, soon) == 1 and sessions.booked_count(db, later) == 2
    # A new session in the window takes the one waiting.
    extra = make_session(db, world, days=10, capacity=1, title="Extra")
    [b] = sessions.book_waiting(db, trainer(world), program_id=world.program_a, window_days=14)
    db.commit()
    assert (b.user_id, b.session_id) == (people[3], extra)
    assert sessions.waiting_assessors(db, world.program_a) == []


def test_recalibration_round_has_unseen_anchors_covering_every_level(app, world, db):
    fresh = fresh_anchors(db, world)
    uid = world.ids["assessor"]
    [s] = _recal(db, [uid])
    assert s.recalibration is not None and s.problem is None
    anchors = set(
        db.scalars(select(RoundAnchor.anchor_id).where(RoundAnchor.round_id == s.recalibration.round_id))
    )
    assert anchors <= set(fresh)
    assert not anchors & seen_anchors(db, [uid], exclude_round_id=s.recalibration.round_id)[uid]
    status = db.scalar(select(Membership.certification_status).where(Membership.user_id == uid))
    assert status == CertificationStatus.RECALIBRATION_DUE


def test_confirmed_flag_books_and_mails_an_invitation_that_parses(app, world, db, smtp_sink, client, login):
    fresh_anchors(db, world)
    people = pool(db, world, 7)
    drifter = people[2]
    build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    session_id = make_session(db, world, days=5, capacity=3, timezone="America/New_York")
    from calibration.services import drift

    drift.evaluate_program(db, world.program_a)
    db.commit()
    flag = db.scalar(
        select(DriftFlag).where(
            DriftFlag.user_id == drifter, DriftFlag.criterion_id.is_(None), DriftFlag.rule == "own_drift"
        )
    )
    login(world.emails["trainer"])
    from ..conftest import post_form

    r = post_form(
        client,
        f"/trainer/flags/{flag.id}/confirm",
        {"confirm-reason": ""},
        token_page=f"/trainer/flags/{flag.id}",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    db.rollback()
    assert db.get(DriftFlag, flag.id).status == FlagStatus.CONFIRMED
    booking = db.scalar(select(SessionBooking).where(SessionBooking.user_id == drifter))
    assert booking is not None and booking.session_id == session_id
    email = db.scalar(
        select(__import__("calibration.models", fromlist=["User"]).User.email).where(
            __import__("calibration.models", fromlist=["User"]).User.id == drifter
        )
    )
    [msg] = smtp_sink.to(email)
    part, cal = _ics(msg)
    assert part.get_param("method") == "REQUEST" and cal["METHOD"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == booking.uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART").astimezone(dt.UTC) == booking.session.starts_at
    assert db.scalar(select(func.count()).where(AuditEvent.action == "drift.confirm")) == 1
    # Cancelling the session sends METHOD:CANCEL with the same UID and a higher SEQUENCE.
    r = post_form(
        client, f"/trainer/sessions/{session_id}/cancel", {"cancel-reason": "trainer ill"},
        token_page=f"/trainer/sessions/{session_id}",
    )  # fmt: skip
    assert r.status_code == 302
    cancel = smtp_sink.to(email)[-1]
    part, cal = _ics(cancel)
    [event] = cal.walk("VEVENT")
    assert cal["METHOD"] == "CANCEL" and str(event["UID"]) == booking.uid and int(event["SEQUENCE"]) == 1


def test_evaluate_drift_twice_gives_the_same_flags_bookings_and_mails(app, world, db, runner, smtp_sink):
    fresh_anchors(db, world)
    people = pool(db, world, 7)
    drifter = people[2]
    build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    set_drift_settings(db, world.program_a, auto_recalibrate=True)
    make_session(db, world, days=0.5, capacity=5)  # within the 24 h reminder
    expired = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor"]))
    expired.certified_at = utcnow() - dt.timedelta(days=400)
    expired.certification_expires_at = utcnow() - dt.timedelta(days=35)
    db.commit()

    first = runner.invoke(args=["evaluate-drift"])
    assert first.exit_code == 0, first.output
    db.rollback()
    state = (
        db.scalar(select(func.count()).select_from(DriftFlag)),
        db.scalar(select(func.count()).select_from(SessionBooking)),
        db.scalar(select(func.count()).select_from(Recalibration)),
        len(smtp_sink.messages),
    )
    # Everyone flagged (at least the drifter and the expired assessor) is in recalibration and booked.
    assert state[1] == state[2] >= 2
    assert (
        db.scalar(select(func.count()).where(Recalibration.user_id.in_([drifter, world.ids["assessor"]])))
        == 2
    )
    second = runner.invoke(args=["evaluate-drift"])
    assert second.exit_code == 0, second.output
    assert (
        "0 new flag(s); 0 waiting recalibration(s) started; 0 booking(s)" in second.output
        and "0 invitation mail(s) and 0 reminder(s)" in second.output
    )
    db.rollback()
    assert state == (
        db.scalar(select(func.count()).select_from(DriftFlag)),
        db.scalar(select(func.count()).select_from(SessionBooking)),
        db.scalar(select(func.count()).select_from(Recalibration)),
        len(smtp_sink.messages),
    )
    # Each booked assessor got one invitation and one reminder (the session starts within 24 hours).
    kinds = sorted(db.scalars(select(SentNotice.kind)))
    assert kinds.count("session-invitation") == state[1] and kinds.count("session-reminder") == state[1]
    assert len(smtp_sink.messages) == 2 * state[1]
    assert json.loads(db.scalar(select(DriftFlag.evidence_json).where(DriftFlag.rule == "expiry")))[
        "expires_at"
    ]

"""Trainer review of flags (confirm, dismiss with a reason, audited, scoped to the program) and the
assessor's own flags in plain language with their booking."""

from __future__ import annotations

from sqlalchemy import func, select

from calibration.models import AuditEvent, DriftFlag, FlagStatus, SessionBooking
from calibration.services import drift

from ..conftest import post_form
from ..factories_drift import build_history, fresh_anchors, make_session


def _lenient_assessor_flagged(db, world):  # type: ignore[no-untyped-def]
    from ..factories_reports import add_assessors

    people = [world.ids["assessor"], world.ids["assessor2"], *add_assessors(db, world.program_a, 5)]
    drifter = world.ids["assessor"]
    build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    drift.evaluate_program(db, world.program_a)
    db.commit()
    return db.scalar(
        select(DriftFlag).where(
            DriftFlag.user_id == drifter, DriftFlag.rule == "own_drift", DriftFlag.criterion_id.is_(None)
        )
    )


def test_dismiss_needs_a_reason_and_is_audited(app, world, db, client, login):
    flag = _lenient_assessor_flagged(db, world)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/flags/{flag.id}")
    assert page.status_code == 200 and "Drift from own earlier level" in page.get_data(as_text=True)
    assert client.get("/trainer/flags").status_code == 200
    r = post_form(
        client,
        f"/trainer/flags/{flag.id}/dismiss",
        {"dismiss-reason": ""},
        token_page=f"/trainer/flags/{flag.id}",
    )
    assert r.status_code == 400 and "Give a reason" in r.get_data(as_text=True)
    db.rollback()
    assert db.get(DriftFlag, flag.id).status == FlagStatus.OPEN
    r = post_form(
        client, f"/trainer/flags/{flag.id}/dismiss", {"dismiss-reason": "Scored a new anchor set; discussed."},
        token_page=f"/trainer/flags/{flag.id}",
    )  # fmt: skip
    assert r.status_code == 302
    db.rollback()
    assert db.get(DriftFlag, flag.id).status == FlagStatus.DISMISSED
    assert db.scalar(select(func.count()).where(AuditEvent.action == "drift.dismiss")) == 1
    # A second review is refused, nothing changes.
    r = post_form(client, f"/trainer/flags/{flag.id}/confirm", {}, token_page=f"/trainer/flags/{flag.id}")
    assert r.status_code == 400 and "already dismissed" in r.get_data(as_text=True)


def test_flags_and_sessions_are_scoped_to_the_program(app, world, db, client, login):
    flag = _lenient_assessor_flagged(db, world)
    sid = make_session(db, world, days=3)
    login(world.emails["trainer_b"])
    assert client.get(f"/trainer/flags/{flag.id}").status_code == 404
    assert client.get(f"/trainer/sessions/{sid}").status_code == 404
    assert "Drift from own earlier level" not in client.get("/trainer/flags").get_data(as_text=True)
    client2 = app.test_client()
    post_form(client2, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
    assert client2.get(f"/trainer/sessions/{sid}").status_code == 200
    client3 = app.test_client()
    post_form(client3, "/login", {"email": world.emails["assessor"], "password": "pw-for-tests"})
    assert client3.get(f"/trainer/flags/{flag.id}").status_code == 404


def test_assessor_sees_their_flag_in_plain_language_and_answers_the_booking(
    app, world, db, client, login, smtp_sink
):
    fresh_anchors(db, world)
    flag = _lenient_assessor_flagged(db, world)
    make_session(db, world, days=4)
    trainer = app.test_client()
    post_form(trainer, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
    post_form(trainer, f"/trainer/flags/{flag.id}/confirm", {}, token_page=f"/trainer/flags/{flag.id}")
    login(world.emails["assessor"])
    page = client.get("/sessions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "moved higher than your own earlier level, by about one level" in html
    assert "Recalibration: Asha Assessor" in html
    db.rollback()
    booking = db.scalar(select(SessionBooking).where(SessionBooking.user_id == world.ids["assessor"]))
    r = post_form(
        client,
        f"/sessions/bookings/{booking.id}/respond",
        {f"b{booking.id}-action": "move", f"b{booking.id}-note": ""},
        token_page="/sessions",
    )
    assert r.status_code == 400 and "Say which times suit you" in r.get_data(as_text=True)
    r = post_form(
        client, f"/sessions/bookings/{booking.id}/respond",
        {f"b{booking.id}-action": "move", f"b{booking.id}-note": "Thursdays only"}, token_page="/sessions",
    )  # fmt: skip
    assert r.status_code == 302
    db.rollback()
    assert db.get(SessionBooking, booking.id).status.value == "move_requested"
    # Another assessor cannot answer it.
    other = app.test_client()
    post_form(other, "/login", {"email": world.emails["assessor2"], "password": "pw-for-tests"})
    r = post_form(
        other,
        f"/sessions/bookings/{booking.id}/respond",
        {f"b{booking.id}-action": "accept"},
        token_page="/sessions",
    )
    assert r.status_code == 404


def test_trainer_moves_a_booking_and_the_calendar_follows(app, world, db, client, login, smtp_sink, runner):
    import icalendar

    from calibration.services import recalibration

    fresh_anchors(db, world)
    first = make_session(db, world, days=3, title="First")
    second = make_session(db, world, days=5, title="Second")
    started = recalibration.start(
        db, __import__("calibration.services.context", fromlist=["Actor"]).SystemActor(world.program_a),
        program_id=world.program_a, user_id=world.ids["assessor"], flags=[],
        settings={"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5},
    )  # fmt: skip
    db.commit()
    assert started.booking is not None and started.booking.session_id == first
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0  # sends the invitation
    login(world.emails["trainer"])
    page = client.get(f"/trainer/sessions/{first}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Attendance and results" in html and "Move Asha Assessor to" in html
    assert client.get("/trainer/sessions").status_code == 200
    r = post_form(
        client, f"/trainer/sessions/{first}/bookings/{started.booking.id}/move", {"move-target": str(second)},
        token_page=f"/trainer/sessions/{first}",
    )  # fmt: skip
    assert r.status_code == 302, r.get_data(as_text=True)
    methods = []
    for msg in smtp_sink.to(world.emails["assessor"]):
        [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        methods.append((str(cal["METHOD"]), str(cal.walk("VEVENT")[0]["SUMMARY"])))
    assert methods == [("REQUEST", "First"), ("CANCEL", "First"), ("REQUEST", "Second")]
    db.rollback()
    assert (
        db.scalar(
            select(func.count()).where(
                SessionBooking.user_id == world.ids["assessor"], SessionBooking.status == "booked"
            )
        )
        == 1
    )


def test_the_assessor_profile_lists_their_flags_with_links(app, world, db, client, login):
    flag = _lenient_assessor_flagged(db, world)
    assert flag is not None
    login(world.emails["trainer"])
    page = client.get(f"/trainer/assessors/{world.ids['assessor']}").get_data(as_text=True)
    assert f'href="/trainer/flags/{flag.id}"' in page and "No drift flags." not in page
    assert "open" in page
    other = client.get(f"/trainer/assessors/{world.ids['assessor2']}").get_data(as_text=True)
    assert f'href="/trainer/flags/{flag.id}"' not in other  # only the flags about this assessor

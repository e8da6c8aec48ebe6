"""The recalibration verdict: passing restores ``certified`` with a new expiry; failing twice or
missing the deadline suspends, pending the trainer. Scored through the web (the real submit path)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import (
    AuditEvent,
    CertificationStatus,
    Membership,
    Recalibration,
    RecalibrationOutcome,
)
from calibration.services import recalibration
from calibration.services.context import SystemActor

from ..factories_drift import fresh_anchors
from ..factories_onboarding import score_round

SETTINGS = {"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5}


def _start(db, world):  # type: ignore[no-untyped-def]
    started = recalibration.start(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor"],
        flags=[], settings=SETTINGS,
    )  # fmt: skip
    db.commit()
    assert started.recalibration is not None, started.problem
    return started.recalibration.round_id


def _status(db, world):  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor"]))


def test_passing_restores_certified_with_a_new_expiry(app, world, db, client, login):
    fresh_anchors(db, world, sets=2)
    round_id = _start(db, world)
    assert _status(db, world).certification_status == CertificationStatus.RECALIBRATION_DUE
    login(world.emails["assessor"])
    score_round(client, db, world, round_id, good=True)
    m = _status(db, world)
    assert m.certification_status == CertificationStatus.CERTIFIED
    assert m.certification_expires_at > utcnow() + dt.timedelta(days=360)
    rec = db.scalar(select(Recalibration).where(Recalibration.round_id == round_id))
    assert rec.outcome == RecalibrationOutcome.PASSED


def test_failing_twice_suspends_pending_the_trainer(app, world, db, client, login):
    fresh_anchors(db, world, sets=3)
    first = _start(db, world)
    login(world.emails["assessor"])
    score_round(client, db, world, first, good=False)
    db.rollback()
    recs = list(db.scalars(select(Recalibration).order_by(Recalibration.id)))
    assert [r.outcome for r in recs] == [RecalibrationOutcome.FAILED, RecalibrationOutcome.PENDING]
    assert recs[1].attempt == 2
    assert _status(db, world).certification_status == CertificationStatus.RECALIBRATION_DUE
    score_round(client, db, world, recs[1].round_id, good=False)
    assert _status(db, world).certification_status == CertificationStatus.SUSPENDED
    reasons = [
        e.detail_json
        for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "certification.status"))
    ]
    assert any("failed recalibration twice" in r for r in reasons)


def test_missing_the_deadline_suspends(app, world, db):
    fresh_anchors(db, world, sets=2)
    _start(db, world)
    missed = recalibration.expire_deadlines(db, now=utcnow() + dt.timedelta(days=15))
    db.commit()
    assert len(missed) == 1 and missed[0].outcome == RecalibrationOutcome.MISSED
    assert _status(db, world).certification_status == CertificationStatus.SUSPENDED
    assert recalibration.expire_deadlines(db, now=utcnow() + dt.timedelta(days=16)) == []


def test_no_round_without_unseen_anchors_says_why(app, world, db):
    started = recalibration.start(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor"],
        flags=[], settings=SETTINGS,
    )  # fmt: skip
    # No round yet: the recalibration waits for anchors, saying what is missing (not a dead end).
    assert started.recalibration is None and started.waiting is not None
    assert "waiting for anchors" in (started.problem or "") and "5 more anchors" in (started.problem or "")


def test_deadline_reminder_is_sent_once(app, world, db, runner, smtp_sink):
    fresh_anchors(db, world, sets=2)
    round_id = _start(db, world)
    rec = db.scalar(select(Recalibration).where(Recalibration.round_id == round_id))
    rec.deadline = utcnow() + dt.timedelta(days=2)
    db.commit()
    for _ in range(2):
        result = runner.invoke(args=["evaluate-drift"])
        assert result.exit_code == 0, result.output
    [msg] = smtp_sink.to(world.emails["assessor"])
    assert "closes soon" in msg["Subject"]


def test_deadline_reminder_names_the_deadline_in_the_readers_zone(app, world, db, runner, smtp_sink):
    from calibration.models import Program, User

    from ..mailsink import text_of

    fresh_anchors(db, world, sets=2)
    round_id = _start(db, world)
    rec = db.scalar(select(Recalibration).where(Recalibration.round_id == round_id))
    deadline = (utcnow() + dt.timedelta(days=2)).replace(hour=22, minute=5, second=0, microsecond=0)
    rec.deadline = deadline
    db.get(Program, world.program_a).timezone = "America/New_York"
    db.get(User, world.ids["assessor"]).timezone = "Asia/Tokyo"
    db.commit()
    assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    [msg] = smtp_sink.to(world.emails["assessor"])
    local = deadline.astimezone(ZoneInfo("Asia/Tokyo"))
    body = text_of(msg)
    assert f"closes on {local:%-d %B %Y} at 07:05 JST" in body
    assert "UTC" not in body and "22:05" not in body

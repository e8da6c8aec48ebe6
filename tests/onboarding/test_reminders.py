"""``send-reminders``: expiry reminders 30 days ahead and "recalibration due" at expiry, each sent
once, however often (or however concurrently) the command runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import CertificationStatus, Membership, SentNotice
from calibration.services import notices
from calibration.services.certification import Policy

from .conftest import html_of, text_of


def expires_in(db: Any, user_id: int, days: float) -> None:
    m = db.scalar(select(Membership).where(Membership.user_id == user_id))
    m.certified_at = utcnow() - dt.timedelta(days=365 - days)
    m.certification_expires_at = utcnow() + dt.timedelta(days=days)
    db.commit()


def test_each_reminder_is_sent_once(app, world, db, runner, smtp_sink):
    expires_in(db, world.ids["assessor"], 10)  # reminder due
    expires_in(db, world.ids["assessor2"], -1)  # expired: recalibration due
    expires_in(db, world.ids["assessor_b"], 60)  # not yet

    first = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0, first.output
    assert "1 certification(s) now recalibration due; 2 notice(s) sent." in first.output
    second = runner.invoke(args=["send-reminders"])
    assert second.exit_code == 0, second.output
    assert "0 certification(s) now recalibration due; 0 notice(s) sent." in second.output

    assert sorted(m["To"] for m in smtp_sink.messages) == sorted(
        [world.emails["assessor"], world.emails["assessor2"]]
    )
    [reminder] = smtp_sink.to(world.emails["assessor"])
    assert "expires on" in reminder["Subject"]
    assert "/certification" in text_of(reminder) and "<a href=" in html_of(reminder)
    [due] = smtp_sink.to(world.emails["assessor2"])
    assert "recalibration is due" in due["Subject"]
    db.rollback()
    status = db.scalar(
        select(Membership.certification_status).where(Membership.user_id == world.ids["assessor2"])
    )
    assert status == CertificationStatus.RECALIBRATION_DUE
    assert db.scalar(select(func.count()).where(SentNotice.sent_at.is_not(None))) == 2


def test_a_renewed_certification_gets_its_own_reminder(app, world, db, runner, smtp_sink):
    expires_in(db, world.ids["assessor"], 10)
    runner.invoke(args=["send-reminders"])
    expires_in(db, world.ids["assessor"], 20)  # renewed: a new expiry date
    runner.invoke(args=["send-reminders"])
    assert len(smtp_sink.to(world.emails["assessor"])) == 2


def test_a_concurrent_run_cannot_claim_a_notice_twice(app, world, db):
    """Two runs that both listed the notice as due: the second claim loses, nothing is duplicated."""
    expires_in(db, world.ids["assessor"], 10)
    [notice] = notices.due_notices(db, defaults=Policy())
    db.rollback()
    from calibration.db import get_db

    with get_db(app).sessionmaker() as other:
        assert notices.claim(other, notice)
        other.commit()
    assert not notices.claim(db, notice)
    db.commit()
    assert db.scalar(select(func.count()).select_from(SentNotice)) == 1


def test_a_failed_send_is_retried_by_the_next_run(app, world, db, runner, smtp_sink):
    expires_in(db, world.ids["assessor"], 10)
    good_port = smtp_sink.port
    app.extensions["calibration.mailer"] = type(app.extensions["calibration.mailer"])(
        host="127.0.0.1", port=1, sender="x@example.test", security="none", timeout=2
    )
    failed = runner.invoke(args=["send-reminders"])
    assert failed.exit_code != 0 and "could not be sent" in failed.output
    db.rollback()
    assert db.scalar(select(func.count()).select_from(SentNotice)) == 0
    app.extensions["calibration.mailer"] = type(app.extensions["calibration.mailer"])(
        host="127.0.0.1", port=good_port, sender="x@example.test", security="none"
    )
    assert runner.invoke(args=["send-reminders"]).exit_code == 0
    assert len(smtp_sink.to(world.emails["assessor"])) == 1

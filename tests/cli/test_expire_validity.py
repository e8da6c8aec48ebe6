"""``expire-validity`` marks unanswered validity items past their expiry, reports them, and is safe
to run again (cron)."""

from __future__ import annotations

import datetime as dt

from calibration.db import utcnow
from calibration.models import ValidityAssignment, ValidityStatus
from calibration.services import validity

from ..factories_validity import fresh_anchors, set_validity_rules


def test_expire_validity_marks_reports_and_runs_twice_safely(runner, db, world):
    fresh_anchors(db, world, 2)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0, expiry_days=14)
    old = validity.assign(
        db, world.program_a, assessor=world.emails["assessor"], external_ref="old",
        now=utcnow() - dt.timedelta(days=20),
    )  # fmt: skip
    validity.assign(db, world.program_a, assessor=world.emails["assessor"], external_ref="new")
    db.commit()
    first = runner.invoke(args=["expire-validity"])
    assert first.exit_code == 0, first.output
    assert f"alpha: 1 validity item(s) expired now: {old.assignment.id}" in first.output
    assert "alpha: 1 waiting for an answer, 0 answered, 1 expired" in first.output
    db.expire_all()
    assert db.get(ValidityAssignment, old.assignment.id).status == ValidityStatus.EXPIRED
    second = runner.invoke(args=["expire-validity"])
    assert second.exit_code == 0 and "No validity item expired now." in second.output
    assert "1 expired" in second.output  # still reported, never dropped

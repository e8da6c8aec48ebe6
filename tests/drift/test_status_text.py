"""Status text from the actual reason (issue 12, item 3): a drift flag made the assessor
``recalibration_due`` (with a link to it), or their certification expired (its real, past date), or
they failed a recalibration attempt; the assessor's page speaks to the assessor, the trainer's page
about the assessor, never "your"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import CertificationStatus, DriftFlag, FlagRule, Membership
from calibration.services import certification, recalibration
from calibration.services.context import Member

from ..factories_drift import fresh_anchors

SETTINGS = {"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5}


def _section(html: str, heading_id: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert match, heading_id
    return re.sub(r"<[^>]+>", " ", match.group(0))


def _certify(db: Any, world: Any, expires_in_days: int) -> None:
    m = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor"]))
    m.certified_at = utcnow() - dt.timedelta(days=200)
    m.certification_expires_at = utcnow() + dt.timedelta(days=expires_in_days)
    db.commit()


def _drift_flag_confirmed(db: Any, world: Any) -> DriftFlag:
    flag = DriftFlag(
        program_id=world.program_a, user_id=world.ids["assessor"], round_id=world.round_id,
        rule=FlagRule.EWMA, direction="lenient", statistic="EWMA", value=0.15, threshold=0.08,
        summary="Lenient overall: the EWMA reached +0.15 levels", evidence_hash="status-text-1",
        assessor_text="Your recent scores have been higher than the key.",
    )  # fmt: skip
    db.add(flag)
    db.commit()
    recalibration.confirm_flag(
        db, Member(world.ids["trainer"], world.program_a), program_id=world.program_a, flag_id=flag.id
    )
    db.commit()
    return flag


def test_a_drift_flag_never_reads_as_expired(app, world, db, client, login):
    _certify(db, world, expires_in_days=165)
    fresh_anchors(db, world)
    flag = _drift_flag_confirmed(db, world)
    login(world.emails["assessor"])
    mine = client.get("/certification").get_data(as_text=True)
    step = _section(mine, "next-heading")
    assert "expired" not in step.lower()
    assert "drift" in step.lower() or "calibration checks" in step.lower()
    assert "Recalibration: Asha Assessor" in step  # the round to do now
    assert 'href="/sessions"' in mine  # what the checks found, in plain language
    login(world.emails["trainer"])
    page = client.get(f"/trainer/people/{world.ids['assessor']}").get_data(as_text=True)
    theirs = _section(page, "next-heading")
    assert "expired" not in theirs.lower()
    assert not re.search(r"\byour?\b", theirs, re.I), theirs
    assert f"flag #{flag.id}" in theirs and f'href="/trainer/flags/{flag.id}"' in page
    assert "Asha Assessor" in theirs


def test_an_expiry_gives_its_real_past_date(app, world, db, client, login):
    _certify(db, world, expires_in_days=-3)
    fresh_anchors(db, world)
    expired = certification.expire_due(db)
    db.commit()
    assert [e.user_id for e in expired] == [world.ids["assessor"]]
    day = f"{utcnow() - dt.timedelta(days=3):%-d %B %Y}"
    login(world.emails["assessor"])
    step = _section(client.get("/certification").get_data(as_text=True), "next-heading")
    assert f"Your certification expired on {day}" in step
    login(world.emails["trainer"])
    theirs = _section(
        client.get(f"/trainer/people/{world.ids['assessor']}").get_data(as_text=True), "next-heading"
    )
    assert f"expired on {day}" in theirs and not re.search(r"\byour?\b", theirs, re.I), theirs


def test_a_failed_attempt_says_so(app, world, db, client, login):
    from ..factories_onboarding import score_round

    _certify(db, world, expires_in_days=165)
    fresh_anchors(db, world, sets=3)
    _drift_flag_confirmed(db, world)
    first = recalibration.pending(db, world.ids["assessor"])
    assert first is not None
    login(world.emails["assessor"])
    score_round(client, db, world, first.round_id, good=False)
    step = _section(client.get("/certification").get_data(as_text=True), "next-heading")
    assert "did not pass recalibration attempt 1" in step and "expired" not in step.lower()
    login(world.emails["trainer"])
    theirs = _section(
        client.get(f"/trainer/people/{world.ids['assessor']}").get_data(as_text=True), "next-heading"
    )
    assert "did not pass recalibration attempt 1" in theirs
    assert not re.search(r"\byour?\b", theirs, re.I), theirs


def test_the_trainer_page_speaks_about_a_certified_assessor(app, world, db, client, login):
    _certify(db, world, expires_in_days=100)
    login(world.emails["trainer"])
    theirs = _section(
        client.get(f"/trainer/people/{world.ids['assessor']}").get_data(as_text=True), "next-heading"
    )
    assert "Asha Assessor is certified until" in theirs
    assert not re.search(r"\byour?\b", theirs, re.I), theirs
    status = db.scalar(
        select(Membership.certification_status).where(Membership.user_id == world.ids["assessor"])
    )
    assert status == CertificationStatus.CERTIFIED

"""The demo's flags confirm end to end (issue 12, item 2): confirming each one leaves every assessor
concerned with a recalibration round or a recorded wait for anchors, and anchors activated later
start the waits by themselves. Through the services the flag and anchor pages call."""

from __future__ import annotations

from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    AuditEvent,
    CertificationStatus,
    DriftFlag,
    FlagRule,
    Membership,
    Program,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationWait,
    Role,
    User,
    WaitStatus,
)
from calibration.services import anchors as anchor_service
from calibration.services import recalibration
from calibration.services.context import Member
from calibration.services.demo import DEMO_SLUG, seed_demo
from calibration.services.scoring import rubric_with_levels

from ..conftest import ROOT


def test_every_demo_flag_confirms_into_a_round_or_a_wait_that_starts_later(db):
    assert seed_demo(db, ROOT / "rubrics").created
    db.commit()
    program_id = db.scalar(select(Program.id).where(Program.slug == DEMO_SLUG))
    trainer = Member(
        db.scalar(select(User.id).where(User.email == "trainer@demo.test")), program_id, Role.LEAD_TRAINER
    )
    findings = list(db.scalars(select(DriftFlag).order_by(DriftFlag.id)))
    assert len(findings) >= 3
    # Issue 15: the demo shows a lean (Helen, consistently severe), which is feedback: confirming it
    # (the trainer discussed it) starts nothing. Every other flag starts recalibration.
    leans = [f for f in findings if f.rule == FlagRule.LEAN]
    assert leans and all(f.direction == "severe" for f in leans)
    for flag in leans:
        assert recalibration.confirm_flag(db, trainer, program_id=program_id, flag_id=flag.id) == []
        db.commit()
    flags = [f for f in findings if f.rule != FlagRule.LEAN]
    assert len(flags) >= 2
    for flag in flags:
        recalibration.confirm_flag(db, trainer, program_id=program_id, flag_id=flag.id)
        db.commit()

    due = set(
        db.scalars(
            select(Membership.user_id).where(
                Membership.certification_status == CertificationStatus.RECALIBRATION_DUE
            )
        )
    )
    pending = set(
        db.scalars(select(Recalibration.user_id).where(Recalibration.outcome == RecalibrationOutcome.PENDING))
    )
    waits = list(db.scalars(select(RecalibrationWait).where(RecalibrationWait.status == WaitStatus.WAITING)))
    waiting = {w.user_id for w in waits}
    assert {f.user_id for f in flags if f.user_id} <= due
    assert due == pending | waiting and not pending & waiting  # nobody stranded, nobody twice
    assert waiting and pending  # the demo has both: assessors who saw every anchor of their rubric, and not
    n_confirmed = db.scalar(select(func.count()).where(AuditEvent.action == "drift.confirm"))
    assert n_confirmed == len(findings)
    assert not {f.user_id for f in leans} & due

    # The trainer writes calibration anchors for the waiting rubric and activates them.
    [rubric_id] = {w.rubric_version_id for w in waits}
    rubric = rubric_with_levels(db, rubric_id)
    q = len(rubric.level_values)
    for i in range(q + 1):
        anchor = Anchor(
            program_id=program_id, rubric_version_id=rubric_id, title=f"Reserve {i + 1}", evidence_md="Evidence.",
            purpose=AnchorPurpose.CALIBRATION, status=AnchorStatus.DRAFT,
        )  # fmt: skip
        db.add(anchor)
        db.flush()
        key = AnchorKeyVersion(anchor_id=anchor.id, version=1, reason="Initial key")
        levels = {lv.value: lv.id for lv in rubric.levels}
        key.entries = [
            AnchorKeyEntry(
                criterion_id=c.id,
                level_id=levels[rubric.level_values[(i + j) % q]],
                level_value=rubric.level_values[(i + j) % q],
                rationale="Why.",
            )
            for j, c in enumerate(rubric.criteria)
        ]
        db.add(key)
        db.flush()
        anchor_service.update_anchor(
            db, trainer, program_id=program_id, anchor_id=anchor.id, title=anchor.title,
            purpose=anchor.purpose.value, status="active", evidence_md=anchor.evidence_md,
        )  # fmt: skip
        db.commit()
    assert db.scalar(select(func.count()).where(RecalibrationWait.status == WaitStatus.WAITING)) == 0
    started = set(
        db.scalars(select(Recalibration.user_id).where(Recalibration.outcome == RecalibrationOutcome.PENDING))
    )
    assert due <= started

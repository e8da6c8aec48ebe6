"""The demo program lets a newly invited assessor fail their first qualification attempt and still get
a second one of anchors they have not seen, covering every level of every criterion, before the
trainer decides (calibration/demo/training_anchors.yaml holds enough qualification anchors for it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from calibration.models import (
    Anchor,
    AnchorPurpose,
    AuditEvent,
    CertificationStatus,
    Membership,
    Program,
    QualificationOutcome,
    QualificationResult,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    User,
)
from calibration.services import certification, completion, onboarding
from calibration.services.context import Actor, Member
from calibration.services.demo import DEMO_SLUG, seed_demo
from calibration.services.rounds import current_keys
from calibration.services.scoring import rubric_with_levels, submit_sheet

from ..conftest import ROOT
from ..factories_onboarding import anchors_of, rounds_of

NEW = "robin.rivera@demo.test"
POLICY = certification.Policy()


def _fail(db: Any, actor: Actor, rnd: Round) -> QualificationResult | None:
    """Score every anchor of the round as far from its key as the rubric allows, through the services
    the scoring page uses (the sheet, then what a final sheet sets in motion)."""
    levels = rubric_with_levels(db, rnd.rubric_version_id).level_values
    ids = anchors_of(db, rnd.id)
    keys = current_keys(db, ids)
    done = None
    for anchor_id in ids:
        key = keys[anchor_id][1]
        far = {c: max(levels, key=lambda v, k=k: abs(v - k)) for c, k in key.items()}
        submit_sheet(db, actor, round_id=rnd.id, anchor_id=anchor_id, levels=far, notes="")
        done = completion.after_final_sheet(db, actor, round_id=rnd.id, defaults=POLICY)
        db.commit()
    assert done is not None and done.finished_round
    return done.qualification


def _covered(db: Any, anchor_ids: list[int]) -> set[tuple[int, int]]:
    return {pair for _, key in current_keys(db, anchor_ids).values() for pair in key.items()}


def test_demo_gives_a_second_attempt_of_unseen_anchors(db):
    assert seed_demo(db, ROOT / "rubrics").created
    db.commit()
    program_id = db.scalar(select(Program.id).where(Program.slug == DEMO_SLUG))
    trainer_id = db.scalar(select(User.id).where(User.email == "trainer@demo.test"))
    trainer = Member(trainer_id, program_id, Role.LEAD_TRAINER)

    # The lead trainer invites a new assessor, who accepts: practice and a first qualification attempt.
    [invited] = onboarding.invite(
        db, trainer, program_id=program_id, emails=f"Robin Rivera <{NEW}>", lifetime=dt.timedelta(days=7)
    )
    db.commit()
    accepted = onboarding.accept_invitation(
        db, invited.token, name="Robin Rivera", password="a long enough passphrase"
    )
    db.commit()
    assert accepted.qualification_problem is None and accepted.practice_round_id is not None
    uid = accepted.user.id
    me = Member(uid, program_id, Role.ASSESSOR)
    [first] = rounds_of(db, uid, RoundKind.QUALIFICATION)
    rubric = rubric_with_levels(db, first.rubric_version_id)
    assert rubric.slug == "implementing-equitable-practices"
    every = {(c.id, v) for c in rubric.criteria for v in rubric.level_values}
    first_anchors = anchors_of(db, first.id)
    assert len(first_anchors) >= 5 and _covered(db, first_anchors) == every

    # The first attempt fails: a second one is assigned at once, not left to the trainer.
    result = _fail(db, me, first)
    assert result is not None and result.outcome == QualificationOutcome.FAIL and result.attempt == 1
    unavailable = select(AuditEvent).where(
        AuditEvent.action == "qualification.assign", AuditEvent.outcome == "unavailable"
    )
    assert db.scalars(unavailable).first() is None
    first_again, second = rounds_of(db, uid, RoundKind.QUALIFICATION)
    assert first_again.id == first.id
    assert second.status == RoundStatus.OPEN and second.rubric_version_id == first.rubric_version_id

    # At least 5 anchors, none seen in the first attempt (nor in practice), covering every level.
    second_anchors = anchors_of(db, second.id)
    assert len(second_anchors) >= 5
    assert not set(second_anchors) & set(first_anchors)
    assert not set(second_anchors) & set(anchors_of(db, accepted.practice_round_id))
    purposes = set(db.scalars(select(Anchor.purpose).where(Anchor.id.in_(second_anchors))))
    assert purposes == {AnchorPurpose.QUALIFICATION}
    assert _covered(db, second_anchors) == every
    view = certification.certification_view(db, program_id=program_id, user_id=uid)
    assert not view.awaiting_trainer

    # Failing the second attempt too is what sends the person to the trainer, with no third round.
    result = _fail(db, me, second)
    assert result is not None and result.outcome == QualificationOutcome.FAIL and result.attempt == 2
    assert len(rounds_of(db, uid, RoundKind.QUALIFICATION)) == 2
    status = db.scalar(select(Membership.certification_status).where(Membership.user_id == uid))
    assert status == CertificationStatus.IN_TRAINING
    assert certification.certification_view(db, program_id=program_id, user_id=uid).awaiting_trainer

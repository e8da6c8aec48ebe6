"""The certification rules through the services: minimum evidence gives "too few to judge" (neither
pass nor fail), the trainer's extend and end, suspend and reinstate with reasons, expiry, and the
lifecycle refusing transitions it does not have."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import (
    AuditEvent,
    CertificationStatus,
    Membership,
    Program,
    QualificationOutcome,
    Role,
    RoundKind,
    RubricVersion,
    User,
)
from calibration.services import certification, training
from calibration.services.context import Member, SystemActor
from calibration.services.errors import InvalidInput
from calibration.services.rounds import current_keys
from calibration.services.scoring import submit_sheet

from ..factories import make_round, make_user
from ..factories_onboarding import FAR, anchors_of, qualification_pool, rounds_of
from ..factories_rounds import trainer

POLICY = certification.Policy()


def newcomer(db: Any, world: Any, email: str = "learner@a.test") -> int:
    program = db.get(Program, world.program_a)
    user = make_user(db, program, email, Role.ASSESSOR, "Lee Learner")
    m = db.scalar(select(Membership).where(Membership.user_id == user.id))
    m.certification_status = CertificationStatus.IN_TRAINING
    db.commit()
    return user.id


def score(db: Any, world: Any, uid: int, round_id: int, *, good: bool) -> Any:
    result = None
    ids = anchors_of(db, round_id)
    keys = current_keys(db, ids)
    for anchor_id in ids:
        key = keys[anchor_id][1]
        submit_sheet(
            db,
            Member(uid, world.program_a, Role.ASSESSOR),
            round_id=round_id,
            anchor_id=anchor_id,
            levels={c: key[c] if good else FAR[key[c]] for c in world.criteria},
            notes="",
        )
        result = certification.after_sheet(
            db, program_id=world.program_a, user_id=uid, round_id=round_id, policy=POLICY
        )
    db.commit()
    return result


def status(db: Any, uid: int) -> CertificationStatus:
    db.rollback()
    return db.scalar(select(Membership.certification_status).where(Membership.user_id == uid))


@pytest.mark.parametrize("good", [True, False], ids=["all-exact", "all-far"])
def test_minimum_evidence_gives_too_few_to_judge(app, world, db, good):
    """Three anchors (15 criterion-scores) are below the minimum of 5 anchors and 20 scores: neither
    a pass nor a fail, whatever the scores, and no attempt is used up."""
    uid = newcomer(db, world)
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    ids = qualification_pool(db, world, sets=1)[:3]
    from calibration.models import Anchor

    rnd = make_round(
        db,
        program,
        rubric,
        [db.get(Anchor, a) for a in ids],
        [db.get(User, uid)],
        kind=RoundKind.QUALIFICATION,
    )
    db.commit()
    result = score(db, world, uid, rnd.id, good=good)
    assert result.outcome == QualificationOutcome.TOO_FEW
    assert result.message.startswith(
        "Too few to judge: 3 anchors (5 needed) and 15 criterion-scores (20 needed)"
    )
    assert status(db, uid) == CertificationStatus.IN_TRAINING
    assert len(rounds_of(db, uid, RoundKind.QUALIFICATION)) == 1  # no automatic second attempt
    view = certification.certification_view(db, program_id=world.program_a, user_id=uid)
    assert view.awaiting_trainer and view.results[0].outcome_text == "Too few to judge"
    assert "neither a pass nor a fail" in view.next_step


def test_extend_gives_another_attempt_and_end_suspends(app, world, db):
    qualification_pool(db, world, sets=4)
    uid = newcomer(db, world)
    first = training.assign_qualification_round(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=uid, window=POLICY.window
    )
    db.commit()
    assert score(db, world, uid, first.id, good=False).outcome == QualificationOutcome.FAIL
    second = rounds_of(db, uid, RoundKind.QUALIFICATION)[-1]
    assert score(db, world, uid, second.id, good=False).attempt == 2
    with pytest.raises(InvalidInput):  # a reason is required
        certification.decide(
            db,
            trainer(world),
            program_id=world.program_a,
            user_id=uid,
            decision="extend",
            reason=" ",
            policy=POLICY,
        )
    db.rollback()
    certification.decide(
        db,
        trainer(world),
        program_id=world.program_a,
        user_id=uid,
        decision="extend",
        reason="One more try",
        policy=POLICY,
    )
    db.commit()
    attempts = rounds_of(db, uid, RoundKind.QUALIFICATION)
    assert len(attempts) == 3
    seen = [set(anchors_of(db, r.id)) for r in attempts]
    assert not (seen[2] & (seen[0] | seen[1]))  # never an anchor already seen
    with pytest.raises(InvalidInput, match="no qualification decision waiting"):
        certification.decide(
            db,
            trainer(world),
            program_id=world.program_a,
            user_id=uid,
            decision="end",
            reason="x",
            policy=POLICY,
        )
    db.rollback()
    score(db, world, uid, attempts[2].id, good=False)
    certification.decide(
        db,
        trainer(world),
        program_id=world.program_a,
        user_id=uid,
        decision="end",
        reason="Not ready",
        policy=POLICY,
    )
    db.commit()
    assert status(db, uid) == CertificationStatus.SUSPENDED
    view = certification.certification_view(db, program_id=world.program_a, user_id=uid)
    assert "Not ready" in view.next_step


def test_suspend_and_reinstate_need_a_reason_and_are_audited(app, world, db):
    uid = world.ids["assessor"]
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    m.certified_at = utcnow()
    m.certification_expires_at = utcnow() + dt.timedelta(days=100)
    db.commit()
    with pytest.raises(InvalidInput):
        certification.suspend(db, trainer(world), program_id=world.program_a, user_id=uid, reason="")
    db.rollback()
    certification.suspend(
        db, trainer(world), program_id=world.program_a, user_id=uid, reason="Conflict of interest"
    )
    db.commit()
    assert status(db, uid) == CertificationStatus.SUSPENDED
    certification.reinstate(db, trainer(world), program_id=world.program_a, user_id=uid, reason="Resolved")
    db.commit()
    assert status(db, uid) == CertificationStatus.CERTIFIED
    details = [
        json.loads(d)
        for d in db.scalars(
            select(AuditEvent.detail_json)
            .where(AuditEvent.action == "certification.status")
            .order_by(AuditEvent.id)
        )
    ]
    assert [(d["from"], d["to"], d["reason"]) for d in details] == [
        ("certified", "suspended", "Conflict of interest"),
        ("suspended", "certified", "Resolved"),
    ]
    # Another program's trainer cannot reach this assessor; an assessor cannot suspend anyone.
    from calibration.services.errors import NotFound

    with pytest.raises(NotFound):
        certification.suspend(
            db,
            Member(world.ids["trainer_b"], world.program_b, Role.LEAD_TRAINER),
            program_id=world.program_b,
            user_id=uid,
            reason="x",
        )
    with pytest.raises(NotFound):
        certification.suspend(
            db,
            Member(uid, world.program_a, Role.ASSESSOR),
            program_id=world.program_a,
            user_id=uid,
            reason="x",
        )


def test_lifecycle_refuses_transitions_it_does_not_have(app, world, db):
    uid = newcomer(db, world)
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    with pytest.raises(InvalidInput, match="from in training to recalibration due"):
        certification.set_status(db, trainer(world), m, CertificationStatus.RECALIBRATION_DUE, reason="x")


def test_expiry_makes_recalibration_due(app, world, db):
    uid = world.ids["assessor"]
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    m.certified_at = utcnow() - dt.timedelta(days=366)
    m.certification_expires_at = utcnow() - dt.timedelta(days=1)
    db.commit()
    expired = certification.expire_due(db)
    db.commit()
    assert [e.user_id for e in expired] == [uid]
    assert status(db, uid) == CertificationStatus.RECALIBRATION_DUE
    assert certification.expire_due(db) == []

"""The demo never serves an assessor, in a counted round, an anchor whose key they read in another
round (its spring round used to repeat all 35 anchor-by-assessor pairs of the autumn round)."""

from __future__ import annotations

from sqlalchemy import select

from calibration.models import (
    Assignment,
    Program,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    User,
)
from calibration.services.demo import DEMO_SLUG, seed_demo

from ..conftest import ROOT

COUNTED = (RoundKind.CALIBRATION, RoundKind.QUALIFICATION, RoundKind.RECALIBRATION)


def test_demo_rounds_serve_no_anchor_whose_key_the_assessor_has_read(db):
    assert seed_demo(db, ROOT / "rubrics").created
    db.commit()
    program_id = db.scalar(select(Program.id).where(Program.slug == DEMO_SLUG))
    served = db.execute(
        select(Round.id, Round.name, Assignment.user_id, RoundAnchor.anchor_id)
        .join(Assignment, Assignment.round_id == Round.id)
        .join(RoundAnchor, RoundAnchor.round_id == Round.id)
        .where(Round.program_id == program_id, Round.kind.in_(COUNTED))
    ).all()
    sheets = db.execute(select(ScoreSheet.round_id, ScoreSheet.assessor_id, ScoreSheet.anchor_id)).all()
    read_elsewhere = [
        (name, user_id, anchor_id)
        for round_id, name, user_id, anchor_id in served
        if any(r != round_id and u == user_id and a == anchor_id for r, u, a in sheets)
    ]
    assert served and read_elsewhere == []

    # Maya, the login the README suggests, still has an open round with anchors left to score.
    maya = db.scalar(select(User.id).where(User.email == "maya@demo.test"))
    open_rounds = db.scalars(
        select(Round.id)
        .join(Assignment, Assignment.round_id == Round.id)
        .where(Assignment.user_id == maya, Round.status == RoundStatus.OPEN)
    ).all()
    to_score = db.scalars(
        select(RoundAnchor.anchor_id).where(
            RoundAnchor.round_id.in_(open_rounds),
            RoundAnchor.anchor_id.not_in(select(ScoreSheet.anchor_id).where(ScoreSheet.assessor_id == maya)),
        )
    ).all()
    assert len(to_score) >= 5

"""Key exposure: an assessor who has read an anchor's key (a final sheet on it, in any round of any
kind) is never served that anchor again in a counted round (calibration, qualification,
recalibration). Automatic selection leaves such anchors out, a hand pick, a change of assessors or
opening the round is refused naming the assessors and the anchors, and trainers see how exposed
each anchor is and how many fresh anchors each criterion and level has left."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from calibration.models import (
    Anchor,
    AnchorPurpose,
    CertificationStatus,
    Membership,
    Program,
    Role,
    RoundKind,
    RubricVersion,
    User,
)
from calibration.services import exposure
from calibration.services import rounds as service
from calibration.services.anchors import program_anchors
from calibration.services.context import Member
from calibration.services.scoring import submit_sheet

from ..factories import make_round, make_user, submit
from ..factories_rounds import covering_set, keyed_anchor, trainer
from .test_rounds import create, refused

COUNTED = ["calibration", "qualification", "recalibration"]


def _score_in_practice(db: Any, world: Any, who: str, anchor: Anchor) -> None:
    """A final sheet on ``anchor`` in a practice round of its own (feedback follows at once)."""
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    user = db.get(User, world.ids[who])
    rnd = make_round(db, program, rubric, [anchor], [user], name="Practice", kind=RoundKind.PRACTICE)
    db.commit()
    key = dict(zip(world.criteria, [world.levels[0]] * len(world.criteria), strict=True))
    submit_sheet(
        db, Member(user.id, world.program_a), round_id=rnd.id, anchor_id=anchor.id, levels=key, notes=""
    )
    db.commit()


def test_seen_keys_are_final_sheets_in_any_round_of_the_program(db, world):
    practice = keyed_anchor(db, world, "Practice anchor", [1, 2, 3, 4, 1], purpose=AnchorPurpose.PRACTICE)
    _score_in_practice(db, world, "assessor2", practice)
    submit(db, world, "assessor", 0)
    # Program B's assessor scores there: nothing of it counts in program A.
    beta = make_round(
        db,
        db.get(Program, world.program_b),
        db.get(RubricVersion, db.get(Anchor, world.anchor_b).rubric_version_id),
        [db.get(Anchor, world.anchor_b)],
        [db.get(User, world.ids["assessor_b"])],
    )
    db.commit()
    ids = [world.ids["assessor"], world.ids["assessor2"], world.ids["assessor_b"]]
    seen = exposure.seen_keys(db, world.program_a, ids)
    # Being assigned to the open round with every anchor is not reading a key: only the sheets count.
    assert seen == {
        world.ids["assessor"]: {world.anchors[0]},
        world.ids["assessor2"]: {practice.id},
        world.ids["assessor_b"]: set(),
    }
    assert beta.id  # the other program's round exists and changes nothing above


@pytest.mark.parametrize("kind", COUNTED)
def test_a_hand_pick_of_an_anchor_whose_key_was_read_is_refused_with_the_names(db, world, kind):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0)
    rnd = create(db, world, kind=kind)
    db.commit()
    refused(
        db,
        lambda: service.set_anchors(
            db,
            trainer(world),
            program_id=world.program_a,
            round_id=rnd.id,
            anchor_ids=[world.anchors[1], world.anchors[0]] if kind == "calibration" else [world.anchors[0]],
        ),
        message=f"“Anchor 1” has already been seen by Asha Assessor and Ben Second: a {kind} round",
    )


def test_practice_rounds_may_serve_an_anchor_again(db, world):
    submit(db, world, "assessor", 0)
    rnd = create(db, world, kind="practice")
    chosen = service.set_anchors(
        db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=[world.anchors[0]]
    )
    assert chosen == [world.anchors[0]]


def test_adding_an_assessor_who_has_read_a_key_is_refused(db, world):
    submit(db, world, "assessor2", 1)
    rnd = create(db, world, assessor_ids=[world.ids["assessor"]])
    me = trainer(world)
    service.set_anchors(db, me, program_id=world.program_a, round_id=rnd.id, anchor_ids=world.anchors)
    db.commit()
    refused(
        db,
        lambda: service.set_assessors(
            db,
            me,
            program_id=world.program_a,
            round_id=rnd.id,
            user_ids=[world.ids["assessor"], world.ids["assessor2"]],
        ),
        message="“Anchor 2” has already been seen by Ben Second",
    )


def test_opening_is_refused_when_a_key_was_read_after_the_anchors_were_chosen(db, world):
    rnd = create(db, world)
    me = trainer(world)
    service.set_anchors(db, me, program_id=world.program_a, round_id=rnd.id, anchor_ids=world.anchors)
    db.commit()
    assert service.open_problems(db, rnd) == []
    submit(db, world, "assessor", 2)  # in the world's open round, after the draft was prepared
    assert any(
        "“Anchor 3” has already been seen by Asha Assessor" in p for p in service.open_problems(db, rnd)
    )
    refused(
        db,
        lambda: service.open_round(db, me, program_id=world.program_a, round_id=rnd.id),
        message="“Anchor 3” has already been seen by Asha Assessor",
    )


def test_automatic_selection_of_a_calibration_round_leaves_out_read_keys(db, world):
    fresh = covering_set(db, world, "Fresh")
    for index in range(len(world.anchors)):
        submit(db, world, "assessor", index)
    rnd = create(db, world)
    db.commit()
    # Asking for every candidate shows what is left out: the five anchors Asha has scored.
    chosen = service.auto_select_anchors(
        db, trainer(world), program_id=world.program_a, round_id=rnd.id, target=len(fresh) + 5
    )
    assert sorted(chosen) == sorted(fresh)


def test_exposure_counts_certified_assessors_who_have_read_each_key(db, world):
    program = db.get(Program, world.program_a)
    make_user(db, program, "cara@a.test", Role.ASSESSOR, "Cara Third")  # certified, has read nothing
    db.commit()
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0)
    submit(db, world, "assessor", 1)
    counts = exposure.anchor_exposure(db, world.program_a)
    assert counts.pool == 3
    assert [counts.seen_by(a) for a in world.anchors] == [2, 1, 0, 0, 0]
    items = {item.anchor.id: item for item in program_anchors(db, world.program_a)}
    assert (items[world.anchors[0]].n_seen, items[world.anchors[0]].n_pool) == (2, 3)

    # A suspended assessor leaves the certified pool (one due for recalibration stays in it).
    _membership(db, world.ids["assessor2"]).certification_status = CertificationStatus.SUSPENDED
    _membership(db, world.ids["assessor"]).certification_status = CertificationStatus.RECALIBRATION_DUE
    db.commit()
    counts = exposure.anchor_exposure(db, world.program_a)
    assert counts.pool == 2
    assert [counts.seen_by(a) for a in world.anchors] == [1, 1, 0, 0, 0]


def _membership(db: Any, user_id: int) -> Membership:
    found = db.scalar(select(Membership).where(Membership.user_id == user_id))
    assert found is not None
    return found


def test_the_round_page_counts_fresh_anchors_per_criterion_and_level(db, world):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 3)
    rnd = create(db, world)
    db.commit()
    m = service.round_management(db, program_id=world.program_a, round_id=rnd.id)
    unseen = [a for i, a in enumerate(world.anchors) if i not in (0, 3)]
    expected = Counter(
        (criterion, level)
        for anchor_id in unseen
        for criterion, level in zip(world.criteria, world.keys[anchor_id], strict=True)
    )
    assert m.fresh == {
        (criterion, level): expected[(criterion, level)]
        for criterion in world.criteria
        for level in world.levels
    }
    assert min(m.fresh.values()) == 0  # some levels have nothing fresh left: the page shows the zero


@pytest.mark.parametrize("kind", ["qualification", "recalibration"])
def test_fresh_counts_of_gate_rounds_leave_out_anchors_met_in_another_round(db, world, kind):
    purpose = AnchorPurpose.QUALIFICATION if kind == "qualification" else AnchorPurpose.CALIBRATION
    for anchor_id in world.anchors:
        db.get(Anchor, anchor_id).purpose = purpose
    covering_set(db, world, "Fresh", purpose=purpose)  # each level of each criterion exactly once
    rnd = create(db, world, kind=kind)
    db.commit()
    m = service.round_management(db, program_id=world.program_a, round_id=rnd.id)
    # Both assessors meet the world's anchors in its open round: only the covering set is fresh.
    assert m.fresh == {(criterion, level): 1 for criterion in world.criteria for level in world.levels}


def test_practice_rounds_show_no_fresh_counts(db, world):
    rnd = create(db, world, kind="practice")
    db.commit()
    assert service.round_management(db, program_id=world.program_a, round_id=rnd.id).fresh == {}

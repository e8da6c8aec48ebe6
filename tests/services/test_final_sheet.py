"""Submitting a final sheet is one use case: the sheet and what it sets in motion, in one
transaction (:func:`calibration.services.completion.submit_final_sheet`), and raising a challenge
records the event that mails the lead trainers once it is committed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import KeyChallenge, ScoreSheet
from calibration.services import assignments, certification, challenges, completion, events, rubric_cache
from calibration.services.context import Member
from calibration.services.errors import AlreadyRecorded, InvalidInput

from ..factories import submit

POLICY = certification.Policy()


def _submit(db: Any, world: Any, me: Member, anchor_index: int) -> completion.Completion:
    rnd = assignments.assigned_round(
        db, user_id=me.user_id, program_id=me.program_id, round_id=world.round_id
    )
    anchor = assignments.round_anchor(db, rnd, world.anchors[anchor_index])
    return completion.submit_final_sheet(
        db,
        me,
        rnd=rnd,
        anchor=anchor,
        rubric=rubric_cache.rubric_snapshot(db, rnd.rubric_version_id),
        levels=dict(zip(world.criteria, world.keys[anchor.id], strict=True)),
        notes="",
        notes_max_chars=5000,
        defaults=POLICY,
    )


def _sheets(db: Any, user_id: int) -> int:
    return db.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.assessor_id == user_id))


def test_the_last_sheet_of_a_round_finishes_it(db, world):
    me = Member(world.ids["assessor"], world.program_a)
    for i in range(len(world.anchors) - 1):
        assert _submit(db, world, me, i) == completion.Completion()  # mid-round: nothing more
        db.commit()
    done = _submit(db, world, me, len(world.anchors) - 1)
    db.commit()
    assert done.finished_round and done.qualification is None  # a calibration round: no verdict
    assert _sheets(db, me.user_id) == len(world.anchors)


def test_a_second_submit_is_already_recorded_and_writes_nothing(db, world):
    me = Member(world.ids["assessor"], world.program_a)
    _submit(db, world, me, 0)
    db.commit()
    with pytest.raises(AlreadyRecorded):
        _submit(db, world, me, 0)
    db.rollback()
    assert _sheets(db, me.user_id) == 1


def test_raising_a_challenge_records_the_event_for_the_mail(db, world):
    submit(db, world, "assessor", 0)
    me = Member(world.ids["assessor"], world.program_a)
    asked = challenges.raise_challenge(
        db,
        me,
        round_id=world.round_id,
        anchor_id=world.anchors[0],
        criterion_id=world.criteria[0],
        argument="The evidence shows the next level.",
    )
    assert events.pending(db) == [events.ChallengeRaised(asked.id)]


def test_a_refused_challenge_records_no_event(db, world):
    submit(db, world, "assessor", 0)
    me = Member(world.ids["assessor"], world.program_a)
    with pytest.raises(InvalidInput):
        challenges.raise_challenge(
            db,
            me,
            round_id=world.round_id,
            anchor_id=world.anchors[0],
            criterion_id=world.other_rubric_criterion,
            argument="The evidence shows the next level.",
        )
    assert events.pending(db) == []
    assert db.scalar(select(func.count()).select_from(KeyChallenge)) == 0

"""The validity stream of the drift rules: a lenient assessor's answers to validity items seeded
into live work raise a flag of that stream (once), an accurate assessor's do not, and the
calibration stream's flags are as before."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import DriftFlag, EvidenceStream, FlagRule, FlagStatus
from calibration.services import drift, validity
from calibration.services.drift_validity import STREAM_WORDS, period_size
from calibration.services.flags import flag_lines
from calibration.services.policy import DriftPolicy

from ..factories_validity import fresh_anchors, key_of, set_validity_rules


def answer_items(db, world, who, anchors, *, lenient: bool, start: dt.datetime):  # type: ignore[no-untyped-def]
    """Serve and answer one item per anchor for ``who``: the key's levels, or one level above the key
    on most criteria (an assessor who scores live work leniently)."""
    rng = random.Random(world.ids[who])
    for n in range(len(anchors)):
        at = start + dt.timedelta(hours=n)
        served = validity.assign(
            db, world.program_a, assessor=world.emails[who], external_ref=f"{who}-{n}", now=at, rng=rng
        )
        key = key_of(db, served.assignment.anchor_id)
        levels = dict(key)
        if lenient:
            for i, c in enumerate(sorted(key)):
                if (i + n) % 5:  # four criteria of five one level up
                    levels[c] = key[c] + 1
        validity.record_scores(db, world.program_a, served.assignment.id, levels=levels, scored_at=at, now=at)
        db.commit()


def test_a_lenient_assessors_validity_answers_raise_a_validity_flag_once(db, world):
    before = drift.evaluate_program(db, world.program_a)  # the calibration stream alone
    db.commit()
    calibration_flags = [(f.rule, f.user_id, f.evidence_hash) for f in before.flags]
    anchors = fresh_anchors(db, world, 10)
    set_validity_rules(
        db, world.program_a, max_per_week=100, live_items_between=0, max_assessors_per_anchor=5
    )
    start = utcnow() - dt.timedelta(days=5)
    answer_items(db, world, "assessor", anchors, lenient=True, start=start)
    answer_items(db, world, "assessor2", anchors, lenient=False, start=start)

    result = drift.evaluate_program(db, world.program_a)
    db.commit()
    mine = [f for f in result.flags if f.stream == EvidenceStream.VALIDITY]
    assert mine, "no validity flag for the lenient assessor"
    assert {f.user_id for f in mine} == {world.ids["assessor"]}
    lean = next(f for f in mine if f.rule == FlagRule.LEAN and f.criterion_id is None)
    assert lean.direction == "lenient" and lean.value > 0.25
    assert lean.round_id is None and "validity items in live scoring" in lean.summary
    # The assessor's words name no item and do not say "validity".
    assert "validity" not in lean.assessor_text.lower() and "anchor" not in lean.assessor_text.lower()
    # The calibration stream is unchanged: the same flags as before, none added to it.
    stored = db.scalars(select(DriftFlag).where(DriftFlag.stream == EvidenceStream.CALIBRATION)).all()
    assert sorted((f.rule, f.user_id, f.evidence_hash) for f in stored) == sorted(calibration_flags)
    # Evaluating again flags nothing new.
    assert [
        f for f in drift.evaluate_program(db, world.program_a).flags if f.stream == EvidenceStream.VALIDITY
    ] == []
    db.commit()
    # The flag list says where the evidence came from, in plain words.
    [line] = flag_lines(db, world.program_a, flag_id=lean.id)
    assert line.evidence_source == f"Evidence: {STREAM_WORDS}"


def test_the_stream_is_part_of_the_evidence_hash_but_not_for_calibration():
    args = (FlagRule.LEAN, 1, 2, None, [1, 2, 3])
    assert drift.evidence_hash(*args) == drift.evidence_hash(*args, EvidenceStream.CALIBRATION)
    assert drift.evidence_hash(*args) != drift.evidence_hash(*args, EvidenceStream.VALIDITY)


def test_a_reviewed_validity_flag_restarts_the_series(db, world):
    anchors = fresh_anchors(db, world, 6)
    set_validity_rules(db, world.program_a, max_per_week=100, live_items_between=0)
    answer_items(db, world, "assessor", anchors, lenient=True, start=utcnow() - dt.timedelta(days=3))
    flags = [
        f for f in drift.evaluate_program(db, world.program_a).flags if f.stream == EvidenceStream.VALIDITY
    ]
    assert flags
    for f in flags:
        f.status = FlagStatus.DISMISSED
    db.commit()
    assert [
        f for f in drift.evaluate_program(db, world.program_a).flags if f.stream == EvidenceStream.VALIDITY
    ] == []


def test_a_period_holds_enough_items_to_judge():
    assert period_size(DriftPolicy(), 5) == 5
    assert period_size(DriftPolicy(), 2) == 10  # 20 criterion-scores need ten items of two criteria

"""The round result service: the stored rule's checks, directions only where the interval says so,
and honest next steps (issue 16, item 4)."""

from __future__ import annotations

import pytest

from calibration.models import Program, RoundKind, RubricVersion, User
from calibration.services import round_results
from calibration.services.errors import NotFound

from ..factories import make_anchor, make_round, submit
from ..factories_drift import set_drift_settings

_SAME_SIDE = {4: 3, 3: 4, 2: 1, 1: 2}  # one level off without crossing the earn cut (3)


def _near_miss(world, index):  # type: ignore[no-untyped-def]
    """9 of 25 scores one level off, both ways, none across the earn cut: 64% exact, a fail within chance."""
    key = world.keys[world.anchors[index]]
    return [_SAME_SIDE[k] if index * len(key) + j < 9 else k for j, k in enumerate(key)]


def _result(db, world):  # type: ignore[no-untyped-def]
    return round_results.round_result(
        db, program_id=world.program_a, user_id=world.ids["assessor"], round_id=world.round_id
    )


def test_a_fail_within_chance_names_no_direction_and_raises_no_review(db, world):
    for i in range(len(world.anchors)):
        submit(db, world, "assessor", i, _near_miss(world, i))
    r = _result(db, world)
    assert r.decision.outcome == "fail"
    assert [c.verdict for c in r.checks] == ["Met", "Not met", "Met", "Met", "Met"]
    exact = next(c for c in r.checks if c.name == "exact")
    assert exact.share is not None and exact.share.ci_high > r.rule.min_exact  # interval reaches the bar
    assert not r.clearly_below and not r.raised_for_review
    assert any("within what chance" in s.text for s in r.next_steps)
    # Misses both ways: no criterion is called lenient or severe.
    missed = [c for c in r.criteria if c.misses]
    assert missed and all(c.lean not in ("lenient", "severe") for c in missed)
    assert all(not c.direction.startswith(("Lenient", "Severe")) for c in r.criteria)


def test_when_the_program_flags_every_failed_round_the_result_says_so(db, world):
    set_drift_settings(db, world.program_a, pass_rule_clear=False)
    db.commit()
    for i in range(len(world.anchors)):
        submit(db, world, "assessor", i, _near_miss(world, i))
    r = _result(db, world)
    assert r.raised_for_review
    assert any("raise it with your lead trainer" in s.text for s in r.next_steps)


def test_a_clearly_severe_round_names_the_direction(db, world):
    for i in range(len(world.anchors)):
        submit(db, world, "assessor", i, [max(1, k - 1) for k in world.keys[world.anchors[i]]])
    r = _result(db, world)
    assert r.decision.outcome == "fail" and r.clearly_below and r.raised_for_review
    severe = [c for c in r.criteria if c.lean == "severe"]
    assert severe and all(c.direction.startswith("Severe") for c in severe)
    assert all(c.accuracy.mean_signed_deviation.interval[1] < 0 for c in severe)
    assert [s.link for s in r.next_steps if s.link] == ["sessions", "certification", "progress"]


def test_practice_unfinished_and_other_peoples_rounds_have_no_result(db, world):
    submit(db, world, "assessor", 0)
    with pytest.raises(NotFound):
        _result(db, world)
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    anchor = make_anchor(db, program, rubric, title="Practice", key_levels=world.keys[world.anchors[0]])
    practice = make_round(
        db, program, rubric, [anchor], [db.get(User, world.ids["assessor"])], kind=RoundKind.PRACTICE
    )
    db.commit()
    with pytest.raises(NotFound):
        round_results.round_result(
            db, program_id=world.program_a, user_id=world.ids["assessor"], round_id=practice.id
        )
    with pytest.raises(NotFound):
        round_results.round_result(
            db, program_id=world.program_b, user_id=world.ids["assessor_b"], round_id=world.round_id
        )
    assert round_results.finished_rounds(db, program_id=world.program_a, user_id=world.ids["assessor"]) == []
    for i in range(1, len(world.anchors)):
        submit(db, world, "assessor", i)
    done = round_results.finished_rounds(db, program_id=world.program_a, user_id=world.ids["assessor"])
    assert [f.round_id for f in done] == [world.round_id]
    latest = round_results.latest_result(db, program_id=world.program_a, user_id=world.ids["assessor"])
    assert latest is not None and latest.decision.outcome == "pass"

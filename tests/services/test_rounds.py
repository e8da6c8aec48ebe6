"""Round services: create a draft with its pass rule, choose anchors (by hand, automatically, never
an anchor an assessor has seen in qualification/recalibration; key exposure in every counted round is
in test_exposure.py), and the lifecycle rules. Every
refusal says why and writes nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AnchorPurpose,
    AnchorStatus,
    Assignment,
    AuditEvent,
    Program,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.services import rounds as service
from calibration.services.errors import InvalidInput, NotFound
from calibration.services.rules import DEFAULT_PASS_RULE, pass_rule_from_json
from calibration.services.selection import CoverageImpossible

from ..factories import make_round, submit
from ..factories_rounds import covering_set, keyed_anchor, trainer

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def state(db: Any) -> tuple[int, ...]:
    """Counts that any write would change (read in the same session: flushed rows count too)."""
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Round, RoundAnchor, Assignment, AuditEvent)
    )


def refused(db: Any, call: Any, *, message: str, error: type[Exception] = InvalidInput) -> Exception:
    """Run a service call that must be refused with ``message``, writing nothing."""
    before = state(db)
    with pytest.raises(error) as caught:
        call()
    text = " ".join(
        [str(caught.value), *(m for ms in getattr(caught.value, "field_errors", {}).values() for m in ms)]
    )
    assert message in text, text
    assert state(db) == before
    return caught.value


def create(db: Any, world: Any, **overrides: Any) -> Round:
    now = utcnow()
    args: dict[str, Any] = {
        "program_id": world.program_a,
        "name": "Autumn round",
        "kind": "calibration",
        "rubric_version_id": world.rubric_id,
        "opens_at": now - HOUR,
        "closes_at": now + 7 * DAY,
        "pass_rule": dict(DEFAULT_PASS_RULE),
        "assessor_ids": [world.ids["assessor"], world.ids["assessor2"]],
    }
    args.update(overrides)
    return service.create_round(db, trainer(world), **args)


def audit_actions(db: Any, round_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "round", AuditEvent.object_id == str(round_id))
            .order_by(AuditEvent.id)
        )
    )


# ---------------------------------------------------------------------------------------- create
def test_create_stores_a_draft_with_assessors_and_the_edited_pass_rule(db, world):
    rule = {**DEFAULT_PASS_RULE, "min_exact": 0.85, "min_anchors": 6}
    rnd = create(db, world, pass_rule=rule)
    db.commit()
    assert rnd.status == RoundStatus.DRAFT and rnd.kind == RoundKind.CALIBRATION
    stored = json.loads(rnd.pass_rule_json)
    assert stored["min_exact"] == 0.85 and stored["min_anchors"] == 6
    assert pass_rule_from_json(rnd.pass_rule_json).min_exact == 0.85
    assert {a.user_id for a in rnd.assignments} == {world.ids["assessor"], world.ids["assessor2"]}
    assert rnd.opens_at.tzinfo is not None
    assert audit_actions(db, rnd.id) == ["round.create"]


def test_program_defaults_come_from_its_settings(db, world):
    program = db.get(Program, world.program_a)
    program.settings_json = json.dumps({"pass_rule": {"min_exact": 0.8}})
    db.commit()
    rule = service.default_pass_rule(db, world.program_a)
    assert rule == {**DEFAULT_PASS_RULE, "min_exact": 0.8}


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"closes_at": utcnow() - 2 * HOUR}, "closes_date", "The round must close after it opens"),
        (
            {"pass_rule": {**DEFAULT_PASS_RULE, "min_exact": 1.5}},
            "min_exact",
            "between 0% and 100% (you entered 150%)",
        ),
        (
            {"pass_rule": {**DEFAULT_PASS_RULE, "min_adjacent": float("nan")}},
            "min_adjacent",
            "enter a percentage",
        ),
        ({"pass_rule": {**DEFAULT_PASS_RULE, "max_discrepant": -1}}, "max_discrepant", "at least 0"),
        ({"pass_rule": {**DEFAULT_PASS_RULE, "min_anchors": 0}}, "min_anchors", "at least 1"),
        ({"pass_rule": {**DEFAULT_PASS_RULE, "min_scores": 2.5}}, "min_scores", "whole number"),
        ({"assessor_ids": []}, "assessor_ids", "Choose at least one assessor."),
        ({"name": "  "}, "name", "Give the round a name."),
        ({"name": "bad\x00name"}, "name", "control character"),
        ({"kind": "weekly"}, "kind", "Choose a kind"),
        ({"opens_at": None}, "opens_date", "Enter the date and time (UTC) the round opens."),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(db, world, overrides, field, message):
    err = refused(db, lambda: create(db, world, **overrides), message=message)
    assert field in err.field_errors  # type: ignore[attr-defined]


def test_create_refuses_another_programs_rubric_and_people(db, world):
    other_rubric = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    refused(db, lambda: create(db, world, rubric_version_id=other_rubric), message="this program's rubrics")
    refused(
        db,
        lambda: create(db, world, assessor_ids=[world.ids["assessor_b"]]),
        message="not an assessor in this program",
    )
    refused(db, lambda: create(db, world, assessor_ids=[world.ids["trainer"]]), message="not an assessor")


def test_a_window_that_has_already_ended_is_refused(db, world):
    now = utcnow()
    refused(
        db,
        lambda: create(db, world, opens_at=now - 3 * DAY, closes_at=now - DAY),
        message="The closing time must be in the future",
    )


def test_another_programs_round_is_not_found(db, world):
    for call in (
        lambda: service.round_management(db, program_id=world.program_a, round_id=world.round_b),
        lambda: service.close_round(db, trainer(world), program_id=world.program_a, round_id=world.round_b),
        lambda: service.set_anchors(
            db, trainer(world), program_id=world.program_a, round_id=world.round_b, anchor_ids=[]
        ),
    ):
        refused(db, call, message="round", error=NotFound)


# --------------------------------------------------------------------------------------- anchors
def test_hand_selection_keeps_order_and_is_audited(db, world):
    rnd = create(db, world)
    chosen = [world.anchors[2], world.anchors[0]]
    assert (
        service.set_anchors(
            db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=[*chosen, chosen[0]]
        )
        == chosen
    )
    db.commit()
    rows = db.scalars(
        select(RoundAnchor).where(RoundAnchor.round_id == rnd.id).order_by(RoundAnchor.position)
    )
    assert [r.anchor_id for r in rows] == chosen
    # The same selection again writes nothing.
    n = len(audit_actions(db, rnd.id))
    service.set_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=chosen)
    assert len(audit_actions(db, rnd.id)) == n == 2


def test_hand_selection_refuses_inactive_and_foreign_anchors(db, world):
    rnd = create(db, world)
    draft = keyed_anchor(db, world, "Draft anchor", [1, 2, 3, 4, 1], status=AnchorStatus.DRAFT)
    db.commit()
    for anchor_id in (draft.id, world.anchor_b, 999_999):
        refused(
            db,
            lambda a=anchor_id: service.set_anchors(
                db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=[a]
            ),
            message="Only active anchors of this round's rubric version",
        )


def test_automatic_selection_covers_every_level_from_the_matching_purpose(db, world):
    covering_set(db, world, "Calib")
    covering_set(db, world, "Qual", purpose=AnchorPurpose.QUALIFICATION)
    rnd = create(db, world)
    chosen = service.auto_select_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id)
    db.commit()
    assert len(chosen) == 5
    purposes = set(db.scalars(select(Anchor.purpose).where(Anchor.id.in_(chosen))))
    assert purposes == {AnchorPurpose.CALIBRATION}
    keys = service.current_keys(db, chosen)
    covered = {pair for _, key in keys.values() for pair in key.items()}
    assert covered == {(c, lv) for c in world.criteria for lv in world.levels}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "round.anchors_set"))
    assert json.loads(event.detail_json)["method"] == "auto"
    # Reproducible: the same situation gives the same anchors.
    assert (
        service.auto_select_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id) == chosen
    )


def test_automatic_selection_names_levels_it_cannot_cover_and_writes_nothing(db, world):
    # The world's five calibration anchors never give the second criterion level 1.
    rnd = create(db, world)
    db.commit()
    err = refused(
        db,
        lambda: service.auto_select_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id),
        message="cannot cover every level of every criterion",
        error=CoverageImpossible,
    )
    second = db.get(RubricVersion, world.rubric_id).criteria[1]
    assert (second.id, 1) in err.missing  # type: ignore[attr-defined]
    assert f"“{second.title}” at level 1" in str(err)
    assert "Only active calibration anchors with a master key are drawn from." in str(err)


def test_automatic_selection_refuses_a_bad_target(db, world):
    rnd = create(db, world)
    for target in (0, 101, None):
        refused(
            db,
            lambda t=target: service.auto_select_anchors(
                db, trainer(world), program_id=world.program_a, round_id=rnd.id, target=t
            ),
            message="a whole number from 1 to 100",
        )


# ------------------------------------------------------------------------------ seen anchors
def qualification_setup(db: Any, world: Any) -> tuple[list[int], list[int]]:
    """Two covering sets of qualification anchors; assessor2 met the first in an earlier round."""
    first = covering_set(db, world, "Qual A", purpose=AnchorPurpose.QUALIFICATION)
    second = covering_set(db, world, "Qual B", purpose=AnchorPurpose.QUALIFICATION)
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    people = [db.get(User, world.ids["assessor2"])]
    anchors = [db.get(Anchor, a) for a in first]
    make_round(
        db,
        program,
        rubric,
        anchors,
        people,
        name="Earlier attempt",
        kind=RoundKind.QUALIFICATION,
        status=RoundStatus.CLOSED,
        opens_at=utcnow() - 9 * DAY,
        closes_at=utcnow() - 2 * DAY,
    )
    db.commit()
    return first, second


def test_seen_means_a_score_sheet_or_another_non_draft_round(db, world):
    first, _ = qualification_setup(db, world)
    submit(db, world, "assessor", 0)  # a sheet on the world's first anchor
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    extra = keyed_anchor(db, world, "Only in a draft", [1, 1, 1, 1, 1])
    make_round(db, program, rubric, [extra], [db.get(User, world.ids["assessor"])], status=RoundStatus.DRAFT)
    db.commit()
    seen = service.seen_anchors(db, [world.ids["assessor"], world.ids["assessor2"]])
    # Both are assigned to the world's open round, so its anchors count as seen for both.
    assert seen[world.ids["assessor"]] == set(world.anchors)
    assert seen[world.ids["assessor2"]] == set(world.anchors) | set(first)
    assert extra.id not in seen[world.ids["assessor"]]  # a draft is invisible to assessors
    assert service.seen_anchors(db, [world.ids["assessor"]], exclude_round_id=world.round_id) == {
        world.ids["assessor"]: {world.anchors[0]}  # the sheet still counts
    }


@pytest.mark.parametrize("kind", ["qualification", "recalibration"])
def test_automatic_selection_leaves_out_anchors_any_assessor_has_seen(db, world, kind):
    first, second = qualification_setup(db, world)
    purpose = AnchorPurpose.QUALIFICATION if kind == "qualification" else AnchorPurpose.CALIBRATION
    if kind == "recalibration":
        for anchor_id in first + second:
            db.get(Anchor, anchor_id).purpose = AnchorPurpose.CALIBRATION
        db.commit()
    rnd = create(db, world, kind=kind)
    chosen = service.auto_select_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id)
    assert not set(chosen) & set(first)  # assessor2 saw them in the earlier round
    assert not set(chosen) & set(world.anchors)  # both assessors are in the open round with these
    assert set(second) <= set(chosen)
    assert {a.purpose for a in db.scalars(select(Anchor).where(Anchor.id.in_(chosen)))} == {purpose}


def test_when_only_seen_anchors_could_cover_the_error_says_so(db, world):
    first, second = qualification_setup(db, world)
    db.get(Anchor, second[0]).status = AnchorStatus.RETIRED
    rnd = create(db, world, kind="qualification")
    db.commit()
    err = refused(
        db,
        lambda: service.auto_select_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id),
        message="were left out because an assigned assessor has already seen them",
        error=CoverageImpossible,
    )
    assert err.n_excluded == len(first)  # type: ignore[attr-defined]


def test_calibration_rounds_may_reuse_anchors_met_elsewhere_whose_key_nobody_has_read(db, world):
    # Both assessors are in the world's open round with these anchors but have scored none of them;
    # only a read key (tests/services/test_exposure.py) keeps an anchor out of a calibration round.
    rnd = create(db, world)
    assert (
        service.set_anchors(
            db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=world.anchors
        )
        == world.anchors
    )


def test_hand_selection_refuses_an_anchor_an_assessor_has_seen_in_a_qualification_round(db, world):
    first, second = qualification_setup(db, world)
    rnd = create(db, world, kind="qualification", assessor_ids=[world.ids["assessor2"]])
    refused(
        db,
        lambda: service.set_anchors(
            db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=[second[0], first[0]]
        ),
        message="“Qual A 1” has already been seen by Ben Second: a qualification round must use anchors",
    )


def test_adding_an_assessor_who_has_seen_a_chosen_anchor_is_refused(db, world):
    first, _ = qualification_setup(db, world)
    rnd = create(db, world, kind="qualification", assessor_ids=[world.ids["assessor"]])
    # assessor has not met "Qual A" anchors: the choice is fine for them alone.
    service.set_anchors(db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=first)
    db.commit()
    refused(
        db,
        lambda: service.set_assessors(
            db,
            trainer(world),
            program_id=world.program_a,
            round_id=rnd.id,
            user_ids=[world.ids["assessor"], world.ids["assessor2"]],
        ),
        message="has already been seen by Ben Second",
    )


def test_opening_rechecks_seen_anchors_against_rounds_opened_meanwhile(db, world):
    _, second = qualification_setup(db, world)
    me = trainer(world)
    drafts = [
        create(db, world, kind="qualification", name=f"Attempt {i}", assessor_ids=[world.ids["assessor2"]])
        for i in (1, 2)
    ]
    for rnd in drafts:
        service.set_anchors(db, me, program_id=world.program_a, round_id=rnd.id, anchor_ids=second)
    service.open_round(db, me, program_id=world.program_a, round_id=drafts[0].id)
    db.commit()
    refused(
        db,
        lambda: service.open_round(db, me, program_id=world.program_a, round_id=drafts[1].id),
        message="“Qual B 1” has already been seen by Ben Second",
    )


# ------------------------------------------------------------------------------------- lifecycle
def ready_draft(db: Any, world: Any, **overrides: Any) -> Round:
    rnd = create(db, world, **overrides)
    service.set_anchors(
        db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=world.anchors
    )
    db.commit()
    return rnd


def test_open_extend_close(db, world):
    me = trainer(world)
    rnd = ready_draft(db, world)
    assert service.open_problems(db, rnd) == []
    service.open_round(db, me, program_id=world.program_a, round_id=rnd.id)
    assert rnd.status == RoundStatus.OPEN and rnd.is_open_at(utcnow())
    later = rnd.closes_at + 3 * DAY
    service.extend_round(db, me, program_id=world.program_a, round_id=rnd.id, closes_at=later)
    assert rnd.closes_at == later
    now = utcnow()
    service.close_round(db, me, program_id=world.program_a, round_id=rnd.id, now=now)
    db.commit()
    db.expire_all()
    rnd = db.get(Round, rnd.id)
    assert rnd.status == RoundStatus.CLOSED
    assert abs(rnd.closes_at - now) < dt.timedelta(seconds=1)  # the window shows when scoring ended
    assert not rnd.is_open_at(utcnow())
    assert audit_actions(db, rnd.id) == [
        "round.create",
        "round.anchors_set",
        "round.open",
        "round.extend",
        "round.close",
    ]
    extend = db.scalar(select(AuditEvent).where(AuditEvent.action == "round.extend"))
    assert json.loads(extend.detail_json)["closes_at"][1] == later.isoformat()


def test_closing_a_round_that_has_not_started_keeps_its_window(db, world):
    now = utcnow()
    rnd = ready_draft(db, world, opens_at=now + DAY, closes_at=now + 5 * DAY)
    me = trainer(world)
    service.open_round(db, me, program_id=world.program_a, round_id=rnd.id)
    service.close_round(db, me, program_id=world.program_a, round_id=rnd.id)
    db.commit()
    assert rnd.status == RoundStatus.CLOSED and rnd.closes_at > rnd.opens_at


def test_open_refuses_an_empty_round(db, world):
    rnd = create(db, world)
    db.commit()
    refused(
        db,
        lambda: service.open_round(db, trainer(world), program_id=world.program_a, round_id=rnd.id),
        message="Choose at least one anchor.",
    )
    assert rnd.status == RoundStatus.DRAFT


def test_open_refuses_a_round_without_assessors(db, world):
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    anchors = [db.get(Anchor, world.anchors[0])]
    rnd = make_round(db, program, rubric, anchors, [], status=RoundStatus.DRAFT)
    db.commit()
    refused(
        db,
        lambda: service.open_round(db, trainer(world), program_id=world.program_a, round_id=rnd.id),
        message="Assign at least one assessor.",
    )


def test_open_refuses_an_anchor_without_a_key_or_no_longer_active(db, world):
    rnd = ready_draft(db, world)
    keyless = Anchor(
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        title="No key yet",
        evidence_md="x",
        purpose=AnchorPurpose.CALIBRATION,
        status=AnchorStatus.ACTIVE,
    )
    db.add(keyless)
    db.flush()
    db.add(RoundAnchor(round_id=rnd.id, anchor_id=keyless.id, position=9))
    db.get(Anchor, world.anchors[1]).status = AnchorStatus.RETIRED
    db.commit()
    err = refused(
        db,
        lambda: service.open_round(db, trainer(world), program_id=world.program_a, round_id=rnd.id),
        message="“No key yet” has no master key",
    )
    assert any("“Anchor 2” is retired, not active" in p for p in err.field_errors["open"])  # type: ignore[attr-defined]


def test_open_refuses_a_window_that_has_passed(db, world):
    rnd = ready_draft(db, world)
    later = rnd.closes_at + DAY
    refused(
        db,
        lambda: service.open_round(
            db, trainer(world), program_id=world.program_a, round_id=rnd.id, now=later
        ),
        message="The window ended",
    )


@pytest.mark.parametrize("status", [RoundStatus.OPEN, RoundStatus.CLOSED])
def test_a_round_that_is_not_a_draft_cannot_change_its_anchors_assessors_or_window(db, world, status):
    rnd = db.get(Round, world.round_id)
    rnd.status = status
    db.commit()
    me, pid = trainer(world), world.program_a
    word = status.value
    refused(
        db,
        lambda: service.set_anchors(db, me, program_id=pid, round_id=rnd.id, anchor_ids=world.anchors[:2]),
        message=f"Anchors can be changed only while the round is a draft; this round is {word}.",
    )
    refused(
        db,
        lambda: service.auto_select_anchors(db, me, program_id=pid, round_id=rnd.id),
        message="Anchors can be changed only while the round is a draft",
    )
    refused(
        db,
        lambda: service.set_assessors(
            db, me, program_id=pid, round_id=rnd.id, user_ids=[world.ids["assessor"]]
        ),
        message=f"Assessors can be changed only while the round is a draft; this round is {word}.",
    )
    refused(
        db,
        lambda: service.reschedule_round(
            db, me, program_id=pid, round_id=rnd.id, opens_at=utcnow(), closes_at=utcnow() + DAY
        ),
        message="The window can be changed only while the round is a draft",
    )


def test_open_twice_or_reopen_is_refused(db, world):
    me, pid = trainer(world), world.program_a
    refused(
        db,
        lambda: service.open_round(db, me, program_id=pid, round_id=world.round_id),
        message="already open",
    )
    service.close_round(db, me, program_id=pid, round_id=world.round_id)
    db.commit()
    refused(
        db,
        lambda: service.open_round(db, me, program_id=pid, round_id=world.round_id),
        message="a closed round cannot be opened again",
    )
    refused(
        db,
        lambda: service.close_round(db, me, program_id=pid, round_id=world.round_id),
        message="Only an open round can be closed; this round is closed.",
    )
    refused(
        db,
        lambda: service.extend_round(
            db, me, program_id=pid, round_id=world.round_id, closes_at=utcnow() + 30 * DAY
        ),
        message="a closed round cannot be extended",
    )


def test_extend_rules(db, world):
    me, pid = trainer(world), world.program_a
    rnd = db.get(Round, world.round_id)
    current = rnd.closes_at
    refused(
        db,
        lambda: service.extend_round(db, me, program_id=pid, round_id=rnd.id, closes_at=current - HOUR),
        message="must be later than the current one",
    )
    refused(
        db,
        lambda: service.extend_round(
            db, me, program_id=pid, round_id=rnd.id, closes_at=current + HOUR, now=current + DAY
        ),
        message="The new closing time must be in the future",
    )
    refused(
        db,
        lambda: service.extend_round(db, me, program_id=pid, round_id=rnd.id, closes_at=None),
        message="Enter the new date and time (UTC)",
    )
    draft = create(db, world)
    db.commit()
    refused(
        db,
        lambda: service.extend_round(
            db, me, program_id=pid, round_id=draft.id, closes_at=draft.closes_at + DAY
        ),
        message="Only an open round can be extended",
    )
    refused(
        db,
        lambda: service.close_round(db, me, program_id=pid, round_id=draft.id),
        message="Only an open round can be closed; this round is draft.",
    )


def test_reschedule_a_draft(db, world):
    rnd = create(db, world)
    now = utcnow()
    service.reschedule_round(
        db,
        trainer(world),
        program_id=world.program_a,
        round_id=rnd.id,
        opens_at=now + DAY,
        closes_at=now + 3 * DAY,
    )
    db.commit()
    assert rnd.opens_at == now + DAY
    refused(
        db,
        lambda: service.reschedule_round(
            db, trainer(world), program_id=world.program_a, round_id=rnd.id, opens_at=now + DAY, closes_at=now
        ),
        message="The round must close after it opens",
    )


def test_management_view_reports_readiness_and_coverage(db, world):
    rnd = create(db, world)
    db.commit()
    m = service.round_management(db, program_id=world.program_a, round_id=rnd.id)
    assert m.problems == ["Choose at least one anchor."]
    assert len(m.uncovered) == len(world.criteria) * len(world.levels)
    assert {c.anchor.id for c in m.candidates} == set(world.anchors)
    service.set_anchors(
        db, trainer(world), program_id=world.program_a, round_id=rnd.id, anchor_ids=world.anchors
    )
    m = service.round_management(db, program_id=world.program_a, round_id=rnd.id)
    assert m.problems == [] and m.selected_ids == world.anchors
    title = db.get(RubricVersion, world.rubric_id).criteria[1].title
    assert (title, 1) in m.uncovered

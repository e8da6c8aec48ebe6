"""Validity items seeded into live work (issue 18, item 6): who may be served which anchor, how
often, scoring against the key, idempotent answers, expiry, and rows that never change once final."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from calibration.db import utcnow
from calibration.models import AuditEvent, ValidityAssignment, ValidityStatus
from calibration.services import validity
from calibration.services.errors import Conflict, InvalidInput, NotFound
from calibration.services.exposure import seen_anchors

from ..factories import submit
from ..factories_validity import fresh_anchors, key_of, set_validity_rules


def _assign(db, world, who="assessor", ref="q-1", **kw):  # type: ignore[no-untyped-def]
    served = validity.assign(db, world.program_a, assessor=world.emails[who], external_ref=ref, **kw)
    db.commit()
    return served


def test_serves_only_fresh_keyed_calibration_anchors_never_twice(db, world):
    # Every anchor of the world is in the assessor's open round: none is fresh.
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor"], external_ref="q-0")
    assert err.value.code == "no_eligible_anchor"
    db.rollback()
    fresh = fresh_anchors(db, world, 2)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    first = _assign(db, world, ref="q-1")
    second = _assign(db, world, ref="q-2")
    assert {first.assignment.anchor_id, second.assignment.anchor_id} == set(fresh)
    assert first.created and second.created
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor"], external_ref="q-3")
    assert err.value.code == "no_eligible_anchor"  # both served to them already
    db.rollback()
    # The evidence goes out, never the key; served anchors count as met for later rounds.
    assert first.evidence_md.startswith("Live evidence")
    assert (
        set(fresh)
        <= seen_anchors(db, [world.ids["assessor"]], program_id=world.program_a)[world.ids["assessor"]]
    )


def test_an_anchor_the_assessor_scored_in_a_round_is_never_served(db, world):
    fresh = fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    submit(db, world, "assessor", 0)  # they have read anchor 0's key
    served = _assign(db, world)
    assert served.assignment.anchor_id == fresh[0]
    assert served.assignment.anchor_id not in world.anchors


def test_same_external_ref_returns_the_first_assignment_and_writes_nothing(db, world):
    fresh_anchors(db, world, 3)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    first = _assign(db, world, ref="same")
    again = _assign(db, world, ref="same")
    assert not again.created and again.assignment.id == first.assignment.id
    assert db.scalar(select(text("count(*)")).select_from(ValidityAssignment)) == 1
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor2"], external_ref="same")
    assert err.value.code == "external_ref_taken"


def test_weekly_rate_and_live_items_rule(db, world):
    fresh_anchors(db, world, 5)
    set_validity_rules(db, world.program_a, max_per_week=2, live_items_between=20)
    now = utcnow()
    _assign(db, world, ref="a", now=now - dt.timedelta(days=8))  # outside the 7 days
    _assign(db, world, ref="b", now=now - dt.timedelta(days=1), live_items=25)
    _assign(db, world, ref="c", now=now)
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor"], external_ref="d", now=now)
    assert err.value.code == "rate_weekly"
    db.rollback()
    with pytest.raises(Conflict) as err:
        validity.assign(
            db, world.program_a, assessor=world.emails["assessor2"], external_ref="e", live_items=3
        )
    assert err.value.code == "rate_live_items"
    db.rollback()
    set_validity_rules(db, world.program_a, max_per_week=0)
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor2"], external_ref="f")
    assert err.value.code == "seeding_off"


def test_one_anchor_goes_to_at_most_the_cap_of_assessors(db, world):
    fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0, max_assessors_per_anchor=1)
    _assign(db, world, "assessor", "a")
    with pytest.raises(Conflict) as err:
        validity.assign(db, world.program_a, assessor=world.emails["assessor2"], external_ref="b")
    assert err.value.code == "no_eligible_anchor"


def test_unknown_or_other_programs_assessor_is_not_found(db, world):
    fresh_anchors(db, world, 1)
    for who in ("nobody@a.test", world.emails["assessor_b"], str(world.ids["trainer"]), "99999"):
        with pytest.raises(NotFound):
            validity.assign(db, world.program_a, assessor=who, external_ref="x")
        db.rollback()
    # By id works as by email.
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    served = validity.assign(db, world.program_a, assessor=str(world.ids["assessor"]), external_ref="x")
    assert served.assignment.assessor_id == world.ids["assessor"]


def test_scores_against_the_key_of_assignment_and_is_idempotent(db, world):
    [anchor] = fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    served = _assign(db, world, rng=random.Random(1))
    key = key_of(db, anchor)
    levels = {k: v + 1 for k, v in key.items()}  # one level lenient everywhere
    first_key = next(iter(levels))
    levels[first_key] = key[first_key]  # except one exact
    at = utcnow()
    scored = validity.record_scores(db, world.program_a, served.assignment.id, levels=levels, scored_at=at)
    db.commit()
    assert not scored.already
    assert scored.result["n"] == len(key) and scored.result["exact"] == 1
    assert scored.result["adjacent"] == len(key)
    assert scored.result["mean_deviation"] == pytest.approx((len(key) - 1) / len(key))
    payload = scored.payload()
    assert payload["assignment_id"] == served.assignment.id and payload["criteria"][0]["key"] in (1, 2, 3)
    # The same levels again: the stored answer, nothing written.
    n_audit = db.scalar(select(text("count(*)")).select_from(AuditEvent))
    again = validity.record_scores(db, world.program_a, served.assignment.id, levels=levels, scored_at=at)
    db.commit()
    assert again.already and again.result == scored.result
    assert db.scalar(select(text("count(*)")).select_from(AuditEvent)) == n_audit
    # Different levels: refused.
    with pytest.raises(Conflict) as err:
        validity.record_scores(db, world.program_a, served.assignment.id, levels=key, scored_at=at)
    assert err.value.code == "already_answered"
    db.rollback()
    # Another program cannot reach it.
    with pytest.raises(NotFound):
        validity.record_scores(db, world.program_b, served.assignment.id, levels=key, scored_at=at)


def test_levels_that_do_not_fit_the_rubric_are_named(db, world):
    [anchor] = fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    served = _assign(db, world)
    key = key_of(db, anchor)
    bad = dict(key)
    first, second = list(key)[:2]
    bad[first] = 9
    del bad[second]
    bad["not-a-criterion"] = 1
    with pytest.raises(InvalidInput) as err:
        validity.record_scores(db, world.program_a, served.assignment.id, levels=bad, scored_at=utcnow())
    assert set(err.value.field_errors) == {f"levels.{first}", f"levels.{second}", "levels.not-a-criterion"}
    db.rollback()
    with pytest.raises(InvalidInput) as err:
        validity.record_scores(
            db, world.program_a, served.assignment.id, levels=key, scored_at=utcnow() + dt.timedelta(days=1)
        )
    assert "scored_at" in err.value.field_errors
    db.rollback()
    assert db.get(ValidityAssignment, served.assignment.id).status == ValidityStatus.ASSIGNED


def test_expiry_marks_unanswered_items_and_they_stay_listed(db, world):
    [anchor] = fresh_anchors(db, world, 2)[:1]
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0, expiry_days=14)
    old = _assign(db, world, ref="old", now=utcnow() - dt.timedelta(days=15))
    fresh = _assign(db, world, ref="new")
    done = validity.expire_due(db)
    db.commit()
    assert done == {world.program_a: [old.assignment.id]}
    assert validity.expire_due(db) == {}  # cron-safe: nothing twice
    rows, more = validity.assignments(db, world.program_a, after=0, limit=10)
    assert [(r.id, r.status) for r in rows] == [
        (old.assignment.id, ValidityStatus.EXPIRED),
        (fresh.assignment.id, ValidityStatus.ASSIGNED),
    ]
    assert not more
    expired, _ = validity.assignments(db, world.program_a, after=0, limit=10, status=ValidityStatus.EXPIRED)
    assert [r.id for r in expired] == [old.assignment.id]
    with pytest.raises(Conflict) as err:
        validity.record_scores(
            db, world.program_a, old.assignment.id, levels=key_of(db, anchor), scored_at=utcnow()
        )
    assert err.value.code == "expired"


def test_answered_rows_are_immutable_in_the_database(db, world, owner_database_url):
    [anchor] = fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    served = _assign(db, world)
    validity.record_scores(
        db, world.program_a, served.assignment.id, levels=key_of(db, anchor), scored_at=utcnow()
    )
    db.commit()
    from sqlalchemy import create_engine

    from calibration.db import normalise_url

    engine = create_engine(normalise_url(owner_database_url))
    try:
        for statement in (
            "UPDATE validity_assignment SET levels_json = '{}'",
            "UPDATE validity_assignment SET status = 'assigned'",
            "DELETE FROM validity_assignment",
        ):
            with engine.begin() as conn, pytest.raises(DBAPIError, match="immutable"):
                conn.execute(text(statement))
    finally:
        engine.dispose()
    db.expire_all()
    assert db.get(ValidityAssignment, served.assignment.id).status == ValidityStatus.ANSWERED


def test_every_assignment_and_answer_is_audited(db, world):
    [anchor] = fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    served = _assign(db, world, token_id=None, request_id="req-1")
    validity.record_scores(
        db, world.program_a, served.assignment.id, levels=key_of(db, anchor), scored_at=utcnow()
    )
    db.commit()
    actions = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "validity_assignment")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["validity.assign", "validity.score"]

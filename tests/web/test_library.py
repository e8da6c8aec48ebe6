"""The anchor library (issue 16, item 9): a trainer releases an anchor for good; certified assessors
browse released anchors by criterion and level with key and rationale; no round serves a released
anchor again; an anchor that someone may still score blind is never in the library."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from calibration.models import (
    Anchor,
    AnchorStatus,
    AuditEvent,
    CertificationStatus,
    Membership,
    Program,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.services import library, rounds
from calibration.services.context import Member
from calibration.services.errors import InvalidInput

from ..conftest import post_form
from ..factories import make_anchor, make_round


def _loose_anchor(
    db: Any, world: Any, title: str = "Library exemplar", levels: list[int] | None = None
) -> int:
    """A keyed, active anchor of program A that is in no round (so it may be released)."""
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    anchor = make_anchor(
        db,
        program,
        rubric,
        title=title,
        key_levels=levels or world.keys[world.anchors[0]],
        rationale_prefix="LIBWHY",
    )
    db.commit()
    return anchor.id


def _client_as(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
    return client


def _release(app: Any, world: Any, anchor_id: int) -> Any:
    trainer = _client_as(app, world.emails["trainer"])
    return post_form(trainer, f"/trainer/anchors/{anchor_id}/release", {})


def test_a_released_anchor_is_browsed_by_criterion_and_level_with_key_and_rationale(app, world, db):
    anchor_id = _loose_anchor(db, world)
    trainer = _client_as(app, world.emails["trainer"])
    confirm = trainer.get(f"/trainer/anchors/{anchor_id}/release").get_data(as_text=True)
    assert "leaves every pool of unseen anchors permanently" in confirm and "cannot be undone" in confirm
    assert "Release for good" in confirm
    page = trainer.get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    assert f"/trainer/anchors/{anchor_id}/release" in page

    resp = post_form(trainer, f"/trainer/anchors/{anchor_id}/release", {})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/trainer/anchors/{anchor_id}")
    db.rollback()
    anchor = db.get(Anchor, anchor_id)
    assert anchor.released_at is not None
    row = db.scalar(select(AuditEvent).where(AuditEvent.action == "anchor.release"))
    assert row is not None and row.object_id == str(anchor_id) and row.actor_id == world.ids["trainer"]
    page = trainer.get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    assert "in the anchor library" in page and f"/trainer/anchors/{anchor_id}/release" not in page

    assessor = _client_as(app, world.emails["assessor"])
    assert "Anchor library" in assessor.get("/dashboard").get_data(as_text=True)
    index = assessor.get("/library").get_data(as_text=True)
    rubric = db.get(RubricVersion, world.rubric_id)
    link = f"/library/{anchor_id}#criterion-"
    # One link per criterion, on the shelf of the level the key gives it.
    assert index.count(link) == len(rubric.criteria)
    for criterion in rubric.criteria:
        assert criterion.title in index
    assert "No example yet" in index  # levels no released anchor exemplifies are listed too
    detail = assessor.get(f"/library/{anchor_id}")
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200
    for criterion in rubric.criteria:
        assert f"LIBWHY for Library exemplar / {criterion.key}" in text
    # The first showing of the key is on the trail, once.
    assessor.get(f"/library/{anchor_id}")
    db.rollback()
    views = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "anchor.key_view", AuditEvent.actor_id == world.ids["assessor"]
        )
    ).all()
    assert len(views) == 1 and json.loads(views[0].detail_json)["via"] == "library"


def test_release_is_refused_while_the_anchor_may_still_be_scored_blind(app, world, db):
    anchor_id = world.anchors[0]  # in the world's open round
    resp = _release(app, world, anchor_id)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "still in rounds that are not closed" in text and "Open round" in text
    db.rollback()
    assert db.get(Anchor, anchor_id).released_at is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "anchor.release")) is None
    assessor = _client_as(app, world.emails["assessor"])
    assert assessor.get(f"/library/{anchor_id}").status_code == 404


def test_release_cannot_be_repeated_or_undone(app, world, db):
    anchor_id = _loose_anchor(db, world)
    assert _release(app, world, anchor_id).status_code == 302
    again = _release(app, world, anchor_id)
    assert again.status_code == 400 and "already in the library" in again.get_data(as_text=True)
    db.rollback()
    assert len(db.scalars(select(AuditEvent).where(AuditEvent.action == "anchor.release")).all()) == 1
    # Making it active again through the edit form does not bring it back into any pool.
    anchor = db.get(Anchor, anchor_id)
    assert anchor.status == AnchorStatus.ACTIVE and not db.scalar(
        select(Anchor.id).where(Anchor.in_pool(), Anchor.id == anchor_id)
    )


def test_a_released_anchor_is_never_selected_for_any_round(app, world, db):
    # Enough fresh anchors to cover every level: the released one must still be left out.
    released = _loose_anchor(db, world, "Released", world.keys[world.anchors[1]])
    spares = [
        _loose_anchor(db, world, f"Spare {v}", [v] * len(world.criteria)) for v in world.levels
    ]  # together they cover every level of every criterion
    trainer = Member(world.ids["trainer"], world.program_a)
    library.release_anchor(db, trainer, program_id=world.program_a, anchor_id=released)
    db.commit()
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    assessor = db.get(User, world.ids["assessor2"])
    for kind in RoundKind:
        rnd = make_round(
            db,
            program,
            rubric,
            [],
            [assessor],
            name=f"Draft {kind.value}",
            kind=kind,
            status=RoundStatus.DRAFT,
        )
        db.commit()
        candidates = {c.anchor.id for c in rounds.candidate_anchors(db, rnd)}
        assert released not in candidates and set(spares) <= candidates, kind
        with pytest.raises(InvalidInput):
            rounds.set_anchors(
                db, trainer, program_id=world.program_a, round_id=rnd.id, anchor_ids=[released]
            )
        db.rollback()
    cal = make_round(db, program, rubric, [], [assessor], name="Auto", status=RoundStatus.DRAFT)
    db.commit()
    chosen = rounds.auto_select_anchors(
        db, trainer, program_id=world.program_a, round_id=cal.id, target=len(spares) + 1
    )
    assert released not in chosen


def test_an_uncertified_assessor_is_refused(app, world, db):
    anchor_id = _loose_anchor(db, world)
    assert _release(app, world, anchor_id).status_code == 302
    member = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor2"]))
    member.certification_status = CertificationStatus.IN_TRAINING
    db.commit()
    client = _client_as(app, world.emails["assessor2"])
    assert client.get("/library").status_code == 404
    assert client.get(f"/library/{anchor_id}").status_code == 404
    assert "Anchor library" not in client.get("/dashboard").get_data(as_text=True)
    db.rollback()
    denied = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.actor_id == world.ids["assessor2"]
        )
    ).all()
    assert len(denied) == 2
    # Another program's certified assessor does not see program A's library either.
    other = _client_as(app, world.emails["assessor_b"])
    assert other.get(f"/library/{anchor_id}").status_code == 404
    assert "Library exemplar" not in other.get("/library").get_data(as_text=True)


def test_a_released_anchor_back_in_an_unfinished_round_or_retired_leaves_the_library(app, world, db):
    anchor_id = _loose_anchor(db, world)
    assert _release(app, world, anchor_id).status_code == 302
    assessor = _client_as(app, world.emails["assessor"])
    assert assessor.get(f"/library/{anchor_id}").status_code == 200
    # Put there behind the services' back (they refuse it): the library still hides its key.
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    anchor = db.get(Anchor, anchor_id)
    rnd = make_round(
        db,
        program,
        rubric,
        [anchor],
        [db.get(User, world.ids["assessor2"])],
        name="Sneaky",
        status=RoundStatus.DRAFT,
    )
    db.commit()
    assert assessor.get(f"/library/{anchor_id}").status_code == 404
    assert "Library exemplar" not in assessor.get("/library").get_data(as_text=True)
    problems = rounds.open_problems(db, rnd)
    assert any("released to the anchor library" in p for p in problems)
    rnd.status = RoundStatus.CLOSED
    db.commit()
    assert assessor.get(f"/library/{anchor_id}").status_code == 200
    anchor = db.get(Anchor, anchor_id)
    anchor.status = AnchorStatus.RETIRED
    db.commit()
    assert assessor.get(f"/library/{anchor_id}").status_code == 404

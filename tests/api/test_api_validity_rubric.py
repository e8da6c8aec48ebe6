"""Issue 18 item 6, the rubric filter: a scoring platform asks `POST /validity/assignments` for an
item of the rubric version it is scoring (`rubric_version_id`) and gets only such items; a version
the program does not have (unknown, or another program's) is 422 problem+json naming the field, and
nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import Anchor, Program, RubricVersion, ValidityAssignment

from ..factories import make_anchor
from ..factories_validity import fresh_anchors, set_validity_rules
from .helpers import make_token, posting

URL = "/api/v1/validity/assignments"


@pytest.fixture
def rubrics(db: Any, world: Any) -> dict[str, int]:
    """Two fresh anchors on the program's other rubric, four on the main one; their version ids."""
    fresh_anchors(db, world, 4)
    other = db.scalar(
        select(RubricVersion).where(
            RubricVersion.program_id == world.program_a, RubricVersion.id != world.rubric_id
        )
    )
    program = db.get(Program, world.program_a)
    for i in range(2):
        make_anchor(db, program, other, title=f"Other {i}", key_levels=[1] * len(other.criteria))
    set_validity_rules(db, world.program_a, max_per_week=10, live_items_between=0)
    theirs = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    db.commit()
    return {"main": world.rubric_id, "other": other.id, "theirs": theirs}


def _ask(client: Any, token: str, ref: str, **more: Any) -> Any:
    return client.post(
        URL, json={"assessor": "assessor@a.test", "external_ref": ref, **more}, headers=posting(token)
    )


def _count(db: Any) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(ValidityAssignment)))


def test_only_items_of_the_asked_rubric_version(client, world, db, rubrics):
    token = make_token(db, world, ["validity"])
    served = []
    for n in range(2):
        r = _ask(client, token, f"other-{n}", rubric_version_id=rubrics["other"])
        assert r.status_code == 201, r.get_data(as_text=True)
        body = r.get_json()
        assert body["assignment"]["rubric_version_id"] == rubrics["other"]
        assert body["item"]["rubric"]["id"] == rubrics["other"]
        served.append(body["assignment"]["id"])
    db.rollback()
    anchors = db.scalars(select(ValidityAssignment.anchor_id).where(ValidityAssignment.id.in_(served)))
    assert {db.get(Anchor, a).rubric_version_id for a in anchors} == {rubrics["other"]}
    r = _ask(client, token, "other-2", rubric_version_id=rubrics["other"])
    assert r.status_code == 409 and r.get_json()["code"] == "no_eligible_anchor"
    assert "rubric version" in r.get_json()["detail"]
    # the main rubric still has items, with the filter or without it
    r = _ask(client, token, "main-1", rubric_version_id=rubrics["main"])
    assert r.status_code == 201 and r.get_json()["assignment"]["rubric_version_id"] == rubrics["main"]
    assert _ask(client, token, "any-1").status_code == 201


@pytest.mark.parametrize("which", ["unknown", "theirs"])
def test_a_version_the_program_does_not_have_is_422(client, world, db, rubrics, which):
    token = make_token(db, world, ["validity"])
    version = 987654 if which == "unknown" else rubrics["theirs"]
    r = _ask(client, token, "q-1", rubric_version_id=version)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert [(e["field"], e["location"]) for e in body["errors"]] == [("rubric_version_id", "body")]
    assert "rubric version" in body["detail"]
    assert _count(db) == 0


def test_the_same_queue_item_for_another_rubric_is_a_conflict(client, world, db, rubrics):
    token = make_token(db, world, ["validity"])
    first = _ask(client, token, "q-1", rubric_version_id=rubrics["main"])
    assert first.status_code == 201
    again = _ask(client, token, "q-1", rubric_version_id=rubrics["main"])
    assert (
        again.status_code == 200
        and again.get_json()["assignment"]["id"] == first.get_json()["assignment"]["id"]
    )
    r = _ask(client, token, "q-1", rubric_version_id=rubrics["other"])
    assert r.status_code == 409 and r.get_json()["code"] == "external_ref_taken"
    assert _count(db) == 1


def test_bad_values_are_400_naming_the_field(client, world, db, rubrics):
    token = make_token(db, world, ["validity"])
    for bad in (0, -1, "three", 2**40):
        r = _ask(client, token, "q-1", rubric_version_id=bad)
        assert r.status_code == 400, bad
        assert [e["field"] for e in r.get_json()["errors"]] == ["rubric_version_id"]
    assert _count(db) == 0


def test_the_filter_is_in_the_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schema = doc["components"]["schemas"]["AssignmentIn"]
    assert "rubric_version_id" in schema["properties"]
    assert "rubric_version_id" not in schema.get("required", [])

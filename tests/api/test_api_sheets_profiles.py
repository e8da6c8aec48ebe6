"""Issue 18 item 3, the last two read resources: a round's final score sheets (``/rounds/{id}/sheets``,
``/sheets/{id}``) and the assessor profile (``/assessors/{id}/profile``), as the trainer's pages
show them, inside the token's program only."""

from __future__ import annotations

import json

from sqlalchemy import select

from calibration.models import (
    Anchor,
    AuditEvent,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Program,
    RoundKind,
    RubricVersion,
    ScoreDraft,
    User,
)
from calibration.services import corrections, practice, profiles
from calibration.services.api_reads import criterion_keys
from calibration.services.context import Member
from calibration.services.scoring import submit_sheet

from ..factories import make_round, submit
from .helpers import bearer, make_token


def _keys(db, world) -> list[str]:  # type: ignore[no-untyped-def]
    keys = criterion_keys(db, set(world.criteria))
    return [keys[c] for c in world.criteria]


def _all_pages(client, url, token):  # type: ignore[no-untyped-def]
    items, cursor = [], None
    while True:
        body = client.get(url + "?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=bearer(token))
        assert body.status_code == 200, body.get_data(as_text=True)
        page = body.get_json()
        assert len(page["items"]) <= 1
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_a_rounds_sheets_are_its_final_sheets_with_their_levels(client, world, db):
    mine = submit(db, world, "assessor", 0)
    theirs = submit(db, world, "assessor2", 0, levels=[1] * len(world.criteria))
    # A draft of another anchor: never listed.
    db.add(
        ScoreDraft(
            assessor_id=world.ids["assessor"],
            round_id=world.round_id,
            anchor_id=world.anchors[1],
            levels={str(world.criteria[0]): 2},
        )
    )
    db.commit()
    token = make_token(db, world, ["read"])
    items = _all_pages(client, f"/api/v1/rounds/{world.round_id}/sheets", token)
    assert [s["id"] for s in items] == [mine.id, theirs.id]
    assert {s["anchor_id"] for s in items} == {world.anchors[0]}  # the draft's anchor is absent
    keys = _keys(db, world)
    first, second = items
    assert first["assessor_id"] == world.ids["assessor"] and first["round_id"] == world.round_id
    assert [(x["criterion"], x["level"]) for x in first["scores"]] == list(
        zip(keys, world.keys[world.anchors[0]], strict=True)
    )
    assert [x["level"] for x in second["scores"]] == [1] * len(world.criteria)
    assert all(x["submitted_level"] == x["level"] and not x["corrected"] for x in first["scores"])
    assert first["key_version"] == 1 and first["submitted_at"].endswith("Z")
    assert "key" not in first and "rationale" not in json.dumps(items)
    one = client.get(f"/api/v1/sheets/{mine.id}", headers=bearer(token)).get_json()
    assert one == first


def test_a_corrected_score_shows_the_corrected_and_the_submitted_level(client, world, db):
    sheet = submit(db, world, "assessor", 0)
    before = world.keys[world.anchors[0]][0]
    after = 1 if before != 1 else 2
    corrections.correct_score(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        sheet_id=sheet.id,
        criterion_id=world.criteria[0],
        level_value=after,
        reason="The evidence shows the lower level.",
    )
    db.commit()
    token = make_token(db, world, ["read"])
    first, *rest = client.get(f"/api/v1/sheets/{sheet.id}", headers=bearer(token)).get_json()["scores"]
    assert (first["level"], first["submitted_level"], first["corrected"]) == (after, before, True)
    assert not any(x["corrected"] for x in rest)
    listed = client.get(f"/api/v1/rounds/{world.round_id}/sheets", headers=bearer(token)).get_json()
    assert listed["items"][0]["scores"][0]["level"] == after


def test_a_practice_sheet_whose_key_is_withheld_is_listed_without_a_key(client, world, db):
    rnd = make_round(
        db,
        db.get(Program, world.program_a),
        db.get(RubricVersion, world.rubric_id),
        [db.get(Anchor, world.anchors[0])],
        [db.get(User, world.ids["assessor"])],
        name="Practice",
        kind=RoundKind.PRACTICE,
    )
    rnd.practice_tries = 3
    db.commit()
    anchor = world.anchors[0]
    miss = list(world.keys[anchor])
    miss[0] = miss[0] + 1 if miss[0] < max(world.levels) else miss[0] - 1
    sheet = submit_sheet(
        db,
        Member(world.ids["assessor"], world.program_a),
        round_id=rnd.id,
        anchor_id=anchor,
        levels=dict(zip(world.criteria, miss, strict=True)),
        notes="",
    )
    db.commit()
    assert sheet.id in practice.withheld_sheets(db, program_id=world.program_a, user_id=world.ids["assessor"])
    token = make_token(db, world, ["read"])
    body = client.get(f"/api/v1/rounds/{rnd.id}/sheets", headers=bearer(token))
    assert body.status_code == 200
    (item,) = body.get_json()["items"]
    assert item["id"] == sheet.id and [x["level"] for x in item["scores"]] == miss
    assert "Rationale" not in body.get_data(as_text=True)


def test_sheets_of_another_program_are_404_and_audited(client, world, db):
    sheet = submit(db, world, "assessor", 0)
    token_b = make_token(db, world, ["trainer"], program="b")
    for url in (
        f"/api/v1/rounds/{world.round_id}/sheets",
        f"/api/v1/sheets/{sheet.id}",
        "/api/v1/sheets/99999999999999999999",
        f"/api/v1/assessors/{world.ids['assessor']}/profile",
        f"/api/v1/assessors/{world.ids['trainer_b']}/profile",  # in program B, but not an assessor
        "/api/v1/assessors/99999999999999999999/profile",
    ):
        r = client.get(url, headers=bearer(token_b))
        assert r.status_code == 404, url
        assert r.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/rounds/{world.round_b}/sheets", headers=bearer(token_b)).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    db.rollback()
    refused = db.scalars(select(AuditEvent.detail_json).where(AuditEvent.action == "api.refused")).all()
    assert [json.loads(d)["status"] for d in refused] == [404] * 6


def _flag(db, world, status: FlagStatus, n: int) -> int:  # type: ignore[no-untyped-def]
    flag = DriftFlag(
        program_id=world.program_a,
        user_id=world.ids["assessor"],
        criterion_id=world.criteria[0],
        round_id=world.round_id,
        rule=FlagRule.OWN_DRIFT,
        status=status,
        direction="lenient",
        statistic="signed deviation",
        value=0.8,
        threshold=0.5,
        summary=f"Drifting lenient ({n}).",
        evidence_hash=f"api-profile-{n}",
    )
    db.add(flag)
    db.commit()
    return int(flag.id)


def test_the_profile_is_what_the_trainers_page_shows(client, world, db):
    for index in range(5):
        submit(db, world, "assessor", index)
    off = [1] * len(world.criteria)
    for index in range(2):
        submit(db, world, "assessor2", index, levels=off)
    dismissed = _flag(db, world, FlagStatus.DISMISSED, 1)
    open_ = _flag(db, world, FlagStatus.OPEN, 2)
    token = make_token(db, world, ["read"])
    r = client.get(f"/api/v1/assessors/{world.ids['assessor']}/profile", headers=bearer(token))
    assert r.status_code == 200 and r.headers["ETag"]
    body = r.get_json()
    page = profiles.assessor_profile(db, program_id=world.program_a, user_id=world.ids["assessor"])
    db.rollback()
    assert body["assessor_id"] == world.ids["assessor"] and body["name"] == "Asha Assessor"
    assert body["certification_status"] == (None if page.status is None else page.status.value)
    assert body["sheets"] == page.n_sheets == 5
    (rnd,) = body["rounds"]
    line = page.rounds[0]
    assert (rnd["round_id"], rnd["sheets_done"], rnd["anchors"]) == (world.round_id, 5, 5)
    assert rnd["exact"]["value"] == line.accuracy.exact.p == 1.0
    assert rnd["exact"]["count"] == line.accuracy.exact.count
    assert (rnd["exact"]["ci_low"], rnd["exact"]["ci_high"]) == (line.accuracy.exact.ci_low, 1.0)
    assert rnd["mean_signed_deviation"]["value"] == line.accuracy.mean_signed_deviation.value
    assert rnd["decision"]["outcome"] == line.decision.outcome == "pass"
    assert rnd["decision"]["checks"]
    (section,) = body["rubrics"]
    assert section["rubric_version_id"] == world.rubric_id
    assert section["n_scores"] == 5 * len(world.criteria)
    assert [c["criterion"] for c in section["criteria"]] == _keys(db, world)
    for got, want in zip(section["criteria"], page.sections[0].criteria, strict=True):
        assert got["n_scores"] == want.accuracy.n == 5
        assert got["exact"]["value"] == want.accuracy.exact.p
        assert got["too_few"] == want.too_few and got["findings"] == list(want.findings)
    assert [f["id"] for f in body["flags"]] == [open_, dismissed]  # open ones first
    assert [f["status"] for f in body["flags"]] == ["open", "dismissed"] and body["open_flags"] == 1
    assert body["flags"][0]["rule_name"] and body["flags"][0]["round_name"] == "Open round"
    # Statistics only: no key level, no rationale, no count of the key's levels.
    text = r.get_data(as_text=True)
    assert "key_counts" not in text and "rationale" not in text.lower() and "confusion" not in text

    weak = client.get(f"/api/v1/assessors/{world.ids['assessor2']}/profile", headers=bearer(token)).get_json()
    (rnd2,) = weak["rounds"]
    assert rnd2["sheets_done"] == 2 and rnd2["decision"]["outcome"] == "too_few"
    assert weak["flags"] == [] and weak["open_flags"] == 0


def test_the_profile_of_an_assessor_without_rounds_and_of_a_trainer(client, world, db):
    token = make_token(db, world, ["read"])
    body = client.get(f"/api/v1/assessors/{world.ids['assessor2']}/profile", headers=bearer(token)).get_json()
    (rnd,) = body["rounds"]  # assigned to the open round, nothing scored yet
    assert rnd["sheets_done"] == 0 and rnd["exact"] is None and rnd["decision"] is None
    assert body["rubrics"] == [] and body["sheets"] == 0
    r = client.get(f"/api/v1/assessors/{world.ids['trainer']}/profile", headers=bearer(token))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_profile_and_sheets_answer_304_until_a_new_sheet_arrives(client, world, db):
    submit(db, world, "assessor", 0)
    token = make_token(db, world, ["read"])
    for url in (
        f"/api/v1/assessors/{world.ids['assessor']}/profile",
        f"/api/v1/rounds/{world.round_id}/sheets",
    ):
        etag = client.get(url, headers=bearer(token)).headers["ETag"]
        same = client.get(url, headers={**bearer(token), "If-None-Match": etag})
        assert same.status_code == 304 and not same.data, url
        submit(db, world, "assessor", len([k for k in world.sheets if k[0] == "assessor"]))
        fresh = client.get(url, headers={**bearer(token), "If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["ETag"] != etag, url

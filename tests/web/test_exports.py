"""CSV exports: a round trip of the scores against the stored rows, every report table, formula
neutralisation, the audit row, and bad input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from calibration.models import Anchor, AnchorKeyVersion, AuditEvent, Criterion, Round, ScoreSheet, User
from calibration.services.exports import OVERVIEW_TABLES, PROFILE_TABLES, ROUND_TABLES, cell, neutralise
from calibration.stats.accuracy import accuracy_by_rater

from ..factories import submit
from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores

FORMULAS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturn"]


def parse(resp) -> tuple[list[str], list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    text = resp.get_data().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def exports_audited(db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.rollback()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == "export.csv").order_by(AuditEvent.id))
    )


def test_neutralise_and_cells():
    for text in FORMULAS:
        assert neutralise(text) == "'" + text
    assert neutralise("Plain") == "Plain" and neutralise("") == ""
    assert cell(-0.25) == "-0.25" and cell(3) == "3" and cell(None) == "" and cell(True) == "yes"
    assert cell("-0.25") == "'-0.25"  # text that looks like a formula stays text


def test_scores_round_trip_against_the_stored_rows(client, login, world, db):
    people = add_assessors(db, world.program_a, 3)
    assign(db, world.round_id, people)
    insert_sheets(db, world.round_id, noisy_scores(world, people, seed=4))
    submit(db, world, "assessor", 2, world.keys[world.anchors[2]])
    login(world.emails["trainer"])
    header, got = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv"))
    assert header == [
        "round_id",
        "round",
        "anchor_id",
        "anchor",
        "assessor_id",
        "assessor",
        "criterion_key",
        "criterion",
        "level",
        "key_level",
        "key_version",
        "submitted_at_utc",
        "submitted_level",
        "corrections",
    ]
    db.rollback()
    stored = []
    for sheet in db.scalars(select(ScoreSheet).where(ScoreSheet.round_id == world.round_id)):
        key = {e.criterion_id: e.level_value for e in sheet.key_version.entries}
        for score in sheet.scores:
            stored.append(
                {
                    "round_id": str(sheet.round_id),
                    "round": db.get(Round, sheet.round_id).name,
                    "anchor_id": str(sheet.anchor_id),
                    "anchor": db.get(Anchor, sheet.anchor_id).title,
                    "assessor_id": str(sheet.assessor_id),
                    "assessor": db.get(User, sheet.assessor_id).name,
                    "criterion_key": db.get(Criterion, score.criterion_id).key,
                    "criterion": db.get(Criterion, score.criterion_id).title,
                    "level": str(score.level_value),
                    "key_level": str(key[score.criterion_id]),
                    "key_version": str(db.get(AnchorKeyVersion, sheet.key_version_id).version),
                    "submitted_at_utc": sheet.submitted_at.isoformat().replace("+00:00", "Z"),
                    "submitted_level": str(score.level_value),
                    "corrections": "0",
                }
            )
    order = lambda r: (r["submitted_at_utc"], r["anchor_id"], r["assessor_id"], r["criterion_key"])  # noqa: E731
    assert sorted(got, key=order) == sorted(stored, key=order)
    assert len(got) == (3 * 5 + 1) * len(world.criteria)
    events = exports_audited(db)
    assert len(events) == 1
    assert events[0].object_type == "round" and events[0].object_id == str(world.round_id)
    assert events[0].actor_id == world.ids["trainer"]
    assert json.loads(events[0].detail_json)["table"] == "scores"
    assert json.loads(events[0].detail_json)["rows"] == len(got)


def test_formula_characters_are_neutralised(client, login, world, db):
    names = dict(zip(("assessor", "assessor2"), FORMULAS[:2], strict=False))
    for who, name in names.items():
        db.get(User, world.ids[who]).name = name
    for anchor_id, title in zip(world.anchors, FORMULAS[2:], strict=False):
        db.get(Anchor, anchor_id).title = title
    db.commit()
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, world.keys[anchor])
        submit(db, world, "assessor2", i, [1] * len(world.criteria))
    login(world.emails["trainer"])
    _, scores = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv"))
    assert {r["assessor"] for r in scores} == {"'" + n for n in names.values()}
    assert {r["anchor"] for r in scores} == {"'" + t for t in FORMULAS[2:]} | {"Anchor 5"}
    for row in scores:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    # Numbers stay numbers: the severe assessor's negative deviation is not turned into text.
    _, accuracy = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=accuracy"))
    severe = next(r for r in accuracy if r["assessor"] == "'+1+2")
    assert float(severe["mean_signed_deviation"]) < 0
    _, pairs = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=pairwise"))
    assert {pairs[0]["assessor_a"], pairs[0]["assessor_b"]} == {"'" + n for n in names.values()}


def test_every_table_exports_and_matches_the_library(client, login, world, db):
    people = add_assessors(db, world.program_a, 4)
    assign(db, world.round_id, people)
    data = insert_sheets(db, world.round_id, noisy_scores(world, people, seed=9))
    login(world.emails["trainer"])
    base = f"/trainer/rounds/{world.round_id}/export.csv"
    got = {t: parse(client.get(f"{base}?table={t}"))[1] for t in ROUND_TABLES}
    _, raters, _, values, key = data.arrays()
    expected = accuracy_by_rater(raters, values, key, levels=world.levels, earn_cut=3)
    by_id = {int(r["assessor_id"]): r for r in got["accuracy"]}
    for uid in people:
        exact = expected.by_rater[uid].exact
        assert int(by_id[uid]["exact_count"]) == exact.count and int(by_id[uid]["exact_n"]) == exact.n
        assert float(by_id[uid]["exact"]) == pytest.approx(exact.p)
        assert float(by_id[uid]["exact_ci_low"]) == pytest.approx(exact.ci_low)
    assert by_id[world.ids["assessor"]]["exact"] == ""  # assigned, nothing scored: empty, not 0
    assert len(got["reliability"]) == 1 + len(world.criteria)
    assert len(got["anchors"]) == 5 * len(world.criteria)
    confusion = [[int(x) for x in list(r.values())[1:]] for r in got["confusion"]]
    assert confusion == [list(r) for r in expected.overall.confusion]
    assert len(got["pairwise"]) == 4 * 3 // 2
    uid = people[0]
    for t in PROFILE_TABLES:
        parse(client.get(f"/trainer/assessors/{uid}/export.csv?table={t}"))
    for t in OVERVIEW_TABLES:
        parse(client.get(f"/trainer/overview/export.csv?table={t}"))
    assert len(exports_audited(db)) == len(ROUND_TABLES) + len(PROFILE_TABLES) + len(OVERVIEW_TABLES)


def test_current_key_export_is_labelled(client, login, world, db):
    submit(db, world, "assessor", 0, world.keys[world.anchors[0]])
    login(world.emails["trainer"])
    resp = client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=accuracy&key=current")
    assert "current-key" in resp.headers["Content-Disposition"]
    parse(resp)
    assert json.loads(exports_audited(db)[0].detail_json)["key"] == "current"


def test_bad_export_requests_write_nothing(client, login, world, db):
    login(world.emails["trainer"])
    assert client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=nope").status_code == 404
    assert client.get(f"/trainer/rounds/{world.round_id}/export.csv?key=old").status_code == 400
    assert client.get(f"/trainer/rounds/{world.round_b}/export.csv").status_code == 404
    assert client.get(f"/trainer/assessors/{world.ids['assessor']}/export.csv?table=x").status_code == 404
    assert client.get("/trainer/overview/export.csv?table=x").status_code == 404
    assert exports_audited(db) == []
    login(world.emails["assessor"])
    assert client.get(f"/trainer/rounds/{world.round_id}/export.csv").status_code == 404
    db.rollback()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "export.csv")) == 0

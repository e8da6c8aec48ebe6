"""The round's score table export (issue 17's speed work): built from narrow queries, kept while the
round's data stays the same, and built again when anything its rows show changes. Both databases."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from calibration.models import Anchor, CriterionScore, Round, ScoreSheet, User, effective_level
from calibration.services import anchors, corrections, exports, score_export, score_rows
from calibration.services.context import Member

from ..factories import submit

REASON = "Assessor reported clicking the wrong level."


def table(db, world, key_mode: str = "sheet") -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    export = exports.round_export(
        db, program_id=world.program_a, round_id=world.round_id, table="scores", key_mode=key_mode
    )
    text = export.text
    assert len(export.rows) == text.count("\r\n") - 1
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def fresh_text(db, world, key_mode: str = "sheet") -> str:  # type: ignore[no-untyped-def]
    score_export.clear_cache()
    return exports.round_export(
        db, program_id=world.program_a, round_id=world.round_id, table="scores", key_mode=key_mode
    ).text


def test_a_kept_export_is_the_same_as_a_new_one_and_follows_every_change(db, world):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 1)
    db.commit()
    score_export.clear_cache()
    first = exports.round_export(db, program_id=world.program_a, round_id=world.round_id, table="scores")
    again = exports.round_export(db, program_id=world.program_a, round_id=world.round_id, table="scores")
    assert again.text == first.text == fresh_text(db, world)
    assert len(first.rows) == 2 * len(world.criteria)

    # Names and titles on the rows: a renamed assessor, anchor or round is shown at once (one at a
    # time, each on its own).
    db.get(User, world.ids["assessor"]).name = "=Renamed Assessor"
    db.flush()
    mine = [r for r in table(db, world) if r["assessor_id"] == str(world.ids["assessor"])]
    assert {r["assessor"] for r in mine} == {"'=Renamed Assessor"}  # still formula-safe
    db.get(Anchor, world.anchors[0]).title = "Renamed anchor"
    db.flush()
    mine = [r for r in table(db, world) if r["assessor_id"] == str(world.ids["assessor"])]
    assert {r["anchor"] for r in mine} == {"Renamed anchor"}
    db.get(Round, world.round_id).name = "Renamed round"
    db.flush()
    assert {r["round"] for r in table(db, world)} == {"Renamed round"}
    kept = exports.round_export(db, program_id=world.program_a, round_id=world.round_id, table="scores")
    assert kept.text == fresh_text(db, world)

    # A new sheet adds its rows.
    submit(db, world, "assessor", 1)
    db.flush()
    assert len(table(db, world)) == 3 * len(world.criteria)

    # A correction changes the level and the count, not the submitted level.
    sheet_row = next(r for r in table(db, world) if r["assessor_id"] == str(world.ids["assessor"]))
    submitted = int(sheet_row["submitted_level"])
    new_level = submitted + 1 if submitted < max(world.levels) else submitted - 1
    sheet_id = _sheet_id(db, world, world.ids["assessor"], int(sheet_row["anchor_id"]))
    corrections.correct_score(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        sheet_id=sheet_id,
        criterion_id=world.criteria[0],
        level_value=new_level,
        reason=REASON,
    )
    db.flush()
    corrected = [r for r in table(db, world) if r["corrections"] != "0"]
    assert [(r["level"], r["submitted_level"], r["corrections"]) for r in corrected] == [
        (str(new_level), str(submitted), "1")
    ]
    assert table(db, world) == list(
        csv.DictReader(io.StringIO(fresh_text(db, world).removeprefix("\ufeff"), newline=""))
    )


def test_current_key_export_follows_a_new_key_version(db, world):
    submit(db, world, "assessor", 0)
    db.commit()
    score_export.clear_cache()
    before = table(db, world, "current")
    assert {r["key_version"] for r in before} == {"1"}
    anchor_id = world.anchors[0]
    new_key = [1] * len(world.criteria)
    anchors.change_key(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        anchor_id=anchor_id,
        levels=dict(zip(world.criteria, new_key, strict=True)),
        rationales={c: "Revised." for c in world.criteria},
        reason="The evidence was misread.",
        base_version=1,
    )
    db.flush()
    after = table(db, world, "current")
    assert {r["key_version"] for r in after} == {"2"}
    assert [r["key_level"] for r in after] == ["1"] * len(world.criteria)
    # The sheet's own key is unchanged.
    assert {r["key_version"] for r in table(db, world, "sheet")} == {"1"}
    assert after == list(
        csv.DictReader(io.StringIO(fresh_text(db, world, "current").removeprefix("\ufeff"), newline=""))
    )


def _sheet_id(db, world, user_id: int, anchor_id: int) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(
        select(ScoreSheet.id).where(
            ScoreSheet.round_id == world.round_id,
            ScoreSheet.assessor_id == user_id,
            ScoreSheet.anchor_id == anchor_id,
        )
    )


def test_round_score_rows_match_the_one_wide_query(db, world):
    """The round report's score rows, read narrow and joined in numpy, are the rows of the one
    query with the key join and the correction subquery (as a set: neither has an order)."""
    for i in range(3):
        submit(db, world, "assessor", i)
        submit(db, world, "assessor2", i)
    db.flush()
    sheet_id = _sheet_id(db, world, world.ids["assessor"], world.anchors[1])
    for level in (1, 2):  # two corrections: the latest counts
        corrections.correct_score(
            db,
            Member(world.ids["trainer"], world.program_a),
            program_id=world.program_a,
            sheet_id=sheet_id,
            criterion_id=world.criteria[1],
            level_value=level,
            reason=REASON,
        )
    anchors.change_key(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        anchor_id=world.anchors[0],
        levels=dict(zip(world.criteria, [1] * len(world.criteria), strict=True)),
        rationales={c: "Revised." for c in world.criteria},
        reason="The evidence was misread.",
        base_version=1,
    )
    db.flush()
    for mode in score_rows.KEY_MODES:
        stmt, _ = score_rows.keyed_scores(
            [world.round_id],
            mode,
            [ScoreSheet.assessor_id, ScoreSheet.anchor_id, CriterionScore.criterion_id, effective_level()],
        )
        wide = sorted(map(tuple, score_rows.int_columns(db, stmt, 6).tolist()))
        rows = score_rows.round_score_rows(db, world.round_id, key_mode=mode)
        narrow = sorted(
            zip(
                rows.assessor.tolist(),
                rows.anchor.tolist(),
                rows.criterion.tolist(),
                rows.level.tolist(),
                rows.key.tolist(),
                rows.key_version.tolist(),
                strict=True,
            )
        )
        assert narrow == wide and len(wide) == 6 * len(world.criteria)
        assert (world.ids["assessor"], world.anchors[1], world.criteria[1], 2) in {r[:4] for r in narrow}
    versions = {r[1]: r[5] for r in wide}  # the last mode: "current"
    assert versions[world.anchors[0]] == 2

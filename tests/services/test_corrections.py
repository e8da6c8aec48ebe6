"""Score corrections: a new linked record with a reason; the score itself never changes, and every
statistic reads the corrected (effective) level. Both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, func, select, text

from calibration.models import (
    Anchor,
    AuditEvent,
    CriterionScore,
    Round,
    ScoreCorrection,
    ScoreSheet,
    effective_level,
)
from calibration.services import anchors, certification, corrections, drift, exports, profiles, reports
from calibration.services.audit import verify_chain
from calibration.services.context import Actor, Member
from calibration.services.errors import InvalidInput, NotFound
from calibration.services.reveal import feedback

from ..factories import submit
from .test_unit_level_count import kept as kept_counts

REASON = "Assessor reported clicking the wrong level."


def trainer(world, request_id: str | None = None) -> Actor:  # type: ignore[no-untyped-def]
    return Member(world.ids["trainer"], world.program_a, request_id=request_id)


def off_by_one(world, anchor_index: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    """The key's levels with the first criterion one level off (up, or down at the top)."""
    key = list(world.keys[world.anchors[anchor_index]])
    key[0] = key[0] + 1 if key[0] < max(world.levels) else key[0] - 1
    return key


def correct(db, world, sheet_id: int, level: int, criterion_index: int = 0, reason: str = REASON):  # type: ignore[no-untyped-def]
    c = corrections.correct_score(
        db,
        trainer(world, request_id="req-fix"),
        program_id=world.program_a,
        sheet_id=sheet_id,
        criterion_id=world.criteria[criterion_index],
        level_value=level,
        reason=reason,
    )
    db.commit()
    return c


def effective_counts(db) -> dict[tuple[int, int, int, int], int]:  # type: ignore[no-untyped-def]
    level = effective_level()
    rows = db.execute(
        select(ScoreSheet.round_id, ScoreSheet.anchor_id, CriterionScore.criterion_id, level, func.count())
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .group_by(ScoreSheet.round_id, ScoreSheet.anchor_id, CriterionScore.criterion_id, level)
    ).all()
    return {tuple(r[:4]): r[4] for r in rows}


def test_a_correction_is_a_new_record_and_the_score_is_untouched(db, world):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    submitted = off_by_one(world)[0]
    key_level = world.keys[world.anchors[0]][0]
    c = correct(db, world, sheet.id, key_level)
    db.expire_all()
    score = db.scalar(
        select(CriterionScore).where(
            CriterionScore.sheet_id == sheet.id, CriterionScore.criterion_id == world.criteria[0]
        )
    )
    assert score.level_value == submitted  # the stored score is what was submitted
    stored = db.get(ScoreCorrection, c.id)
    assert (stored.criterion_score_id, stored.seq, stored.sheet_id, stored.round_id) == (
        score.id,
        1,
        sheet.id,
        world.round_id,
    )
    assert (stored.previous_level_value, stored.level_value) == (submitted, key_level)
    assert stored.reason == REASON and stored.corrected_by_id == world.ids["trainer"]
    assert stored.request_id == "req-fix" and stored.corrected_at.tzinfo is not None
    level = db.scalar(select(effective_level()).where(CriterionScore.id == score.id))
    assert level == key_level


def test_corrections_chain_each_from_the_level_the_last_one_left(db, world):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    first, key_level = off_by_one(world)[0], world.keys[world.anchors[0]][0]
    other = next(v for v in world.levels if v not in (first, key_level))
    a = correct(db, world, sheet.id, other)
    b = correct(db, world, sheet.id, key_level, reason="Second look: the key's level was meant.")
    c = correct(db, world, sheet.id, first, reason="Back to what was submitted after review.")
    assert [(x.seq, x.previous_level_value, x.level_value) for x in (a, b, c)] == [
        (1, first, other),
        (2, other, key_level),
        (3, key_level, first),
    ]
    view = corrections.sheet_view(db, program_id=world.program_a, sheet_id=sheet.id)
    line = view.lines[0]
    assert (line.original, line.effective, len(line.corrections)) == (first, first, 3)
    assert view.n_corrections == 3
    assert kept_counts(db) == effective_counts(db)


def test_every_statistic_reads_the_corrected_level(db, world):
    """Round report, score rows, export, profile, cohort counts, anchor summary, drift series and the
    qualification rows all see the correction."""
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    submit(db, world, "assessor2", 0)
    cid = world.criteria[0]
    key_level = world.keys[world.anchors[0]][0]

    def exact(overview):  # type: ignore[no-untyped-def]
        return overview.report.accuracy.by_rater[world.ids["assessor"]].exact.count

    before = reports.round_overview(db, program_id=world.program_a, round_id=world.round_id, n_boot=50)
    profile_before = profiles.assessor_profile(db, program_id=world.program_a, user_id=world.ids["assessor"])
    overview_before = profiles.program_overview(db, program_id=world.program_a)
    assert exact(before) == len(world.criteria) - 1
    db.rollback()

    correct(db, world, sheet.id, key_level)

    after = reports.round_overview(db, program_id=world.program_a, round_id=world.round_id, n_boot=50)
    assert exact(after) == len(world.criteria)  # a new cache key: not the cached report
    assert after.n_corrections == 1
    assert next(line for line in after.lines if line.user_id == world.ids["assessor"]).n_corrections == 1

    rows = reports.round_score_rows(db, world.round_id)
    mine = (rows.assessor == world.ids["assessor"]) & (rows.criterion == cid)
    assert rows.level[mine].tolist() == [key_level]

    profile_after = profiles.assessor_profile(db, program_id=world.program_a, user_id=world.ids["assessor"])
    assert profile_after != profile_before
    overview_after = profiles.program_overview(db, program_id=world.program_a)
    # Two assessors, one anchor: before, they disagreed on one criterion; now they agree everywhere.
    assert overview_before.rounds[0].alpha.value != overview_after.rounds[0].alpha.value
    assert kept_counts(db) == effective_counts(db)

    assessors, crit, levels = anchors.certified_scores(db, db.get(Anchor, world.anchors[0]))
    assert levels[(assessors == world.ids["assessor"]) & (crit == cid)].tolist() == [key_level]

    series = drift.calibration_series(db, world.program_a)
    s = series[0]
    assert s.level[(s.assessor == world.ids["assessor"]) & (s.criterion == cid)].tolist() == [key_level]

    given, key = certification.accuracy_rows(db, world.round_id, world.ids["assessor"])
    assert (given == key).all()

    export = exports.round_export(db, program_id=world.program_a, round_id=world.round_id, table="scores")
    lines = export.text.splitlines()
    header = lines[0].split(",")
    corrected = [
        dict(zip(header, line.split(","), strict=True))
        for line in lines[1:]
        if dict(zip(header, line.split(","), strict=True))["corrections"] != "0"
    ]
    assert len(corrected) == 1
    assert corrected[0]["level"] == str(key_level)
    assert corrected[0]["submitted_level"] == str(off_by_one(world)[0])
    assert corrected[0]["corrections"] == "1"


def test_the_assessor_feedback_shows_the_correction_and_its_reason(db, world):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    key_level = world.keys[world.anchors[0]][0]
    correct(db, world, sheet.id, key_level)
    db.expire_all()
    fb = feedback(
        db, db.get(Round, world.round_id), assessor_id=world.ids["assessor"], anchor_id=world.anchors[0]
    )
    first = fb.criteria[0]
    assert first.your_level == key_level and first.difference == 0
    assert first.submitted_level == off_by_one(world)[0]
    assert [(n.from_level, n.to_level, n.reason) for n in first.corrections] == [
        (off_by_one(world)[0], key_level, REASON)
    ]
    assert all(not c.corrections for c in fb.criteria[1:])
    assert fb.n_exact == len(world.criteria)


def test_the_correction_is_audited_and_the_chain_still_verifies(db, world):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    c = correct(db, world, sheet.id, world.keys[world.anchors[0]][0])
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "sheet.correct"))
    assert event.actor_id == world.ids["trainer"] and event.program_id == world.program_a
    assert (event.object_type, event.object_id, event.request_id) == ("score_sheet", str(sheet.id), "req-fix")
    detail = json.loads(event.detail_json)
    assert detail["correction_id"] == c.id and detail["criterion_id"] == world.criteria[0]
    assert (detail["from"], detail["to"]) == (c.previous_level_value, c.level_value)
    assert verify_chain(db).ok


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"reason": "   short  "}, "reason", "at least 10 characters"),
        ({"reason": "x" * 2001}, "reason", "at most 2,000"),
        ({"reason": "A reason with a NUL \x00 inside"}, "reason", "control character"),
        ({"level_value": 99}, "level", "levels"),
        ({"criterion_id": -1}, "criterion", "criteria"),
        ({"level_value": "submitted"}, "level", "already stands at"),
    ],
)
def test_bad_corrections_are_refused_and_write_nothing(db, world, change, field, message):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    args = {
        "program_id": world.program_a,
        "sheet_id": sheet.id,
        "criterion_id": world.criteria[0],
        "level_value": world.keys[world.anchors[0]][0],
        "reason": REASON,
        **change,
    }
    if args["level_value"] == "submitted":
        args["level_value"] = off_by_one(world)[0]
    audit_before = db.scalar(select(func.count(AuditEvent.id)))
    with pytest.raises(InvalidInput) as err:
        corrections.correct_score(db, trainer(world), **args)
    db.rollback()
    assert any(message in m for m in err.value.field_errors[field]), err.value.field_errors
    assert db.scalar(select(func.count(ScoreCorrection.id))) == 0
    assert db.scalar(select(func.count(AuditEvent.id))) == audit_before


def test_another_programs_sheet_is_not_found(db, world):
    from calibration.services.scoring import submit_sheet

    sheet = submit_sheet(
        db,
        Member(world.ids["assessor_b"], world.program_b),
        round_id=world.round_b,
        anchor_id=world.anchor_b,
        levels=_levels_b(db, world),
        notes="",
    )
    db.commit()
    with pytest.raises(NotFound):
        corrections.correct_score(
            db,
            trainer(world),
            program_id=world.program_a,
            sheet_id=sheet.id,
            criterion_id=world.criteria[0],
            level_value=1,
            reason=REASON,
        )
    with pytest.raises(NotFound):
        corrections.sheet_view(db, program_id=world.program_a, sheet_id=sheet.id)
    with pytest.raises(NotFound):  # program B's assessor, program A's round
        corrections.assessor_sheets(
            db, program_id=world.program_a, round_id=world.round_id, user_id=world.ids["assessor_b"]
        )
    assert db.scalar(select(func.count(ScoreCorrection.id))) == 0


def _levels_b(db, world) -> dict[int, int]:  # type: ignore[no-untyped-def]
    from calibration.models import AnchorKeyEntry, AnchorKeyVersion

    criteria = db.scalars(
        select(AnchorKeyEntry.criterion_id)
        .join(AnchorKeyVersion, AnchorKeyVersion.id == AnchorKeyEntry.key_version_id)
        .where(AnchorKeyVersion.anchor_id == world.anchor_b)
    ).all()
    return dict.fromkeys(criteria, 2)


def test_corrections_are_immutable_even_to_raw_sql(db, world, owner_database_url):
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    correct(db, world, sheet.id, world.keys[world.anchors[0]][0])
    db.commit()
    changes = (
        "UPDATE score_correction SET reason = 'forged'",
        "UPDATE score_correction SET level_value = previous_level_value",
        "DELETE FROM score_correction",
    )
    for statement in changes:
        # PostgreSQL refuses the app's role by privilege before the trigger is reached.
        with pytest.raises(Exception, match=r"immutable|permission denied"):
            db.execute(text(statement))
        db.rollback()
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(Exception, match=r"immutable|permission denied"):
            db.execute(text("TRUNCATE score_correction CASCADE"))
        db.rollback()
        owner = create_engine(owner_database_url)  # the trigger refuses even the owner
        try:
            with owner.connect() as conn:
                for statement in (*changes, "TRUNCATE score_correction CASCADE"):
                    with pytest.raises(Exception, match="immutable"):
                        conn.execute(text(statement))
                    conn.rollback()
        finally:
            owner.dispose()
    else:
        # A row that would follow the score (next step, from the current level) but reuses the id:
        # REPLACE must delete the old row first, and that delete is refused.
        row = dict(db.execute(text("SELECT * FROM score_correction LIMIT 1")).mappings().first())
        back = db.execute(
            text("SELECT level_id FROM criterion_score WHERE id = :i"), {"i": row["criterion_score_id"]}
        )
        row.update(
            seq=2,
            previous_level_value=row["level_value"],
            level_value=row["previous_level_value"],
            level_id=back.scalar(),
        )
        cols = ", ".join(row)
        params = ", ".join(f":{k}" for k in row)
        with pytest.raises(Exception, match="immutable"):
            db.execute(text(f"REPLACE INTO score_correction ({cols}) VALUES ({params})"), row)
        db.rollback()
    assert db.scalar(select(ScoreCorrection.reason)) == REASON


@pytest.mark.parametrize("broken", ["seq", "previous", "criterion", "level"])
def test_raw_inserts_that_do_not_follow_the_score_are_refused(db, world, broken):
    """The database itself refuses a correction that skips a step, starts from the wrong level, names
    another criterion than its score's, or whose level value is not its level's: the counts and the
    history can never disagree with the scores."""
    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    score = db.scalar(
        select(CriterionScore).where(
            CriterionScore.sheet_id == sheet.id, CriterionScore.criterion_id == world.criteria[0]
        )
    )
    from calibration.models import Level

    target = world.keys[world.anchors[0]][0]
    level_id = db.scalar(
        select(Level.id).where(Level.rubric_version_id == world.rubric_id, Level.value == target)
    )
    values = {
        "criterion_score_id": score.id,
        "seq": 2 if broken == "seq" else 1,
        "sheet_id": sheet.id,
        "round_id": world.round_id,
        "criterion_id": world.criteria[1] if broken == "criterion" else world.criteria[0],
        "previous_level_value": (score.level_value % 4) + 1 if broken == "previous" else score.level_value,
        "level_id": level_id,
        "level_value": target
        if broken != "level"
        else next(v for v in world.levels if v not in (target, score.level_value)),
        "reason": REASON,
        "corrected_by_id": world.ids["trainer"],
        "corrected_at": "2026-12-01 12:00:00",
    }
    if values["previous_level_value"] == values["level_value"]:
        values["previous_level_value"] = next(
            v for v in world.levels if v not in (score.level_value, values["level_value"])
        )
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    counts = kept_counts(db)
    with pytest.raises(Exception, match="does not follow its score"):
        db.execute(text(f"INSERT INTO score_correction ({cols}) VALUES ({params})"), values)
    db.rollback()
    assert db.scalar(select(func.count(ScoreCorrection.id))) == 0
    assert kept_counts(db) == counts


def test_a_closed_round_can_still_be_corrected(db, world):
    """Mistakes surface after a round closes: the record is what matters, not the window."""
    import datetime as dt

    from calibration.db import utcnow
    from calibration.models import RoundStatus

    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    rnd = db.get(Round, world.round_id)
    rnd.status = RoundStatus.CLOSED
    rnd.closes_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    c = correct(db, world, sheet.id, world.keys[world.anchors[0]][0])
    assert c.seq == 1


def test_two_trainers_correcting_one_score_at_once_queue_up(db, world):
    """The second correction waits for the first (a row lock on PostgreSQL, the write lock on
    SQLite) and then starts from the level the first one left: no lost step, counts still right."""
    import threading

    from sqlalchemy.orm import Session

    from calibration.db import write_intent

    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    first, key_level = off_by_one(world)[0], world.keys[world.anchors[0]][0]
    other = next(v for v in world.levels if v not in (first, key_level))
    engine = db.get_bind()
    results: dict[str, object] = {}

    def second() -> None:
        with write_intent(), Session(engine) as s2:
            try:
                results["b"] = corrections.correct_score(
                    s2,
                    Member(world.ids["admin"], world.program_a),
                    program_id=world.program_a,
                    sheet_id=sheet.id,
                    criterion_id=world.criteria[0],
                    level_value=other,
                    reason="The admin saw the same slip at the same time.",
                ).seq
                s2.commit()
            except Exception as exc:  # reported below
                results["b"] = exc

    with write_intent(), Session(engine) as s1:
        a = corrections.correct_score(
            s1,
            trainer(world),
            program_id=world.program_a,
            sheet_id=sheet.id,
            criterion_id=world.criteria[0],
            level_value=key_level,
            reason=REASON,
        )
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second correction did not wait for the first"
        s1.commit()
        assert a.seq == 1
    thread.join(timeout=30)
    assert results["b"] == 2, results
    db.expire_all()
    chain = db.execute(
        select(
            ScoreCorrection.seq, ScoreCorrection.previous_level_value, ScoreCorrection.level_value
        ).order_by(ScoreCorrection.seq)
    ).all()
    assert [tuple(r) for r in chain] == [(1, first, key_level), (2, key_level, other)]
    assert kept_counts(db) == effective_counts(db)


def test_downgrading_below_0007_recounts_from_the_submitted_scores(db, world, owner_database_url):
    from calibration.db.migrate import downgrade, upgrade

    sheet = submit(db, world, "assessor", 0, levels=off_by_one(world))
    submitted_counts = kept_counts(db)
    correct(db, world, sheet.id, world.keys[world.anchors[0]][0])
    assert kept_counts(db) != submitted_counts
    db.close()
    db.get_bind().dispose()
    downgrade(owner_database_url, "0006")  # migrations run as the owner role
    assert kept_counts(db) == submitted_counts
    db.close()  # end the read snapshot taken before the upgrade
    upgrade(owner_database_url)
    correct(db, world, sheet.id, world.keys[world.anchors[0]][0])  # the triggers are back
    assert kept_counts(db) == effective_counts(db) != submitted_counts

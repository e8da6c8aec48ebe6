"""The operational evidence stream: a reader lenient against co-readers in live scoring raises an
operational-stream flag; calibration flags are the same with or without live ratings; the flag's
page, the flag list and the assessor's text say which stream the evidence came from."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from calibration.models import (
    CertificationStatus,
    DriftFlag,
    EvidenceStream,
    FlagRule,
    Membership,
    Role,
    User,
)
from calibration.services.drift import evaluate_program
from calibration.services.drift_operational import STREAM_LEAD

from ..factories_operational import add_ratings, double_scored

NOW = dt.datetime(2026, 4, 2, 12, 0, tzinfo=dt.UTC)


def _readers(db, world, n=8):  # type: ignore[no-untyped-def]
    ids = []
    for i in range(n):
        u = User(email=f"reader{i}@a.test", name=f"Reader {i}", password_hash="x")
        db.add(u)
        db.flush()
        db.add(
            Membership(
                user_id=u.id,
                program_id=world.program_a,
                role=Role.ASSESSOR,
                certification_status=CertificationStatus.CERTIFIED,
                # one expired certification: a calibration-stream flag to compare
                certification_expires_at=NOW - dt.timedelta(days=3) if i == n - 1 else None,
            )
        )
        ids.append(u.id)
    db.commit()
    return ids


def _calibration_flags(db, world):  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(DriftFlag.rule, DriftFlag.user_id, DriftFlag.evidence_hash, DriftFlag.summary).where(
            DriftFlag.program_id == world.program_a, DriftFlag.stream == EvidenceStream.CALIBRATION
        )
    ).all()
    return sorted(tuple(r) for r in rows)


def test_lenient_reader_raises_an_operational_flag_and_calibration_flags_stay(db, world):
    readers = _readers(db, world)
    evaluate_program(db, world.program_a, now=NOW)
    before = _calibration_flags(db, world)
    assert before and {r[0] for r in before} == {FlagRule.EXPIRY}
    db.rollback()  # evaluate again from nothing, now with live double scoring

    rows = double_scored(
        readers=readers,
        criteria=world.criteria[:3],
        levels=world.levels,
        submissions=360,
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        days=89,
        lenient={readers[0]: 1},
        seed=7,
    )
    add_ratings(db, world.program_a, world.rubric_id, rows)
    created = evaluate_program(db, world.program_a, now=NOW).flags
    db.commit()
    assert _calibration_flags(db, world) == before
    operational = [f for f in created if f.stream == EvidenceStream.OPERATIONAL]
    assert operational, [f.summary for f in created]
    mine = [f for f in operational if f.user_id == readers[0]]
    assert mine and all(f.direction == "lenient" for f in mine)
    assert all(f.user_id == readers[0] for f in operational if f.direction == "lenient")
    flag = mine[0]
    assert flag.rule in (FlagRule.LEAN, FlagRule.OWN_DRIFT) and flag.round_id is None
    assert flag.assessor_text.startswith(STREAM_LEAD)
    evidence = json.loads(flag.evidence_json)
    assert evidence["stream"] == "operational" and evidence["rubric"] == world.rubric_id
    # the same evidence never flags twice
    again = evaluate_program(db, world.program_a, now=NOW).flags
    live_again = [f for f in again if f.stream == EvidenceStream.OPERATIONAL]
    assert [f.summary for f in live_again if f.rule == FlagRule.LEAN] == []
    # (a reader back to their co-readers' level after a lean may be a change from their own
    # earlier level: the own-drift rule restarts only after a reviewed own-drift flag, as in rounds)
    assert all(f.rule == FlagRule.OWN_DRIFT and f.direction == "severe" for f in live_again)


def test_pages_say_which_stream_the_evidence_came_from(client, db, world, login):
    readers = _readers(db, world)
    rows = double_scored(
        readers=readers,
        criteria=world.criteria[:3],
        levels=world.levels,
        submissions=360,
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        days=89,
        lenient={readers[0]: 1},
        seed=7,
    )
    add_ratings(db, world.program_a, world.rubric_id, rows)
    created = evaluate_program(db, world.program_a, now=NOW).flags
    db.commit()
    live = next(f for f in created if f.stream == EvidenceStream.OPERATIONAL and f.user_id == readers[0])
    expiry = next(f for f in created if f.rule == FlagRule.EXPIRY)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/flags/{live.id}").get_data(as_text=True)
    assert "Evidence: second reads in live scoring" in page
    assert "Months it rests on" in page and "other reader of the same submissions" in page
    calib = client.get(f"/trainer/flags/{expiry.id}").get_data(as_text=True)
    assert "Evidence: calibration rounds" in calib and "Rounds it rests on" in calib
    listing = client.get("/trainer/flags").get_data(as_text=True)
    assert "Evidence: second reads in live scoring" in listing and "Evidence: calibration rounds" in listing


def test_a_reviewed_live_flag_restarts_the_series_after_its_months(db, world):
    from calibration.services.context import Member
    from calibration.services.flags import dismiss

    readers = _readers(db, world)
    rows = double_scored(
        readers=readers,
        criteria=world.criteria[:3],
        levels=world.levels,
        submissions=360,
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        days=89,
        lenient={readers[0]: 1},
        seed=7,
    )
    add_ratings(db, world.program_a, world.rubric_id, rows)
    created = evaluate_program(db, world.program_a, now=NOW).flags
    db.commit()
    live = [f for f in created if f.stream == EvidenceStream.OPERATIONAL]
    trainer = Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER)
    for flag in live:
        dismiss(db, trainer, program_id=world.program_a, flag_id=flag.id, reason="Talked it through.")
    db.commit()
    # a calm April follows: judged alone (the lean restarts after the reviewed months) it shows no
    # lean; read together with the lenient months before it, it would flag the lean again
    calm = double_scored(
        readers=readers,
        criteria=world.criteria[:3],
        levels=world.levels,
        submissions=150,
        start=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
        days=25,
        seed=8,
        prefix="april",
    )
    add_ratings(db, world.program_a, world.rubric_id, calm)
    again = evaluate_program(db, world.program_a, now=NOW).flags
    live_again = [f for f in again if f.stream == EvidenceStream.OPERATIONAL]
    assert [f.summary for f in live_again if f.rule == FlagRule.LEAN] == []
    # (a reader back to their co-readers' level after a lean may be a change from their own
    # earlier level: the own-drift rule restarts only after a reviewed own-drift flag, as in rounds)
    assert all(f.rule == FlagRule.OWN_DRIFT and f.direction == "severe" for f in live_again)

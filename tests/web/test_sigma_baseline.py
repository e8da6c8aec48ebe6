"""Issue 17: the control charts' limits rest on the pool sigma the drift evaluation recorded (the
values in force), on both databases: the estimate equals ``calibration.stats`` over the rows it
says it covers, a new round and evaluation record a new one that the pages then use, views never
write one, and the flag page and profile read with the same number of queries at 10 and 300
assessors."""

from __future__ import annotations

import datetime as dt
import json
from html import unescape
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AuditEvent,
    DriftFlag,
    FlagRule,
    FlagStatus,
    PoolSigmaEstimate,
    Program,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.services import drift, sigma_baseline
from calibration.services.drift_series import Series, calibration_series
from calibration.stats import pool_sigma
from calibration.stats.ewma import EWMA_L, EWMA_LAMBDA, PoolSigma, ewma_drift

from ..factories import make_round
from ..factories_drift import History, build_history
from ..factories_drift import pool as make_pool
from ..factories_reports import add_assessors, insert_sheets, noisy_scores
from .test_query_counts import page_queries
from .test_reports import past_round
from .test_trainer_workspace import control_rows


def covered_rows(db: Any, row: PoolSigmaEstimate) -> Series:
    """The calibration score rows an estimate says it was computed from."""
    [series] = [s for s in calibration_series(db, row.program_id) if s.rubric.id == row.rubric_version_id]
    keep = (
        np.isin(series.round_id, json.loads(row.round_ids_json))
        & np.isin(series.assessor, json.loads(row.assessor_ids_json))
        & (series.sheet <= row.last_sheet_id)
    )
    return series.mask(keep)


def library_sigma(rows: Series) -> PoolSigma:
    return pool_sigma(
        rows.pos, rows.assessor, rows.sheet, rows.level, rows.key,
        levels=rows.rubric.level_values, criteria=rows.criterion,
    )  # fmt: skip


def expected_limits(
    db: Any, program_id: int, user_id: int, sigma: PoolSigma
) -> tuple[list[float], list[float]]:
    """The overall chart's EWMA and upper limits from calibration.stats with this sigma."""
    [series] = calibration_series(db, program_id)
    mine = series.mask(series.assessor == user_id)
    d = ewma_drift(
        mine.pos, mine.assessor, mine.sheet, mine.level, mine.key, levels=series.rubric.level_values,
        criteria=mine.criterion, sigma=sigma, lam=EWMA_LAMBDA, L=EWMA_L,
    ).overall[user_id]  # fmt: skip
    return list(d.path), list(d.limits)


def one_more_round(db: Any, world: Any, history: History, people: list[int], *, seed: int) -> int:
    """A closed calibration round after the history's, scored noisily (a wider spread than before)."""
    rng = np.random.default_rng(seed)
    opens = utcnow() - dt.timedelta(days=3)
    rnd = make_round(
        db, db.get(Program, world.program_a), db.get(RubricVersion, world.rubric_id),
        [db.get(Anchor, a) for a in history.anchors], [db.get(User, u) for u in people],
        name="Calibration late", kind=RoundKind.CALIBRATION, status=RoundStatus.CLOSED,
        opens_at=opens, closes_at=opens + dt.timedelta(days=2),
    )  # fmt: skip
    db.commit()
    scores = {
        (a, u): [int(np.clip(k + rng.integers(-1, 2), 1, 4)) for k in history.keys[a]]
        for u in people
        for a in history.anchors
    }
    insert_sheets(db, rnd.id, scores, start=opens + dt.timedelta(hours=1))
    return rnd.id


def estimates(db: Any) -> list[PoolSigmaEstimate]:
    rows = list(db.scalars(select(PoolSigmaEstimate).order_by(PoolSigmaEstimate.id)))
    db.rollback()
    return rows


def test_a_new_round_and_drift_evaluation_record_a_new_estimate_the_profile_then_uses(
    client: Any, db: Any, world: Any, login: Any
) -> None:
    people = make_pool(db, world, 7)
    history = build_history(db, world, n_rounds=6, assessors=people, seed=5, noise=0.1)
    who = people[2]
    login(world.emails["trainer"])
    url = f"/trainer/assessors/{who}"

    # Before any evaluation the page computes the pool's sigma itself, says so, and writes nothing.
    html = unescape(client.get(url).get_data(as_text=True))
    assert "computed for this page (no drift evaluation has recorded an estimate yet)" in html
    assert estimates(db) == []

    drift.evaluate_program(db, world.program_a)
    db.commit()
    [first] = estimates(db)
    [series] = calibration_series(db, world.program_a)
    db.rollback()
    assert json.loads(first.round_ids_json) == series.round_ids
    assert set(history.rounds) <= set(series.round_ids)
    assert sorted(json.loads(first.assessor_ids_json)) == sorted(people)
    # The estimate is calibration.stats' pool sigma over exactly the rows it says it covers.
    covered = covered_rows(db, first)
    assert np.unique(covered.round_id).tolist() == sorted(history.rounds)
    expected = library_sigma(covered)
    assert first.per_sheet == pytest.approx(expected.per_sheet, abs=1e-12)
    assert {int(k): v for k, v in json.loads(first.by_criterion_json).items()} == pytest.approx(
        dict(expected.by_criterion), abs=1e-12
    )
    assert (first.df, first.n_sheets, first.n_scores) == (expected.df, expected.n_sheets, expected.n_scores)
    audited = db.scalar(select(AuditEvent).where(AuditEvent.action == "drift.pool_sigma"))
    assert audited is not None and audited.object_id == str(first.id)
    db.rollback()

    # The chart's limits are the library's with that sigma; the page says where they come from.
    html = unescape(client.get(url).get_data(as_text=True))
    path, limits = expected_limits(db, world.program_a, who, expected)
    rows = control_rows(html, "control-1-table")
    assert [r[1] for r in rows] == pytest.approx(path, abs=1e-12)
    assert [r[3] for r in rows] == pytest.approx(limits, abs=1e-12)
    assert "as the drift evaluation of" in html
    first_name, last_name = series.round_names[series.round_ids[0]], series.round_names[series.round_ids[-1]]
    assert (
        f"{first.n_sheets} score sheets of 7 certified assessors in {len(series.round_ids)} calibration "
        f"rounds, “{first_name}” to “{last_name}”"
    ) in html

    # The same data evaluated again: nothing new is recorded.
    drift.evaluate_program(db, world.program_a)
    db.commit()
    assert [e.id for e in estimates(db)] == [first.id]

    # A new round: until the drift evaluation runs, the limits in force stay the recorded ones, and
    # neither the pages nor an evaluation of one assessor (after their sheet) record an estimate.
    late = one_more_round(db, world, history, people, seed=9)
    html = unescape(client.get(url).get_data(as_text=True))
    client.get(f"/trainer/rounds/{late}")
    path, limits = expected_limits(db, world.program_a, who, expected)
    rows = control_rows(html, "control-1-table")
    assert rows[-1][0] == "Calibration late"
    assert [r[3] for r in rows] == pytest.approx(limits, abs=1e-12)
    drift.evaluate_program(db, world.program_a, user_ids=[who])
    db.commit()
    assert [e.id for e in estimates(db)] == [first.id]

    # The evaluation after the round records a new estimate over it, and the page uses that.
    drift.evaluate_program(db, world.program_a)
    db.commit()
    old, new = estimates(db)
    assert old.id == first.id
    [series] = calibration_series(db, world.program_a)
    assert late in series.round_ids and json.loads(new.round_ids_json) == series.round_ids
    renewed = library_sigma(covered_rows(db, new))
    assert new.per_sheet == pytest.approx(renewed.per_sheet, abs=1e-12)
    assert new.per_sheet != pytest.approx(first.per_sheet, abs=1e-6)
    html = unescape(client.get(url).get_data(as_text=True))
    path, limits = expected_limits(db, world.program_a, who, renewed)
    rows = control_rows(html, "control-1-table")
    assert [r[1] for r in rows] == pytest.approx(path, abs=1e-12)
    assert [r[3] for r in rows] == pytest.approx(limits, abs=1e-12)
    assert f"in {len(series.round_ids)} calibration rounds, “Calibration 1” to" in html
    assert db.scalar(select(func.count()).select_from(PoolSigmaEstimate)) == 2


def test_flag_without_its_own_sigma_uses_the_recorded_estimate(
    client: Any, db: Any, world: Any, login: Any
) -> None:
    people = make_pool(db, world, 6)
    history = build_history(db, world, n_rounds=5, assessors=people, seed=11, noise=0.1)
    # The service the bench (or a bulk import) uses records what the drift evaluation would: the
    # evaluation after it finds the same data and estimate, and records nothing more.
    [recorded] = sigma_baseline.record_program_estimates(db, world.program_a)
    db.commit()
    drift.evaluate_program(db, world.program_a)
    db.commit()
    [estimate] = estimates(db)
    assert estimate.id == recorded.id
    who = people[1]
    flag = DriftFlag(
        program_id=world.program_a, user_id=who, criterion_id=None, round_id=history.rounds[-1],
        rule=FlagRule.PASS_RULE, status=FlagStatus.OPEN, direction="severe", statistic="pass rule",
        value=0.5, threshold=0.7, window_json="[]", evidence_json="{}", parameters_json="{}",
        summary="A round below the pass rule.", assessor_text="", evidence_hash="sigma-baseline-flag",
    )  # fmt: skip
    db.add(flag)
    db.commit()
    flag_id = flag.id
    sigma = library_sigma(covered_rows(db, estimate))
    path, limits = expected_limits(db, world.program_a, who, sigma)
    db.rollback()
    login(world.emails["trainer"])
    html = unescape(client.get(f"/trainer/flags/{flag_id}").get_data(as_text=True))
    rows = control_rows(html, "flag-control-1-table")
    assert [r[1] for r in rows] == pytest.approx(path, abs=1e-12)
    assert [r[3] for r in rows] == pytest.approx(limits, abs=1e-12)
    assert "as the drift evaluation of" in html and "“Calibration 1” to" in html


def test_flag_page_and_profile_read_with_the_same_queries_at_10_and_300_assessors(
    app: Any, client: Any, login: Any, world: Any, db: Any
) -> None:
    def flag_for(user_id: int, round_id: int) -> int:
        flag = DriftFlag(
            program_id=world.program_a, user_id=user_id, criterion_id=None, round_id=round_id,
            rule=FlagRule.OWN_DRIFT, status=FlagStatus.OPEN, direction="lenient", statistic="CUSUM",
            value=1.0, threshold=0.5, window_json="[]", evidence_json="{}", parameters_json="{}",
            summary="Moved from their own level.", assessor_text="", evidence_hash=f"count-{user_id}",
        )  # fmt: skip
        db.add(flag)
        db.commit()
        return flag.id

    def counts(user_id: int, flag_id: int) -> dict[str, int]:
        out = {}
        for name, url in (
            ("profile", f"/trainer/assessors/{user_id}"),
            ("flag", f"/trainer/flags/{flag_id}"),
        ):
            out[f"{name} cold"] = page_queries(app, client, url, cold=True)
            out[f"{name} warm"] = page_queries(app, client, url, cold=False)
        return out

    small = add_assessors(db, world.program_a, 10, prefix="Small")
    small_round = past_round(db, world, small, name="Small round", days_ago=60)
    insert_sheets(db, small_round, noisy_scores(world, small, seed=1))
    drift.evaluate_program(db, world.program_a)
    db.commit()
    assert len(estimates(db)) == 1
    login(world.emails["trainer"])
    small_counts = counts(small[0], flag_for(small[0], small_round))

    large = add_assessors(db, world.program_a, 290, prefix="Large")
    large_round = past_round(db, world, [*small, *large], name="Large round", days_ago=30)
    insert_sheets(db, large_round, noisy_scores(world, [*small, *large], seed=2))
    drift.evaluate_program(db, world.program_a)
    db.commit()
    [_, latest] = estimates(db)
    assert len(json.loads(latest.assessor_ids_json)) >= 300
    assert counts(large[0], flag_for(large[0], large_round)) == small_counts

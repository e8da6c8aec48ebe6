"""Drift flags from stored scores: the expected rule with the right evidence, no false alarm for a
stable assessor over 20 rounds, "too few to judge" never flags, cohort drift names its weak spots."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from calibration.models import AuditEvent, Criterion, DriftFlag, FlagRule, ScoreSheet
from calibration.services import drift, flags

from ..factories_drift import build_history, pool


def _flags(db, user_id=None):  # type: ignore[no-untyped-def]
    stmt = select(DriftFlag)
    if user_id is not None:
        stmt = stmt.where(DriftFlag.user_id == user_id)
    return list(db.scalars(stmt.order_by(DriftFlag.id)))


def test_an_assessor_turning_lenient_is_flagged_as_drift_with_its_evidence(app, world, db):
    """Issue 15: a step change from the assessor's own level is a drift flag (self-starting CUSUM),
    storing its parameters and nominal false-alarm rate."""
    people = pool(db, world, 7)
    drifter = people[2]
    history = build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    result = drift.evaluate_program(db, world.program_a)
    db.commit()
    mine = _flags(db, drifter)
    own = [f for f in mine if f.rule == FlagRule.OWN_DRIFT and f.criterion_id is None]
    assert len(own) == 1, [(f.rule, f.criterion_id) for f in mine]
    flag = own[0]
    assert flag.direction == "lenient"
    signal = history.rounds.index(flag.round_id)
    assert 8 <= signal <= 10  # within three rounds of the drift starting
    assert flag.value is not None and flag.threshold is not None and flag.value > flag.threshold
    evidence = json.loads(flag.evidence_json)
    window = json.loads(flag.window_json)
    assert window == history.rounds[: signal + 1]
    assert evidence["change_round"] == history.rounds[8] and 0.7 < evidence["shift"] < 1.3
    # The evidence is exactly the drifter's sheets in the rounds up to the signal.
    expected = set(
        db.scalars(
            select(ScoreSheet.id).where(
                ScoreSheet.assessor_id == drifter, ScoreSheet.round_id.in_(history.rounds[: signal + 1])
            )
        )
    )
    assert set(evidence["sheet_ids"]) == expected
    params = json.loads(flag.parameters_json)
    assert params["rule"] == "drift_overall" and params["k"] == 0.5 and params["prior_df"] == 20.0
    assert params["nominal_false_alarm"] == 0.018 and params["horizon_rounds"] == 20
    assert params["budget_total"] == 0.05 and params["h"] == flag.threshold
    assert params["min_anchors"] == 5 and params["sigma"]["per_sheet"] > 0
    assert "moved higher than your own earlier level, by about one level" in flag.assessor_text
    assert "lean" not in flag.assessor_text and "Drift overall" in flag.summary
    assert "at most 1.8% of the time over 20 rounds" in flag.summary
    # The pass rule (a) fired for the drifter too, at the budget's confidence; no stable assessor of
    # the pool is flagged by any drift rule.
    passed_rule = [f for f in mine if f.rule == FlagRule.PASS_RULE]
    assert passed_rule and all(
        json.loads(f.parameters_json)["nominal_false_alarm"] == 0.005 for f in passed_rule
    )
    drift_rules = {FlagRule.PASS_RULE, FlagRule.OWN_DRIFT}
    assert {f.user_id for f in result.flags if f.rule in drift_rules} == {drifter}
    assert db.scalar(select(func.count()).where(AuditEvent.action == "drift.flag")) == len(result.flags)


def test_drift_on_one_criterion_names_the_criterion(app, world, db):
    people = pool(db, world, 7)
    drifter = people[3]
    build_history(
        db, world, n_rounds=10, assessors=people, seed=2,
        bias={drifter: lambda t, c: 1 if (t >= 6 and c == 1) else 0},
    )  # fmt: skip
    drift.evaluate_program(db, world.program_a)
    db.commit()
    crit = [f for f in _flags(db, drifter) if f.rule == FlagRule.OWN_DRIFT and f.criterion_id is not None]
    [on_c2] = [f for f in crit if f.criterion_id == world.criteria[1]]
    assert on_c2.direction == "lenient"
    title = db.get(Criterion, world.criteria[1]).title
    assert f"your scores on {title} moved higher than your own earlier level" in on_c2.assessor_text
    params = json.loads(on_c2.parameters_json)
    assert params["rule"] == "drift_criterion" and params["criteria_sharing_budget"] == len(world.criteria)
    assert params["nominal_false_alarm"] == 0.012 / len(world.criteria)


def test_a_stable_assessor_over_twenty_rounds_is_not_flagged(app, world, db):
    """Seeded: seven stable assessors, 20 rounds, six drift charts each plus rule (a), all in one
    false-alarm budget (bench/drift_sim.py measures the rate): no flag and no lean."""
    people = pool(db, world, 7)
    build_history(db, world, n_rounds=20, assessors=people, seed=3)
    result = drift.evaluate_program(db, world.program_a)
    db.commit()
    assert result.flags == []


def test_too_few_to_judge_never_flags(app, world, db):
    """One round of four anchors (20 criterion-scores): below the minimum of five anchors."""
    people = pool(db, world, 4)
    build_history(
        db, world, n_rounds=1, assessors=people, seed=4, anchors_per_round=4,
        bias={p: (lambda t, c: 2) for p in people},
    )  # fmt: skip
    result = drift.evaluate_program(db, world.program_a)
    assert result.flags == []


def test_cohort_drift_names_the_weak_anchors_and_criteria(app, world, db):
    """Issue 15: decided on the interval of the round's alpha against the program's baseline, so the
    baseline needs rounds enough to know how much alpha varies (eight here)."""
    people = pool(db, world, 8)
    weak_criterion = 2
    history = build_history(
        db, world, n_rounds=9, assessors=people, seed=5,
        random_scores=lambda t, a, c: t == 8 and (c == weak_criterion or a in (0, 1)),
    )  # fmt: skip
    drift.evaluate_program(db, world.program_a)
    db.commit()
    [flag] = [f for f in _flags(db) if f.rule == FlagRule.COHORT]
    assert flag.user_id is None and flag.round_id == history.rounds[8]
    evidence = json.loads(flag.evidence_json)
    assert evidence["lowest_criteria"][0][0] == world.criteria[weak_criterion]
    assert {a for a, _ in evidence["lowest_anchors"][:2]} == set(history.anchors[:2])
    assert "History 1" in flag.summary and "History 2" in flag.summary
    assert (flag.value is not None and flag.value < 0.667) or "below_baseline" in evidence["triggers"]
    params = json.loads(flag.parameters_json)
    assert params["nominal_false_alarm"] == {"alpha_minimum": 0.005, "alpha_baseline": 0.01}
    assert evidence["floor"] is not None and evidence["baseline"] is not None


def test_the_same_evidence_never_raises_a_second_flag(app, world, db):
    people = pool(db, world, 7)
    drifter = people[2]
    history = build_history(
        db, world, n_rounds=12, assessors=people, seed=1, bias={drifter: lambda t, c: 1 if t >= 8 else 0}
    )
    first = drift.evaluate_program(db, world.program_a)
    db.commit()
    again = drift.evaluate_program(db, world.program_a)
    db.commit()
    assert first.flags and again.flags == []
    # After a dismissal the history up to the flagged round does not flag again either.
    trainer = __import__("tests.factories_rounds", fromlist=["trainer"]).trainer(world)
    for f in _flags(db, drifter):
        flags.dismiss(db, trainer, program_id=world.program_a, flag_id=f.id, reason="known; discussed")
    db.commit()
    reviewed = [f for f in _flags(db, drifter) if f.rule != FlagRule.LEAN]  # a lean restarts only leans
    last = max(history.rounds.index(f.round_id) for f in reviewed if f.round_id)
    later = drift.evaluate_program(db, world.program_a).flags
    db.commit()
    # The drift goes on, so later rounds may flag again, but only on evidence after the reviewed flags.
    for f in later:
        if f.rule == FlagRule.LEAN:
            continue
        assert all(history.rounds.index(r) > last for r in json.loads(f.window_json)), f.summary
        sheets = set(json.loads(f.evidence_json).get("sheet_ids", []))
        assert not sheets & {s for g in reviewed for s in json.loads(g.evidence_json).get("sheet_ids", [])}

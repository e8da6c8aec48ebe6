"""Issue 15 through ``evaluate-drift``: a stable lean is a lean finding (feedback) and never a drift
flag; a step change is a drift flag with its parameters and nominal false-alarm rate; a round too
small to judge is left out and said so; a whole-cohort change is cohort drift with the individual
flags of its round shown under it; old issue-6 flags still render with their own numbers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from calibration.models import (
    CertificationStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Membership,
    Recalibration,
    Round,
)
from calibration.services.errors import InvalidInput
from calibration.services.flag_words import group_under_cohort
from calibration.services.flags import flag_lines
from calibration.services.policy import ProgramSettings

from ..conftest import post_form
from ..factories_drift import build_history, history_anchors, pool, set_drift_settings


def _flags(db, rule=None, user_id=None):  # type: ignore[no-untyped-def]
    stmt = select(DriftFlag).order_by(DriftFlag.id)
    if rule is not None:
        stmt = stmt.where(DriftFlag.rule == rule)
    if user_id is not None:
        stmt = stmt.where(DriftFlag.user_id == user_id)
    return list(db.scalars(stmt))


def _evaluate(runner) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["evaluate-drift"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_a_stable_lean_is_a_lean_finding_and_never_a_drift_flag(app, world, db, runner, client, login):
    """One level up on two of the five criteria in every round (0.4 levels on average): the same
    level throughout, so a lean and not drift (and no round clearly below the pass rule)."""
    people = pool(db, world, 7)
    leaner = people[3]
    build_history(
        db,
        world,
        n_rounds=10,
        assessors=people,
        seed=11,
        bias={leaner: lambda t, c: 1 if c in (0, 2) else 0},
    )
    output = _evaluate(runner)
    assert "0 new flag(s)" in output and "1 new lean finding(s): feedback for the assessor" in output
    db.rollback()
    mine = _flags(db, user_id=leaner)
    assert [f.rule for f in mine] == [FlagRule.LEAN], [(f.rule, f.summary) for f in mine]
    [finding] = mine
    assert finding.direction == "lenient" and finding.criterion_id is None
    evidence = json.loads(finding.evidence_json)
    low, high = evidence["ci"]
    assert 0.25 < low < evidence["mean"] < high  # decided on the interval, beyond the material size
    params = json.loads(finding.parameters_json)
    assert params["rule"] == "lean" and params["window"] == 5 and params["material"] == 0.25
    assert len(evidence["window_rounds"]) == 5
    assert "lean" in finding.assessor_text and "drift" not in finding.assessor_text
    assert "higher than the key" in finding.assessor_text
    assert finding.summary.startswith("Lean overall, not drift")
    # No drift flag for anyone in this stable program.
    assert [f for f in _flags(db) if f.rule != FlagRule.LEAN] == []

    # The trainer's page calls it a finding, explains it is not drift, and offers no recalibration.
    login(world.emails["trainer"])
    html = client.get(f"/trainer/flags/{finding.id}").get_data(as_text=True)
    assert f"Finding #{finding.id}" in html and "Lean, not drift" in html
    assert "Mark as discussed (no recalibration)" in html and "Confirm and start recalibration" not in html
    assert "not in the false-alarm budget" in html
    # Confirming it records the discussion and starts nothing.
    r = post_form(
        client, f"/trainer/flags/{finding.id}/confirm", {"confirm-reason": "Talked it through."},
        token_page=f"/trainer/flags/{finding.id}",
    )  # fmt: skip
    assert r.status_code == 302
    after = client.get(f"/trainer/flags/{finding.id}").get_data(as_text=True)
    assert "Lean marked as discussed" in after and "no recalibration was started" in after
    db.rollback()
    assert db.get(DriftFlag, finding.id).status == FlagStatus.CONFIRMED
    status = db.scalar(
        select(Membership.certification_status).where(
            Membership.user_id == leaner, Membership.program_id == world.program_a
        )
    )
    assert status == CertificationStatus.CERTIFIED
    assert db.scalar(select(Recalibration.id).where(Recalibration.user_id == leaner)) is None


def test_the_assessor_reads_a_lean_as_feedback(app, world, db, runner, client, login):
    people = pool(db, world, 7)
    me = world.ids["assessor"]
    build_history(
        db, world, n_rounds=8, assessors=people, seed=12, bias={me: lambda t, c: -1 if c in (1, 3) else 0}
    )
    _evaluate(runner)
    login(world.emails["assessor"])
    html = client.get("/sessions").get_data(as_text=True)
    assert "Feedback on your scoring level" in html and "not a flag" in html
    assert "lower than the key" in html and "a steady lean worth discussing" in html
    assert "No drift: your scores have not moved from your own earlier level" in html  # no drift flag
    assert "in line with the key" not in html  # the page never contradicts the lean


def test_a_step_change_is_a_drift_flag_with_its_rule_and_false_alarm_rate(
    app, world, db, runner, client, login
):
    people = pool(db, world, 7)
    drifter = people[4]
    history = build_history(
        db, world, n_rounds=10, assessors=people, seed=13, bias={drifter: lambda t, c: -1 if t >= 6 else 0}
    )
    _evaluate(runner)
    db.rollback()
    [flag] = _flags(db, FlagRule.OWN_DRIFT, drifter)[:1]
    assert flag.direction == "severe" and flag.criterion_id is None
    assert 6 <= history.rounds.index(flag.round_id) <= 8
    params = json.loads(flag.parameters_json)
    for key in ("k", "h", "prior_df", "nominal_false_alarm", "horizon_rounds", "budget_total", "sigma"):
        assert key in params, key
    assert params["nominal_false_alarm"] == 0.018 and params["budget_total"] == 0.05
    assert "moved lower than your own earlier level" in flag.assessor_text
    # Nobody else is flagged by a drift rule.
    assert {f.user_id for f in _flags(db) if f.rule in (FlagRule.OWN_DRIFT, FlagRule.PASS_RULE)} == {drifter}

    login(world.emails["trainer"])
    html = client.get(f"/trainer/flags/{flag.id}").get_data(as_text=True)
    assert "Drift: the assessor&#39;s scores changed from their own earlier level over time" in html
    assert "at most 1.8% of the time over 20 rounds, within a budget of 5% for all rules together" in html
    assert "Reference value k" in html and "Decision limit h" in html
    assert "Weight of the pool&#39;s spread, in degrees of freedom" in html and "1.80%" in html
    listing = client.get("/trainer/flags").get_data(as_text=True)
    # Listed on its own, or under a cohort finding of the same round (one drifter of seven moves the
    # cohort's level too).
    assert "Drift from own earlier level" in listing and f'href="/trainer/flags/{flag.id}"' in listing


def test_program_settings_change_the_rule_and_are_stored_with_the_flag(app, world, db, runner):
    people = pool(db, world, 7)
    drifter = people[4]
    set_drift_settings(
        db, world.program_a, budget_drift_overall=0.03, budget_drift_criterion=0.0, drift_prior_df=10
    )
    build_history(
        db, world, n_rounds=10, assessors=people, seed=13, bias={drifter: lambda t, c: -1 if t >= 6 else 0}
    )
    _evaluate(runner)
    db.rollback()
    own = _flags(db, FlagRule.OWN_DRIFT, drifter)
    assert own and all(f.criterion_id is None for f in own)  # a share of 0 turns the criterion charts off
    params = json.loads(own[0].parameters_json)
    assert params["nominal_false_alarm"] == 0.03 and params["prior_df"] == 10.0


def test_budget_shares_beyond_the_budget_are_refused():
    with pytest.raises(InvalidInput) as caught:
        ProgramSettings.from_json(json.dumps({"drift": {"budget_drift_overall": 0.04}}))
    assert "more than drift.budget_total" in caught.value.field_errors["drift.budget_total"][0]
    with pytest.raises(InvalidInput):
        ProgramSettings.from_json(json.dumps({"drift": {"budget_alpha_minimum": 1.5}}))
    settings = ProgramSettings.from_json(
        json.dumps({"drift": {"budget_total": 0.1, "budget_cohort_level": 0.07}})
    )
    assert settings.drift.cohort_budget.share("cohort_level") == 0.07


def test_a_round_too_small_to_judge_is_left_out_and_said_so(app, world, db, runner, client, login):
    """Eleven rounds; the sixth has four anchors (below the minimum of five). The drifter's flag rests
    on the other rounds and names the small one as too few to judge."""
    people = pool(db, world, 7)
    drifter = people[2]
    anchors = history_anchors(db, world, seed=14)
    bias = {drifter: lambda t, c: 1 if t >= 4 else 0}
    first = build_history(db, world, n_rounds=5, assessors=people, seed=14, anchors=anchors, bias=bias)
    small = build_history(
        db, world, n_rounds=1, assessors=people, seed=15, anchors=anchors, anchors_per_round=4,
        bias={drifter: lambda t, c: 1},
    )  # fmt: skip
    later = build_history(
        db, world, n_rounds=5, assessors=people, seed=16, anchors=anchors, bias={drifter: lambda t, c: 1}
    )
    # build_history dates each batch back from now: put the batches in the intended order.
    order = [*first.rounds, *small.rounds, *later.rounds]
    rounds = {r.id: r for r in db.scalars(select(Round).where(Round.id.in_(order)))}
    base = min(r.opens_at for r in rounds.values())
    for i, rid in enumerate(order):
        rounds[rid].opens_at = base + dt.timedelta(weeks=i)
        rounds[rid].closes_at = base + dt.timedelta(weeks=i, days=5)
    db.commit()
    _evaluate(runner)
    db.rollback()
    own = [f for f in _flags(db, FlagRule.OWN_DRIFT, drifter) if f.criterion_id is None]
    assert own, [(f.rule, f.summary) for f in _flags(db, user_id=drifter)]
    evidence = json.loads(own[0].evidence_json)
    assert small.rounds[0] in evidence["rounds"] and evidence["too_few_rounds"] == small.rounds
    assert all(f.round_id != small.rounds[0] for f in _flags(db))  # the small round flags nothing
    login(world.emails["trainer"])
    html = client.get(f"/trainer/flags/{own[0].id}").get_data(as_text=True)
    name = db.get(Round, small.rounds[0]).name
    assert f"<dt>Too few to judge</dt><dd>{name}: fewer anchors or criterion-scores than the minimum" in html


def test_a_flag_of_the_issue6_ewma_rule_still_renders_with_its_numbers(app, world, db, client, login):
    flag = DriftFlag(
        program_id=world.program_a,
        user_id=world.ids["assessor"],
        criterion_id=None,
        round_id=None,
        rule=FlagRule.EWMA,
        status=FlagStatus.OPEN,
        direction="lenient",
        statistic="EWMA of signed deviation from the key, overall",
        value=0.61,
        threshold=0.42,
        window_json="[]",
        evidence_json=json.dumps({"means": [0.1, 0.9], "ewma": [0.02, 0.61]}),
        parameters_json=json.dumps(
            {
                "lam": 0.2,
                "L": 3.0,
                "min_shift": 0.0,
                "min_anchors": 5,
                "min_scores": 20,
                "sigma": {"per_sheet": 0.31, "reason": None},
            }
        ),
        summary="Lenient overall: the EWMA reached +0.61 levels against a limit of ±0.42.",
        assessor_text="Over the last 3 rounds you scored higher than the key by about half a level.",
        evidence_hash="0" * 64,
    )
    db.add(flag)
    db.commit()
    login(world.emails["trainer"])
    page = client.get(f"/trainer/flags/{flag.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Systematic leniency or severity (EWMA, before issue 15)" in html
    assert "does not tell a steady lean from a change over time" in html
    assert "No nominal false-alarm rate was stored" in html
    assert "EWMA weight of the latest round (lambda)" in html and "0.2" in html
    assert "Control limit width L (standard deviations)" in html
    assert "Lenient overall: the EWMA reached +0.61" in html
    assert client.get("/trainer/flags").status_code == 200


def test_whole_cohort_drift_is_a_cohort_finding_with_its_rounds_flags_under_it(
    app, world, db, runner, client, login
):
    people = pool(db, world, 7)
    everyone = {p: (lambda t, c: 1 if t >= 7 and c in (0, 2) else 0) for p in people}
    history = build_history(db, world, n_rounds=10, assessors=people, seed=17, bias=everyone)
    _evaluate(runner)
    db.rollback()
    [cohort] = _flags(db, FlagRule.COHORT_LEVEL)
    assert cohort.user_id is None and cohort.direction == "lenient"
    assert 7 <= history.rounds.index(cohort.round_id) <= 9
    params = json.loads(cohort.parameters_json)
    assert params["rule"] == "cohort_level" and params["nominal_false_alarm"] == 0.01
    assert cohort.summary.startswith("Cohort drift: the whole cohort")
    lines = flag_lines(db, world.program_a)
    groups = group_under_cohort(lines)
    top = {line.flag.id for line, _ in groups}
    same_round = [
        f
        for f in _flags(db)
        if f.user_id is not None and f.round_id == cohort.round_id and f.rule != FlagRule.LEAN
    ]
    nested = dict((line.flag.id, [s.flag.id for s in sub]) for line, sub in groups)[cohort.id]
    assert sorted(nested) == sorted(f.id for f in same_round)
    assert not top & set(nested)  # shown under the cohort finding, not on their own
    db.rollback()
    login(world.emails["trainer"])
    listing = client.get("/trainer/flags").get_data(as_text=True)
    assert "Cohort drift against the key" in listing and ">cohort<" in listing
    if nested:
        assert "shown under this cohort finding" in listing


def test_a_share_of_zero_turns_a_rule_off(app, world, db, runner):
    people = pool(db, world, 7)
    set_drift_settings(
        db, world.program_a, budget_drift_overall=0.0, budget_below_pass_rule=0.0, budget_cohort_level=0.0
    )
    build_history(
        db, world, n_rounds=10, assessors=people, seed=13, bias={people[4]: lambda t, c: -1 if t >= 6 else 0}
    )
    _evaluate(runner)
    db.rollback()
    off = {FlagRule.OWN_DRIFT, FlagRule.PASS_RULE, FlagRule.COHORT_LEVEL}
    assert not [f for f in _flags(db) if f.rule in off]


def test_one_drifter_of_seven_is_an_individual_flag_not_cohort_drift(app, world, db, runner):
    """One assessor moving a whole level also moves the cohort's mean by a seventh of a level; that
    is their own drift, and confirming a cohort finding would recalibrate everyone."""
    people = pool(db, world, 7)
    drifter = people[4]
    build_history(
        db, world, n_rounds=10, assessors=people, seed=13, bias={drifter: lambda t, c: -1 if t >= 6 else 0}
    )
    _evaluate(runner)
    db.rollback()
    assert _flags(db, FlagRule.OWN_DRIFT, drifter)
    assert _flags(db, FlagRule.COHORT_LEVEL) == []

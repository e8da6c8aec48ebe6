"""An assessor's result for one counted round, once their last sheet in it is final.

The result is the round's stored pass rule applied to the assessor's own scores (each against the key
version the sheet was scored with, corrections included), every check with its figure and 95%
interval, the misses on each criterion with a direction only where the interval of the signed
deviation excludes zero, and what happens next. Nothing here is shown before every sheet of the
round is final: by then the reveal rule (:func:`calibration.services.reveal.may_reveal`) has opened
the key of every anchor in it, and only the assessor's own scores are read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    effective_level,
)
from ..stats.accuracy import AccuracyResult, accuracy_by_rater
from ..stats.labels import TOO_FEW, interpret
from ..stats.passrule import PassDecision, PassRule, RuleCheck, clearly_below, evaluate_pass_rule
from ..stats.results import Proportion
from .assignments import assigned_round
from .certification_view import CertificationView, certification_view
from .errors import NotFound
from .plain_words import decision_title, plain_rule_message
from .policy import ProgramSettings
from .rules import pass_rule_from_json
from .score_rows import int_columns, keyed_scores

__all__ = [
    "COUNTED_KINDS",
    "CriterionResult",
    "FinishedRound",
    "NextStep",
    "ResultCheck",
    "RoundResult",
    "finished_rounds",
    "latest_result",
    "round_result",
]

#: Rounds whose result counts (practice never does, DESIGN §2).
COUNTED_KINDS = (RoundKind.QUALIFICATION, RoundKind.CALIBRATION, RoundKind.RECALIBRATION)

_TITLES = {
    "evidence": "Enough evidence to judge",
    "exact": "Exact agreement with the key",
    "adjacent": "Within one level of the key",
    "discrepant": "Scores two or more levels off",
    "decision": "Same call as the key on whether a criterion is earned",  # the level is added per round
}


@dataclass(frozen=True)
class ResultCheck:
    """One check of the round's rule as the assessor reads it; ``share`` carries the figure and its
    interval for the checks that are shares."""

    name: str
    title: str
    passed: bool | None
    applicable: bool
    message: str
    share: Proportion | None = None

    @property
    def verdict(self) -> str:
        if not self.applicable:
            return "Not applicable"
        return {True: "Met", False: "Not met", None: "Not checked"}[self.passed]


@dataclass(frozen=True)
class CriterionResult:
    """The assessor's scores on one criterion of the round against the key.

    ``lean`` is "lenient", "severe", "no clear lean" or "too few to judge", decided by
    :func:`calibration.stats.labels.interpret` on the interval of the mean signed deviation.
    """

    criterion_id: int
    title: str
    accuracy: AccuracyResult
    lean: str | None

    @property
    def misses(self) -> int:
        return self.accuracy.n - self.accuracy.exact.count

    @property
    def direction(self) -> str:
        """The direction of the misses in plain words, only where the interval says so."""
        if self.misses == 0:
            return "No misses"
        if self.lean == "lenient":
            return "Lenient: your scores are above the key"
        if self.lean == "severe":
            return "Severe: your scores are below the key"
        if self.lean == TOO_FEW:
            return "Too few scores to tell a direction"
        return "No clear direction: misses both ways, or too few to tell"


@dataclass(frozen=True)
class NextStep:
    """What happens next, with an optional link: ``link`` names the page ("round", "sessions",
    "certification" or "progress"), ``round_id`` the round for a round link."""

    text: str
    link: str | None = None
    link_text: str = ""
    round_id: int | None = None


@dataclass(frozen=True)
class RoundResult:
    round_id: int
    round_name: str
    kind: RoundKind
    rubric_title: str
    n_anchors: int
    n_done: int
    finished_at: dt.datetime
    level_labels: dict[int, str]
    rule: PassRule
    accuracy: AccuracyResult
    decision: PassDecision
    checks: tuple[ResultCheck, ...]
    criteria: tuple[CriterionResult, ...]
    clearly_below: bool
    raised_for_review: bool  # a failed calibration round the calibration checks bring to the trainer
    next_steps: tuple[NextStep, ...]
    status: CertificationStatus | None

    @property
    def n_levels(self) -> int:
        return len(self.level_labels)

    @property
    def outcome_text(self) -> str:
        return {"pass": "Passed", "fail": "Not passed", "too_few": "Too few to judge"}[self.decision.outcome]


@dataclass(frozen=True)
class FinishedRound:
    """A counted round the assessor has finished: its result page exists."""

    round_id: int
    name: str
    kind: RoundKind
    finished_at: dt.datetime


def finished_rounds(session: Session, *, program_id: int, user_id: int) -> list[FinishedRound]:
    """The counted rounds where every anchor has the assessor's final sheet, latest finished first."""
    anchors = select(RoundAnchor.round_id, func.count().label("n")).group_by(RoundAnchor.round_id).subquery()
    sheets = (
        select(
            ScoreSheet.round_id,
            func.count().label("n"),
            func.max(ScoreSheet.submitted_at).label("last"),
        )
        .where(ScoreSheet.assessor_id == user_id)
        .group_by(ScoreSheet.round_id)
        .subquery()
    )
    rows = session.execute(
        select(Round.id, Round.name, Round.kind, sheets.c.last)
        .join(Assignment, Assignment.round_id == Round.id)
        .join(anchors, anchors.c.round_id == Round.id)
        .join(sheets, sheets.c.round_id == Round.id)
        .where(
            Assignment.user_id == user_id,
            Round.program_id == program_id,
            Round.kind.in_(COUNTED_KINDS),
            Round.status != RoundStatus.DRAFT,
            sheets.c.n >= anchors.c.n,
            anchors.c.n > 0,
        )
        .order_by(sheets.c.last.desc(), Round.id.desc())
    ).all()
    return [FinishedRound(r.id, r.name, r.kind, r.last) for r in rows]


def latest_result(session: Session, *, program_id: int, user_id: int) -> RoundResult | None:
    """The result of the counted round the assessor finished last, or None before any."""
    done = finished_rounds(session, program_id=program_id, user_id=user_id)
    if not done:
        return None
    return round_result(session, program_id=program_id, user_id=user_id, round_id=done[0].round_id)


def round_result(
    session: Session, *, program_id: int, user_id: int, round_id: int, now: dt.datetime | None = None
) -> RoundResult:
    """The assessor's result for a counted round they have finished; NotFound for any other round
    (not assigned, not in the program, practice, or a sheet still missing)."""
    now = now or utcnow()
    rnd = assigned_round(session, user_id=user_id, program_id=program_id, round_id=round_id)
    if rnd.kind not in COUNTED_KINDS:
        raise NotFound("round result")
    n_anchors = session.scalar(select(func.count()).where(RoundAnchor.round_id == rnd.id)) or 0
    n_done, finished_at = session.execute(
        select(func.count(), func.max(ScoreSheet.submitted_at)).where(
            ScoreSheet.round_id == rnd.id, ScoreSheet.assessor_id == user_id
        )
    ).one()
    if n_anchors == 0 or n_done < n_anchors:
        raise NotFound("round result")
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None
    labels = dict(
        session.execute(
            select(Level.value, Level.label)
            .where(Level.rubric_version_id == rubric.id)
            .order_by(Level.position)
        ).all()
    )
    criteria = session.execute(
        select(Criterion.id, Criterion.title)
        .where(Criterion.rubric_version_id == rubric.id)
        .order_by(Criterion.position)
    ).all()
    stmt, _ = keyed_scores([rnd.id], "sheet", [CriterionScore.criterion_id, effective_level()])
    arr = int_columns(
        session, stmt.where(ScoreSheet.assessor_id == user_id), 4
    )  # criterion, level, key, version
    table = accuracy_by_rater(
        np.zeros(len(arr), dtype=np.int64),
        arr[:, 1],
        arr[:, 2],
        levels=list(labels),
        earn_cut=rubric.earn_cut,
        criteria=arr[:, 0],
    )
    rule = pass_rule_from_json(rnd.pass_rule_json)
    decision = evaluate_pass_rule(table.overall, rule, n_anchors=n_done)
    by_criterion = tuple(
        CriterionResult(cid, title, table.by_criterion[cid], _lean(table.by_criterion[cid], rule, n_done))
        for cid, title in criteria
        if cid in table.by_criterion
    )
    below = decision.outcome == "fail" and clearly_below(table.overall, rule)
    every_fail = not ProgramSettings.of_program(session, program_id).drift.pass_rule_clear
    raised = rnd.kind == RoundKind.CALIBRATION and decision.outcome == "fail" and (below or every_fail)
    view = certification_view(session, program_id=program_id, user_id=user_id, now=now)
    return RoundResult(
        round_id=rnd.id,
        round_name=rnd.name,
        kind=rnd.kind,
        rubric_title=rubric.title,
        n_anchors=n_anchors,
        n_done=n_done,
        finished_at=finished_at,
        level_labels=labels,
        rule=rule,
        accuracy=table.overall,
        decision=decision,
        checks=tuple(_check(c, table.overall, labels.get(rubric.earn_cut)) for c in decision.checks),
        criteria=by_criterion,
        clearly_below=below,
        raised_for_review=raised,
        next_steps=_next_steps(rnd, decision.outcome, below, view, flags_every_fail=every_fail),
        status=view.status,
    )


def _lean(result: AccuracyResult, rule: PassRule, n_anchors: int) -> str | None:
    """Lenient or severe only when the deviation's interval excludes zero. In one round a criterion has
    one score per anchor, so the round's minimum of anchors is its minimum evidence."""
    msd = result.mean_signed_deviation
    return interpret(
        msd.value,
        msd.interval,
        scale="lean",
        n_anchors=n_anchors,
        n_scores=result.n,
        min_anchors=rule.min_anchors,
        min_scores=rule.min_anchors,
    )


def _check(check: RuleCheck, result: AccuracyResult, earn_label: str | None) -> ResultCheck:
    share = {"exact": result.exact, "adjacent": result.adjacent}.get(check.name)
    if check.name == "decision" and result.decision is not None:
        share = result.decision.agreement
    title = decision_title(earn_label) if check.name == "decision" else _TITLES.get(check.name, check.name)
    return ResultCheck(
        check.name,
        title,
        check.passed,
        check.applicable,
        plain_rule_message(check.message, earn_label),
        share if check.applicable else None,
    )


def _next_steps(
    rnd: Round, outcome: str, below: bool, view: CertificationView, *, flags_every_fail: bool
) -> tuple[NextStep, ...]:
    """What happens next after this round, from the certification state as it is now."""
    steps: list[NextStep] = []
    status = view.status
    due = view.due
    if due is not None and due.round is not None and due.round.id != rnd.id:
        steps.append(
            NextStep(
                f"Complete your recalibration round “{due.round.name}”.",
                "round",
                f"Go to {due.round.name}",
                due.round.id,
            )
        )
    if rnd.kind == RoundKind.CALIBRATION:
        if outcome == "pass":
            steps.append(NextStep("This round meets the pass rule. Nothing more is needed for it."))
        elif outcome == "too_few":
            steps.append(NextStep("There were too few scores to judge this round, so it counts neither way."))
        elif below or flags_every_fail:
            steps.append(
                NextStep(
                    "This result is below the pass rule by more than chance explains, so the calibration "
                    "checks raise it with your lead trainer, who reviews it. If they confirm it, you will "
                    "be given a recalibration round and booked into a recalibration session; you stay "
                    "certified until then."
                    if status == CertificationStatus.CERTIFIED
                    else "This result is below the pass rule by more than chance explains, so the calibration "
                    "checks raise it with your lead trainer, who reviews it.",
                )
            )
        else:
            steps.append(
                NextStep(
                    "This result is below the pass rule, but within what chance can give in one round, so "
                    "on its own it does not raise a review. Your next rounds will show whether it is a "
                    "pattern: read the criteria below and the key's reasons on each anchor."
                )
            )
    elif status in (CertificationStatus.IN_TRAINING, CertificationStatus.CERTIFIED) or outcome != "pass":
        steps.append(NextStep(view.next_step))
    if view.open_round is not None and view.open_round.id != rnd.id and not any(s.round_id for s in steps):
        steps.append(NextStep("", "round", f"Go to {view.open_round.name}", view.open_round.id))
    if status == CertificationStatus.RECALIBRATION_DUE or (
        outcome == "fail" and rnd.kind != RoundKind.QUALIFICATION
    ):
        steps.append(
            NextStep(
                "Recalibration sessions you are booked into, and how to book or answer one, are on your "
                "recalibration page.",
                "sessions",
                "My recalibration sessions",
            )
        )
    steps.append(NextStep("", "certification", "My certification"))
    steps.append(NextStep("", "progress", "My progress over every round"))
    return tuple(steps)

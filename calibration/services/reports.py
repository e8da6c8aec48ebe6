"""Round results for lead trainers: score rows read through Core into numpy, statistics from
:mod:`calibration.stats`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    Assignment,
    Criterion,
    CriterionScore,
    Membership,
    Round,
    RoundAnchor,
    RubricVersion,
    ScoreSheet,
    User,
)
from ..stats.accuracy import AccuracyResult, PassDecision, PassRule
from ..stats.report import RoundReport, round_report
from .errors import NotFound
from .rules import pass_rule_from_json


@dataclass(frozen=True)
class ScoreRows:
    """Long-form score rows of one round, each with the key level of the sheet's key version."""

    assessor: np.ndarray
    anchor: np.ndarray
    criterion: np.ndarray
    level: np.ndarray
    key: np.ndarray

    def __len__(self) -> int:
        return int(self.level.size)


def round_score_rows(session: Session, round_id: int) -> ScoreRows:
    """One Core query, plain tuples into numpy columns (no ORM entities)."""
    stmt = (
        select(
            ScoreSheet.assessor_id,
            ScoreSheet.anchor_id,
            CriterionScore.criterion_id,
            CriterionScore.level_value,
            AnchorKeyEntry.level_value,
        )
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .join(
            AnchorKeyEntry,
            (AnchorKeyEntry.key_version_id == ScoreSheet.key_version_id)
            & (AnchorKeyEntry.criterion_id == CriterionScore.criterion_id),
        )
        .where(ScoreSheet.round_id == round_id)
    )
    rows = session.connection().execute(stmt).all()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return ScoreRows(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])


@dataclass(frozen=True)
class AssessorLine:
    user_id: int
    name: str
    n_done: int
    n_anchors: int
    accuracy: AccuracyResult | None
    decision: PassDecision | None

    @property
    def finished(self) -> bool:
        return self.n_anchors > 0 and self.n_done >= self.n_anchors


@dataclass(frozen=True)
class RoundOverview:
    round: Round
    rubric: RubricVersion
    n_anchors: int
    lines: list[AssessorLine] = field(default_factory=list)
    report: RoundReport | None = None
    criterion_titles: dict[int, str] = field(default_factory=dict)
    anchor_titles: dict[int, str] = field(default_factory=dict)
    key_versions: list[int] = field(default_factory=list)

    @property
    def n_finished(self) -> int:
        return sum(1 for line in self.lines if line.finished)

    @property
    def pass_rule(self) -> PassRule:
        return pass_rule_from_json(self.round.pass_rule_json)


def program_rounds(session: Session, program_id: int) -> list[tuple[Round, int, int]]:
    """Rounds of a program with (assessors assigned, sheets submitted), in three queries."""
    rounds = list(
        session.scalars(select(Round).where(Round.program_id == program_id).order_by(Round.opens_at.desc()))
    )
    ids = [r.id for r in rounds]
    assigned = dict(
        session.execute(
            select(Assignment.round_id, func.count())
            .where(Assignment.round_id.in_(ids))
            .group_by(Assignment.round_id)
        ).all()
    )
    sheets = dict(
        session.execute(
            select(ScoreSheet.round_id, func.count())
            .where(ScoreSheet.round_id.in_(ids))
            .group_by(ScoreSheet.round_id)
        ).all()
    )
    return [(r, assigned.get(r.id, 0), sheets.get(r.id, 0)) for r in rounds]


def round_overview(session: Session, *, program_id: int, round_id: int, n_boot: int = 1000) -> RoundOverview:
    """Progress and the full agreement report of one round (statistics from calibration.stats)."""
    rnd = session.scalar(select(Round).where(Round.id == round_id, Round.program_id == program_id))
    if rnd is None:
        raise NotFound("round")
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None
    anchors = session.execute(
        select(Anchor.id, Anchor.title)
        .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
        .where(RoundAnchor.round_id == rnd.id)
        .order_by(RoundAnchor.position)
    ).all()
    criteria = session.execute(
        select(Criterion.id, Criterion.title)
        .where(Criterion.rubric_version_id == rubric.id)
        .order_by(Criterion.position)
    ).all()
    people = session.execute(
        select(User.id, User.name)
        .join(Assignment, Assignment.user_id == User.id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.program_id == program_id))
        .where(Assignment.round_id == rnd.id)
        .order_by(User.name)
    ).all()
    done = dict(
        session.execute(
            select(ScoreSheet.assessor_id, func.count())
            .where(ScoreSheet.round_id == rnd.id)
            .group_by(ScoreSheet.assessor_id)
        ).all()
    )
    key_versions = sorted(
        session.scalars(
            select(AnchorKeyVersion.version)
            .join(ScoreSheet, ScoreSheet.key_version_id == AnchorKeyVersion.id)
            .where(ScoreSheet.round_id == rnd.id)
            .distinct()
        )
    )
    rows = round_score_rows(session, rnd.id)
    report = None
    if len(rows):
        report = round_report(
            rows.anchor,
            rows.assessor,
            rows.criterion,
            rows.level,
            rows.key,
            levels=rubric.level_values,
            earn_cut=rubric.earn_cut,
            level_of_measurement=rubric.level_of_measurement,  # type: ignore[arg-type]
            pass_rule=pass_rule_from_json(rnd.pass_rule_json),
            n_boot=n_boot,
            seed=rnd.id,
        )
    lines = [
        AssessorLine(
            user_id=uid,
            name=name,
            n_done=done.get(uid, 0),
            n_anchors=len(anchors),
            accuracy=report.accuracy.by_rater.get(uid) if report else None,
            decision=report.pass_decisions.get(uid) if report else None,
        )
        for uid, name in people
    ]
    return RoundOverview(
        rnd,
        rubric,
        len(anchors),
        lines,
        report,
        criterion_titles=dict(criteria),
        anchor_titles=dict(anchors),
        key_versions=key_versions,
    )

"""Round results for lead trainers: score rows read through Core into numpy, statistics from
:mod:`calibration.stats`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    AnchorKeyEntry,
    Assignment,
    CriterionScore,
    Membership,
    Round,
    RoundAnchor,
    RubricVersion,
    ScoreSheet,
    User,
)
from ..stats.accuracy import AccuracyResult, accuracy_by_rater
from .errors import NotFound


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

    @property
    def finished(self) -> bool:
        return self.n_anchors > 0 and self.n_done >= self.n_anchors


@dataclass(frozen=True)
class RoundOverview:
    round: Round
    rubric: RubricVersion
    n_anchors: int
    lines: list[AssessorLine] = field(default_factory=list)
    overall: AccuracyResult | None = None

    @property
    def n_finished(self) -> int:
        return sum(1 for line in self.lines if line.finished)

    @property
    def pass_rule(self) -> dict[str, float]:
        return json.loads(self.round.pass_rule_json)


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


def round_overview(session: Session, *, program_id: int, round_id: int) -> RoundOverview:
    rnd = session.scalar(select(Round).where(Round.id == round_id, Round.program_id == program_id))
    if rnd is None:
        raise NotFound("round")
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None
    n_anchors = session.scalar(select(func.count()).where(RoundAnchor.round_id == rnd.id)) or 0
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
    rows = round_score_rows(session, rnd.id)
    table = None
    if len(rows):
        table = accuracy_by_rater(
            rows.assessor, rows.level, rows.key, levels=rubric.level_values, earn_cut=rubric.earn_cut
        )
    lines = [
        AssessorLine(
            user_id=uid,
            name=name,
            n_done=done.get(uid, 0),
            n_anchors=n_anchors,
            accuracy=table.by_rater.get(uid) if table is not None else None,
        )
        for uid, name in people
    ]
    return RoundOverview(rnd, rubric, n_anchors, lines, table.overall if table is not None else None)

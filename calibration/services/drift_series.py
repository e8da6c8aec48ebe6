"""What the drift rules read and what they produce: each rubric version's calibration score rows
as numpy columns in time order (:class:`Series`), the assessors' certification statuses, and a
:class:`Finding`, a rule that fired before it is recorded as a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    CertificationStatus,
    CriterionScore,
    EvidenceStream,
    FlagRule,
    Membership,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    effective_level,
)
from .score_rows import int_columns, keyed_scores


# ------------------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class Series:
    """Calibration score rows of one rubric version, in numpy columns; ``pos`` orders rounds in time."""

    rubric: RubricVersion
    round_ids: list[int]  # in time order; index = position
    round_names: dict[int, str]
    pos: np.ndarray
    round_id: np.ndarray
    sheet: np.ndarray
    assessor: np.ndarray
    anchor: np.ndarray
    criterion: np.ndarray
    level: np.ndarray
    key: np.ndarray

    def mask(self, keep: np.ndarray) -> Series:
        cols = {
            n: getattr(self, n)[keep]
            for n in ("pos", "round_id", "sheet", "assessor", "anchor", "criterion", "level", "key")
        }
        return Series(self.rubric, self.round_ids, self.round_names, **cols)

    def __len__(self) -> int:
        return int(self.level.size)


def calibration_series(session: Session, program_id: int, *, assessor_id: int | None = None) -> list[Series]:
    """One Core query per rubric version with calibration rounds (usually one); ``assessor_id``
    reads only that assessor's scores (every calibration round is still listed)."""
    rounds = list(
        session.scalars(
            select(Round)
            .where(
                Round.program_id == program_id,
                Round.kind == RoundKind.CALIBRATION,
                Round.status != RoundStatus.DRAFT,
            )
            .order_by(Round.opens_at, Round.id)
        )
    )
    by_rubric: dict[int, list[Round]] = {}
    for r in rounds:
        by_rubric.setdefault(r.rubric_version_id, []).append(r)
    out = []
    for rubric_id, group in by_rubric.items():
        rubric = session.get(RubricVersion, rubric_id)
        assert rubric is not None
        ids = [r.id for r in group]
        stmt, _ = keyed_scores(
            ids,
            "sheet",
            [
                ScoreSheet.round_id,
                ScoreSheet.id,
                ScoreSheet.assessor_id,
                ScoreSheet.anchor_id,
                CriterionScore.criterion_id,
                effective_level(),
            ],
        )
        if assessor_id is not None:
            stmt = stmt.where(ScoreSheet.assessor_id == assessor_id)
        arr = int_columns(session, stmt, 8)
        position = {rid: i for i, rid in enumerate(ids)}
        pos = np.array([position[r] for r in arr[:, 0].tolist()], dtype=np.int64)
        out.append(
            Series(
                rubric=rubric,
                round_ids=ids,
                round_names={r.id: r.name for r in group},
                pos=pos,
                round_id=arr[:, 0],
                sheet=arr[:, 1],
                assessor=arr[:, 2],
                anchor=arr[:, 3],
                criterion=arr[:, 4],
                level=arr[:, 5],
                key=arr[:, 6],
            )
        )
    return out


def assessor_statuses(session: Session, program_id: int) -> dict[int, CertificationStatus | None]:
    return dict(
        session.execute(
            select(Membership.user_id, Membership.certification_status).where(
                Membership.program_id == program_id, Membership.role == Role.ASSESSOR
            )
        ).all()
    )


@dataclass(frozen=True)
class Finding:
    """A rule that fired, before it is recorded."""

    rule: FlagRule
    user_id: int | None
    criterion_id: int | None
    round_id: int | None
    statistic: str
    value: float | None
    threshold: float | None
    direction: str | None
    window: list[int]
    evidence: dict[str, Any]
    parameters: dict[str, Any]
    summary: str
    assessor_text: str
    key_evidence: Any  # what the hash rests on
    stream: EvidenceStream = EvidenceStream.CALIBRATION  # where the evidence came from

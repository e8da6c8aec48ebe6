"""What the JSON API reads, always inside one program, a page at a time (keyset on the id).

Each function takes the program and returns model rows; an object of another program, or none at
all, is :class:`~.errors.NotFound` (the API answers 404 either way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Anchor,
    AnchorKeyVersion,
    Criterion,
    CriterionScore,
    DriftFlag,
    Membership,
    RecalibrationSession,
    Role,
    Round,
    RubricVersion,
    ScoreCorrection,
    ScoreSheet,
    User,
    effective_level,
)
from .errors import NotFound

#: Ids beyond a 32-bit integer do not exist (and must not reach a database that would refuse them).
MAX_ID = 2**31 - 1


def _page(
    session: Session, stmt: Select[Any], id_column: Any, after: int, limit: int
) -> tuple[list[Any], bool]:
    """One page of ``stmt`` ordered by id after ``after``, and whether more follow."""
    rows = list(session.scalars(stmt.where(id_column > after).order_by(id_column).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def _one(session: Session, stmt: Select[Any], object_id: int) -> Any:
    """The single row of ``stmt`` (already limited to the program and the id), else NotFound."""
    if not 0 < object_id <= MAX_ID:
        raise NotFound("no such object")
    row = session.scalar(stmt)
    if row is None:
        raise NotFound("no such object")
    return row


def _rubric_options() -> tuple[Any, ...]:
    return (
        selectinload(RubricVersion.levels),
        selectinload(RubricVersion.criteria).selectinload(Criterion.descriptors),
    )


def rubric_versions(
    session: Session, program_id: int, *, after: int, limit: int, slug: str | None = None
) -> tuple[list[RubricVersion], bool]:
    stmt = select(RubricVersion).options(*_rubric_options()).where(RubricVersion.program_id == program_id)
    if slug is not None:
        stmt = stmt.where(RubricVersion.slug == slug)
    return _page(session, stmt, RubricVersion.id, after, limit)


def rubric_version(session: Session, program_id: int, version_id: int) -> RubricVersion:
    stmt = select(RubricVersion).options(*_rubric_options())
    stmt = stmt.where(RubricVersion.id == version_id, RubricVersion.program_id == program_id)
    found: RubricVersion = _one(session, stmt, version_id)
    return found


def rounds(session: Session, program_id: int, *, after: int, limit: int) -> tuple[list[Round], bool]:
    return _page(session, select(Round).where(Round.program_id == program_id), Round.id, after, limit)


def round_(session: Session, program_id: int, round_id: int) -> Round:
    found: Round = _one(
        session, select(Round).where(Round.id == round_id, Round.program_id == program_id), round_id
    )
    return found


def round_counts(session: Session, round_id: int) -> tuple[int, int]:
    """(anchors, assigned assessors) of a round."""
    from sqlalchemy import func

    from ..models import Assignment, RoundAnchor

    anchors = session.scalar(select(func.count()).where(RoundAnchor.round_id == round_id)) or 0
    assigned = session.scalar(select(func.count()).where(Assignment.round_id == round_id)) or 0
    return int(anchors), int(assigned)


def assessors(
    session: Session, program_id: int, *, after: int, limit: int
) -> tuple[list[tuple[User, Membership]], bool]:
    stmt = (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.program_id == program_id, Membership.role == Role.ASSESSOR, User.id > after)
        .order_by(User.id)
        .limit(limit + 1)
    )
    rows = [(u, m) for u, m in session.execute(stmt)]
    return rows[:limit], len(rows) > limit


def assessor(session: Session, program_id: int, user_id: int) -> tuple[User, Membership]:
    if not 0 < user_id <= MAX_ID:
        raise NotFound("no such assessor")
    found = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
    ).first()
    if found is None:
        raise NotFound("no such assessor")
    return found[0], found[1]


def anchors(session: Session, program_id: int, *, after: int, limit: int) -> tuple[list[Anchor], bool]:
    return _page(session, select(Anchor).where(Anchor.program_id == program_id), Anchor.id, after, limit)


def anchor(session: Session, program_id: int, anchor_id: int) -> Anchor:
    stmt = select(Anchor).where(Anchor.id == anchor_id, Anchor.program_id == program_id)
    found: Anchor = _one(session, stmt, anchor_id)
    return found


def current_key(session: Session, anchor_id: int) -> AnchorKeyVersion | None:
    """The anchor's latest key version with its entries (None if it has no key yet)."""
    return session.scalar(
        select(AnchorKeyVersion)
        .options(selectinload(AnchorKeyVersion.entries))
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
    )


def criterion_keys(session: Session, criterion_ids: set[int]) -> dict[int, str]:
    if not criterion_ids:
        return {}
    return dict(
        session.execute(select(Criterion.id, Criterion.key).where(Criterion.id.in_(criterion_ids))).all()
    )


def flags(session: Session, program_id: int, *, after: int, limit: int) -> tuple[list[DriftFlag], bool]:
    return _page(
        session, select(DriftFlag).where(DriftFlag.program_id == program_id), DriftFlag.id, after, limit
    )


def flag(session: Session, program_id: int, flag_id: int) -> DriftFlag:
    stmt = select(DriftFlag).where(DriftFlag.id == flag_id, DriftFlag.program_id == program_id)
    found: DriftFlag = _one(session, stmt, flag_id)
    return found


def sessions(
    session: Session, program_id: int, *, after: int, limit: int
) -> tuple[list[RecalibrationSession], bool]:
    stmt = select(RecalibrationSession).where(RecalibrationSession.program_id == program_id)
    return _page(session, stmt, RecalibrationSession.id, after, limit)


# ------------------------------------------------------------------------------------ sheets
@dataclass(frozen=True)
class SheetScore:
    """One criterion of a final sheet: the level every statistic reads (the latest correction's,
    else the submitted one) and the level as submitted."""

    criterion: str
    level: int
    submitted_level: int
    corrected: bool


@dataclass(frozen=True)
class SheetRead:
    """A final score sheet as the API shows it: the assessor's levels, never the key."""

    id: int
    round_id: int
    anchor_id: int
    assessor_id: int
    key_version: int
    submitted_at: dt.datetime
    scores: tuple[SheetScore, ...]


def _sheet_rows(session: Session, stmt: Select[ScoreSheet, int]) -> list[SheetRead]:
    """Sheets of ``stmt`` (ScoreSheet and the key version's number) with their levels, in two queries."""
    heads = session.execute(stmt).all()
    if not heads:
        return []
    ids = [sheet.id for sheet, _ in heads]
    levels: dict[int, list[SheetScore]] = {i: [] for i in ids}
    corrected = (
        select(ScoreCorrection.id).where(ScoreCorrection.criterion_score_id == CriterionScore.id).exists()
    )
    for sheet_id, key, submitted, effective, was_corrected in session.execute(
        select(
            CriterionScore.sheet_id, Criterion.key, CriterionScore.level_value, effective_level(), corrected
        )
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        .where(CriterionScore.sheet_id.in_(ids))
        .order_by(CriterionScore.sheet_id, Criterion.position)
    ).all():
        levels[sheet_id].append(SheetScore(key, int(effective), int(submitted), bool(was_corrected)))
    return [
        SheetRead(
            id=sheet.id,
            round_id=sheet.round_id,
            anchor_id=sheet.anchor_id,
            assessor_id=sheet.assessor_id,
            key_version=int(version),
            submitted_at=sheet.submitted_at,
            scores=tuple(levels[sheet.id]),
        )
        for sheet, version in heads
    ]


def _sheets_select() -> Select[ScoreSheet, int]:
    """Final sheets only: a draft lives in another table (``score_draft``) and is never read here."""
    return select(ScoreSheet, AnchorKeyVersion.version).join(
        AnchorKeyVersion, AnchorKeyVersion.id == ScoreSheet.key_version_id
    )


def round_sheets(
    session: Session, program_id: int, round_id: int, *, after: int, limit: int
) -> tuple[list[SheetRead], bool]:
    """One page of a round's final sheets (NotFound for a round of another program)."""
    round_(session, program_id, round_id)
    stmt = (
        _sheets_select()
        .where(ScoreSheet.round_id == round_id, ScoreSheet.id > after)
        .order_by(ScoreSheet.id)
        .limit(limit + 1)
    )
    rows = _sheet_rows(session, stmt)
    return rows[:limit], len(rows) > limit


def sheet(session: Session, program_id: int, sheet_id: int) -> SheetRead:
    """One final sheet of the program, else NotFound."""
    if not 0 < sheet_id <= MAX_ID:
        raise NotFound("no such sheet")
    stmt = (
        _sheets_select()
        .join(Round, Round.id == ScoreSheet.round_id)
        .where(ScoreSheet.id == sheet_id, Round.program_id == program_id)
    )
    rows = _sheet_rows(session, stmt)
    if not rows:
        raise NotFound("no such sheet")
    return rows[0]

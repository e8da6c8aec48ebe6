"""Reading anchors: look-ups scoped by program, the anchor list with its counts and key exposure,
the current key and its history, and how certified assessors scored an anchor against the key.

The use cases that change an anchor or its key live in :mod:`calibration.services.anchors`;
attachment files in :mod:`calibration.services.anchor_files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Anchor,
    AnchorAttachment,
    AnchorKeyEntry,
    AnchorKeyVersion,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Membership,
    Role,
    RubricVersion,
    ScoreSheet,
    User,
    effective_level,
)
from ..stats.anchors import AnchorRow, AnchorSummary, anchor_summary
from ..stats.labels import MIN_ANCHORS
from .errors import NotFound
from .exposure import anchor_exposure
from .policy import ProgramSettings
from .score_rows import int_columns
from .scoring import rubric_with_levels


# ------------------------------------------------------------------------------------------ look-ups
def get_anchor(session: Session, *, program_id: int, anchor_id: int) -> Anchor:
    """The anchor if it belongs to the program, else NotFound."""
    anchor = session.scalar(select(Anchor).where(Anchor.id == anchor_id, Anchor.program_id == program_id))
    if anchor is None:
        raise NotFound("anchor")
    return anchor


def program_rubric_versions(session: Session, program_id: int) -> list[RubricVersion]:
    """Rubric versions an anchor can be written against, newest first within each slug."""
    return list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.slug, RubricVersion.version.desc())
        )
    )


@dataclass(frozen=True)
class AnchorListItem:
    anchor: Anchor
    rubric_title: str
    rubric_version: int
    key_version: int | None
    n_sheets: int
    n_attachments: int
    n_seen: int  # certified assessors who have seen its key (services/exposure.py)
    n_pool: int  # certified assessors in the program


def program_anchors(session: Session, program_id: int) -> list[AnchorListItem]:
    """Every anchor of the program with its key version, counts and key exposure, in six queries."""
    rows = session.execute(
        select(Anchor, RubricVersion.title, RubricVersion.version)
        .join(RubricVersion, RubricVersion.id == Anchor.rubric_version_id)
        .where(Anchor.program_id == program_id)
        .order_by(Anchor.status, Anchor.title, Anchor.id)
    ).all()
    return anchor_items(session, program_id, rows)


def anchor_items(session: Session, program_id: int, rows: Sequence[Any]) -> list[AnchorListItem]:
    """``(anchor, rubric title, rubric version)`` rows with their key version, sheet and attachment
    counts and key exposure, in four queries whatever the number of anchors (exposure is read for
    these anchors only)."""
    ids = [anchor.id for anchor, _, _ in rows]
    keys = dict(
        session.execute(
            select(AnchorKeyVersion.anchor_id, func.max(AnchorKeyVersion.version))
            .where(AnchorKeyVersion.anchor_id.in_(ids))
            .group_by(AnchorKeyVersion.anchor_id)
        ).all()
    )
    sheets = dict(
        session.execute(
            select(ScoreSheet.anchor_id, func.count())
            .where(ScoreSheet.anchor_id.in_(ids))
            .group_by(ScoreSheet.anchor_id)
        ).all()
    )
    files = dict(
        session.execute(
            select(AnchorAttachment.anchor_id, func.count())
            .where(AnchorAttachment.anchor_id.in_(ids))
            .group_by(AnchorAttachment.anchor_id)
        ).all()
    )
    exposed = anchor_exposure(session, program_id, ids)
    return [
        AnchorListItem(
            a,
            title,
            version,
            keys.get(a.id),
            sheets.get(a.id, 0),
            files.get(a.id, 0),
            exposed.seen_by(a.id),
            exposed.pool,
        )
        for a, title, version in rows
    ]


def current_key(session: Session, anchor_id: int) -> AnchorKeyVersion | None:
    """The newest key version with its entries, or None when the anchor has no key yet."""
    return session.scalar(
        select(AnchorKeyVersion)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
        .options(selectinload(AnchorKeyVersion.entries))
    )


@dataclass(frozen=True)
class KeyHistoryLine:
    version: AnchorKeyVersion
    author: str | None
    n_sheets: int
    levels: dict[int, int]  # criterion id -> key level


def key_history(session: Session, anchor_id: int) -> list[KeyHistoryLine]:
    """Every key version, newest first, with who saved it and how many sheets were scored against it."""
    versions = list(
        session.scalars(
            select(AnchorKeyVersion)
            .where(AnchorKeyVersion.anchor_id == anchor_id)
            .order_by(AnchorKeyVersion.version.desc())
            .options(selectinload(AnchorKeyVersion.entries))
        )
    )
    authors = dict(
        session.execute(
            select(User.id, User.name).where(
                User.id.in_({v.created_by_id for v in versions if v.created_by_id})
            )
        ).all()
    )
    sheets = dict(
        session.execute(
            select(ScoreSheet.key_version_id, func.count())
            .where(ScoreSheet.anchor_id == anchor_id)
            .group_by(ScoreSheet.key_version_id)
        ).all()
    )
    return [
        KeyHistoryLine(
            v,
            authors.get(v.created_by_id) if v.created_by_id else None,
            sheets.get(v.id, 0),
            {e.criterion_id: e.level_value for e in v.entries},
        )
        for v in versions
    ]


# ------------------------------------------------------------------------- agreement with the key
@dataclass(frozen=True)
class CriterionAgreement:
    """How certified assessors scored one criterion of the anchor, against the current key."""

    criterion: Criterion
    key_level: int
    row: AnchorRow | None  # None: no certified assessor has scored this anchor yet


@dataclass(frozen=True)
class AnchorOverview:
    anchor: Anchor
    rubric: RubricVersion
    key: AnchorKeyVersion | None
    history: list[KeyHistoryLine]
    agreement: list[CriterionAgreement] = field(default_factory=list)
    n_assessors: int = 0
    min_ratings: int = MIN_ANCHORS  # the program's minimum evidence for a contentious marker

    @property
    def levels(self) -> list[Level]:
        return list(self.rubric.levels)

    @property
    def contentious(self) -> list[CriterionAgreement]:
        return [a for a in self.agreement if a.row is not None and a.row.contentious]

    def key_entry(self, criterion_id: int) -> AnchorKeyEntry | None:
        if self.key is None:
            return None
        return next((e for e in self.key.entries if e.criterion_id == criterion_id), None)


def certified_scores(session: Session, anchor: Anchor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(assessor, criterion, level) of certified assessors' final sheets on this anchor, all rounds.

    An assessor who scored the anchor in several rounds counts once, with their latest sheet: the
    summary asks how many *assessors* disagree with the key, not how many sheets.
    """
    stmt = (
        select(ScoreSheet.id, ScoreSheet.assessor_id, CriterionScore.criterion_id, effective_level())
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .join(
            Membership,
            (Membership.user_id == ScoreSheet.assessor_id) & (Membership.program_id == anchor.program_id),
        )
        .where(
            ScoreSheet.anchor_id == anchor.id,
            Membership.role == Role.ASSESSOR,
            Membership.certification_status == CertificationStatus.CERTIFIED,
        )
    )
    arr = int_columns(session, stmt, 4)
    if arr.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.argsort(-arr[:, 0], kind="stable")  # latest sheet first
    _, first = np.unique(arr[order][:, 1:3], axis=0, return_index=True)
    keep = arr[order[first]]
    return keep[:, 1], keep[:, 2], keep[:, 3]


def anchor_overview(session: Session, *, program_id: int, anchor_id: int) -> AnchorOverview:
    """The anchor, its current key and history, and certified assessors' scores vs the current key
    (statistics from :func:`calibration.stats.anchors.anchor_summary`)."""
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    rubric = rubric_with_levels(session, anchor.rubric_version_id)
    key = current_key(session, anchor.id)
    history = key_history(session, anchor.id)
    if key is None:
        return AnchorOverview(anchor, rubric, None, history)
    key_level = {e.criterion_id: e.level_value for e in key.entries}
    min_ratings = ProgramSettings.of_program(session, program_id).pass_rule.min_anchors
    assessors, criteria, values = certified_scores(session, anchor)
    mask = np.isin(criteria, np.fromiter(key_level, dtype=np.int64))
    assessors, criteria, values = assessors[mask], criteria[mask], values[mask]
    summary: AnchorSummary | None = None
    if criteria.size:
        keys = np.array([key_level[int(c)] for c in criteria], dtype=np.int64)
        summary = anchor_summary(
            np.full(criteria.size, anchor.id),
            assessors,
            values,
            keys,
            levels=rubric.level_values,
            criteria=criteria,
            min_ratings=min_ratings,
        )
    rows = {row.criterion: row for row in summary.rows} if summary else {}
    agreement = [
        CriterionAgreement(c, key_level[c.id], rows.get(c.id)) for c in rubric.criteria if c.id in key_level
    ]
    return AnchorOverview(
        anchor, rubric, key, history, agreement, int(np.unique(assessors).size), min_ratings
    )

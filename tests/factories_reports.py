"""Bulk factories for report tests: many assessors and sheets inserted with Core (fast), plus the
expected long rows so tests can call :mod:`calibration.stats` directly on the same data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from calibration.db import utcnow
from calibration.models import (
    AnchorKeyEntry,
    AnchorKeyVersion,
    Assignment,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Membership,
    Role,
    Round,
    ScoreSheet,
    User,
)

from .factories import World


def add_assessors(
    session: Session,
    program_id: int,
    n: int,
    *,
    prefix: str = "Assessor",
    status: CertificationStatus = CertificationStatus.CERTIFIED,
) -> list[int]:
    """``n`` certified assessors (no password: they never log in); commits."""
    start = session.scalar(select(func.coalesce(func.max(User.id), 0))) or 0
    users = [
        {
            "email": f"{prefix.lower()}-{start + i}@bulk.test",
            "name": f"{prefix} {i:03d}",
            "password_hash": None,
        }
        for i in range(n)
    ]
    ids = [
        row[0]
        for row in session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), users)
    ]
    session.execute(
        insert(Membership),
        [
            {"user_id": uid, "program_id": program_id, "role": Role.ASSESSOR, "certification_status": status}
            for uid in ids
        ],
    )
    session.commit()
    return ids


def assign(session: Session, round_id: int, user_ids: Sequence[int]) -> None:
    session.execute(insert(Assignment), [{"round_id": round_id, "user_id": uid} for uid in user_ids])
    session.commit()


@dataclass
class Rows:
    """The long rows a test expects the reports to read: one per criterion-score."""

    anchor: list[int] = field(default_factory=list)
    assessor: list[int] = field(default_factory=list)
    criterion: list[int] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    key: list[int] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.array(x, dtype=np.int64)
            for x in (self.anchor, self.assessor, self.criterion, self.level, self.key)
        )


def insert_sheets(
    session: Session,
    round_id: int,
    scores: Mapping[tuple[int, int], Sequence[int]],
    *,
    start: dt.datetime | None = None,
) -> Rows:
    """Final sheets with ``scores[(anchor_id, assessor_id)]`` = a level per criterion (rubric order),
    each against its anchor's latest key version; commits and returns the expected rows."""
    rnd = session.get(Round, round_id)
    assert rnd is not None
    criteria = list(
        session.scalars(
            select(Criterion.id)
            .where(Criterion.rubric_version_id == rnd.rubric_version_id)
            .order_by(Criterion.position)
        )
    )
    level_ids = dict(
        session.execute(
            select(Level.value, Level.id).where(Level.rubric_version_id == rnd.rubric_version_id)
        ).all()
    )
    anchors = sorted({a for a, _ in scores})
    latest = dict(
        session.execute(
            select(AnchorKeyVersion.anchor_id, func.max(AnchorKeyVersion.id))
            .where(AnchorKeyVersion.anchor_id.in_(anchors))
            .group_by(AnchorKeyVersion.anchor_id)
        ).all()
    )
    keys = {
        (kv, c): lv
        for kv, c, lv in session.execute(
            select(
                AnchorKeyEntry.key_version_id, AnchorKeyEntry.criterion_id, AnchorKeyEntry.level_value
            ).where(AnchorKeyEntry.key_version_id.in_(list(latest.values())))
        ).all()
    }
    start = start or utcnow()
    items = list(scores.items())
    sheets = [
        {
            "round_id": round_id,
            "anchor_id": a,
            "assessor_id": u,
            "key_version_id": latest[a],
            "notes": "",
            "submitted_at": start + dt.timedelta(seconds=i),
        }
        for i, ((a, u), _) in enumerate(items)
    ]
    ids = [
        row[0]
        for row in session.execute(
            insert(ScoreSheet).returning(ScoreSheet.id, sort_by_parameter_order=True), sheets
        )
    ]
    rows = Rows()
    values = []
    for sheet_id, ((a, u), levels) in zip(ids, items, strict=True):
        for c, lv in zip(criteria, levels, strict=True):
            values.append(
                {"sheet_id": sheet_id, "criterion_id": c, "level_id": level_ids[lv], "level_value": lv}
            )
            rows.anchor.append(a)
            rows.assessor.append(u)
            rows.criterion.append(c)
            rows.level.append(lv)
            rows.key.append(keys[(latest[a], c)])
    session.execute(insert(CriterionScore), values)
    session.commit()
    return rows


def noisy_scores(
    world: World,
    assessors: Sequence[int],
    *,
    seed: int,
    anchors: Sequence[int] | None = None,
    spread: int = 1,
) -> dict[tuple[int, int], list[int]]:
    """Each assessor's levels: the key plus a random step in [-spread, spread], clipped to the scale."""
    rng = np.random.default_rng(seed)
    lo, hi = min(world.levels), max(world.levels)
    return {
        (a, u): [int(np.clip(k + rng.integers(-spread, spread + 1), lo, hi)) for k in world.keys[a]]
        for u in assessors
        for a in (anchors or world.anchors)
    }

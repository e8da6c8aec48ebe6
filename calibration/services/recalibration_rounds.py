"""Assembling a recalibration round and looking up recalibrations: the rubric version it uses,
the pool of active anchors the assessor has never seen, the plan (every level of every criterion
covered, weighted toward the drifting criteria) or its shortfall, the round itself, and an
assessor's pending, failed and past recalibrations.

Starting, judging and expiring recalibrations live in :mod:`calibration.services.recalibration`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyVersion,
    AnchorPurpose,
    DriftFlag,
    Recalibration,
    RecalibrationOutcome,
    Round,
    RoundKind,
    User,
)
from . import rounds
from .anchor_waits import Shortfall
from .context import Actor
from .scoring import rubric_with_levels
from .selection import Candidate, CoverageImpossible, select_anchors

# Purposes whose anchors may serve a recalibration round (never practice: its key is shown).
COUNTING_PURPOSES = tuple(p for p in AnchorPurpose if p != AnchorPurpose.PRACTICE)


def _rubric_for(session: Session, program_id: int, flags: Iterable[DriftFlag]) -> int | None:
    for f in flags:
        if f.round_id is not None:
            rid = session.scalar(select(Round.rubric_version_id).where(Round.id == f.round_id))
            if rid is not None:
                return int(rid)
    row = session.execute(
        select(Anchor.rubric_version_id, func.count())
        .where(
            Anchor.program_id == program_id,
            Anchor.purpose.in_(COUNTING_PURPOSES),
            Anchor.in_pool(),
            Anchor.id.in_(select(AnchorKeyVersion.anchor_id)),
        )
        .group_by(Anchor.rubric_version_id)
        .order_by(func.count().desc(), Anchor.rubric_version_id.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


def pending(session: Session, user_id: int) -> Recalibration | None:
    return session.scalar(
        select(Recalibration)
        .where(Recalibration.user_id == user_id, Recalibration.outcome == RecalibrationOutcome.PENDING)
        .order_by(Recalibration.id.desc())
        .limit(1)
    )


def _failed_attempts(session: Session, program_id: int, user_id: int) -> int:
    """Failed attempts since the assessor last passed a recalibration."""
    last_pass = session.scalar(
        select(func.max(Recalibration.id)).where(
            Recalibration.user_id == user_id,
            Recalibration.program_id == program_id,
            Recalibration.outcome == RecalibrationOutcome.PASSED,
        )
    )
    stmt = select(func.count()).where(
        Recalibration.user_id == user_id,
        Recalibration.program_id == program_id,
        Recalibration.outcome == RecalibrationOutcome.FAILED,
    )
    if last_pass is not None:
        stmt = stmt.where(Recalibration.id > last_pass)
    return int(session.scalar(stmt) or 0)


def _unseen_pool(session: Session, program_id: int, user_id: int, rubric_id: int) -> list[Candidate[int]]:
    """Active anchors of the rubric version with a key, whose purpose counts, the assessor has never
    seen (the rounds' own "seen" rule: a sheet, or the anchor in a round assigned to them)."""
    seen = rounds.seen_anchors(session, [user_id])[user_id]
    ids = [
        a
        for a in session.scalars(
            select(Anchor.id).where(
                Anchor.program_id == program_id,
                Anchor.rubric_version_id == rubric_id,
                Anchor.in_pool(),
                Anchor.purpose.in_(COUNTING_PURPOSES),
            )
        )
        if a not in seen
    ]
    return [Candidate(a, key) for a, (_, key) in sorted(rounds.current_keys(session, ids).items())]


def plan_anchors(
    session: Session,
    *,
    program_id: int,
    user_id: int,
    rubric_id: int,
    target: int,
    weights: dict[int, float],
    seed: int,
) -> list[int] | Shortfall:
    """The anchors of the assessor's recalibration round, or what is missing for one: every level of
    every criterion covered, at least ``target`` anchors, weighted toward the drifting criteria."""
    rubric = rubric_with_levels(session, rubric_id)
    pool = _unseen_pool(session, program_id, user_id, rubric_id)
    try:
        chosen = select_anchors(
            pool,
            criteria=[c.id for c in rubric.criteria],
            levels=rubric.level_values,
            target=target,
            seed=seed,
            criterion_weights=weights or None,
        )
    except CoverageImpossible as exc:
        return Shortfall(exc.missing, target, len(pool))
    if len(chosen) < target:
        return Shortfall((), target, len(pool))
    return chosen


def _new_round(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    rubric_id: int,
    anchor_ids: Sequence[int],
    days: int,
    attempt: int,
) -> Round:
    now = utcnow()  # rounds open on the real clock: scoring checks the window against it
    user = session.get(User, user_id)
    assert user is not None
    rnd = rounds.create_round(
        session,
        actor,
        program_id=program_id,
        name=f"Recalibration{'' if attempt == 1 else f', attempt {attempt}'}: {user.name}",
        kind=RoundKind.RECALIBRATION.value,
        rubric_version_id=rubric_id,
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(days=days),
        pass_rule=rounds.default_pass_rule(session, program_id, rubric_id),
        assessor_ids=[user_id],
        now=now,
    )
    rounds.set_anchors(
        session, actor, program_id=program_id, round_id=rnd.id, anchor_ids=anchor_ids, method="auto"
    )
    rounds.open_round(session, actor, program_id=program_id, round_id=rnd.id)
    return rnd


def of_user(session: Session, user_id: int) -> list[Recalibration]:
    return list(
        session.scalars(
            select(Recalibration).where(Recalibration.user_id == user_id).order_by(Recalibration.id.desc())
        )
    )

"""The rounds a new assessor gets without a trainer: practice and qualification attempts.

Practice: every active practice anchor with a key (never counted; after a try that differs from the key
the assessor is told which criteria differed and may try again, then the key is shown:
:mod:`calibration.services.practice`), in a round of the program's default number of tries.
Qualification: anchors chosen automatically (:func:`calibration.services.rounds.auto_select_anchors`)
to cover every level of every criterion, leaving out every anchor the assessor has already seen,
so a second attempt always has different anchors. Both rounds are for one person and open at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyVersion,
    AnchorPurpose,
    Assignment,
    Round,
    RoundKind,
    RoundStatus,
    User,
)
from . import audit, rounds
from .context import Actor
from .errors import InvalidInput
from .selection import DEFAULT_TARGET

PRACTICE_MAX_ANCHORS = 10


def _training_rubric(session: Session, program_id: int, purpose: AnchorPurpose) -> int | None:
    """The rubric version with the most active, keyed anchors of this purpose (newest on a tie)."""
    keyed = select(AnchorKeyVersion.anchor_id)
    row = session.execute(
        select(Anchor.rubric_version_id, func.count())
        .where(
            Anchor.program_id == program_id,
            Anchor.purpose == purpose,
            Anchor.in_pool(),
            Anchor.id.in_(keyed),
        )
        .group_by(Anchor.rubric_version_id)
        .order_by(func.count().desc(), Anchor.rubric_version_id.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


def _new_round(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    kind: RoundKind,
    rubric_version_id: int,
    name: str,
    window: dt.timedelta,
) -> Round:
    now = utcnow()  # rounds open on the real clock: scoring checks the window against it
    return rounds.create_round(
        session,
        actor,
        program_id=program_id,
        name=name,
        kind=kind.value,
        rubric_version_id=rubric_version_id,
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + window,
        pass_rule=rounds.default_pass_rule(session, program_id, rubric_version_id),
        assessor_ids=[user_id],
        now=now,
    )


def assign_practice_round(
    session: Session, actor: Actor, *, program_id: int, user_id: int, window: dt.timedelta
) -> Round | None:
    """An open practice round with the program's practice anchors (None when there are none)."""
    rubric_id = _training_rubric(session, program_id, AnchorPurpose.PRACTICE)
    if rubric_id is None:
        return None
    user = session.get(User, user_id)
    assert user is not None
    with session.begin_nested():
        rnd = _new_round(
            session,
            actor,
            program_id=program_id,
            user_id=user_id,
            kind=RoundKind.PRACTICE,
            rubric_version_id=rubric_id,
            name=f"Practice: {user.name}",
            window=window,
        )
        pool = [
            c.anchor.id
            for c in rounds.candidate_anchors(session, rnd)
            if c.purpose_match and c.key_version is not None
        ]
        rounds.set_anchors(
            session, actor, program_id=program_id, round_id=rnd.id, anchor_ids=pool[:PRACTICE_MAX_ANCHORS]
        )
        rounds.open_round(session, actor, program_id=program_id, round_id=rnd.id)
    return rnd


def qualification_attempts(session: Session, program_id: int, user_id: int) -> int:
    """How many qualification rounds the person has been assigned."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .join(Round, Round.id == Assignment.round_id)
            .where(
                Assignment.user_id == user_id,
                Round.program_id == program_id,
                Round.kind == RoundKind.QUALIFICATION,
                Round.status != RoundStatus.DRAFT,
            )
        )
        or 0
    )


def assign_qualification_round(
    session: Session, actor: Actor, *, program_id: int, user_id: int, window: dt.timedelta
) -> Round:
    """An open qualification round of unseen anchors covering every level of every criterion.

    Raises CoverageImpossible (naming the missing levels) or InvalidInput; nothing is written then.
    """
    rubric_id = _training_rubric(session, program_id, AnchorPurpose.QUALIFICATION)
    if rubric_id is None:
        raise InvalidInput("The program has no active qualification anchors with a master key yet.")
    attempt = qualification_attempts(session, program_id, user_id) + 1
    user = session.get(User, user_id)
    assert user is not None
    rule = rounds.default_pass_rule(session, program_id)
    with session.begin_nested():
        rnd = _new_round(
            session,
            actor,
            program_id=program_id,
            user_id=user_id,
            kind=RoundKind.QUALIFICATION,
            rubric_version_id=rubric_id,
            name=f"Qualification, attempt {attempt}: {user.name}",
            window=window,
        )
        rounds.auto_select_anchors(
            session,
            actor,
            program_id=program_id,
            round_id=rnd.id,
            target=max(int(rule.get("min_anchors", DEFAULT_TARGET)), DEFAULT_TARGET),
        )
        rounds.open_round(session, actor, program_id=program_id, round_id=rnd.id)
    audit.record(
        session,
        actor,
        "qualification.assign",
        object_type="user",
        object_id=user_id,
        program_id=program_id,
        detail={"round_id": rnd.id, "attempt": attempt},
    )
    return rnd

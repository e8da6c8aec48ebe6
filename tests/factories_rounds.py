"""Factory helpers for the round tests: keyed anchors of a chosen purpose, covering sets of anchors,
and the trainer as a service Actor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from calibration.models import Anchor, AnchorPurpose, AnchorStatus, Program, Role, RubricVersion
from calibration.services.context import Actor, Member

from .factories import World, make_anchor


def trainer(world: World) -> Actor:
    return Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER)


def keyed_anchor(
    session: Session,
    world: World,
    title: str,
    levels: list[int],
    *,
    purpose: AnchorPurpose = AnchorPurpose.CALIBRATION,
    status: AnchorStatus = AnchorStatus.ACTIVE,
) -> Anchor:
    """An anchor of program A's main rubric with a key (flushed, not committed)."""
    program = session.get(Program, world.program_a)
    rubric = session.get(RubricVersion, world.rubric_id)
    assert program is not None and rubric is not None
    anchor = make_anchor(session, program, rubric, title=title, key_levels=levels)
    anchor.purpose, anchor.status = purpose, status
    session.flush()
    return anchor


def covering_set(
    session: Session, world: World, prefix: str, *, purpose: AnchorPurpose = AnchorPurpose.CALIBRATION
) -> list[int]:
    """As many anchors as the rubric has levels, whose keys together cover every level of every
    criterion (anchor i gives criterion j the level (i + j) mod q). Committed; returns their ids."""
    q, n = len(world.levels), len(world.criteria)
    anchors = [
        keyed_anchor(
            session,
            world,
            f"{prefix} {i + 1}",
            [world.levels[(i + j) % q] for j in range(n)],
            purpose=purpose,
        )
        for i in range(q)
    ]
    session.commit()
    return [a.id for a in anchors]

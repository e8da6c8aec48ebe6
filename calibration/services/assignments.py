"""Scoped look-ups for an assessor: every id is resolved within their program and assignments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import Anchor, Assignment, Round, RoundAnchor, RoundStatus, ScoreSheet
from .errors import NotFound


def assigned_round(session: Session, *, user_id: int, program_id: int, round_id: int) -> Round:
    """A round the user is assigned to, in their program, that has opened. Else NotFound."""
    rnd = session.scalar(
        select(Round)
        .join(Assignment, Assignment.round_id == Round.id)
        .where(
            Round.id == round_id,
            Round.program_id == program_id,
            Assignment.user_id == user_id,
            Round.status != RoundStatus.DRAFT,
        )
    )
    if rnd is None or rnd.opens_at > utcnow():
        raise NotFound("round")
    return rnd


def round_anchor(session: Session, rnd: Round, anchor_id: int) -> Anchor:
    anchor = session.scalar(
        select(Anchor)
        .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
        .where(RoundAnchor.round_id == rnd.id, Anchor.id == anchor_id, Anchor.program_id == rnd.program_id)
    )
    if anchor is None:
        raise NotFound("anchor")
    return anchor


@dataclass(frozen=True)
class RoundProgress:
    round: Round
    n_anchors: int
    n_done: int
    open_now: bool

    @property
    def finished(self) -> bool:
        return self.n_anchors > 0 and self.n_done >= self.n_anchors

    @property
    def state(self) -> str:
        if self.finished:
            return "finished"
        if self.open_now:
            return "open"
        return (
            "closed"
            if self.round.closes_at <= utcnow() or self.round.status == RoundStatus.CLOSED
            else "upcoming"
        )


def dashboard(
    session: Session, *, user_id: int, program_id: int, now: dt.datetime | None = None
) -> list[RoundProgress]:
    """The user's assigned rounds (opened, not drafts) with progress, in three queries."""
    now = now or utcnow()
    rounds = list(
        session.scalars(
            select(Round)
            .join(Assignment, Assignment.round_id == Round.id)
            .where(
                Assignment.user_id == user_id,
                Round.program_id == program_id,
                Round.status != RoundStatus.DRAFT,
                Round.opens_at <= now,
            )
            .order_by(Round.closes_at.desc())
        )
    )
    ids = [r.id for r in rounds]
    n_anchors = dict(
        session.execute(
            select(RoundAnchor.round_id, func.count())
            .where(RoundAnchor.round_id.in_(ids))
            .group_by(RoundAnchor.round_id)
        ).all()
    )
    n_done = dict(
        session.execute(
            select(ScoreSheet.round_id, func.count())
            .where(ScoreSheet.round_id.in_(ids), ScoreSheet.assessor_id == user_id)
            .group_by(ScoreSheet.round_id)
        ).all()
    )
    return [RoundProgress(r, n_anchors.get(r.id, 0), n_done.get(r.id, 0), r.is_open_at(now)) for r in rounds]


@dataclass(frozen=True)
class AnchorItem:
    anchor_id: int
    title: str
    position: int
    sheet_id: int | None


def round_items(session: Session, rnd: Round, *, user_id: int) -> list[AnchorItem]:
    rows = session.execute(
        select(Anchor.id, Anchor.title, RoundAnchor.position, ScoreSheet.id)
        .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
        .outerjoin(
            ScoreSheet,
            (ScoreSheet.anchor_id == Anchor.id)
            & (ScoreSheet.round_id == rnd.id)
            & (ScoreSheet.assessor_id == user_id),
        )
        .where(RoundAnchor.round_id == rnd.id)
        .order_by(RoundAnchor.position)
    ).all()
    return [AnchorItem(a, t, p, s) for a, t, p, s in rows]


def load_round_with_rubric(session: Session, round_id: int) -> Round | None:
    return session.scalar(
        select(Round).where(Round.id == round_id).options(selectinload(Round.rubric_version))
    )

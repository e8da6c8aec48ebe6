"""The trainer's lists of people, rounds and anchors: filtered, searched and paged
(:mod:`calibration.services.listing`), each page in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from ..models import (
    Anchor,
    Assignment,
    CertificationStatus,
    Membership,
    QualificationOutcome,
    QualificationResult,
    RecalibrationWait,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    User,
    WaitStatus,
)
from .anchor_queries import AnchorListItem, anchor_items
from .listing import ListFilter, Paged, contains, page_rows, within_days

#: The people list's status filter: every certification status, and members without one.
NO_STATUS = "none"


# ------------------------------------------------------------------------------------------ people
@dataclass(frozen=True)
class PersonLine:
    user_id: int
    name: str
    email: str
    status: CertificationStatus | None
    expires_at: dt.datetime | None
    decision_waiting: bool  # a qualification result waits for the trainer's decision
    waiting_for_anchors: bool  # a recalibration waits for enough unseen anchors


def people_page(session: Session, program_id: int, f: ListFilter) -> Paged[PersonLine]:
    """The program's assessors by name; ``status`` is a certification status or :data:`NO_STATUS`,
    the search looks in names and email addresses, the days are the certification's expiry."""
    stmt = (
        select(
            User.id,
            User.name,
            User.email,
            Membership.certification_status,
            Membership.certification_expires_at,
        )
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
        .order_by(User.name, User.id)
    )
    if f.status == NO_STATUS:
        stmt = stmt.where(Membership.certification_status.is_(None))
    elif f.status:
        stmt = stmt.where(Membership.certification_status == CertificationStatus(f.status))
    if f.q:
        stmt = stmt.where(or_(contains(User.name, f.q), contains(User.email, f.q)))
    stmt = stmt.where(*within_days(Membership.certification_expires_at, f))
    rows, page, total = page_rows(session, stmt, f)
    training = [r.id for r in rows if r.certification_status == CertificationStatus.IN_TRAINING]
    deciding = decisions_waiting(session, program_id, training)
    ids = [r.id for r in rows]
    waiting = set(
        session.scalars(
            select(RecalibrationWait.user_id).where(
                RecalibrationWait.program_id == program_id,
                RecalibrationWait.status == WaitStatus.WAITING,
                RecalibrationWait.user_id.in_(ids),
            )
        )
    )
    items = [
        PersonLine(
            r.id,
            r.name,
            r.email,
            r.certification_status,
            r.certification_expires_at,
            r.id in deciding,
            r.id in waiting,
        )
        for r in rows
    ]
    return Paged(items, page, f.per_page, total)


def decisions_waiting(session: Session, program_id: int, user_ids: list[int]) -> set[int]:
    """Of ``user_ids`` (assessors in training), those whose latest qualification result waits for the
    trainer (not a pass, undecided, no attempt in progress), in two queries (even for none, so a
    page costs the same whoever is on it): the batched form of
    :func:`calibration.services.certification_view.awaiting_trainer`."""
    latest: dict[int, tuple[QualificationOutcome, bool]] = {}
    for user_id, outcome, decided in session.execute(
        select(
            QualificationResult.user_id,
            QualificationResult.outcome,
            QualificationResult.trainer_decision.is_not(None),
        )
        .where(QualificationResult.program_id == program_id, QualificationResult.user_id.in_(user_ids))
        .order_by(QualificationResult.id)
    ).all():
        latest[user_id] = (outcome, bool(decided))
    done = exists().where(
        QualificationResult.round_id == Round.id, QualificationResult.user_id == Assignment.user_id
    )
    attempting = set(
        session.scalars(
            select(Assignment.user_id)
            .join(Round, Round.id == Assignment.round_id)
            .where(
                Assignment.user_id.in_(user_ids),
                Round.program_id == program_id,
                Round.kind == RoundKind.QUALIFICATION,
                Round.status == RoundStatus.OPEN,
                ~done,
            )
        )
    )
    return {
        user_id
        for user_id, (outcome, decided) in latest.items()
        if outcome != QualificationOutcome.PASS and not decided and user_id not in attempting
    }


# ------------------------------------------------------------------------------------------ rounds
@dataclass(frozen=True)
class RoundLine:
    round: Round
    rubric: str
    n_assigned: int
    n_sheets: int


def rubric_choices(session: Session, program_id: int) -> list[tuple[int, str]]:
    """The program's rubric versions as (id, "title (version n)"), for the rubric filters."""
    return [
        (rid, f"{title} (version {version})")
        for rid, title, version in session.execute(
            select(RubricVersion.id, RubricVersion.title, RubricVersion.version)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.title, RubricVersion.version)
        ).all()
    ]


def rounds_page(session: Session, program_id: int, f: ListFilter) -> Paged[RoundLine]:
    """The program's rounds, latest opening first; the search looks in round names, the days are
    when the round opens."""
    stmt = (
        select(Round, RubricVersion.title, RubricVersion.version)
        .join(RubricVersion, RubricVersion.id == Round.rubric_version_id)
        .where(Round.program_id == program_id)
        .order_by(Round.opens_at.desc(), Round.id.desc())
    )
    if f.status:
        stmt = stmt.where(Round.status == RoundStatus(f.status))
    if f.kind:
        stmt = stmt.where(Round.kind == RoundKind(f.kind))
    if f.rubric_id is not None:
        stmt = stmt.where(Round.rubric_version_id == f.rubric_id)
    if f.q:
        stmt = stmt.where(contains(Round.name, f.q))
    stmt = stmt.where(*within_days(Round.opens_at, f))
    rows, page, total = page_rows(session, stmt, f)
    ids = [r.id for r, _, _ in rows]
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
    items = [
        RoundLine(r, f"{title} (version {version})", assigned.get(r.id, 0), sheets.get(r.id, 0))
        for r, title, version in rows
    ]
    return Paged(items, page, f.per_page, total)


# ----------------------------------------------------------------------------------------- anchors
def anchors_page(session: Session, program_id: int, f: ListFilter) -> Paged[AnchorListItem]:
    """The program's anchors (drafts and active before retired, then by title); ``kind`` is the
    anchor's purpose, the search looks in titles, the days are when the anchor was created."""
    stmt = (
        select(Anchor, RubricVersion.title, RubricVersion.version)
        .join(RubricVersion, RubricVersion.id == Anchor.rubric_version_id)
        .where(Anchor.program_id == program_id)
        .order_by(Anchor.status, Anchor.title, Anchor.id)
    )
    if f.status:
        stmt = stmt.where(Anchor.status == f.status)
    if f.kind:
        stmt = stmt.where(Anchor.purpose == f.kind)
    if f.rubric_id is not None:
        stmt = stmt.where(Anchor.rubric_version_id == f.rubric_id)
    if f.q:
        stmt = stmt.where(contains(Anchor.title, f.q))
    stmt = stmt.where(*within_days(Anchor.created_at, f))
    rows, page, total = page_rows(session, stmt, f)
    items = anchor_items(session, program_id, rows)
    return Paged(items, page, f.per_page, total)


def assessor_ids_by_status(session: Session, program_id: int, statuses: list[str]) -> list[int]:
    """The program's assessors whose certification status is one of ``statuses`` (for choosing a
    round's assessors by status)."""
    wanted = [CertificationStatus(s) for s in statuses]
    return list(
        session.scalars(
            select(Membership.user_id).where(
                and_(
                    Membership.program_id == program_id,
                    Membership.role == Role.ASSESSOR,
                    Membership.certification_status.in_(wanted),
                )
            )
        )
    )

"""The trainer's lists of drift flags, key challenges and recalibration sessions: filtered,
searched and paged (:mod:`calibration.services.listing`), each page in a constant number of
queries."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from ..models import (
    Anchor,
    ChallengeStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    KeyChallenge,
    RecalibrationSession,
    SessionBooking,
    SessionStatus,
    User,
)
from .flag_words import kind_of
from .flags import FlagLine, lines_for
from .listing import ListFilter, Paged, contains, page_rows, within_days
from .session_queries import ACTIVE, SessionLine

#: The flag list's kinds, each with its rules.
FLAG_KINDS: dict[str, tuple[FlagRule, ...]] = {
    kind: tuple(rule for rule in FlagRule if kind_of(rule) == kind)
    for kind in ("drift", "lean", "cohort", "expiry")
}
#: Individual drift flags raised in the same round as a cohort-level flag are shown under it.
_NESTABLE = tuple(rule for rule in FLAG_KINDS["drift"])


def _nested_condition(cohort_rounds: list[int]) -> ColumnElement[bool]:
    """An individual drift flag raised in a round that also has a cohort-level flag (the grouping of
    :func:`calibration.services.flag_words.group_under_cohort`, in SQL)."""
    return and_(
        DriftFlag.user_id.is_not(None),
        DriftFlag.rule.in_(_NESTABLE),
        DriftFlag.round_id.is_not(None),  # else NULL, and NOT NULL would drop the flag from the list
        DriftFlag.round_id.in_(cohort_rounds),
    )


def flags_page(session: Session, program_id: int, f: ListFilter) -> Paged[tuple[FlagLine, list[FlagLine]]]:
    """Flags, open ones first then newest first, each cohort-level flag with the individual drift
    flags of its round under it (when nothing narrows the list; a filtered list is flat). ``kind``
    is a key of :data:`FLAG_KINDS`, the search looks in the assessor's name, the days are when
    the flag was raised."""
    stmt = (
        select(DriftFlag)
        .outerjoin(User, User.id == DriftFlag.user_id)
        .where(DriftFlag.program_id == program_id)
        .order_by(DriftFlag.status != FlagStatus.OPEN, DriftFlag.id.desc())
    )
    grouped = not (f.q or f.status or f.kind or f.date_from or f.date_to)
    cohort_rounds: list[int] = []
    if grouped:  # one query for the rounds with a cohort-level flag, rather than a subquery per flag
        cohort_rounds = list(
            session.scalars(
                select(DriftFlag.round_id)
                .where(
                    DriftFlag.program_id == program_id,
                    DriftFlag.rule == FlagRule.COHORT_LEVEL,
                    DriftFlag.round_id.is_not(None),
                )
                .distinct()
            )
        )
        stmt = stmt.where(~_nested_condition(cohort_rounds))
    if f.status:
        stmt = stmt.where(DriftFlag.status == FlagStatus(f.status))
    if f.kind:
        stmt = stmt.where(DriftFlag.rule.in_(FLAG_KINDS[f.kind]))
    if f.q:
        stmt = stmt.where(contains(User.name, f.q))
    stmt = stmt.where(*within_days(DriftFlag.created_at, f))
    rows, page, total = page_rows(session, stmt, f)
    flags = [row[0] for row in rows]
    on_page = [x.round_id for x in flags if x.rule == FlagRule.COHORT_LEVEL and x.round_id is not None]
    nested: list[DriftFlag] = []
    if grouped:  # read even when the page has no cohort flag: the same queries for every page
        nested = list(
            session.scalars(
                select(DriftFlag)
                .where(
                    DriftFlag.program_id == program_id,
                    _nested_condition(on_page),
                )
                .order_by(DriftFlag.status != FlagStatus.OPEN, DriftFlag.id.desc())
            )
        )
    lines = lines_for(session, flags + nested)
    top, under = lines[: len(flags)], lines[len(flags) :]
    items = [
        (
            line,
            [
                u
                for u in under
                if line.flag.rule == FlagRule.COHORT_LEVEL and u.flag.round_id == line.flag.round_id
            ],
        )
        for line in top
    ]
    return Paged(items, page, f.per_page, total)


def challenges_page(session: Session, program_id: int, f: ListFilter) -> Paged[KeyChallenge]:
    """Open challenges first (oldest first), then answered ones (newest first); the search looks in
    anchor titles and assessor names, the days are when the challenge was raised."""
    stmt = (
        select(KeyChallenge)
        .join(Anchor, Anchor.id == KeyChallenge.anchor_id)
        .join(User, User.id == KeyChallenge.assessor_id)
        .where(KeyChallenge.program_id == program_id)
        .order_by(
            KeyChallenge.status != ChallengeStatus.OPEN,
            case((KeyChallenge.status == ChallengeStatus.OPEN, KeyChallenge.id), else_=-KeyChallenge.id),
        )
        .options(
            selectinload(KeyChallenge.anchor),
            selectinload(KeyChallenge.criterion),
            selectinload(KeyChallenge.assessor),
        )
    )
    if f.status:
        stmt = stmt.where(KeyChallenge.status == ChallengeStatus(f.status))
    if f.rubric_id is not None:
        stmt = stmt.where(Anchor.rubric_version_id == f.rubric_id)
    if f.q:
        stmt = stmt.where(or_(contains(Anchor.title, f.q), contains(User.name, f.q)))
    stmt = stmt.where(*within_days(KeyChallenge.created_at, f))
    rows, page, total = page_rows(session, stmt, f)
    return Paged([row[0] for row in rows], page, f.per_page, total)


def sessions_page(session: Session, program_id: int, f: ListFilter) -> Paged[SessionLine]:
    """Sessions, latest first, with the number booked; the search looks in titles, places and the
    trainer's name, the days are when the session starts."""
    trainer = aliased(User)
    stmt = (
        select(RecalibrationSession)
        .join(trainer, trainer.id == RecalibrationSession.trainer_id)
        .where(RecalibrationSession.program_id == program_id)
        .order_by(RecalibrationSession.starts_at.desc(), RecalibrationSession.id.desc())
        .options(selectinload(RecalibrationSession.trainer))
    )
    if f.status:
        stmt = stmt.where(RecalibrationSession.status == SessionStatus(f.status))
    if f.q:
        stmt = stmt.where(
            or_(
                contains(RecalibrationSession.title, f.q),
                contains(RecalibrationSession.location, f.q),
                contains(trainer.name, f.q),
            )
        )
    stmt = stmt.where(*within_days(RecalibrationSession.starts_at, f))
    rows, page, total = page_rows(session, stmt, f)
    found = [row[0] for row in rows]
    counts = dict(
        session.execute(
            select(SessionBooking.session_id, func.count())
            .where(SessionBooking.session_id.in_([r.id for r in found]), SessionBooking.status.in_(ACTIVE))
            .group_by(SessionBooking.session_id)
        ).all()
    )
    return Paged([SessionLine(r, counts.get(r.id, 0)) for r in found], page, f.per_page, total)

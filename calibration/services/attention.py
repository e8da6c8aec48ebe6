"""What needs the lead trainer's attention, counted for the overview: open drift flags, open key
challenges, recalibrations waiting for anchors or for a session, certifications expiring within the
reminder window, and counted rounds about to close with score sheets still missing. A constant
number of queries, whatever the size of the program."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    CertificationStatus,
    ChallengeStatus,
    DriftFlag,
    FlagStatus,
    KeyChallenge,
    Membership,
    RecalibrationWait,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    WaitStatus,
)
from . import timezones
from .policy import ProgramSettings
from .sessions import waiting_assessors

#: A round "closes soon" when its window ends within this many days (or has ended while it is
#: still open). Practice rounds are never counted, so they are left out.
CLOSING_DAYS = 7


@dataclass(frozen=True)
class ClosingRound:
    round_id: int
    name: str
    kind: RoundKind
    closes_at: dt.datetime
    expected: int  # assessors x anchors
    sheets: int

    @property
    def missing(self) -> int:
        return max(self.expected - self.sheets, 0)


@dataclass(frozen=True)
class Attention:
    open_flags: int
    open_challenges: int
    waiting_for_anchors: int
    waiting_for_session: int
    expiring: (
        int  # certified, expiring by the end of the reminder window's last day (or expired, not yet marked)
    )
    reminder_days: int
    horizon: dt.datetime  # now + reminder_days
    horizon_day: dt.date  # the horizon's date in the program's zone: the people list's "to" day
    closing: tuple[ClosingRound, ...]
    closing_days: int = CLOSING_DAYS

    @property
    def total(self) -> int:
        """Things waiting, each counted once (a round with sheets missing counts as one)."""
        return (
            self.open_flags
            + self.open_challenges
            + self.waiting_for_anchors
            + self.waiting_for_session
            + self.expiring
            + len(self.closing)
        )


def needs_attention(
    session: Session, program_id: int, *, now: dt.datetime | None = None, zone: str = timezones.DEFAULT_ZONE
) -> Attention:
    """Count what waits for the program's trainers, in eight queries. ``zone`` is the program's
    time zone: the reminder window ends with the last of its days there."""
    now = now or utcnow()
    settings = ProgramSettings.of_program(session, program_id)
    reminder_days = settings.certification.reminder_days
    horizon = now + dt.timedelta(days=reminder_days)
    open_flags = session.scalar(
        select(func.count(DriftFlag.id)).where(
            DriftFlag.program_id == program_id, DriftFlag.status == FlagStatus.OPEN
        )
    )
    open_challenges = session.scalar(
        select(func.count(KeyChallenge.id)).where(
            KeyChallenge.program_id == program_id, KeyChallenge.status == ChallengeStatus.OPEN
        )
    )
    waits = session.scalar(
        select(func.count(RecalibrationWait.id)).where(
            RecalibrationWait.program_id == program_id, RecalibrationWait.status == WaitStatus.WAITING
        )
    )
    # Whole days of the zone, as the people list's "expires to" filter that the queue links to counts them.
    horizon_day = timezones.to_local(horizon, zone).date()
    day_after = timezones.day_start(horizon_day + dt.timedelta(days=1), zone)
    expiring = session.scalar(
        select(func.count(Membership.id)).where(
            Membership.program_id == program_id,
            Membership.role == Role.ASSESSOR,
            Membership.certification_status == CertificationStatus.CERTIFIED,
            Membership.certification_expires_at < day_after,
        )
    )
    return Attention(
        open_flags=open_flags or 0,
        open_challenges=open_challenges or 0,
        waiting_for_anchors=waits or 0,
        waiting_for_session=len(waiting_assessors(session, program_id, now=now)),
        expiring=expiring or 0,
        reminder_days=reminder_days,
        horizon=horizon,
        horizon_day=horizon_day,
        closing=closing_rounds(session, program_id, now=now),
    )


def closing_rounds(session: Session, program_id: int, *, now: dt.datetime) -> tuple[ClosingRound, ...]:
    """Open counted rounds whose window ends within :data:`CLOSING_DAYS` days (or has ended), with
    sheets still missing, soonest first; in one query."""
    closing = (  # the rounds in question: the counts below read theirs only, not the program's
        select(Round.id).where(
            Round.program_id == program_id,
            Round.status == RoundStatus.OPEN,
            Round.kind != RoundKind.PRACTICE,
            Round.closes_at <= now + dt.timedelta(days=CLOSING_DAYS),
        )
    ).scalar_subquery()
    assigned = (
        select(Assignment.round_id, func.count(Assignment.id).label("n"))
        .where(Assignment.round_id.in_(closing))
        .group_by(Assignment.round_id)
        .subquery()
    )
    anchors = (
        select(RoundAnchor.round_id, func.count(RoundAnchor.id).label("n"))
        .where(RoundAnchor.round_id.in_(closing))
        .group_by(RoundAnchor.round_id)
        .subquery()
    )
    sheets = (  # sheets of the round's assigned assessors (others may have left the round)
        select(ScoreSheet.round_id, func.count(ScoreSheet.id).label("n"))
        .join(
            Assignment,
            (Assignment.round_id == ScoreSheet.round_id) & (Assignment.user_id == ScoreSheet.assessor_id),
        )
        .where(ScoreSheet.round_id.in_(closing))
        .group_by(ScoreSheet.round_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Round.id,
            Round.name,
            Round.kind,
            Round.closes_at,
            func.coalesce(assigned.c.n, 0) * func.coalesce(anchors.c.n, 0),
            func.coalesce(sheets.c.n, 0),
        )
        .outerjoin(assigned, assigned.c.round_id == Round.id)
        .outerjoin(anchors, anchors.c.round_id == Round.id)
        .outerjoin(sheets, sheets.c.round_id == Round.id)
        .where(Round.id.in_(closing))
        .order_by(Round.closes_at, Round.id)
    ).all()
    found = (
        ClosingRound(rid, name, kind, closes, int(expected), int(done))
        for rid, name, kind, closes, expected, done in rows
    )
    return tuple(r for r in found if r.missing)

"""Drift flags with their evidence, recalibrations, recalibration sessions and bookings, and the
private calendar feed tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .people import User, _enum
from .rounds import Round


class FlagRule(enum.StrEnum):
    PASS_RULE = "pass_rule"  # (a) a calibration round below the pass rule
    EWMA = "ewma"  # (b) EWMA of signed deviation outside its limits (issue 6; kept for old flags)
    ACCURACY_DROP = "accuracy_drop"  # (c) accuracy far below own baseline (issue 6; old flags)
    COHORT = "cohort"  # (d) cohort alpha low or well below the program's baseline
    EXPIRY = "expiry"  # (e) certification expired
    OWN_DRIFT = "own_drift"  # a change from the assessor's own level (self-starting CUSUM, issue 15)
    LEAN = "lean"  # a stable, material lean against the key: feedback, never a drift flag
    COHORT_LEVEL = "cohort_level"  # the whole cohort's level moving against the key (issue 15)


#: Rules about the whole cohort (no assessor).
COHORT_RULES = frozenset({FlagRule.COHORT, FlagRule.COHORT_LEVEL})


class EvidenceStream(enum.StrEnum):
    """Where a flag's evidence came from: calibration rounds, operational double scoring imported
    from live work, or validity anchors seeded into live work."""

    CALIBRATION = "calibration"
    OPERATIONAL = "operational"
    VALIDITY = "validity"


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class DriftFlag(Base):
    """A recorded finding of drift with everything it was computed from (DESIGN §2, §6).

    ``evidence_hash`` is the SHA-256 of rule, program, assessor, criterion and evidence: the same
    evidence can never raise a second flag, however often evaluation runs.
    """

    __tablename__ = "drift_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)  # None: cohort
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("criterion.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"))
    rule: Mapped[FlagRule] = mapped_column(_enum(FlagRule, "flag_rule"))
    stream: Mapped[EvidenceStream] = mapped_column(
        _enum(EvidenceStream, "evidence_stream"),
        default=EvidenceStream.CALIBRATION,
        server_default=EvidenceStream.CALIBRATION.value,
    )
    status: Mapped[FlagStatus] = mapped_column(_enum(FlagStatus, "flag_status"), default=FlagStatus.OPEN)
    direction: Mapped[str | None] = mapped_column(String(20))
    statistic: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    window_json: Mapped[str] = mapped_column(Text, default="[]")
    evidence_json: Mapped[str] = mapped_column(Text, default="{}")
    parameters_json: Mapped[str] = mapped_column(Text, default="{}")
    summary: Mapped[str] = mapped_column(Text)
    assessor_text: Mapped[str] = mapped_column(Text, default="")
    evidence_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class PoolSigmaEstimate(Base):
    """The certified pool's sigma of one rubric version as a drift evaluation estimated it: the
    control charts' recorded baseline (issue 17), not recomputed on every view.

    Append-only: each evaluation whose data differ from the latest estimate adds a row. What it was
    computed from is kept so it can be explained and recomputed: the calibration rounds
    (``round_ids_json``, in time order), the pool's assessors (``assessor_ids_json``) and the
    highest score sheet and correction ids the evaluation saw.
    """

    __tablename__ = "pool_sigma_estimate"
    __table_args__ = (Index("ix_pool_sigma_estimate_latest", "program_id", "rubric_version_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"))
    per_sheet: Mapped[float | None] = mapped_column(Float)
    by_criterion_json: Mapped[str] = mapped_column(Text, default="{}")
    df: Mapped[int] = mapped_column(Integer)
    n_sheets: Mapped[int] = mapped_column(Integer)
    n_scores: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    round_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    assessor_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    last_sheet_id: Mapped[int | None] = mapped_column(Integer)
    last_correction_id: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecalibrationOutcome(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    TOO_FEW = "too_few"
    MISSED = "missed"


class Recalibration(Base):
    """One recalibration attempt: the assessor's round of unseen anchors, its deadline and outcome."""

    __tablename__ = "recalibration"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("drift_flag.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[RecalibrationOutcome] = mapped_column(
        _enum(RecalibrationOutcome, "recalibration_outcome"), default=RecalibrationOutcome.PENDING
    )
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()


class WaitStatus(enum.StrEnum):
    WAITING = "waiting"  # no round of unseen anchors can be assembled yet
    STARTED = "started"  # the recalibration started (``recalibration_id``)
    WITHDRAWN = "withdrawn"  # the assessor is no longer recalibration_due


class RecalibrationWait(Base):
    """A recalibration that cannot be assembled yet: the assessor is ``recalibration_due`` and too
    few anchors they have never seen exist. ``shortfall_json`` is what was missing at the last try:
    ``{"pairs": [[criterion_id, level], ...], "needed": n, "available": k, "more": m}``. It starts
    by itself when anchors are activated or ``evaluate-drift`` runs; a trainer can try again."""

    __tablename__ = "recalibration_wait"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("drift_flag.id"))
    rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_version.id"))
    status: Mapped[WaitStatus] = mapped_column(
        _enum(WaitStatus, "wait_status"), default=WaitStatus.WAITING, index=True
    )
    shortfall_json: Mapped[str] = mapped_column(Text, default="{}")
    problem: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recalibration_id: Mapped[int | None] = mapped_column(ForeignKey("recalibration.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RecalibrationSession(Base):
    """A scheduled recalibration meeting. ``starts_at`` is UTC; ``timezone`` (IANA) is how it was
    entered and how invitations show it."""

    __tablename__ = "recalibration_session"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("duration_minutes >= 1", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(500))
    trainer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[SessionStatus] = mapped_column(
        _enum(SessionStatus, "session_status"), default=SessionStatus.SCHEDULED
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    trainer: Mapped[User] = relationship(foreign_keys=[trainer_id])

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    ACCEPTED = "accepted"
    MOVE_REQUESTED = "move_requested"
    CANCELLED = "cancelled"


class SessionBooking(Base):
    """An assessor's place in a session. ``uid`` is the iCalendar UID (stable for the booking);
    ``sequence`` goes up with every change the assessor's calendar must learn about."""

    __tablename__ = "session_booking"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recalibration_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    recalibration_id: Mapped[int | None] = mapped_column(ForeignKey("recalibration.id"))
    status: Mapped[BookingStatus] = mapped_column(
        _enum(BookingStatus, "booking_status"), default=BookingStatus.BOOKED
    )
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    attended: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[RecalibrationSession] = relationship()
    user: Mapped[User] = relationship()


class CalendarFeedToken(Base):
    """A private calendar feed link. Only the SHA-256 of the token is stored; revoking ends it."""

    __tablename__ = "calendar_feed_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

"""Onboarding and certification: one-time account tokens, qualification results, sent notices."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .people import User, _enum


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class AccountToken(Base):
    """A single-use link (invitation or password reset). Only the SHA-256 of the token is stored."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class QualificationOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    TOO_FEW = "too_few"


class TrainerDecision(enum.StrEnum):
    APPROVE = "approve"
    EXTEND = "extend"
    END = "end"


class QualificationResult(Base):
    """The pass rule's verdict on one assessor's qualification round, and the trainer's decision
    when the rule left it to them. ``checks_json`` keeps every check's plain-language line."""

    __tablename__ = "qualification_result"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[QualificationOutcome] = mapped_column(
        _enum(QualificationOutcome, "qualification_outcome")
    )
    message: Mapped[str] = mapped_column(Text)
    checks_json: Mapped[str] = mapped_column(Text, default="[]")
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    trainer_decision: Mapped[TrainerDecision | None] = mapped_column(
        _enum(TrainerDecision, "trainer_decision")
    )
    trainer_reason: Mapped[str | None] = mapped_column(Text)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    trainer_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SentNotice(Base):
    """One notice (e.g. an expiry reminder) claimed for sending; the unique key makes it once only."""

    __tablename__ = "sent_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

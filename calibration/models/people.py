"""Programs, users, their role in a program, and server-side login sessions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEAD_TRAINER = "lead_trainer"
    ASSESSOR = "assessor"


class CertificationStatus(enum.StrEnum):
    INVITED = "invited"
    IN_TRAINING = "in_training"
    CERTIFIED = "certified"
    RECALIBRATION_DUE = "recalibration_due"
    SUSPENDED = "suspended"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Program(Base):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Program defaults (pass rule, drift thresholds...) as JSON text; copied into each round/flag.
    settings_json: Mapped[str] = mapped_column(Text, default="{}")
    # IANA name: round windows and session times are entered and shown in it (stored UTC).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # IANA name the assessor pages show times in; None: the program's zone.
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", order_by="Membership.id")


class Membership(Base):
    """A user's role in one program, and (for assessors) their certification status."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "program_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    certification_status: Mapped[CertificationStatus | None] = mapped_column(
        _enum(CertificationStatus, "certification_status")
    )
    certified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    certification_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    program: Mapped[Program] = relationship()


class AuthSession(Base):
    """A server-side login session; the cookie holds only a random token whose hash is stored here."""

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    request_count: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed logins, counted in the database so throttling holds across server processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

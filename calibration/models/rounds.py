"""Rounds of anchors assigned to assessors."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .anchors import Anchor
from .people import User, _enum
from .rubrics import RubricVersion


class RoundKind(enum.StrEnum):
    QUALIFICATION = "qualification"
    CALIBRATION = "calibration"
    RECALIBRATION = "recalibration"
    PRACTICE = "practice"


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Round(Base):
    __tablename__ = "round"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="window_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RoundKind] = mapped_column(_enum(RoundKind, "round_kind"))
    status: Mapped[RoundStatus] = mapped_column(_enum(RoundStatus, "round_status"), default=RoundStatus.DRAFT)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The pass rule in force for this round, frozen when the round is created (JSON).
    pass_rule_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Practice rounds: how many tries an assessor has at each anchor before the key is shown
    # (1: the key after the first). Other kinds keep 1; their sheets are final at once.
    practice_tries: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    rubric_version: Mapped[RubricVersion] = relationship()
    round_anchors: Mapped[list[RoundAnchor]] = relationship(order_by="RoundAnchor.position")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="round", order_by="Assignment.id")

    def is_open_at(self, when: dt.datetime) -> bool:
        return self.status == RoundStatus.OPEN and self.opens_at <= when < self.closes_at


class RoundAnchor(Base):
    __tablename__ = "round_anchor"
    __table_args__ = (UniqueConstraint("round_id", "anchor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)

    anchor: Mapped[Anchor] = relationship()


class Assignment(Base):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship(back_populates="assignments")
    user: Mapped[User] = relationship()

"""Anchor submissions and their versioned master keys."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ColumnElement, ForeignKey, Integer, String, Text, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .people import _enum
from .rubrics import Criterion, Level, RubricVersion


class AnchorPurpose(enum.StrEnum):
    PRACTICE = "practice"
    QUALIFICATION = "qualification"
    CALIBRATION = "calibration"


class AnchorStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class Anchor(Base):
    __tablename__ = "anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    evidence_md: Mapped[str] = mapped_column(Text)
    purpose: Mapped[AnchorPurpose] = mapped_column(_enum(AnchorPurpose, "anchor_purpose"))
    status: Mapped[AnchorStatus] = mapped_column(
        _enum(AnchorStatus, "anchor_status"), default=AnchorStatus.ACTIVE
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Released to the certified assessors' library (who: the audit trail): no round serves it again.
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    rubric_version: Mapped[RubricVersion] = relationship()
    key_versions: Mapped[list[AnchorKeyVersion]] = relationship(
        back_populates="anchor", order_by="AnchorKeyVersion.version"
    )

    @property
    def released(self) -> bool:
        return self.released_at is not None

    @classmethod
    def in_pool(cls) -> ColumnElement[bool]:
        """The anchors a round may serve: active and never released to the library."""
        return and_(cls.status == AnchorStatus.ACTIVE, cls.released_at.is_(None))


class AnchorKeyVersion(Base):
    """One version of an anchor's master key. Changing a key adds a version with a reason."""

    __tablename__ = "anchor_key_version"
    __table_args__ = (UniqueConstraint("anchor_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    anchor: Mapped[Anchor] = relationship(back_populates="key_versions")
    entries: Mapped[list[AnchorKeyEntry]] = relationship(back_populates="key_version")


class AnchorKeyEntry(Base):
    """The key's level and rationale for one criterion."""

    __tablename__ = "anchor_key_entry"
    __table_args__ = (UniqueConstraint("key_version_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_version_id: Mapped[int] = mapped_column(ForeignKey("anchor_key_version.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("level.id"))
    level_value: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)

    key_version: Mapped[AnchorKeyVersion] = relationship(back_populates="entries")
    criterion: Mapped[Criterion] = relationship()
    level: Mapped[Level] = relationship()

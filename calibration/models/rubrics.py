"""Stored rubric versions: immutable, content-hashed snapshots of a rubric file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow


class RubricVersion(Base):
    __tablename__ = "rubric_version"
    __table_args__ = (
        UniqueConstraint("program_id", "content_hash"),
        UniqueConstraint("program_id", "slug", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    level_of_measurement: Mapped[str] = mapped_column(String(16))
    earn_cut: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # The canonical JSON the hash was computed over: the version can always be rebuilt exactly.
    definition_json: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="rubric_version", order_by="Criterion.position"
    )
    levels: Mapped[list[Level]] = relationship(back_populates="rubric_version", order_by="Level.position")

    @property
    def level_values(self) -> list[int]:
        return [level.value for level in self.levels]


class Criterion(Base):
    __tablename__ = "criterion"
    __table_args__ = (UniqueConstraint("rubric_version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    rubric_version: Mapped[RubricVersion] = relationship(back_populates="criteria")
    descriptors: Mapped[list[LevelDescriptor]] = relationship(
        back_populates="criterion", order_by="LevelDescriptor.level_id"
    )


class Level(Base):
    __tablename__ = "level"
    __table_args__ = (UniqueConstraint("rubric_version_id", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"), index=True)
    value: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))

    rubric_version: Mapped[RubricVersion] = relationship(back_populates="levels")


class LevelDescriptor(Base):
    """What a level looks like for one criterion."""

    __tablename__ = "level_descriptor"
    __table_args__ = (UniqueConstraint("criterion_id", "level_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("level.id"), index=True)
    text: Mapped[str] = mapped_column(Text)

    criterion: Mapped[Criterion] = relationship(back_populates="descriptors")
    level: Mapped[Level] = relationship()

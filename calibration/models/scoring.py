"""Score sheets: one assessor's final scores for one anchor in one round. Never updated."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .anchors import Anchor, AnchorKeyVersion
from .rubrics import Criterion


class ScoreSheet(Base):
    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("round_id", "anchor_id", "assessor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The key version in force when the sheet became final: results say which key they used.
    key_version_id: Mapped[int] = mapped_column(ForeignKey("anchor_key_version.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(64))

    anchor: Mapped[Anchor] = relationship()
    key_version: Mapped[AnchorKeyVersion] = relationship()
    scores: Mapped[list[CriterionScore]] = relationship(back_populates="sheet", order_by="CriterionScore.id")


class CriterionScore(Base):
    __tablename__ = "criterion_score"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("level.id"))
    # Denormalised level value so bulk reads need no join.
    level_value: Mapped[int] = mapped_column(Integer)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class UnitLevelCount(Base):
    """How many final criterion-scores gave each level, per round, anchor and criterion.

    Kept by a database trigger on ``criterion_score`` inserts (migration 0005), so it can never
    disagree with the scores, which are themselves never updated or deleted. Cohort reliability over
    many rounds reads these few thousand rows instead of grouping millions of scores.
    """

    __tablename__ = "unit_level_count"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), primary_key=True)
    level_value: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)

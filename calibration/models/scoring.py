"""Score sheets: one assessor's final scores for one anchor in one round. Never updated; a mistake
is put right by a :class:`ScoreCorrection` linked to the score, with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .anchors import Anchor, AnchorKeyVersion
from .people import User
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
    corrections: Mapped[list[ScoreCorrection]] = relationship(order_by="ScoreCorrection.id", viewonly=True)


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


class ScoreCorrection(Base):
    """A trainer's correction of one final criterion-score: a new linked record with a reason.

    The score it corrects is never changed (the database refuses). A score's *effective* level is
    the level of its latest correction (highest ``seq``), else its own; every statistic reads that.
    ``seq`` counts the corrections of one score from 1, so two trainers correcting the same score
    at once cannot both append the same step. Rows are never updated or deleted (migration 0007).
    """

    __tablename__ = "score_correction"
    __table_args__ = (
        UniqueConstraint("criterion_score_id", "seq"),
        CheckConstraint("level_value <> previous_level_value", name="changes_level"),
        CheckConstraint("seq >= 1", name="seq_from_one"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_score_id: Mapped[int] = mapped_column(ForeignKey("criterion_score.id"))
    seq: Mapped[int] = mapped_column(Integer)
    # Denormalised from the score: the round's latest correction is part of every cache key.
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"))
    previous_level_value: Mapped[int] = mapped_column(Integer)
    level_id: Mapped[int] = mapped_column(ForeignKey("level.id"))
    level_value: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    corrected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(64))

    corrected_by: Mapped[User] = relationship()
    criterion: Mapped[Criterion] = relationship()


def effective_level() -> Any:
    """SQL for a criterion-score's effective level: its latest correction's level, else its own.

    A correlated subquery on ``criterion_score``: use it in place of ``CriterionScore.level_value``
    in any select that has ``criterion_score`` in its FROM clause.
    """
    latest = (
        select(ScoreCorrection.level_value)
        .where(ScoreCorrection.criterion_score_id == CriterionScore.id)
        .order_by(ScoreCorrection.seq.desc())
        .limit(1)
        .correlate(CriterionScore)
        .scalar_subquery()
    )
    return func.coalesce(latest, CriterionScore.level_value)

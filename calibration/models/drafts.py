"""Score drafts: what an assessor has typed on a score page and not yet submitted.

A draft is a private working copy, never a score: no statistic, export, report or trainer page
reads this table. At most one per assessor, round and anchor (saving again overwrites it); the
final sheet deletes it in the submit's own transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class ScoreDraft(Base):
    __tablename__ = "score_draft"
    __table_args__ = (UniqueConstraint("assessor_id", "round_id", "anchor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id", ondelete="CASCADE"))
    # {"<criterion id>": <level value>} for the criteria chosen so far (any may be missing).
    levels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

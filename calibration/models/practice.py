"""Practice tries after the first: each a new, final record, never an update of the sheet.

The first try at a practice anchor is the assessor's :class:`~calibration.models.ScoreSheet`, as in
every round. While the round's ``practice_tries`` allow more and the last try differed from the key,
the assessor may try the same anchor again: each further try is a :class:`PracticeAttempt` with its
number (2, 3, ...). Rows are never updated or deleted (migration 0014's triggers). No statistic,
report, export or trainer page reads this table: practice never counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class PracticeAttempt(Base):
    __tablename__ = "practice_attempt"
    __table_args__ = (
        UniqueConstraint("round_id", "anchor_id", "assessor_id", "attempt"),
        CheckConstraint("attempt >= 2", name="after_the_sheet"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The try's number: the score sheet is try 1, so these start at 2.
    attempt: Mapped[int] = mapped_column(Integer)
    # The key version the try was compared with (the anchor's latest when it was stored).
    key_version_id: Mapped[int] = mapped_column(ForeignKey("anchor_key_version.id"))
    # {"<criterion id>": <level value>} for every criterion of the round's rubric.
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(64))

"""An assessor's challenge to one criterion of a master key, and the lead trainer's answer."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .anchors import Anchor, AnchorKeyVersion
from .people import User, _enum
from .rubrics import Criterion


class ChallengeStatus(enum.StrEnum):
    OPEN = "open"
    KEY_STANDS = "key_stands"
    KEY_CHANGED = "key_changed"


class KeyChallenge(Base):
    """Raised from the assessor's feedback (so only after their own sheet is final), about the key
    version that sheet was compared with. One per sheet and criterion. Answered once: the key
    stands (with the trainer's reason) or a newer key version was made (linked)."""

    __tablename__ = "key_challenge"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    key_version_id: Mapped[int] = mapped_column(ForeignKey("anchor_key_version.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"))
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id"))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    argument: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ChallengeStatus] = mapped_column(
        _enum(ChallengeStatus, "challenge_status"), default=ChallengeStatus.OPEN, index=True
    )
    response: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    new_key_version_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_key_version.id"))

    anchor: Mapped[Anchor] = relationship()
    criterion: Mapped[Criterion] = relationship()
    key_version: Mapped[AnchorKeyVersion] = relationship(foreign_keys=[key_version_id])
    new_key_version: Mapped[AnchorKeyVersion | None] = relationship(foreign_keys=[new_key_version_id])
    assessor: Mapped[User] = relationship(foreign_keys=[assessor_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

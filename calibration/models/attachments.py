"""Files attached to an anchor's evidence (PDF, PNG, JPEG), stored outside ``static`` under
server-generated names; only this row knows the name the trainer uploaded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .anchors import Anchor

_KIND_LABELS = {"application/pdf": "PDF", "image/png": "PNG image", "image/jpeg": "JPEG image"}


def size_label(n: int) -> str:
    """Bytes as people read them (one decimal from a kilobyte up)."""
    if n < 1000:
        return f"{n} bytes"
    if n < 1000**2:
        return f"{n / 1000:.1f} KB"
    return f"{n / 1000**2:.1f} MB"


class AnchorAttachment(Base):
    __tablename__ = "anchor_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    # Random hex plus the extension of the detected type: never derived from the uploaded name.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    # Shown to people and used as the download name (after sanitising); never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    # Decided from the file's first bytes, not from the browser's claim or the extension.
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # A backref keeps models/anchors.py untouched while templates can list ``anchor.attachments``.
    anchor: Mapped[Anchor] = relationship(
        backref=backref("attachments", order_by="AnchorAttachment.id", lazy="select")
    )

    @property
    def size_label(self) -> str:
        return size_label(self.size_bytes)

    @property
    def kind_label(self) -> str:
        return _KIND_LABELS.get(self.content_type, self.content_type)

"""The mail outbox: every outgoing mail is a row, written in the transaction of the change it
reports, sent after the commit, and retried until delivered (see :mod:`calibration.notify.outbox`)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .people import _enum


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or a further attempt
    SENT = "sent"  # handed to the mail server; bodies and attachments are cleared then
    FAILED = "failed"  # every attempt failed; shown to trainers, sent again only on request


class OutgoingMail(Base):
    """One mail to send (or, for ``kind`` ``password-reset-request``, a reset request to handle:
    ``to_address`` is the address typed, ``body_text`` the request's details). ``program_id`` and
    ``session_id`` say which program and recalibration session it is about, so trainers see the
    mail that did not go out."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("recalibration_session.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))  # where replies go (None: the sender)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    attachments_json: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus, "mail_status"), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

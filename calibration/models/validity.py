"""Validity anchors seeded into live work (issue 18, item 6).

A :class:`ValidityAssignment` is one calibration anchor that the scoring platform inserted into an
assessor's live queue, blind: the assessor cannot tell it from live work. It records the anchor, the
key version in force when it was assigned (the answer is scored against that version), the
platform's own id for the queue item (``external_ref``), and, once the platform posts the
assessor's levels back, those levels and the scored result.

Status: ``assigned`` until the answer arrives (``answered``) or its ``expires_at`` passes and the
expiry command marks it ``expired`` (reported, never dropped). An answered or expired row is final:
migration 0020's triggers refuse any update or delete of it. ``(assessor_id, anchor_id)`` is unique:
an anchor is never served twice to the same assessor, even by concurrent requests.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .people import _enum


class ValidityStatus(enum.StrEnum):
    ASSIGNED = "assigned"  # in the assessor's queue, no answer yet
    ANSWERED = "answered"  # the assessor's levels came back and were scored (final)
    EXPIRED = "expired"  # no answer before ``expires_at`` (final, and reported)


#: Statuses after which a row never changes (migration 0020's triggers enforce it).
FINAL_VALIDITY = frozenset({ValidityStatus.ANSWERED, ValidityStatus.EXPIRED})


class ValidityAssignment(Base):
    __tablename__ = "validity_assignment"
    __table_args__ = (
        UniqueConstraint("program_id", "external_ref"),
        UniqueConstraint("assessor_id", "anchor_id"),
        Index("ix_validity_assignment_program_status", "program_id", "status"),
        Index("ix_validity_assignment_assessor_assigned_at", "assessor_id", "assigned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    anchor_id: Mapped[int] = mapped_column(ForeignKey("anchor.id"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"))
    key_version_id: Mapped[int] = mapped_column(ForeignKey("anchor_key_version.id"))
    external_ref: Mapped[str] = mapped_column(String(200))  # the platform's queue item id
    status: Mapped[ValidityStatus] = mapped_column(
        _enum(ValidityStatus, "validity_status"), default=ValidityStatus.ASSIGNED
    )
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when we stored the answer
    scored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when the assessor scored it
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # {criterion key: level value} as posted, and the result: {"criteria": [{criterion, level, key,
    # deviation, exact, adjacent}], "n", "exact", "adjacent", "mean_deviation"}.
    levels_json: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))  # the request that assigned it
    answer_request_id: Mapped[str | None] = mapped_column(String(64))

"""Operational (live) scoring imported from the platform a program scores on, and the imports that
brought it in.

An :class:`OperationalRating` is one reader's level for one criterion of one live submission, as the
scoring platform recorded it: ``read_number`` 1 is the first read, 2 the second (double scoring),
higher numbers adjudication or later reads. ``(program_id, external_submission_id, criterion_id,
read_number)`` is its natural key: importing the same row again writes nothing, and a row that says
something else for the same key is a conflict, reported and never stored. Rows are never updated or
deleted (migration 0018's triggers), like score sheets.

An :class:`OperationalImport` is one upload (web, API batch or CLI) with its progress and outcome.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .people import _enum


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"  # accepted, waiting for a worker
    CHECKING = "checking"  # every row is being validated; nothing is written yet
    STORING = "storing"  # every row passed; rows are being written
    DONE = "done"  # stored (possibly nothing new: every row was already there)
    REJECTED = "rejected"  # at least one row was bad; nothing was written (see the error report)
    FAILED = "failed"  # the import could not run (for example its file is unreadable)


class ImportSource(enum.StrEnum):
    UPLOAD = "upload"
    API = "api"
    CLI = "cli"


class OperationalImport(Base):
    __tablename__ = "operational_import"
    __table_args__ = (
        # What a rating's composite foreign key points at (its import, program and rubric version).
        Index(
            "uq_operational_import_id_program_id_rubric_version_id",
            "id",
            "program_id",
            "rubric_version_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id"))
    source: Mapped[ImportSource] = mapped_column(_enum(ImportSource, "import_source"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    # Where the uploaded file waits for its worker (under the instance folder); None once done.
    upload_path: Mapped[str | None] = mapped_column(String(500))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "import_status"), default=ImportStatus.QUEUED, index=True
    )
    rows_total: Mapped[int | None] = mapped_column(Integer)  # known once the file is read through
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_already: Mapped[int] = mapped_column(Integer, default=0)  # identical rows stored earlier
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # The error report: a JSON list of {"row", "column", "value", "problem"} (the first ones only;
    # ``error_count`` says how many there were).
    errors_json: Mapped[str] = mapped_column(Text, default="[]")
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OperationalRating(Base):
    __tablename__ = "operational_rating"
    __table_args__ = (
        UniqueConstraint("program_id", "external_submission_id", "criterion_id", "read_number"),
        # What the report and the drift stream read by. No index by assessor: nothing reads by it,
        # and each index is paid on every stored row (migration 0024 dropped one).
        Index("ix_operational_rating_program_scored_at", "program_id", "scored_at"),
        # One key for what every row of an import shares: one check per inserted row, not three
        # (migration 0024); it also makes the rating's program and version its import's.
        ForeignKeyConstraint(
            ["import_id", "program_id", "rubric_version_id"],
            [
                "operational_import.id",
                "operational_import.program_id",
                "operational_import.rubric_version_id",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int] = mapped_column(Integer, index=True)
    rubric_version_id: Mapped[int] = mapped_column(Integer)
    external_submission_id: Mapped[str] = mapped_column(String(200))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    level: Mapped[int] = mapped_column(Integer)  # the rubric level's value
    read_number: Mapped[int] = mapped_column(Integer)
    scored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

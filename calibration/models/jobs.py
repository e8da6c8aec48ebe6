"""Background jobs: the durable ``job`` table, and the tables of the queue library's PostgreSQL
storage (created by the migration, since the server's role may not create tables)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .people import _enum


class JobStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker (also after a failed try, until ``run_after``)
    RUNNING = "running"  # claimed by ``locked_by`` until ``lease_until`` (renewed while it runs)
    DONE = "done"
    DEAD = "dead"  # every try failed; shown to admins, run again only on request


class Job(Base):
    """One unit of background work. Written in the transaction of the change that calls for it, so
    a job accepted is never lost; the queue only carries its id (see ``services/jobs.py``)."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_run_after", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload_json: Mapped[str] = mapped_column(Text, default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    program_id: Mapped[int | None] = mapped_column(Integer, index=True)  # for lists; no foreign key
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # last handed to the queue
    locked_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# The queue library's PostgreSQL storage (table prefix "huey"), declared here so the migration
# creates them as the owner and the server's role only reads and writes rows. SQLite deployments
# keep the queue in a file of its own in the instance folder and leave these empty.
huey_kv = Table(
    "huey_kv",
    Base.metadata,
    Column("queue", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
huey_schedule = Table(
    "huey_schedule",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("queue", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("timestamp", Double, nullable=False),
    Index("huey_schedule_queue_timestamp", "queue", "timestamp"),
)
huey_task = Table(
    "huey_task",
    Base.metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("queue", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("priority", Double, nullable=False, server_default=text("0.0")),
    Index("huey_task_queue_priority_id", "queue", "priority", "id"),
)
huey_counter = Table(
    "huey_counter",
    Base.metadata,
    Column("queue", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", BigInteger, nullable=False, server_default=text("0")),
)

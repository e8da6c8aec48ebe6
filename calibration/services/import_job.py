"""The background job that processes an operational ratings import (enqueued by
:func:`.operational_import.create_import` in the transaction that records the import)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ..db import write_intent
from ..models import ImportStatus
from . import jobs
from .operational_import import IMPORT_JOB, process_import


@jobs.handler(IMPORT_JOB)
def import_job(maker: sessionmaker[Session], payload: jobs.Payload) -> None:
    """The background job of an import (enqueued by :func:`create_import`): idempotent, so a job run
    twice, or again after a worker died half-way, stores every row once. Once rows are stored, the
    drift rules read the new live scoring (one evaluation per import)."""
    import_id = int(payload["import_id"])
    summary = process_import(maker, import_id)
    if summary.status == ImportStatus.DONE and summary.rows_stored:
        with write_intent(), maker() as s:
            jobs.enqueue(s, jobs.DRIFT_EVALUATE, {}, dedupe_key=f"{jobs.DRIFT_EVALUATE}:import:{import_id}")
            s.commit()

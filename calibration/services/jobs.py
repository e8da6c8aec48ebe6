"""Background jobs: durable rows in the app's database, run by workers at least once.

The interface (for every feature that needs work done after a change is committed):

* :func:`enqueue` writes a :class:`~calibration.models.Job` row in the caller's transaction (flushed,
  never committed), so a job exists exactly when the change that called for it was kept. The same
  ``dedupe_key`` twice is one job (the first row is returned). Whoever commits (the web boundary,
  a CLI command, a job) hands the ids :func:`take_enqueued` returns to the queue
  (:mod:`calibration.notify.queue`) after the commit; a job that never reaches the queue (the
  process died in between) is found and handed over by the queue's sweep.
* ``@handler("kind")`` registers the function that does a kind of work, with the signature
  ``(sessionmaker, payload) -> None``. It opens its own sessions and commits its own work (long
  handlers commit their progress in chunks).

**Handlers must be idempotent.** A job runs at least once: a worker killed mid-way (``kill -9``, a
lost machine) stops renewing its lease, and once the lease has run out another worker claims the
row and runs the handler again from the start. Write so that a second run finds the work done and
does nothing twice (unique keys, conditional updates, "already sent" markers).

Running (:func:`run_job`): one conditional ``UPDATE`` claims a row that is queued and due, or
running with an expired lease (on PostgreSQL the row is first locked with ``FOR UPDATE SKIP
LOCKED``, so competing workers pass over it instead of waiting); the lease is renewed while the
handler runs; success marks it ``done``; an exception puts it back in line after a growing wait
(:func:`backoff`) until ``max_attempts`` tries have failed, then it is ``dead`` (shown to admins,
run again only with :func:`retry_dead`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..db import rows_matched, utcnow, write_intent
from ..models import Job, JobStatus
from . import audit
from .context import Actor
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[sessionmaker[Session], Payload], None]

DEFAULT_MAX_ATTEMPTS = 8
#: The drift rules over every program (``notify/drift_run.py``): hourly, and after new evidence arrives
#: (an import stored, a validity item scored).
DRIFT_EVALUATE = "drift.evaluate"
LEASE = dt.timedelta(seconds=60)  # a running job's claim; renewed every third of it while it runs
REDISPATCH_AFTER = dt.timedelta(minutes=5)  # a queued job handed over this long ago is handed over again
ERROR_MAX_CHARS = 500
MAX_BACKOFF = dt.timedelta(hours=1)

_HANDLERS: dict[str, Handler] = {}
_ENQUEUED = "calibration.jobs.enqueued"


class UnknownJobKind(LookupError):
    """No handler is registered for a job's kind (its module was not imported by the worker)."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``function`` as the handler of ``kind`` (one handler per kind)."""

    def register(function: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not function:
            qualified = f"{function.__module__}.{function.__qualname__}"
            if f"{existing.__module__}.{existing.__qualname__}" != qualified:
                raise ValueError(f"a handler for job kind {kind!r} is registered already")
        _HANDLERS[kind] = function
        return function

    return register


def handler_for(kind: str) -> Handler:
    found = _HANDLERS.get(kind)
    if found is None:
        raise UnknownJobKind(f"no handler is registered for job kind {kind!r}")
    return found


def kinds() -> list[str]:
    """The registered job kinds (sorted)."""
    return sorted(_HANDLERS)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: 5 s, 20 s, 80 s, … at most an hour."""
    seconds = 5 * 4 ** max(0, attempts - 1)
    return min(MAX_BACKOFF, dt.timedelta(seconds=seconds))


def enqueue(
    session: Session,
    kind: str,
    payload: Payload,
    *,
    dedupe_key: str | None,
    program_id: int | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    hand_over: bool = True,
) -> Job:
    """Write a job in the caller's transaction (flushed, not committed) and return it.

    ``dedupe_key``: the same key twice is one job (whatever its status: a job that is done is not
    run again); ``None`` always makes a new job. ``payload`` must be JSON (ids, not objects).
    ``hand_over=False``: the commit does not hand the job to the queue; the queue's sweep does once
    it is due (a safety net, usually withdrawn with :func:`cancel` before its time).
    """
    key = dedupe_key if dedupe_key is not None else f"{kind}:{uuid.uuid4().hex}"
    existing = session.scalar(select(Job).where(Job.dedupe_key == key))
    if existing is not None:
        return existing
    now = utcnow()
    job = Job(
        kind=kind,
        payload_json=json.dumps(payload, sort_keys=True),
        dedupe_key=key,
        program_id=program_id,
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:  # a concurrent transaction enqueued the same key first
        found = session.scalar(select(Job).where(Job.dedupe_key == key))
        if found is None:
            raise
        return found
    if hand_over:
        session.info.setdefault(_ENQUEUED, []).append(job.id)
    return job


def cancel(session: Session, dedupe_key: str) -> bool:
    """Mark the queued job with ``dedupe_key`` done without running it (its work was done another
    way), in the caller's transaction; False when there is no such queued job."""
    result = session.execute(
        update(Job)
        .where(Job.dedupe_key == dedupe_key, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.DONE, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


def take_enqueued(session: Session) -> tuple[int, ...]:
    """The ids of the jobs :func:`enqueue` wrote in ``session`` since the last take (the caller
    hands them to the queue once its commit has succeeded)."""
    return tuple(session.info.pop(_ENQUEUED, []))


@sa_event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    """A rolled-back transaction enqueued nothing."""
    session.info.pop(_ENQUEUED, None)


def _claimable(now: dt.datetime) -> Any:
    return or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
        and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
    )


def due_for_dispatch(
    session: Session,
    *,
    now: dt.datetime | None = None,
    limit: int = 500,
    redispatch_after: dt.timedelta = REDISPATCH_AFTER,
) -> list[int]:
    """Jobs a worker should be handed: due and never handed over, or handed over ``redispatch_after``
    ago and still not claimed (a worker took the message and died before claiming the row), or
    running with an expired lease (their worker died)."""
    now = now or utcnow()
    stmt = (
        select(Job.id)
        .where(
            or_(
                and_(
                    Job.status == JobStatus.QUEUED,
                    Job.run_after <= now,
                    or_(Job.dispatched_at.is_(None), Job.dispatched_at < now - redispatch_after),
                ),
                and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
            )
        )
        .order_by(Job.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def due(session: Session, *, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Every job that may be claimed now (queued and due, or with an expired lease), oldest first."""
    now = now or utcnow()
    return list(session.scalars(select(Job.id).where(_claimable(now)).order_by(Job.id).limit(limit)))


def mark_dispatched(maker: sessionmaker[Session], ids: Iterable[int], now: dt.datetime | None = None) -> None:
    """Note that these jobs were handed to the queue (the sweep hands them over again only later)."""
    ids = list(ids)
    if not ids:
        return
    with write_intent(), maker() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids), Job.status == JobStatus.QUEUED)
            .values(dispatched_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: Payload
    attempts: int
    max_attempts: int


def claim(
    maker: sessionmaker[Session], job_id: int, *, worker: str, now: dt.datetime, lease: dt.timedelta = LEASE
) -> Claimed | None:
    """Take the job for ``worker`` if it is claimable now; None if another worker has it, it is done,
    dead or not due."""
    with write_intent(), maker() as session:
        if session.get_bind().dialect.name == "postgresql":
            locked = session.scalar(
                select(Job.id).where(Job.id == job_id, _claimable(now)).with_for_update(skip_locked=True)
            )
            if locked is None:
                return None
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now))
            .values(
                status=JobStatus.RUNNING,
                locked_by=worker[:120],
                lease_until=now + lease,
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if rows_matched(result) != 1:
            session.rollback()
            return None
        row = session.get(Job, job_id)
        assert row is not None
        claimed = Claimed(
            row.id, row.kind, json.loads(row.payload_json or "{}"), row.attempts, row.max_attempts
        )
        session.commit()
    return claimed


class _Heartbeat:
    """Renews a running job's lease every third of it until stopped."""

    def __init__(self, maker: sessionmaker[Session], job_id: int, worker: str, lease: dt.timedelta) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(maker, job_id, worker, lease), name=f"job-{job_id}-lease", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self, maker: sessionmaker[Session], job_id: int, worker: str, lease: dt.timedelta) -> None:
        while not self._stop.wait(lease.total_seconds() / 3):
            try:
                with write_intent(), maker() as session:
                    session.execute(
                        update(Job)
                        .where(
                            Job.id == job_id, Job.locked_by == worker[:120], Job.status == JobStatus.RUNNING
                        )
                        .values(lease_until=utcnow() + lease)
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
            except Exception:  # the next beat tries again; a lost lease only means a second run
                log.warning("could not renew the lease of job %s", job_id, exc_info=True)


Result = Literal["done", "retry", "dead", "skipped"]


def run_job(
    maker: sessionmaker[Session],
    job_id: int,
    *,
    worker: str,
    now: dt.datetime | None = None,
    lease: dt.timedelta = LEASE,
) -> Result:
    """Claim the job, run its handler and record the outcome; never raises for a handler's error."""
    now = now or utcnow()
    claimed = claim(maker, job_id, worker=worker, now=now, lease=lease)
    if claimed is None:
        return "skipped"
    error: str | None = None
    try:
        work = handler_for(claimed.kind)
        with _Heartbeat(maker, claimed.id, worker, lease):
            work(maker, claimed.payload)
    except Exception as exc:  # recorded on the row and retried
        log.exception("job %s (%s) failed", claimed.id, claimed.kind)
        error = f"{exc.__class__.__name__}: {exc}"[:ERROR_MAX_CHARS]
    return _finish(maker, claimed, worker, error)


def _finish(maker: sessionmaker[Session], claimed: Claimed, worker: str, error: str | None) -> Result:
    finished = utcnow()
    outcome: Result
    if error is None:
        outcome = "done"
        values: dict[str, object] = {"status": JobStatus.DONE, "finished_at": finished, "last_error": None}
    elif claimed.attempts >= claimed.max_attempts:
        outcome = "dead"
        values = {"status": JobStatus.DEAD, "finished_at": finished, "last_error": error}
    else:
        outcome = "retry"
        values = {
            "status": JobStatus.QUEUED,
            "run_after": finished + backoff(claimed.attempts),
            "dispatched_at": None,
            "last_error": error,
        }
    with write_intent(), maker() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == claimed.id, Job.locked_by == worker[:120], Job.status == JobStatus.RUNNING)
            .values(locked_by=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    if rows_matched(result) != 1:
        log.warning("job %s: the lease was lost while it ran; another worker owns it now", claimed.id)
    return outcome


def run_after_of(session: Session, ids: Iterable[int]) -> dict[int, dt.datetime]:
    """When each of these jobs that is queued is due."""
    rows = session.execute(
        select(Job.id, Job.run_after).where(Job.id.in_(list(ids)), Job.status == JobStatus.QUEUED)
    )
    return {int(i): when for i, when in rows}


def purge_finished(session: Session, *, older_than: dt.datetime) -> int:
    """Delete jobs that finished (done) before ``older_than``; dead jobs stay for the admins."""
    result = session.execute(
        delete(Job)
        .where(Job.status == JobStatus.DONE, Job.finished_at < older_than)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)


def retry_dead(session: Session, actor: Actor, job_id: int) -> Job:
    """Put a dead job back in line for one more round of tries (audited ``job.retry``)."""
    job = session.get(Job, job_id)
    if job is None or (actor.program_id is not None and job.program_id not in (None, actor.program_id)):
        raise NotFound("No such job.")
    if job.status != JobStatus.DEAD:
        raise InvalidInput("Only a job that has stopped trying can be tried again.")
    job.status = JobStatus.QUEUED
    job.run_after = utcnow()
    job.dispatched_at = None
    job.max_attempts = job.attempts + DEFAULT_MAX_ATTEMPTS
    session.flush()
    session.info.setdefault(_ENQUEUED, []).append(job.id)
    audit.record(session, actor, "job.retry", object_type="job", object_id=job.id, detail={"kind": job.kind})
    return job


def dead_jobs(session: Session, *, program_id: int | None, limit: int = 100) -> list[Job]:
    """Jobs that stopped trying, newest first (a program's, and those of no program)."""
    stmt = select(Job).where(Job.status == JobStatus.DEAD).order_by(Job.id.desc()).limit(limit)
    if program_id is not None:
        stmt = stmt.where(or_(Job.program_id == program_id, Job.program_id.is_(None)))
    return list(session.scalars(stmt))

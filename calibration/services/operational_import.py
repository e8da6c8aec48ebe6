"""Operational ratings import: every row is checked before anything is written, then the rows are
stored in chunks.

An import is created (:func:`create_import`) with its file already on disk under the instance
folder (an upload spooled by :func:`.operational_csv.spool`, or an API batch written by
:func:`.operational_csv.write_batch`). :func:`process_import` then does the work, in two passes,
each streamed:

1. **check**: every row against the rubric version and the program's members (lookups in dicts),
   duplicates within the file (compact hashes, :class:`.operational_csv.DuplicateFinder`), and
   conflicts with stored rows (one query per chunk on the natural key). Any error: the import is
   ``rejected`` with its error report and nothing is written. The rows that passed are kept on
   disk, in the form the database takes (:class:`.operational_store.CheckedFile`).
2. **store**: those rows (the file is not parsed twice) in chunks, each inserted skipping
   the natural keys already stored (:func:`.operational_store.insert_chunk`) and committed with the progress
   (``rows_stored``). On PostgreSQL two chunks are stored at once, each on its own connection
   (the server's work, its index inserts and foreign key checks, then runs on two cores); the
   file checker refuses a natural key given twice, so two chunks never insert the same key and
   never wait for each other. SQLite, with its one writer, stores them one after another.

It is idempotent and resumable: a finished import is left as it is; one killed half-way is run
again from the start (the rows it stored are identical, so they pass the check and are skipped by
the insert) and ends with the same rows and counts as an uninterrupted run. Re-importing rows
already stored by an earlier import writes nothing and counts them as "already stored".

Unlike a use case, :func:`process_import` commits (per chunk): it is a job, given a sessionmaker.
:func:`create_import` enqueues it as a background job (:func:`import_job`), in the same transaction.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import cast

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..db import utcnow, write_intent
from ..models import (
    Criterion,
    ImportSource,
    ImportStatus,
    Level,
    Membership,
    OperationalImport,
    OperationalRating,
    RubricVersion,
    User,
)
from . import audit, jobs
from .context import Member, SystemActor
from .errors import InvalidInput, NotFound
from .operational_csv import (
    DuplicateFinder,
    ErrorSink,
    FileProblem,
    Lookups,
    Parsed,
    RowChecker,
    RowError,
    read_csv,
)
from .operational_store import (
    Batch,
    CheckedFile,
    Columns,
    ParsedColumns,
    checked_chunks,
    discard_all_checked,
    insert_chunk,
)

#: Rows per stored chunk (one transaction each) and per conflict check.
DEFAULT_CHUNK = 20_000
#: The same on PostgreSQL: larger chunks stored the rows faster there (issue 18: 1,000,000 rows
#: stored in 28 s instead of 35 s with two writers), and two of them stay well within memory.
PG_CHUNK = 50_000
#: Chunks stored at once on PostgreSQL, each on its own connection: the server inserts them on two
#: cores. SQLite stores one after another (its one write lock makes parallel writers wait).
PG_WRITERS = 2
#: Rows between two progress updates while checking.
PROGRESS_EVERY = 50_000
FINISHED = frozenset({ImportStatus.DONE, ImportStatus.REJECTED, ImportStatus.FAILED})
#: The background job kind that processes an import.
IMPORT_JOB = "operational.import"
#: The largest id a table holds (a bigger one in a URL is simply not found).
MAX_ID = 2**31 - 1
#: Submission ids per conflict query (well under every database's limit on parameters).
IN_BATCH = 2000


# ------------------------------------------------------------------------------ lookups
def rubric_versions(session: Session, program_id: int) -> list[RubricVersion]:
    """The program's rubric versions, newest first (the choices of an import)."""
    return list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.slug, RubricVersion.version.desc())
        )
    )


NO_SUCH_VERSION = "No rubric version with this id in the program."


def lookups(session: Session, program_id: int, rubric_version_id: int) -> Lookups:
    """The criteria and levels of the program's rubric version and the program's members
    (:class:`InvalidInput` on ``rubric_version_id`` for a version not in the program)."""
    found = find_lookups(session, program_id, rubric_version_id)
    if found is None:
        raise InvalidInput(
            "Choose one of the program's rubric versions.", {"rubric_version_id": [NO_SUCH_VERSION]}
        )
    return found


def find_lookups(session: Session, program_id: int, rubric_version_id: int) -> Lookups | None:
    """:func:`lookups`, or None for a rubric version not in the program."""
    found = session.scalar(
        select(RubricVersion.id).where(
            RubricVersion.id == rubric_version_id, RubricVersion.program_id == program_id
        )
    )
    if found is None:
        return None
    criteria = {
        key: criterion_id
        for key, criterion_id in session.execute(
            select(Criterion.key, Criterion.id).where(Criterion.rubric_version_id == found)
        )
    }
    levels = frozenset(session.scalars(select(Level.value).where(Level.rubric_version_id == found)))
    assessors = {
        email.strip().lower(): user_id
        for email, user_id in session.execute(
            select(User.email, User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.program_id == program_id)
        )
    }
    return Lookups(criteria, levels, assessors)


# ------------------------------------------------------------------------------ creating
def create_import(
    session: Session,
    actor: Member | SystemActor,
    *,
    rubric_version_id: int,
    source: ImportSource,
    filename: str,
    upload_path: str,
    content_sha256: str,
    token_id: int | None = None,
) -> OperationalImport:
    """Record a new import (``queued``) of a file already on disk; audited. Flushes."""
    program_id = actor.program_id
    if program_id is None:
        raise NotFound("no program")
    lookups(session, program_id, rubric_version_id)  # refuses another program's version
    name = "".join(ch for ch in os.path.basename(filename.replace("\\", "/")) if ch.isprintable())[:255]
    row = OperationalImport(
        program_id=program_id,
        rubric_version_id=rubric_version_id,
        source=source,
        filename=name,
        upload_path=upload_path,
        content_sha256=content_sha256,
        status=ImportStatus.QUEUED,
        rows_checked=0,
        rows_stored=0,
        rows_already=0,
        error_count=0,
        errors_json="[]",
        message="",
        created_by_id=actor.user_id,
        token_id=token_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "operational_import.create", object_type="operational_import", object_id=row.id,
        detail={"source": str(source), "filename": name, "rubric_version_id": rubric_version_id,
                "sha256": content_sha256, "token_id": token_id},
    )  # fmt: skip
    # Written with the import: a worker takes it after the commit, and no crash loses it.
    jobs.enqueue(session, IMPORT_JOB, {"import_id": row.id}, dedupe_key=f"{IMPORT_JOB}:{row.id}",
                 program_id=actor.program_id)  # fmt: skip
    return row


# ------------------------------------------------------------------------------ checking
@dataclass(frozen=True)
class Checked:
    """The outcome of the check pass."""

    rows: int
    already: int
    errors: ErrorSink


def check_rows(
    session: Session,
    program_id: int,
    found: Lookups,
    rows: Iterable[tuple[int, list[str]]],
    *,
    now: dt.datetime,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    keep: Callable[[ParsedColumns, bool], None] | None = None,
) -> Checked:
    """Check every row (reads only): each bad cell, duplicates within ``rows`` and conflicts with
    stored rows go to the error sink; rows identical to stored ones are counted as already stored.
    A file that cannot be read on (:class:`FileProblem`) is one error and ends the pass.
    ``keep`` is given each chunk of rows that passed, column by column, and whether none of its
    natural keys is stored (for the store pass, when nothing failed)."""
    errors = ErrorSink()
    check = RowChecker(found, errors, now=now).check
    duplicates = DuplicateFinder()
    total = already = 0
    numbers: list[int] = []
    chunk: list[Parsed] = []

    def close_chunk() -> int:
        columns = cast(ParsedColumns, tuple(zip(*chunk, strict=False)))
        duplicates.add_many(numbers, columns[0], columns[1], columns[4])
        same = _compare_stored(session, program_id, numbers, chunk, columns[0], errors)
        if keep is not None:
            keep(columns, same == 0)
        numbers.clear()
        chunk.clear()
        return same

    try:
        for number, cells in rows:
            total += 1
            parsed = check(number, cells)
            if parsed is not None:
                numbers.append(number)
                chunk.append(parsed)
                if len(chunk) >= chunk_size:
                    already += close_chunk()
            if progress is not None and total % PROGRESS_EVERY == 0:
                progress(total)
    except FileProblem as problem:
        errors.add(problem.error)
    if chunk:
        already += close_chunk()
    for row, first in duplicates.duplicates():
        errors.add(
            RowError(
                row, "read", "", f"Same submission_id, criterion and read as row {first}: give each once."
            )
        )
    return Checked(total, already, errors)


def _compare_stored(
    session: Session,
    program_id: int,
    numbers: list[int],
    chunk: list[Parsed],
    submission_ids: Iterable[str],
    errors: ErrorSink,
) -> int:
    """Count the chunk's rows (``numbers`` their row numbers) already stored identically; record a
    conflict for each row stored with another assessor, level or time."""
    submissions = sorted(set(submission_ids))
    stored: dict[tuple[str, int, int], tuple[int, int, dt.datetime]] = {}
    for start in range(0, len(submissions), IN_BATCH):
        batch = submissions[start : start + IN_BATCH]
        for sub, crit, read, assessor, level, at in session.execute(
            select(
                OperationalRating.external_submission_id,
                OperationalRating.criterion_id,
                OperationalRating.read_number,
                OperationalRating.assessor_id,
                OperationalRating.level,
                OperationalRating.scored_at,
            ).where(
                OperationalRating.program_id == program_id,
                OperationalRating.external_submission_id.in_(batch),
            )
        ):
            stored[(sub, crit, read)] = (assessor, level, at)
    session.rollback()  # end the read: the check pass holds no transaction between chunks
    if not stored:
        return 0
    same = 0
    for number, (sub, crit, assessor, level, read, at) in zip(numbers, chunk, strict=True):
        earlier = stored.get((sub, crit, read))
        if earlier is None:
            continue
        if earlier == (assessor, level, at):
            same += 1
            continue
        if earlier[0] != assessor:
            column, value = "assessor", ""
        elif earlier[1] != level:
            column, value = "level", str(level)
        else:
            column, value = "scored_at", at.isoformat()
        errors.add(
            RowError(
                number,
                column,
                value,
                "Conflicts with a rating stored earlier for this submission_id, criterion and read "
                f"(level {earlier[1]}, scored at {earlier[2].isoformat()}): stored ratings are never changed.",
            )
        )
    return same


# ------------------------------------------------------------------------------ processing
@dataclass(frozen=True)
class ImportSummary:
    id: int
    status: ImportStatus
    rows_total: int | None
    rows_stored: int
    rows_already: int
    error_count: int


def _summary(imp: OperationalImport) -> ImportSummary:
    return ImportSummary(
        imp.id, imp.status, imp.rows_total, imp.rows_stored, imp.rows_already, imp.error_count
    )


def process_import(
    maker: sessionmaker[Session],
    import_id: int,
    *,
    chunk_size: int | None = None,
    after_chunk: Callable[[int], None] | None = None,
    now: dt.datetime | None = None,
) -> ImportSummary:
    """Check, then store, one import (see the module's docstring); safe to run again at any point.
    ``chunk_size`` is :func:`default_chunk` unless given; ``after_chunk`` is called with the rows
    processed after each stored chunk's commit (on PostgreSQL, another chunk may be in flight)."""
    now = now or utcnow()
    with write_intent(), maker() as s:
        dialect = s.get_bind().dialect.name
        chunk_size = chunk_size or default_chunk(dialect)
        imp = s.get(OperationalImport, import_id)
        if imp is None:
            raise NotFound("no such import")
        if imp.status in FINISHED:
            return _summary(imp)
        program_id, version_id, path = imp.program_id, imp.rubric_version_id, imp.upload_path
        resumed = imp.status != ImportStatus.QUEUED
        imp.status, imp.rows_checked = ImportStatus.CHECKING, 0
        imp.started_at = imp.started_at or now
        _audit(s, imp, "operational_import.check", {"resumed": resumed})
        s.commit()
    if not path or not os.path.exists(path):
        return _finish(
            maker, import_id, ImportStatus.FAILED, message="The file of this import is gone: upload it again."
        )
    with maker() as s, CheckedFile(path) as kept, _collector_paused():
        found = lookups(s, program_id, version_id)
        s.rollback()
        with open(path, "rb") as stream:
            checked = check_rows(
                s, program_id, found, read_csv(stream), now=now, chunk_size=chunk_size,
                progress=lambda n: _set(maker, import_id, rows_checked=n), keep=kept.write,
            )  # fmt: skip
    if checked.errors.count:
        return _finish(maker, import_id, ImportStatus.REJECTED, total=checked.rows, errors=checked.errors)
    with write_intent(), maker() as s:
        prior = _stored_by(s, import_id)
        s.execute(
            update(OperationalImport)
            .where(OperationalImport.id == import_id)
            .values(status=ImportStatus.STORING, rows_total=checked.rows, rows_checked=checked.rows,
                    rows_stored=prior, rows_already=0)
        )  # fmt: skip
        _audit(s, s.get_one(OperationalImport, import_id), "operational_import.store", {"rows": checked.rows})
        s.commit()
    writers = PG_WRITERS if dialect == "postgresql" else 1
    _store(maker, Batch(program_id, import_id, version_id, now), kept.path, writers, after_chunk)
    return _finish(maker, import_id, ImportStatus.DONE, total=checked.rows)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the check pass, which makes no reference cycles
    (reference counting frees each row): every few tens of thousands of rows it walked all the
    process's long-lived objects, a third of the pass's time (issue 18). Back on only if it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def default_chunk(dialect: str) -> int:
    """Rows per chunk on a database of this dialect (``postgresql``, ``sqlite``)."""
    return PG_CHUNK if dialect == "postgresql" else DEFAULT_CHUNK


def _store(
    maker: sessionmaker[Session],
    batch: Batch,
    checked_path: str,
    writers: int,
    after_chunk: Callable[[int], None] | None,
) -> None:
    """Insert the checked rows chunk by chunk, each committed with the progress; ``writers``
    chunks at once, each on its own connection, and never more in memory. A chunk that fails
    raises (its transaction, rows and progress, is rolled back) once the others in flight ended."""
    progress = _Progress()
    if writers == 1:
        for columns in checked_chunks(checked_path):
            processed = _store_chunk(maker, batch, columns, progress)
            if after_chunk is not None:
                after_chunk(processed)
        return
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="import-store") as pool:
        running: set[Future[int]] = set()
        for columns in checked_chunks(checked_path):
            running.add(pool.submit(_store_chunk, maker, batch, columns, progress))
            if len(running) >= writers:  # the next chunk is read once one is stored
                running = _settle(running, FIRST_COMPLETED, after_chunk)
        _settle(running, ALL_COMPLETED, after_chunk)


class _Progress:
    """The rows of the chunks committed so far; the lock makes each chunk's progress update and
    commit one step, so the counts rise in the order the chunks are committed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processed = 0


def _store_chunk(maker: sessionmaker[Session], batch: Batch, columns: Columns, progress: _Progress) -> int:
    """Insert one chunk and add it to the import's progress, in one transaction; return the rows
    processed by the chunks committed so far. ``rows_stored`` is incremented in the database (the
    rows stored by a killed run are in it already); ``rows_already`` is what was processed and
    not stored, as an uninterrupted run counts it."""
    with write_intent(), maker() as s:
        inserted = insert_chunk(s, batch, columns)
        with progress.lock:
            processed = progress.processed + len(columns[0])
            stored = OperationalImport.rows_stored + inserted
            s.execute(
                update(OperationalImport)
                .where(OperationalImport.id == batch.import_id)
                .values(rows_stored=stored, rows_already=case((stored < processed, processed - stored), else_=0))
            )  # fmt: skip
            s.commit()
            progress.processed = processed
    return processed


def _settle(
    running: set[Future[int]], when: str, after_chunk: Callable[[int], None] | None
) -> set[Future[int]]:
    """Wait for one (``FIRST_COMPLETED``) or all of the chunks in flight; raise the error of one
    that failed; return those still running."""
    done, left = wait(running, return_when=when)
    processed = sorted(future.result() for future in done)
    if after_chunk is not None:
        for count in processed:
            after_chunk(count)
    return left


def _stored_by(session: Session, import_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OperationalRating)
            .where(OperationalRating.import_id == import_id)
        )
        or 0
    )


def _set(maker: sessionmaker[Session], import_id: int, **values: object) -> None:
    with write_intent(), maker() as s:
        s.execute(update(OperationalImport).where(OperationalImport.id == import_id).values(**values))
        s.commit()


def _audit(session: Session, imp: OperationalImport, action: str, detail: dict[str, object]) -> None:
    audit.record(
        session, SystemActor(imp.program_id), action, object_type="operational_import", object_id=imp.id,
        detail={"status": str(imp.status), **detail},
    )  # fmt: skip


def _finish(
    maker: sessionmaker[Session],
    import_id: int,
    status: ImportStatus,
    *,
    total: int | None = None,
    errors: ErrorSink | None = None,
    message: str = "",
) -> ImportSummary:
    with write_intent(), maker() as s:
        imp = s.get_one(OperationalImport, import_id)
        path = imp.upload_path
        imp.status = status
        imp.finished_at = utcnow()
        imp.message = message
        imp.upload_path = None
        if total is not None:
            imp.rows_total = total
            imp.rows_checked = total
        if errors is not None:
            imp.error_count = errors.count
            imp.errors_json = json.dumps([e.as_dict() for e in errors.sorted()])
        imp.rows_stored = _stored_by(s, import_id)  # exact, also after a resumed run
        if status == ImportStatus.DONE and total is not None:
            imp.rows_already = total - imp.rows_stored
        _audit(
            s, imp, f"operational_import.{status}",
            {"rows": imp.rows_total, "stored": imp.rows_stored, "already": imp.rows_already,
             "errors": imp.error_count, "message": message},
        )  # fmt: skip
        s.commit()
        summary = _summary(imp)
    if path:
        discard_all_checked(path)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return summary


# ------------------------------------------------------------------------------ reading
def program_imports(session: Session, program_id: int, *, limit: int = 50) -> list[OperationalImport]:
    return list(
        session.scalars(
            select(OperationalImport)
            .where(OperationalImport.program_id == program_id)
            .order_by(OperationalImport.id.desc())
            .limit(limit)
        )
    )


def get_import(session: Session, program_id: int, import_id: int) -> OperationalImport:
    """One of the program's imports (another program's, or an id no table could hold, is not found)."""
    if not 0 < import_id <= MAX_ID:
        raise NotFound("no such import")
    found = session.scalar(
        select(OperationalImport).where(
            OperationalImport.id == import_id, OperationalImport.program_id == program_id
        )
    )
    if found is None:
        raise NotFound("no such import")
    return found


def report_errors(imp: OperationalImport) -> list[RowError]:
    return [RowError(**e) for e in json.loads(imp.errors_json or "[]")]


def error_report_csv(imp: OperationalImport) -> str:
    """The error report as CSV (row, column, value, problem), every text cell formula-safe."""
    from .exports import neutralise  # here: the exports module loads the statistics stack

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["row", "column", "value", "problem"])
    for e in report_errors(imp):
        writer.writerow([e.row, neutralise(e.column), neutralise(e.value), neutralise(e.problem)])
    if imp.error_count > len(report_errors(imp)):
        writer.writerow(
            ["", "", "", f"... and {imp.error_count - len(report_errors(imp))} more errors not listed."]
        )
    return buffer.getvalue()


def discard_file(path: str) -> None:
    """Remove a spooled upload whose import was never recorded."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)

"""Storing an import's checked rows: kept on disk by the check pass in the form the database
takes, then inserted chunk by chunk by the store pass.

The check pass (:func:`.operational_import.check_rows`) parses and checks every row once; the
rows it accepted go, chunk by chunk, to a file of their own next to the upload
(:class:`CheckedFile`: per chunk, its length and :mod:`marshal` of six column lists of plain
strings and ints and whether the check found none of its rows stored, read back in C). The store pass reads those chunks (:func:`checked_chunks`) instead of parsing
and checking the CSV file a second time, which was half of an import's Python time. The file is
written and read only by this module (never anything uploaded), is new for each run (two
workers on one import never share one) and is removed with the upload when the import ends
(:func:`discard_checked`); a run killed half-way leaves it behind and the next run, which checks
the file again from the start, writes a new one.

Each chunk's rows whose natural key is new are inserted (``ON CONFLICT DO NOTHING`` or its
equivalent):

- PostgreSQL: the rows reach the server as one ``COPY`` text stream, which costs the client a
  fraction of adapting six arrays of parameters (the server does the insert, two chunks at once on
  two connections: :func:`.operational_import.process_import`). A chunk the check found *fresh*
  (none of its natural keys stored) is copied straight into ``operational_rating``, under a
  savepoint: the server then inserts the rows in batches and does no conflict check of its own
  (issue 18: about a sixth of its work per row). Should another run have stored one of those keys
  since the check (two workers on one import, two imports of one program at once), the unique key
  refuses the copy, the savepoint undoes it and the chunk takes the other way. Any other chunk is
  copied into a temporary table dropped at commit, then inserted with one ``INSERT ... SELECT ...
  ON CONFLICT DO NOTHING``.
- SQLite: the driver's ``executemany`` (a loop in C) over the columns zipped together, with
  ``ON CONFLICT DO NOTHING``.

The rows go to the driver directly, in the form :class:`..db.UTCDateTime` stores (naive UTC; on
SQLite the text SQLAlchemy writes): through SQLAlchemy the per-row bind processing cost more than
the insert itself. Every text value passed :class:`.operational_csv.RowChecker`, which refuses
control characters (so no tab, newline or NUL reaches ``COPY``; backslashes are escaped).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import marshal
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, NamedTuple

from psycopg import errors as pg_errors
from sqlalchemy.orm import Session


class Columns(NamedTuple):
    """One chunk of checked rows, column by column (``len(columns[0])`` rows)."""

    submissions: list[str]
    criteria: list[int]
    assessors: list[int]
    levels: list[int]
    reads: list[int]
    scored_at: list[str]  # naive UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``
    #: The check found none of the chunk's natural keys stored (the rows may go in without a
    #: conflict check; the unique key still refuses one stored since).
    fresh: bool


#: The parsed columns of a chunk as the check pass passes them on: submission ids, criterion
#: ids, assessor ids, levels, read numbers, scored-at times (aware UTC).
ParsedColumns = tuple[
    tuple[str, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[dt.datetime, ...],
]
#: Distinct times remembered while writing (a submission's rows share one); memory stays flat.
TIME_CACHE = 10_000
SUFFIX = ".checked"


def _time_text(at: dt.datetime) -> str:
    """A UTC time as SQLAlchemy's ``DATETIME`` stores it on SQLite (and PostgreSQL reads it)."""
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class CheckedFile:
    """The checked rows of one run of one import, appended chunk by chunk (a context manager)."""

    def __init__(self, upload_path: str) -> None:
        self.path = f"{upload_path}.{secrets.token_hex(6)}{SUFFIX}"
        self._out: IO[bytes] = open(self.path, "xb")  # noqa: SIM115 (closed by __exit__)
        self._times: dict[dt.datetime, str] = {}

    def write(self, columns: ParsedColumns, fresh: bool) -> None:
        """Append one chunk; ``fresh`` when the check found none of its natural keys stored."""
        if not columns[0]:
            return
        times = self._times
        if len(times) > TIME_CACHE:
            times.clear()
        subs, crits, assessors, levels, reads, stamps = columns
        for at in set(stamps).difference(times):  # a submission's rows share one time
            times[at] = _time_text(at)
        texts = list(map(times.__getitem__, stamps))
        data = marshal.dumps(
            (list(subs), list(crits), list(assessors), list(levels), list(reads), texts, fresh)
        )
        # Its length first: marshal.load from a file reads it back in many small reads.
        self._out.write(len(data).to_bytes(8, "little"))
        self._out.write(data)

    def __enter__(self) -> CheckedFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._out.close()
        if kind is not None:
            discard_checked(self.path)


def checked_chunks(path: str) -> Iterator[Columns]:
    """The chunks written to ``path`` by :class:`CheckedFile`, in order."""
    with open(path, "rb") as stream:
        while size := stream.read(8):
            yield Columns(*marshal.loads(stream.read(int.from_bytes(size, "little"))))


def discard_checked(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def discard_all_checked(upload_path: str) -> None:
    """Remove every checked-rows file of an upload (also those of runs killed half-way)."""
    for path in glob.glob(glob.escape(upload_path) + ".*" + SUFFIX):
        discard_checked(path)


@dataclass(frozen=True)
class Batch:
    """What every row of one import's chunk shares."""

    program_id: int
    import_id: int
    rubric_version_id: int
    stored_at: dt.datetime


_COLUMNS = (
    "program_id, import_id, rubric_version_id, stored_at, external_submission_id, criterion_id, "
    "assessor_id, level, read_number, scored_at"
)
_ON_CONFLICT = "ON CONFLICT (program_id, external_submission_id, criterion_id, read_number) DO NOTHING"
_PG_STAGE = (
    "CREATE TEMPORARY TABLE operational_stage (external_submission_id text, criterion_id integer, "
    "assessor_id integer, level integer, read_number integer, scored_at timestamp) ON COMMIT DROP"
)
_PG_COPY = "COPY operational_stage FROM STDIN"
_PG_COPY_FRESH = f"COPY operational_rating ({_COLUMNS}) FROM STDIN"
_PG_INSERT = (
    f"INSERT INTO operational_rating ({_COLUMNS}) SELECT %s, %s, %s, %s::timestamp, s.* FROM operational_stage s "
    f"{_ON_CONFLICT}"
)


def insert_chunk(session: Session, batch: Batch, columns: Columns) -> int:
    """Insert the chunk's rows whose natural key is new; return how many were inserted."""
    if not columns[0]:
        return 0
    stored_at = _time_text(batch.stored_at)
    driver = session.connection().connection.driver_connection
    if driver is None:  # not reached: a session's connection is always checked out here
        raise RuntimeError("no driver connection")
    cursor = driver.cursor()
    try:
        if session.get_bind().dialect.name == "postgresql":
            subs = columns[0]
            if any("\\" in s for s in subs):
                subs = [s.replace("\\", "\\\\") for s in subs]
            rows = zip(subs, *columns[1:6], strict=True)
            if columns.fresh:
                shared = f"{int(batch.program_id)}\t{int(batch.import_id)}\t{int(batch.rubric_version_id)}\t{stored_at}\t"
                text = "".join(f"{shared}{s}\t{c}\t{a}\t{v}\t{r}\t{t}\n" for s, c, a, v, r, t in rows)
                cursor.execute("SAVEPOINT operational_fresh")
                try:
                    with cursor.copy(_PG_COPY_FRESH) as copy:
                        copy.write(text)
                except pg_errors.UniqueViolation:  # stored by another run since the check
                    cursor.execute("ROLLBACK TO SAVEPOINT operational_fresh")
                else:
                    cursor.execute("RELEASE SAVEPOINT operational_fresh")
                    return len(subs)
                rows = zip(subs, *columns[1:6], strict=True)
            cursor.execute(_PG_STAGE)
            with cursor.copy(_PG_COPY) as copy:
                copy.write("".join(f"{s}\t{c}\t{a}\t{v}\t{r}\t{t}\n" for s, c, a, v, r, t in rows))
            cursor.execute(
                _PG_INSERT, (batch.program_id, batch.import_id, batch.rubric_version_id, stored_at)
            )
        else:
            # The shared values are the import's own ids and a time written here: literals.
            shared = f"{int(batch.program_id)}, {int(batch.import_id)}, {int(batch.rubric_version_id)}, '{stored_at}'"
            cursor.executemany(
                f"INSERT INTO operational_rating ({_COLUMNS}) VALUES ({shared}, ?, ?, ?, ?, ?, ?) {_ON_CONFLICT}",
                zip(*columns[:6], strict=True),
            )
        return int(cursor.rowcount)
    finally:
        cursor.close()

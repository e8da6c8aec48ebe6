"""Reading and checking operational rating rows, one row at a time (a CSV file or an API batch).

The format: a header row with exactly the columns of :data:`COLUMNS` (any order, any case), then
one row per reader's level for one criterion of one live submission:

``submission_id``  the scoring platform's id of the live submission (text, at most 200 characters)
``criterion``      the rubric criterion's key (as in the rubric file)
``assessor``       the reader's email address; they must be a member of the program
``level``          the rubric level's value (a whole number)
``read``           the read number: 1 first read, 2 second read, higher for adjudication (1-20)
``scored_at``      ISO 8601 with a UTC offset (``2026-03-01T14:05:00+01:00`` or ``...Z``); stored UTC

Text cells that start like a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab or carriage
return) are refused, not neutralised: a submission id is a key that other systems match on, and
quietly changing it would break that match. The error report is made formula-safe on the way out.

Nothing here keeps a Python object per row across a file: rows are read through
:func:`read_csv` (a text wrapper over the binary stream, parsed by the csv module), checked by
:class:`RowChecker` against lookups held in dicts, and the within-file duplicate check keeps one
64-bit hash and one row number per row in compact arrays (:class:`DuplicateFinder`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import secrets
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

COLUMNS = ("submission_id", "criterion", "assessor", "level", "read", "scored_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_SUBMISSION_ID = 200
MAX_READ = 20
#: Errors kept for the report (every error is counted; the report lists the first ones by row).
MAX_ERRORS_KEPT = 1000
#: How far ahead of now a ``scored_at`` may be (clocks differ a little; a day is a typing error).
FUTURE_SLACK = dt.timedelta(days=1)

#: A parsed row: submission id, criterion id, assessor id, level, read number, scored at (UTC).
Parsed = tuple[str, int, int, int, int, dt.datetime]


@dataclass(frozen=True)
class RowError:
    """One problem, named by its row (the file's row number, the header being row 1; for an API
    batch, the row's index in ``rows``) and column."""

    row: int
    column: str
    value: str
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "problem": self.problem}


class FileProblem(Exception):
    """The file cannot be read on: wrong columns, not UTF-8, not CSV. Named by row and column."""

    def __init__(self, row: int, column: str, problem: str) -> None:
        super().__init__(problem)
        self.error = RowError(row, column, "", problem)


@dataclass
class ErrorSink:
    """Counts every error and keeps the first :data:`MAX_ERRORS_KEPT` for the report."""

    count: int = 0
    kept: list[RowError] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS_KEPT:
            self.kept.append(error)

    def sorted(self) -> list[RowError]:
        return sorted(self.kept, key=lambda e: (e.row, COLUMN_ORDER.get(e.column, 99)))


COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Lookups:
    """What a row is checked against, held in dicts: one program and one rubric version."""

    criteria: dict[str, int]  # criterion key -> criterion id
    levels: frozenset[int]
    assessors: dict[str, int]  # lower-cased email -> user id


def _short(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def read_csv(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, cells)`` for each non-empty data row of a UTF-8 CSV file (a byte
    order mark is allowed), read incrementally. The header must name exactly :data:`COLUMNS`;
    the cells come back in that order. Raises :class:`FileProblem` when the file cannot be read on.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=True)
    number = 1
    try:
        header = next(reader, None)
        if header is None:
            raise FileProblem(1, "(file)", "The file is empty: it needs a header row and rating rows.")
        names = [h.strip().lower() for h in header]
        _check_header(names)
        order = [names.index(c) for c in COLUMNS]
        identity = order == list(range(len(COLUMNS)))
        for cells in reader:
            number += 1
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            if len(cells) != len(COLUMNS):
                yield number, cells  # the checker names the wrong cell count
            else:
                yield number, cells if identity else [cells[i] for i in order]
    except UnicodeDecodeError:
        raise FileProblem(
            number + 1,
            "(file)",
            "The file is not UTF-8 text. Save it as 'CSV UTF-8' (in a spreadsheet: Save as, "
            "CSV UTF-8) and upload it again.",
        ) from None
    except csv.Error as err:
        raise FileProblem(
            number + 1, "(file)", f"The file is not a well-formed CSV file here: {err}."
        ) from None
    finally:
        text.detach()  # leave the caller's stream open (it closes it)


def _check_header(names: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in names]
    extra = [n or "(empty)" for n in names if n not in COLUMNS]
    doubled = sorted({n for n in names if names.count(n) > 1 and n in COLUMNS})
    if not (missing or extra or doubled):
        return
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(_short(e) for e in extra))
    if doubled:
        parts.append("twice: " + ", ".join(doubled))
    column = missing[0] if missing else (extra[0] if extra else doubled[0])
    raise FileProblem(
        1,
        _short(column),
        "The header row must name exactly these columns: " + ", ".join(COLUMNS) + f" ({'; '.join(parts)}).",
    )


class RowChecker:
    """Check one row's cells (already in :data:`COLUMNS` order) against the lookups."""

    def __init__(self, lookups: Lookups, errors: ErrorSink, *, now: dt.datetime) -> None:
        self.lookups = lookups
        self.errors = errors
        self.latest = now + FUTURE_SLACK
        # The common case, looked up in dicts: cells written the plain way, times seen just before
        # (a submission's rows share one), the submission id of the row before.
        self._levels = {str(v): v for v in lookups.levels}
        self._reads = {str(r): r for r in range(1, MAX_READ + 1)}
        self._times: dict[str, dt.datetime] = {}
        self._last_submission = ""

    def check(self, row: int, cells: list[str]) -> Parsed | None:
        """The parsed row, or None after recording its errors (every bad cell of the row)."""
        if len(cells) == len(COLUMNS):
            submission, criterion, assessor, level_text, read_text, at_text = map(str.strip, cells)
            criterion_id = self.lookups.criteria.get(criterion)
            assessor_id = self.lookups.assessors.get(assessor) or self.lookups.assessors.get(assessor.lower())
            level = self._levels.get(level_text)
            read = self._reads.get(read_text)
            at = self._times.get(at_text) or self._plain_time(at_text)
            if (
                criterion_id is not None
                and assessor_id is not None
                and level is not None
                and read is not None
                and at is not None
                and (submission == self._last_submission or self._plain_submission(submission))
            ):
                return submission, criterion_id, assessor_id, level, read, at
        return self._check_each_cell(row, cells)

    def _plain_time(self, text: str) -> dt.datetime | None:
        try:
            at = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if at.utcoffset() is None:
            return None
        at = at.astimezone(dt.UTC)
        if at > self.latest:
            return None
        if len(self._times) > 10_000:  # a bounded cache: memory stays flat
            self._times.clear()
        self._times[text] = at
        return at

    def _plain_submission(self, value: str) -> bool:
        if (
            value
            and len(value) <= MAX_SUBMISSION_ID
            and not value.startswith(FORMULA_START)
            and value.isprintable()
        ):
            self._last_submission = value
            return True
        return False

    def _bad(self, row: int, column: str, value: str, problem: str) -> None:
        self.errors.add(RowError(row, column, _short(value), problem))

    def _text(self, row: int, column: str, value: str) -> bool:
        if not value:
            self._bad(row, column, value, f"The {column} is empty.")
            return False
        if value.startswith(FORMULA_START):
            self._bad(
                row, column, value,
                "Starts with a character a spreadsheet reads as a formula (= + - @, tab or "
                "carriage return): such cells are refused.",
            )  # fmt: skip
            return False
        if not value.isprintable():
            self._bad(row, column, value, f"The {column} contains a control character.")
            return False
        return True

    def _check_each_cell(self, row: int, cells: list[str]) -> Parsed | None:
        if len(cells) != len(COLUMNS):
            self._bad(
                row, "(row)", ",".join(cells),
                f"This row has {len(cells)} cells; each row needs {len(COLUMNS)} ({', '.join(COLUMNS)}).",
            )  # fmt: skip
            return None
        submission, criterion, assessor, level_text, read_text, at_text = (c.strip() for c in cells)
        before = self.errors.count
        if self._text(row, "submission_id", submission) and len(submission) > MAX_SUBMISSION_ID:
            self._bad(row, "submission_id", submission, f"Keep ids to {MAX_SUBMISSION_ID} characters.")
        criterion_id = self.lookups.criteria.get(criterion)
        if criterion_id is None and self._text(row, "criterion", criterion):
            self._bad(row, "criterion", criterion, "No criterion with this key in the chosen rubric version.")
        assessor_id = self.lookups.assessors.get(assessor.lower())
        if assessor_id is None and self._text(row, "assessor", assessor):
            self._bad(row, "assessor", assessor, "No member of this program has this email address.")
        level = _whole(level_text)
        if level is None or level not in self.lookups.levels:
            allowed = ", ".join(str(v) for v in sorted(self.lookups.levels))
            self._bad(row, "level", level_text, f"Not a level of this rubric (one of {allowed}).")
        read = _whole(read_text)
        if read is None or not 1 <= read <= MAX_READ:
            self._bad(row, "read", read_text, f"The read number must be a whole number from 1 to {MAX_READ}.")
        at = self._time(row, at_text)
        if (
            self.errors.count != before
            or criterion_id is None
            or assessor_id is None
            or level is None
            or read is None
            or at is None
        ):
            return None
        return submission, criterion_id, assessor_id, level, read, at

    def _time(self, row: int, text: str) -> dt.datetime | None:
        try:
            at = dt.datetime.fromisoformat(text)
        except ValueError:
            at = None
        if at is None:
            self._bad(
                row, "scored_at", text,
                "Not a date and time in ISO 8601 with a UTC offset, e.g. 2026-03-01T14:05:00+01:00 or ...Z.",
            )  # fmt: skip
            return None
        if at.tzinfo is None or at.utcoffset() is None:
            self._bad(row, "scored_at", text, "Give the UTC offset too, e.g. +01:00, or Z for UTC.")
            return None
        at = at.astimezone(dt.UTC)
        if at > self.latest:
            self._bad(row, "scored_at", text, "This time is in the future.")
            return None
        return at


def _whole(text: str) -> int | None:
    if not text or len(text) > 9 or not (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
        return None
    return int(text)


class DuplicateFinder:
    """Rows with the same natural key (submission, criterion, read) within one file.

    Keeps one 64-bit hash and one row number per row (16 bytes a row, in arrays, no Python object
    per row); :meth:`duplicates` sorts them once at the end. Two different keys with the same
    64-bit hash would be reported as duplicates (about one chance in 10^7 for a million rows);
    the row numbers in the report let the trainer see it.
    """

    def __init__(self) -> None:
        self.hashes = array("q")
        self.rows = array("q")

    def add_many(
        self,
        rows: Iterable[int],
        submissions: Iterable[str],
        criterion_ids: Iterable[int],
        reads: Iterable[int],
    ) -> None:
        """Add rows given column by column, in file order (the loop runs in C)."""
        self.hashes.extend(map(hash, zip(submissions, criterion_ids, reads, strict=True)))
        self.rows.extend(rows)

    def duplicates(self) -> Iterator[tuple[int, int]]:
        """``(row, first row with the same key)`` for every row after the first of its key."""
        if len(self.hashes) < 2:
            return
        hashes = np.frombuffer(self.hashes, dtype=np.int64)
        rows = np.frombuffer(self.rows, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")  # rows of one key stay in file order
        ordered = hashes[order]
        same = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
        if not len(same):
            return
        # The first row of each run of equal hashes.
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        first_index = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
        for i in same:
            yield int(rows[order[i]]), int(rows[order[first_index[i]]])


# ------------------------------------------------------------------------------ files on disk
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Spooled:
    path: str
    sha256: str
    size: int


class TooLarge(Exception):
    """The upload is over the limit (what was written is removed)."""


def spool(stream: IO[bytes], directory: str, *, limit: int | None = None) -> Spooled:
    """Copy an upload to a new file under ``directory`` in 1 MiB pieces, hashing as it goes (never
    the whole file in memory). Raises :class:`TooLarge` past ``limit`` bytes."""
    os.makedirs(directory, exist_ok=True)
    path = Path(directory) / f"import-{secrets.token_hex(12)}.csv"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            while piece := stream.read(CHUNK_BYTES):
                size += len(piece)
                if limit is not None and size > limit:
                    raise TooLarge()
                digest.update(piece)
                out.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(str(path), digest.hexdigest(), size)


def write_batch(rows: list[list[str]], directory: str) -> Spooled:
    """Write an API batch as a CSV file in the upload format (so every import is processed alike)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return spool(io.BytesIO(buffer.getvalue().encode("utf-8")), directory)

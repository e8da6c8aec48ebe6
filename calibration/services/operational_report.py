"""The operational agreement report (issue 18, item 5): how well live readers agree on one rubric
version over a period, computed from the imported :class:`~calibration.models.OperationalRating` rows.

* **Reliability among live readers**, per criterion and overall: Krippendorff's alpha on every read
  (the rubric's level of measurement, ordinal by default; bootstrap interval over units), and between
  the first and second read of each submission x criterion: Cohen's quadratic-weighted kappa (Fleiss,
  Cohen & Everitt interval) and exact and exact-or-adjacent agreement (Wilson intervals).
* **Adjudication rate**: of the submissions read at least twice (on some criterion), the share that
  needed adjudication: a read after the second on any criterion, or first and second reads more than
  one level apart (on a two-level scale, any disagreement). Per criterion, the same share of the
  submission x criterion units read at least twice.
* **Each reader's agreement with co-readers**: on every first/second pair they are in, exact and
  exact-or-adjacent agreement with the other read and the mean signed difference (own level minus the
  co-reader's: + lenient, − severe), over the whole period and per month or quarter
  (:func:`calibration.stats.coreaders.coreader_agreement`).

Labels follow the round report's rules (:func:`calibration.stats.labels.interpret`): below the
program's minimum evidence (submissions for anchors, read pairs for criterion-scores) a statistic has
no label, only "too few to judge"; alpha's label and a lean are decided on the interval.

Fast and lean at scale: a Core query has the database join each needed column of all the reads
into one text, which numpy parses (no Python object per read: the submission ids come as UTF-8
bytes and are numbered with numpy); a period with many reads is read in slices of days, which
bounds the memory, into narrow integer columns; numpy puts the reads in (submission, criterion,
read) order, reads are paired by that order and every statistic is vectorised. The result is cached
(:mod:`.report_cache`, kept on disk by :mod:`.report_store`) under the data's version: the count and
highest id of the rows in range (rows are never updated or deleted).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, LargeBinary, case, cast, func, literal, select
from sqlalchemy.orm import Session

from ..models import Criterion, Level, OperationalRating, RubricVersion, User
from . import timezones
from .errors import InvalidInput, NotFound
from .operational_stats import (
    N_BOOT,
    AssessorAgreement,
    Evidence,
    OperationalRows,
    Period,
    PeriodAgreement,
    ReliabilityLine,
    Statistic,
    compute,
    period_label,
)
from .policy import ProgramSettings
from .report_cache import ReportCache, database_identity
from .round_queries import program_zone
from .rules import level_of_measurement

__all__ = [
    "DEFAULT_DAYS",
    "FIRST_DAY",
    "LAST_DAY",
    "OPERATIONAL_REPORTS",
    "PERIODS",
    "AssessorAgreement",
    "OperationalReport",
    "OperationalRows",
    "Period",
    "PeriodAgreement",
    "ReliabilityLine",
    "Statistic",
    "operational_report",
    "operational_rows",
    "period_label",
    "program_today",
    "rubric_choices",
]

PERIODS: tuple[Period, ...] = ("month", "quarter")
#: The period shown when none is asked for: the last 90 days up to today (the program's).
DEFAULT_DAYS = 90
#: The earliest and latest days a period may name.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
OPERATIONAL_REPORTS = ReportCache(maxsize=16, namespace="operational-report")


@dataclass(frozen=True)
class OperationalReport:
    rubric_id: int | None
    rubric_title: str
    start: dt.date
    end: dt.date
    by: Period
    levels: list[int]
    level_of_measurement: str
    min_submissions: int
    min_pairs: int
    n_rows: int = 0
    #: The time zone whose days the period and its months are (the program's).
    zone: str = "UTC"
    reliability: list[ReliabilityLine] = field(default_factory=list)
    periods: list[PeriodAgreement] = field(default_factory=list)
    assessors: list[AssessorAgreement] = field(default_factory=list)

    @property
    def overall(self) -> ReliabilityLine | None:
        return self.reliability[0] if self.reliability else None

    @property
    def by_criterion(self) -> list[ReliabilityLine]:
        return self.reliability[1:]

    def sorted_assessors(self, sort: str = "name") -> list[AssessorAgreement]:
        """By name, or by lean: ``"lenient"`` most lenient first, ``"severe"`` most severe first;
        undefined means last either way."""
        if sort not in ("lenient", "severe"):
            return list(self.assessors)
        sign = -1.0 if sort == "lenient" else 1.0
        return sorted(
            self.assessors,
            key=lambda a: (a.lean.value is None, sign * (a.lean.value or 0.0), a.name, a.user_id),
        )


# ------------------------------------------------------------------------------------------ reading
def _bounds(start: dt.date, end: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants the days ``start`` to ``end`` of ``zone`` run between."""
    return timezones.day_start(start, zone), timezones.day_start(end + dt.timedelta(days=1), zone)


def _in_range(program_id: int, rubric_id: int, start: dt.date, end: dt.date, zone: str) -> list[Any]:
    lo, hi = _bounds(start, end, zone)
    r = OperationalRating
    return [r.program_id == program_id, r.rubric_version_id == rubric_id, r.scored_at >= lo, r.scored_at < hi]


#: Bits of the packed value (see :func:`operational_rows`).
_LEVEL_BITS, _MONTH_BITS, _READ_BITS = 8, 17, 6
_UNKNOWN_LEVEL = (1 << _LEVEL_BITS) - 1


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _months_since(start: dt.date, end: dt.date, zone: str) -> Any:
    """The month of ``scored_at`` in ``zone`` counted from ``start``'s month (0, 1, ...), by comparing
    it with the first instant of each later month up to ``end`` (its local midnight): a few
    comparisons per row, cheaper than taking the stored time apart, and the same SQL on every
    database."""
    col = OperationalRating.scored_at
    first = _month_index(start)
    cuts = [
        timezones.day_start(dt.date(m // 12, m % 12 + 1, 1), zone)
        for m in range(first + 1, _month_index(end) + 1)
    ]
    if not cuts:
        return literal(0)
    return case(*((col < cut, i) for i, cut in enumerate(cuts)), else_=len(cuts))


def _packed(start: dt.date, end: dt.date, levels: list[int], zone: str) -> Any:
    """One integer per read: ``((criterion * 2^6 + read) * 2^17 + month) * 2^8 + level index``."""
    r = OperationalRating
    level_index = case({v: i for i, v in enumerate(levels)}, value=r.level, else_=_UNKNOWN_LEVEL)
    read = case((r.read_number > 63, 63), else_=r.read_number)
    return (
        (
            (cast(r.criterion_id, BigInteger) * (1 << _READ_BITS) + read) * (1 << _MONTH_BITS)
            + _months_since(start, end, zone)
        )
        * (1 << _LEVEL_BITS)
    ) + level_index


#: Reads per query at most (on average). Bounds the memory of a read: the texts the database builds
#: and the driver hands over, and the numpy arrays one slice is parsed into, are proportional to it
#: (about 30 bytes a read with ids of a dozen characters; 230 with the longest, 200 characters).
READS_PER_QUERY = 200_000
#: Ids per block when ids of different lengths are padded to one width (bounds that copy).
_IDS_PER_BLOCK = 1 << 16


@dataclass(eq=False)
class _Slice:
    """The reads of one query, in the database's order: the distinct submission ids (a sorted numpy
    bytes array, see :func:`_distinct_ids`) and per read its id's index among them, its reader, and
    its packed value taken apart (:func:`_packed`), each in the narrowest integer type that holds it."""

    ids: np.ndarray
    codes: np.ndarray  # int32
    assessor: np.ndarray  # int32
    criterion: np.ndarray  # int32
    read: np.ndarray  # uint8
    month: np.ndarray  # int32, months since the period's first month
    level: np.ndarray  # uint8, level index (_UNKNOWN_LEVEL: not a level of the rubric)

    def __len__(self) -> int:
        return int(self.codes.size)


def _read_columns(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    levels: list[int],
    expected: int | None = None,
    zone: str = "UTC",
) -> list[_Slice]:
    """:func:`_read_one_query` over the period, split into slices of days when ``expected`` (the
    number of the program's reads in the period, all rubric versions) is more than
    :data:`READS_PER_QUERY`: twice as many slices as needed, so that uneven days still fit."""
    days = (end - start).days + 1
    slices = min(days, 2 * -(-(expected or 0) // READS_PER_QUERY))
    if slices <= 1:
        one = _read_one_query(session, program_id, rubric_id, start, end, levels, start, end, zone)
        return [one] if len(one) else []
    out: list[_Slice] = []
    bounds = [start + dt.timedelta(days=days * i // slices) for i in range(slices + 1)]
    for lo, hi in itertools.pairwise(bounds):
        part = _read_one_query(
            session, program_id, rubric_id, start, end, levels, lo, hi - dt.timedelta(days=1), zone
        )
        if len(part):
            out.append(part)
    return out


def _read_one_query(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    levels: list[int],
    first: dt.date,
    last: dt.date,
    zone: str = "UTC",
) -> _Slice:
    """Every read's external submission id, packed value (:func:`_packed`) and reader.

    One aggregate row: the database joins each column of all the reads into one text (SQLite:
    ``group_concat``; PostgreSQL: ``string_agg``, the integers as big-endian 64-bit bytes from
    ``int8send``), so the driver builds four Python objects instead of a tuple and three values per
    read, and numpy parses them in C. The ids come as UTF-8 bytes (never one Python string per read).
    The aggregates of one query are fed the same rows in the same order, so item ``i`` of each is the
    same read (checked by their lengths). Ids never hold a line break: the import refuses control
    characters. :func:`_read_columns` asks for days ``first`` to ``last`` of the period ``start`` to
    ``end`` (which numbers the months)."""
    r = OperationalRating
    packed = _packed(start, end, levels, zone)
    postgres = session.get_bind().dialect.name == "postgresql"
    ids: Any
    if postgres:
        empty = literal(b"", LargeBinary)
        ids = func.string_agg(func.convert_to(r.external_submission_id, "UTF8"), literal(b"\n", LargeBinary))
        values = func.string_agg(func.int8send(packed), empty)
        readers = func.string_agg(func.int8send(cast(r.assessor_id, BigInteger)), empty)
    else:
        ids = cast(func.group_concat(r.external_submission_id, literal("\n")), LargeBinary)
        values = func.group_concat(packed)
        readers = func.group_concat(r.assessor_id)
    stmt = select(func.count(), ids, readers, values).where(
        *_in_range(program_id, rubric_id, first, last, zone)
    )
    result = session.connection().execute(stmt)
    row: tuple[Any, ...] | None = result.cursor.fetchone()  # plain values, no type conversion
    result.close()
    n, id_bytes, who, p = row if row is not None else (0, b"", b"", b"")
    if not n:
        none = np.zeros(0, dtype=np.int32)
        small = np.zeros(0, dtype=np.uint8)
        return _Slice(np.zeros(0, dtype="S1"), none, none, none, small, none, small)
    distinct, codes = _distinct_ids(id_bytes)
    del row, id_bytes
    if postgres:
        readers_arr = np.frombuffer(who, dtype=">i8").astype(np.int32)
        packed_arr = np.frombuffer(p, dtype=">i8").astype(np.int64)
    else:
        readers_arr = np.fromstring(who, dtype=np.int64, sep=",").astype(np.int32)
        packed_arr = np.fromstring(p, dtype=np.int64, sep=",")
    del who, p
    if not codes.size == readers_arr.size == packed_arr.size == n:
        raise RuntimeError(
            f"{n} operational ratings read back as {codes.size}, {readers_arr.size} and "
            f"{packed_arr.size} values"
        )
    level = (packed_arr & _UNKNOWN_LEVEL).astype(np.uint8)
    packed_arr >>= _LEVEL_BITS
    month = (packed_arr & ((1 << _MONTH_BITS) - 1)).astype(np.int32)
    packed_arr >>= _MONTH_BITS  # criterion * 2^6 + read
    read = (packed_arr & ((1 << _READ_BITS) - 1)).astype(np.uint8)
    packed_arr >>= _READ_BITS
    return _Slice(distinct, codes, readers_arr, packed_arr.astype(np.int32), read, month, level)


def _distinct_ids(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The ids of one line-separated UTF-8 text: the distinct ids, sorted, as a numpy bytes array
    (``S<width>``, padded with NUL bytes), and each id's index among them (int32).

    Sorted bytes are sorted ids: UTF-8 keeps code point order byte by byte, and padding with NUL
    keeps a prefix first (ids hold no control characters). Ids of one submission mostly come
    together (a submission's reads are imported together), so only the first of each run of equal
    ids is sorted."""
    b = np.frombuffer(text, dtype=np.uint8)
    breaks = np.flatnonzero(b == 10)
    k = breaks.size + 1
    starts = np.empty(k, dtype=np.int64)
    starts[0] = 0
    starts[1:] = breaks + 1
    del breaks
    lengths = np.empty(k, dtype=np.int64)
    lengths[:-1] = starts[1:] - 1 - starts[:-1]
    lengths[-1] = b.size - starts[-1]
    width = max(int(lengths.max()), 1)
    cells = np.zeros((k, width), dtype=np.uint8)
    if b.size + 1 == k * (width + 1):  # every id of one length: a reshape
        cells[:-1] = b[: (k - 1) * (width + 1)].reshape(k - 1, width + 1)[:, :width]
        cells[-1] = b[(k - 1) * (width + 1) :]
    else:
        padded = np.concatenate((b, np.zeros(width, dtype=np.uint8)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, width)
        beyond = np.arange(width)
        for lo in range(0, k, _IDS_PER_BLOCK):
            block = windows[starts[lo : lo + _IDS_PER_BLOCK]]  # a copy
            block[beyond >= lengths[lo : lo + _IDS_PER_BLOCK, None]] = 0
            cells[lo : lo + _IDS_PER_BLOCK] = block
        del padded, windows
    ids = cells.view(f"S{width}").ravel()
    new = np.empty(k, dtype=bool)
    new[0] = True
    np.not_equal(ids[1:], ids[:-1], out=new[1:])
    distinct, inverse = np.unique(ids[new], return_inverse=True)
    run = np.cumsum(new, dtype=np.int32)
    run -= 1
    return distinct, inverse.astype(np.int32)[run]


def _numbered(slices: list[_Slice]) -> np.ndarray:
    """Each read's submission number among the distinct ids of all slices, sorted by code point
    (0, 1, ...), in slice order (int32)."""
    distinct, inverse = np.unique(np.concatenate([s.ids for s in slices]), return_inverse=True)
    del distinct
    out = np.empty(sum(len(s) for s in slices), dtype=np.int32)
    at = seen = 0
    for s in slices:
        out[at : at + len(s)] = inverse[seen : seen + s.ids.size][s.codes]
        at += len(s)
        seen += s.ids.size
    return out


def operational_rows(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    *,
    levels: list[int],
    expected: int | None = None,
    zone: str = "UTC",
) -> OperationalRows:
    """The reads of one rubric version in a period, from Core queries (never ORM entities): per read
    the database sends its submission's external id, its reader and one integer packing criterion,
    read number, month and level index (see :func:`_packed`). Submissions are numbered 0.. in order of
    their external id; reads after the 63rd count as the 63rd (a later read); rows come in
    (submission, criterion, read) order. ``expected``: about how many reads the period holds, when
    known (more than :data:`READS_PER_QUERY` are read in slices of days, which bounds the memory).
    The period's days, and the months reads are counted in, are those of ``zone``.

    Columns are narrow: read uint8, the others int32."""
    slices = _read_columns(session, program_id, rubric_id, start, end, levels, expected, zone)
    if not slices:
        return OperationalRows(
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.uint8),
            np.zeros(0, dtype=np.int32),
        )
    submission = _numbered(slices)

    # each column of the slices is let go as soon as it is joined: less memory at once
    names = ("assessor", "criterion", "read", "month", "level")
    columns = [{name: getattr(s, name) for name in names} for s in slices]
    del slices

    def joined(name: str) -> np.ndarray:
        return np.concatenate([c.pop(name) for c in columns])

    crit = joined("criterion")
    rd = joined("read")
    # (submission, criterion, read) order: one stable sort on a combined key when it fits in 64 bits
    c_lo = int(crit.min())
    c_span = int(crit.max()) - c_lo + 1
    if int(submission.max()) < np.iinfo(np.int64).max // (c_span << _READ_BITS):
        key = submission.astype(np.int64)
        key *= c_span
        key += crit - c_lo
        key <<= _READ_BITS
        key += rd
        order = np.argsort(key, kind="stable")
        del key
    else:
        order = np.lexsort((rd, crit, submission))
    lv = joined("level")
    keep = lv != _UNKNOWN_LEVEL  # the import refuses unknown levels; never let one break a report
    if not bool(keep.all()):
        order = order[keep[order]]
    del keep
    values = np.asarray(levels, dtype=np.int32)  # level values are 32-bit integers in the database
    level = values[lv[order]]
    del lv
    month = joined("month")[order]
    month += _month_index(start)
    return OperationalRows(
        submission=submission[order],
        criterion=crit[order],
        assessor=joined("assessor")[order],
        level=level,
        read=rd[order],
        month=month,
    )


def rubric_choices(session: Session, program_id: int) -> list[tuple[int, str]]:
    """The program's rubric versions as (id, "title (version n)"), newest first."""
    return [
        (rid, f"{title} (version {version})")
        for rid, title, version in session.execute(
            select(RubricVersion.id, RubricVersion.title, RubricVersion.version)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.created_at.desc(), RubricVersion.id.desc())
        ).all()
    ]


def _default_rubric(session: Session, program_id: int) -> int | None:
    """The rubric version of the latest imported rating, else the newest version."""
    latest = session.scalar(
        select(OperationalRating.rubric_version_id)
        .where(OperationalRating.program_id == program_id)
        .order_by(OperationalRating.id.desc())
        .limit(1)
    )
    if latest is not None:
        return int(latest)
    return session.scalar(
        select(RubricVersion.id)
        .where(RubricVersion.program_id == program_id)
        .order_by(RubricVersion.created_at.desc(), RubricVersion.id.desc())
        .limit(1)
    )


# ------------------------------------------------------------------------------------------- entry
def _state(
    session: Session, program_id: int, rubric_id: int, start: dt.date, end: dt.date, zone: str
) -> tuple[Any, ...]:
    """The data's version: rows are only ever added, so their count and highest id say it all."""
    r = OperationalRating
    lo, hi = _bounds(start, end, zone)
    # every rubric's rows of the program in range: the (program, scored_at) index answers it alone
    n, top = session.execute(
        select(func.count(r.id), func.max(r.id)).where(
            r.program_id == program_id, r.scored_at >= lo, r.scored_at < hi
        )
    ).one()
    return (int(n or 0), int(top or 0))


def program_today(session: Session, program_id: int) -> dt.date:
    """Today in the program's time zone (the default end of a report's period)."""
    return dt.datetime.now(timezones.zone(program_zone(session, program_id))).date()


def operational_report(
    session: Session,
    *,
    program_id: int,
    rubric_version_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by: Period = "month",
    today: dt.date | None = None,
) -> OperationalReport:
    """The report for one rubric version of the program (default: the one of the latest imported
    rating) from ``start`` to ``end`` inclusive (days of the program's time zone; default the last
    :data:`DEFAULT_DAYS` days up to its ``today``), over time ``by`` month or quarter (its months). A constant number of queries; NotFound for a rubric
    version of another program; InvalidInput when ``start`` is after ``end``."""
    if by not in PERIODS:
        raise InvalidInput(f"Over time is shown by month or by quarter, not “{by}”.")
    zone = program_zone(session, program_id)
    end = end or today or program_today(session, program_id)
    start = start or max(FIRST_DAY, end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise InvalidInput("The period starts after it ends: put the earlier date in “from”.")
    if start < FIRST_DAY or end > LAST_DAY:
        raise InvalidInput(f"A period lies between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
    settings = ProgramSettings.of_program(session, program_id)
    ev = Evidence(settings.evidence.min_anchors, settings.evidence.min_scores)
    rid = rubric_version_id if rubric_version_id is not None else _default_rubric(session, program_id)
    if rid is None:
        return OperationalReport(
            None, "", start, end, by, [], "ordinal", ev.min_submissions, ev.min_pairs, zone=zone
        )
    rubric = session.scalar(
        select(RubricVersion).where(RubricVersion.id == rid, RubricVersion.program_id == program_id)
    )
    if rubric is None:
        raise NotFound("rubric version")
    levels = list(
        session.scalars(select(Level.value).where(Level.rubric_version_id == rid).order_by(Level.position))
    )
    titles = dict(
        session.execute(
            select(Criterion.id, Criterion.title)
            .where(Criterion.rubric_version_id == rid)
            .order_by(Criterion.position)
        ).all()
    )
    lom = level_of_measurement(rubric.level_of_measurement)
    base = OperationalReport(
        rid,
        f"{rubric.title} (version {rubric.version})",
        start,
        end,
        by,
        levels,
        lom,
        ev.min_submissions,
        ev.min_pairs,
        zone=zone,
    )
    state = _state(session, program_id, rid, start, end, zone)
    if state[0] == 0:
        return base
    key = (database_identity(session), program_id, rid, start, end, zone, by, ev, N_BOOT, *state)

    def run() -> tuple[Any, ...]:
        # A list the computation takes the rows out of: no reference stays here, so the rows are
        # freed as soon as the computation is done with them (a million reads: tens of MB).
        held = [
            operational_rows(
                session, program_id, rid, start, end, levels=levels, expected=state[0], zone=zone
            )
        ]
        n = len(held[0])
        if not n:  # rows of other rubric versions only
            return (0, [], [], {})
        return (n, *compute(held.pop(), levels, lom, titles, ev, by, seed=rid))

    n_rows, lines, periods, by_assessor = OPERATIONAL_REPORTS.get_or_compute(key, run)
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(list(by_assessor)))).all())

    def named(line: AssessorAgreement) -> AssessorAgreement:
        name = names.get(line.user_id, f"Assessor {line.user_id}")
        return replace(line, name=name, periods=tuple(replace(p, name=name) for p in line.periods))

    people = sorted((named(x) for x in by_assessor.values()), key=lambda x: (x.name.lower(), x.user_id))
    return replace(base, n_rows=n_rows, reliability=lines, periods=periods, assessors=people)

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

Fast at scale: one Core query has the database join each needed column of all the reads into one
text, which numpy parses (no Python object per read); numpy puts the reads in (submission,
criterion, read) order, reads are paired by that order and every statistic is vectorised. The result is cached
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
    "rubric_choices",
]

PERIODS: tuple[Period, ...] = ("month", "quarter")
#: The period shown when none is asked for: the last 90 days up to today (UTC).
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
def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    lo = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    return lo, dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _in_range(program_id: int, rubric_id: int, start: dt.date, end: dt.date) -> list[Any]:
    lo, hi = _bounds(start, end)
    r = OperationalRating
    return [r.program_id == program_id, r.rubric_version_id == rubric_id, r.scored_at >= lo, r.scored_at < hi]


#: Bits of the packed value (see :func:`operational_rows`).
_LEVEL_BITS, _MONTH_BITS, _READ_BITS = 8, 17, 6
_UNKNOWN_LEVEL = (1 << _LEVEL_BITS) - 1


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _months_since(start: dt.date, end: dt.date) -> Any:
    """The month of ``scored_at`` counted from ``start``'s month (0, 1, ...), by comparing it with
    the first instant of each later month up to ``end``: a few comparisons per row, cheaper than
    taking the stored time apart, and the same SQL on every database."""
    col = OperationalRating.scored_at
    first = _month_index(start)
    cuts = [
        dt.datetime(m // 12, m % 12 + 1, 1, tzinfo=dt.UTC) for m in range(first + 1, _month_index(end) + 1)
    ]
    if not cuts:
        return literal(0)
    return case(*((col < cut, i) for i, cut in enumerate(cuts)), else_=len(cuts))


def _packed(start: dt.date, end: dt.date, levels: list[int]) -> Any:
    """One integer per read: ``((criterion * 2^6 + read) * 2^17 + month) * 2^8 + level index``."""
    r = OperationalRating
    level_index = case({v: i for i, v in enumerate(levels)}, value=r.level, else_=_UNKNOWN_LEVEL)
    read = case((r.read_number > 63, 63), else_=r.read_number)
    return (
        (
            (cast(r.criterion_id, BigInteger) * (1 << _READ_BITS) + read) * (1 << _MONTH_BITS)
            + _months_since(start, end)
        )
        * (1 << _LEVEL_BITS)
    ) + level_index


#: Reads per aggregate query at most (on average): one aggregated text holds at most 1 GB on either
#: database, and two million ids of 200 characters are 400 MB.
READS_PER_QUERY = 2_000_000


def _read_columns(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    levels: list[int],
    expected: int | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """:func:`_read_one_query` over the period, split into slices of days when ``expected`` (the
    number of the program's reads in the period, all rubric versions) is more than
    :data:`READS_PER_QUERY`: twice as many slices as needed, so that uneven days still fit."""
    days = (end - start).days + 1
    slices = min(days, 2 * -(-(expected or 0) // READS_PER_QUERY))
    if slices <= 1:
        return _read_one_query(session, program_id, rubric_id, start, end, levels, start, end)
    ids: list[str] = []
    packed: list[np.ndarray] = []
    readers: list[np.ndarray] = []
    bounds = [start + dt.timedelta(days=days * i // slices) for i in range(slices + 1)]
    for lo, hi in itertools.pairwise(bounds):
        part = _read_one_query(
            session, program_id, rubric_id, start, end, levels, lo, hi - dt.timedelta(days=1)
        )
        ids.extend(part[0])
        packed.append(part[1])
        readers.append(part[2])
    return ids, np.concatenate(packed), np.concatenate(readers)


def _read_one_query(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    levels: list[int],
    first: dt.date,
    last: dt.date,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every read's external submission id, packed value (:func:`_packed`) and reader.

    One aggregate row: the database joins each column of all the reads into one text (SQLite:
    ``group_concat``; PostgreSQL: ``string_agg``, the integers as big-endian 64-bit bytes from
    ``int8send``), so the driver builds three Python objects instead of a tuple and three values per
    read, and numpy parses the integers in C. The aggregates of one query are fed the same rows in the
    same order, so item ``i`` of each is the same read (checked by their lengths). Ids never hold a
    line break: the import refuses control characters. One text holds at most 1 GB on either
    database, some millions of reads with the longest ids (200 characters): :func:`_read_columns`
    asks for days ``first`` to ``last`` of the period ``start`` to ``end`` (which numbers the months)."""
    r = OperationalRating
    packed = _packed(start, end, levels)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        empty = literal(b"", LargeBinary)
        ids = func.string_agg(r.external_submission_id, literal("\n"))
        values = func.string_agg(func.int8send(packed), empty)
        readers = func.string_agg(func.int8send(cast(r.assessor_id, BigInteger)), empty)
    else:
        ids = func.group_concat(r.external_submission_id, literal("\n"))
        values = func.group_concat(packed)
        readers = func.group_concat(r.assessor_id)
    stmt = select(func.count(), ids, readers, values).where(*_in_range(program_id, rubric_id, first, last))
    result = session.connection().execute(stmt)
    row: tuple[Any, ...] | None = result.cursor.fetchone()  # plain values, no type conversion
    result.close()
    n, id_text, who, p = row if row is not None else (0, "", b"", b"")
    if not n:
        return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    submissions = id_text.split("\n")
    if postgres:
        readers_arr = np.frombuffer(who, dtype=">i8").astype(np.int64)
        packed_arr = np.frombuffer(p, dtype=">i8").astype(np.int64)
    else:
        readers_arr = np.fromstring(who, dtype=np.int64, sep=",")
        packed_arr = np.fromstring(p, dtype=np.int64, sep=",")
    if not len(submissions) == readers_arr.size == packed_arr.size == n:
        raise RuntimeError(
            f"{n} operational ratings read back as {len(submissions)}, {readers_arr.size} and "
            f"{packed_arr.size} values"
        )
    return submissions, packed_arr, readers_arr


def _numbered(ids: list[str]) -> np.ndarray:
    """Each id's number among the distinct ids sorted by code point (0, 1, ...): a dict numbers them
    by first appearance in one C-level pass, then the few distinct ids are sorted."""
    codes: dict[str, int] = {}
    first = np.fromiter(map(codes.setdefault, ids, range(len(ids))), dtype=np.int64, count=len(ids))
    seen = np.zeros(len(ids), dtype=bool)
    seen[first] = True
    appearance = (np.cumsum(seen) - 1)[first]  # 0.. in order of first appearance
    distinct = list(codes)
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[sorted(range(len(distinct)), key=distinct.__getitem__)] = np.arange(len(distinct))
    return np.asarray(rank[appearance])


def operational_rows(
    session: Session,
    program_id: int,
    rubric_id: int,
    start: dt.date,
    end: dt.date,
    *,
    levels: list[int],
    expected: int | None = None,
) -> OperationalRows:
    """The reads of one rubric version in a period, from one Core query (never ORM entities)
    grouped by submission (:func:`_grouped_by_submission`): per read the database sends its reader
    and one integer packing criterion, read number, month and level index (see :func:`_packed`).
    Submissions are numbered 0.. in order of their external id; reads after the 63rd count as the
    63rd (a later read). ``expected``: about how many reads the period holds, when known (more than
    :data:`READS_PER_QUERY` are read in slices)."""
    ids, p, assessor = _read_columns(session, program_id, rubric_id, start, end, levels, expected)
    if not ids:
        empty = np.zeros(0, dtype=np.int64)
        return OperationalRows(empty, empty, empty, empty, empty, empty)
    submission = _numbered(ids)
    del ids
    first_month = _month_index(start)
    lv = p & _UNKNOWN_LEVEL
    p >>= _LEVEL_BITS
    month = (p & ((1 << _MONTH_BITS) - 1)) + first_month
    p >>= _MONTH_BITS  # criterion * 2^6 + read: sorts like (criterion, read)
    rd = p & ((1 << _READ_BITS) - 1)
    crit = p >> _READ_BITS
    # (submission, criterion, read) order, on one combined key when it fits in 64 bits
    span = int(p.max()) + 1
    if int(submission.max()) < np.iinfo(np.int64).max // span:
        order = np.argsort(submission * span + p, kind="stable")
    else:
        order = np.lexsort((p, submission))
    keep = lv != _UNKNOWN_LEVEL  # the import refuses unknown levels; never let one break a report
    order = order[keep[order]]
    values = np.asarray(levels, dtype=np.int64)
    return OperationalRows(
        submission=submission[order],
        criterion=crit[order],
        assessor=assessor[order],
        level=values[lv[order]],
        read=rd[order],
        month=month[order],
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
    session: Session, program_id: int, rubric_id: int, start: dt.date, end: dt.date
) -> tuple[Any, ...]:
    """The data's version: rows are only ever added, so their count and highest id say it all."""
    r = OperationalRating
    lo, hi = _bounds(start, end)
    # every rubric's rows of the program in range: the (program, scored_at) index answers it alone
    n, top = session.execute(
        select(func.count(r.id), func.max(r.id)).where(
            r.program_id == program_id, r.scored_at >= lo, r.scored_at < hi
        )
    ).one()
    return (int(n or 0), int(top or 0))


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
    rating) from ``start`` to ``end`` inclusive (UTC days; default the last :data:`DEFAULT_DAYS`
    days), over time ``by`` month or quarter. A constant number of queries; NotFound for a rubric
    version of another program; InvalidInput when ``start`` is after ``end``."""
    if by not in PERIODS:
        raise InvalidInput(f"Over time is shown by month or by quarter, not “{by}”.")
    end = end or today or dt.datetime.now(dt.UTC).date()
    start = start or max(FIRST_DAY, end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise InvalidInput("The period starts after it ends: put the earlier date in “from”.")
    if start < FIRST_DAY or end > LAST_DAY:
        raise InvalidInput(f"A period lies between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
    settings = ProgramSettings.of_program(session, program_id)
    ev = Evidence(settings.evidence.min_anchors, settings.evidence.min_scores)
    rid = rubric_version_id if rubric_version_id is not None else _default_rubric(session, program_id)
    if rid is None:
        return OperationalReport(None, "", start, end, by, [], "ordinal", ev.min_submissions, ev.min_pairs)
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
    )
    state = _state(session, program_id, rid, start, end)
    if state[0] == 0:
        return base
    key = (database_identity(session), program_id, rid, start, end, by, ev, N_BOOT, *state)

    def run() -> tuple[Any, ...]:
        rows = operational_rows(session, program_id, rid, start, end, levels=levels, expected=state[0])
        if not len(rows):  # rows of other rubric versions only
            return (0, [], [], {})
        return (len(rows), *compute(rows, levels, lom, titles, ev, by, seed=rid))

    n_rows, lines, periods, by_assessor = OPERATIONAL_REPORTS.get_or_compute(key, run)
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(list(by_assessor)))).all())

    def named(line: AssessorAgreement) -> AssessorAgreement:
        name = names.get(line.user_id, f"Assessor {line.user_id}")
        return replace(line, name=name, periods=tuple(replace(p, name=name) for p in line.periods))

    people = sorted((named(x) for x in by_assessor.values()), key=lambda x: (x.name.lower(), x.user_id))
    return replace(base, n_rows=n_rows, reliability=lines, periods=periods, assessors=people)

"""The operational report's fast read (aggregated texts parsed by numpy) gives exactly the figures
of a straightforward one: ORM rows, submissions numbered in sorted order of their id, months and
order worked out in plain Python, then the same statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from calibration.models import Membership, OperationalRating, Role, User
from calibration.services import operational_report as opr
from calibration.services.operational_stats import AssessorAgreement, Evidence, OperationalRows, compute
from calibration.services.policy import ProgramSettings

from ..factories_operational import Row, add_ratings

START, END = dt.date(2026, 1, 15), dt.date(2026, 4, 20)


def _random_season(world: Any, readers: list[int], seed: int) -> list[Row]:
    """Submissions with ids that sort differently by code point and by locale, read once, twice
    or three times (reads stored out of order), some just outside the period."""
    rng = np.random.default_rng(seed)
    stems = ["b", "B", "a-1", "a_1", "A", "é", "z", "Zed", "10", "9", "sub 1", "ü", "a", "e"]
    rows: list[Row] = []
    first = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    for i in range(160):
        ext = (
            f"{stems[i % len(stems)]}{i // len(stems)}" if i % 3 else stems[i % len(stems)] + "~" * (i // 14)
        )
        at = first + dt.timedelta(hours=int(rng.integers(0, 105 * 24)))
        n_reads = int(rng.choice([1, 2, 2, 2, 3]))
        who = rng.choice(len(readers), size=n_reads, replace=False)
        criteria = [c for c in world.criteria if rng.random() < 0.8] or world.criteria[:1]
        for c in criteria:
            reads = list(range(1, n_reads + 1))
            rng.shuffle(reads)
            for read in reads:
                level = world.levels[int(rng.integers(0, len(world.levels)))]
                rows.append(
                    (ext, c, readers[int(who[read - 1])], level, read, at + dt.timedelta(minutes=read))
                )
    return rows


def _straightforward_rows(db: Any, world: Any, levels: list[int]) -> OperationalRows:
    lo = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC)
    hi = dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    r = OperationalRating
    stored = db.scalars(
        select(r).where(
            r.program_id == world.program_a,
            r.rubric_version_id == world.rubric_id,
            r.scored_at >= lo,
            r.scored_at < hi,
        )
    ).all()
    number = {ext: i for i, ext in enumerate(sorted({x.external_submission_id for x in stored}))}
    table = sorted(
        (
            number[x.external_submission_id],
            x.criterion_id,
            min(x.read_number, 63),
            x.assessor_id,
            x.level,
            x.scored_at.year * 12 + x.scored_at.month - 1,
        )
        for x in stored
        if x.level in levels
    )
    columns = [np.array(col, dtype=np.int64) for col in zip(*table, strict=True)]
    sub, crit, read, who, level, month = columns
    return OperationalRows(sub, crit, who, level, read, month)


def _readers(db: Any, world: Any, name: str, n: int) -> list[int]:
    """``n`` assessors of program A (``<name>0@a.test``, ...), committed; their user ids."""
    readers = []
    for i in range(n):
        u = User(email=f"{name}{i}@a.test", name=f"{name.title()} {i}", password_hash="x")
        db.add(u)
        db.flush()
        db.add(Membership(user_id=u.id, program_id=world.program_a, role=Role.ASSESSOR))
        readers.append(u.id)
    db.commit()
    return readers


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_read_gives_exactly_the_straightforward_figures(db, world, seed, monkeypatch):  # type: ignore[no-untyped-def]
    readers = _readers(db, world, "fast", 6)
    add_ratings(db, world.program_a, world.rubric_id, _random_season(world, readers, seed))
    levels = list(world.levels)

    fast = opr.operational_rows(db, world.program_a, world.rubric_id, START, END, levels=levels)
    plain = _straightforward_rows(db, world, levels)
    assert len(fast) == len(plain) > 300
    assert bool((plain.read == 3).any()) and bool((np.diff(plain.month) != 0).any())
    for name in OperationalRows.__dataclass_fields__:
        assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
    # More reads than one aggregated text should hold: read in slices of days, the same rows.
    monkeypatch.setattr(opr, "READS_PER_QUERY", 50)
    sliced = opr.operational_rows(
        db, world.program_a, world.rubric_id, START, END, levels=levels, expected=len(plain)
    )
    for name in OperationalRows.__dataclass_fields__:
        assert np.array_equal(getattr(sliced, name), getattr(plain, name)), name

    opr.OPERATIONAL_REPORTS.clear()
    report = opr.operational_report(
        db, program_id=world.program_a, rubric_version_id=world.rubric_id, start=START, end=END, by="month"
    )
    settings = ProgramSettings.of_program(db, world.program_a)
    ev = Evidence(settings.evidence.min_anchors, settings.evidence.min_scores)
    titles = {c.criterion_id: c.title for c in report.by_criterion}
    lines, periods, people = compute(
        plain, levels, report.level_of_measurement, titles, ev, "month", seed=world.rubric_id
    )
    assert report.n_rows == len(plain)
    assert report.reliability == lines
    assert report.periods == periods
    unnamed = {a.user_id: _unnamed(a) for a in report.assessors}
    assert unnamed == people and len(people) == len(readers)


def _unnamed(a: AssessorAgreement) -> AssessorAgreement:
    return replace(a, name="", periods=tuple(replace(p, name="") for p in a.periods))


IDS = ["b", "B", "a-1", "a_1", "A", "é", "z", "Zed", "10", "9", "sub 1", "ü", "a", "e", "ab", "a", "€x", "ab"]


@pytest.mark.parametrize("block", [2, 1 << 16])
def test_ids_are_numbered_by_code_point_without_a_string_per_read(monkeypatch, block):  # type: ignore[no-untyped-def]
    """Ids of different lengths (padded block by block) and of one length (a reshape) number like
    Python's sorted() of the strings: by code point, a prefix first."""
    monkeypatch.setattr(opr, "_IDS_PER_BLOCK", block)
    for ids in (IDS, ["LIVE-0002", "LIVE-0001", "LIVE-0001", "LIVE-0010"], ["x"]):
        distinct, codes = opr._distinct_ids("\n".join(ids).encode())
        assert codes.dtype == np.int32
        assert [x.decode() for x in distinct.tolist()] == sorted(set(ids))
        assert [distinct[c].decode() for c in codes.tolist()] == ids


def test_a_report_read_in_many_slices_equals_one_read(db, world, monkeypatch):  # type: ignore[no-untyped-def]
    """Bounding the reads per query (which bounds the read's memory) changes no figure: the rows and
    the report from several queries are those of one query, and the columns stay narrow (at a
    million reads: 4 bytes a column, 1 for the read number)."""
    readers = _readers(db, world, "slice", 4)
    add_ratings(db, world.program_a, world.rubric_id, _random_season(world, readers, 3))
    levels = list(world.levels)
    queries: list[int] = []
    one_query = opr._read_one_query

    def counted(*args: Any) -> Any:
        part = one_query(*args)
        queries.append(len(part))
        return part

    monkeypatch.setattr(opr, "_read_one_query", counted)
    whole = opr.operational_rows(db, world.program_a, world.rubric_id, START, END, levels=levels)
    assert len(queries) == 1 and queries[0] == len(whole) > 300
    monkeypatch.setattr(opr, "READS_PER_QUERY", 60)
    queries.clear()
    sliced = opr.operational_rows(
        db, world.program_a, world.rubric_id, START, END, levels=levels, expected=len(whole)
    )
    assert len(queries) > 5 and sum(queries) == len(whole)
    for name in OperationalRows.__dataclass_fields__:
        column = getattr(sliced, name)
        assert np.array_equal(column, getattr(whole, name)), name
        assert column.dtype.itemsize <= (1 if name == "read" else 4), name
    settings = ProgramSettings.of_program(db, world.program_a)
    ev = Evidence(settings.evidence.min_anchors, settings.evidence.min_scores)
    titles = {c: str(c) for c in world.criteria}
    assert compute(sliced, levels, "ordinal", titles, ev, "quarter", seed=1) == compute(
        whole, levels, "ordinal", titles, ev, "quarter", seed=1
    )

"""Operational (live) ratings for tests: rows inserted directly, as the import would store them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import insert

from calibration.models import ImportSource, ImportStatus, OperationalImport, OperationalRating

#: (external submission id, criterion id, assessor id, level, read number, scored at)
Row = tuple[str, int, int, int, int, dt.datetime]


def make_import(session: Any, program_id: int, rubric_id: int) -> int:
    imp = OperationalImport(
        program_id=program_id,
        rubric_version_id=rubric_id,
        source=ImportSource.CLI,
        filename="test.csv",
        content_sha256="0" * 64,
        status=ImportStatus.DONE,
    )
    session.add(imp)
    session.flush()
    return imp.id


def add_ratings(
    session: Any, program_id: int, rubric_id: int, rows: Iterable[Row], *, commit: bool = True
) -> int:
    """Insert ``rows`` in one import (batches of Core inserts); returns how many."""
    import_id = make_import(session, program_id, rubric_id)
    batch: list[dict[str, Any]] = []
    n = 0
    for ext, crit, who, level, read, at in rows:
        batch.append(
            {
                "program_id": program_id,
                "import_id": import_id,
                "rubric_version_id": rubric_id,
                "external_submission_id": ext,
                "criterion_id": crit,
                "assessor_id": who,
                "level": level,
                "read_number": read,
                "scored_at": at,
                "stored_at": at,
            }
        )
        if len(batch) >= 20000:
            session.execute(insert(OperationalRating), batch)
            n += len(batch)
            batch = []
    if batch:
        session.execute(insert(OperationalRating), batch)
        n += len(batch)
    if commit:
        session.commit()
    return n


def double_scored(
    *,
    readers: Sequence[int],
    criteria: Sequence[int],
    levels: Sequence[int],
    submissions: int,
    start: dt.datetime,
    days: int = 90,
    lenient: dict[int, int] | None = None,
    noise: float = 0.35,
    adjudicate: bool = True,
    seed: int = 0,
    prefix: str = "sub",
) -> list[Row]:
    """A season of double scoring: each submission read by two different readers (a true level per
    criterion, each read off by one level with probability ``noise``, a lenient reader adding
    ``lenient[reader]`` levels), and a third read where the two are two or more levels apart."""
    rng = np.random.default_rng(seed)
    lenient = lenient or {}
    lo, hi = 0, len(levels) - 1
    out: list[Row] = []
    for s in range(submissions):
        at = start + dt.timedelta(minutes=int(rng.integers(0, days * 24 * 60)))
        pair = rng.choice(len(readers), size=2, replace=False)
        for c in criteria:
            truth = int(rng.integers(lo, hi + 1))
            given = []
            for read, r in enumerate(pair, start=1):
                who = readers[int(r)]
                off = int(rng.choice([-1, 0, 1], p=[noise / 2, 1 - noise, noise / 2]))
                i = min(hi, max(lo, truth + off + lenient.get(who, 0)))
                given.append(i)
                out.append((f"{prefix}-{s:06d}", c, who, levels[i], read, at + dt.timedelta(hours=read)))
            if adjudicate and abs(given[0] - given[1]) >= 2:
                third = readers[int(next(i for i in range(len(readers)) if i not in pair))]
                out.append((f"{prefix}-{s:06d}", c, third, levels[truth], 3, at + dt.timedelta(hours=3)))
    return out

"""Operational (live) ratings for tests: files and imports through the service, and rows inserted
directly, as the import would store them."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import insert

from calibration.models import ImportSource, ImportStatus, OperationalImport, OperationalRating
from calibration.services import operational_csv, operational_import
from calibration.services.context import Member

HEADER = "submission_id,criterion,assessor,level,read,scored_at\n"
CRITERIA = ["time-audit", "priority-analysis", "revised-plan", "follow-up-results", "reflection"]


def rows_csv(
    n_submissions: int,
    *,
    reads: int = 2,
    first: int = 0,
    assessors: tuple[str, ...] = ("assessor@a.test", "assessor2@a.test"),
) -> str:
    """A well-formed file: every criterion of ``n_submissions`` submissions, read ``reads`` times."""
    lines = [HEADER]
    for i in range(first, first + n_submissions):
        for c, key in enumerate(CRITERIA):
            for read in range(1, reads + 1):
                level = 1 + (i + c + read) % 4
                who = assessors[(read - 1) % len(assessors)]
                lines.append(f"S-{i},{key},{who},{level},{read},2026-03-01T10:{c:02d}:00+01:00\n")
    return "".join(lines)


def make_import(
    db: Any, world: Any, content: str | bytes, directory: str, *, filename: str = "live.csv"
) -> int:
    """Spool ``content`` as an upload and record a queued import of it (committed)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    spooled = operational_csv.spool(io.BytesIO(data), directory)
    imp = operational_import.create_import(
        db,
        Member(world.ids["trainer"], world.program_a),
        rubric_version_id=world.rubric_id,
        source=ImportSource.UPLOAD,
        filename=filename,
        upload_path=spooled.path,
        content_sha256=spooled.sha256,
    )
    db.commit()
    return imp.id


#: (external submission id, criterion id, assessor id, level, read number, scored at)
Row = tuple[str, int, int, int, int, dt.datetime]


def make_stored_import(session: Any, program_id: int, rubric_id: int) -> int:
    """An import already done, for rows inserted directly."""
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
    import_id = make_stored_import(session, program_id, rubric_id)
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

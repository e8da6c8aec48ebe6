"""Operational rating files and imports for tests."""

from __future__ import annotations

import io
from typing import Any

from calibration.models import ImportSource
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

"""Rubric versions for lead trainers: list, view, and upload a rubric file from the browser.

An upload goes through the same loader and the same import as ``flask import-rubrics``: the bytes
stage mirrors :func:`calibration.rubrics.load_rubric_file` (size, then UTF-8) with the same words,
then :func:`calibration.rubrics.parse_rubric` and :func:`calibration.services.rubrics.import_rubric`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import Anchor, Criterion, RubricVersion
from ..rubrics import MAX_FILE_BYTES, RubricDefinition, RubricFileError, parse_rubric_bytes
from .anchors import clean_filename, read_upload
from .context import Member
from .errors import InvalidInput, NotFound
from .rubrics import ImportOutcome, import_rubric


@dataclass(frozen=True)
class RubricLine:
    version: RubricVersion
    n_criteria: int
    n_levels: int
    n_anchors: int
    latest: bool


def program_rubrics(session: Session, program_id: int) -> list[RubricLine]:
    """Every stored version, grouped by slug, newest version first (four queries)."""
    versions = list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.slug, RubricVersion.version.desc())
            .options(selectinload(RubricVersion.levels))
        )
    )
    ids = [v.id for v in versions]
    criteria = dict(
        session.execute(
            select(Criterion.rubric_version_id, func.count())
            .where(Criterion.rubric_version_id.in_(ids))
            .group_by(Criterion.rubric_version_id)
        ).all()
    )
    anchors = dict(
        session.execute(
            select(Anchor.rubric_version_id, func.count())
            .where(Anchor.rubric_version_id.in_(ids), Anchor.program_id == program_id)
            .group_by(Anchor.rubric_version_id)
        ).all()
    )
    latest: dict[str, int] = {}
    for v in versions:
        latest.setdefault(v.slug, v.version)
    return [
        RubricLine(v, criteria.get(v.id, 0), len(v.levels), anchors.get(v.id, 0), latest[v.slug] == v.version)
        for v in versions
    ]


@dataclass(frozen=True)
class RubricView:
    rubric: RubricVersion
    siblings: list[RubricVersion]  # every version of the same slug, newest first

    def descriptor(self, criterion: Criterion, level_id: int) -> str:
        return next((d.text for d in criterion.descriptors if d.level_id == level_id), "")


def rubric_view(session: Session, *, program_id: int, rubric_version_id: int) -> RubricView:
    """One stored version with criteria, levels and descriptors; NotFound outside the program."""
    rubric = session.scalar(
        select(RubricVersion)
        .where(RubricVersion.id == rubric_version_id, RubricVersion.program_id == program_id)
        .options(
            selectinload(RubricVersion.criteria).selectinload(Criterion.descriptors),
            selectinload(RubricVersion.levels),
        )
    )
    if rubric is None:
        raise NotFound("rubric")
    siblings = list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id, RubricVersion.slug == rubric.slug)
            .order_by(RubricVersion.version.desc())
        )
    )
    return RubricView(rubric, siblings)


def parse_upload(raw: bytes, size: int, *, filename: str) -> RubricDefinition:
    """Validate an uploaded rubric file as the CLI validates a file on disk.

    ``raw`` holds at least the first ``MAX_FILE_BYTES + 1`` bytes, ``size`` the full size. Raises
    :class:`calibration.rubrics.RubricFileError` with the loader's message.
    """
    return parse_rubric_bytes(raw, size=size, source=filename)


def upload_rubric(
    session: Session, actor: Member, *, program_id: int, filename: str, stream: IO[bytes]
) -> ImportOutcome:
    """Import an uploaded rubric file: a new version, or the version already storing this content.

    A file the loader refuses raises InvalidInput (field ``file``) with its message; nothing is written.
    """
    name = clean_filename(filename)
    if not name:
        raise InvalidInput("Choose a rubric file to upload.", {"file": ["Choose a rubric file to upload."]})
    raw, size = read_upload(stream, MAX_FILE_BYTES)
    try:
        definition = parse_upload(raw, size, filename=name)
    except RubricFileError as exc:
        raise InvalidInput("Nothing was imported.", {"file": [str(exc)]}) from None
    return import_rubric(session, actor, program_id, definition)

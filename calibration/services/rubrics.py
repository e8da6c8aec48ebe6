"""Importing rubric definitions into a program as immutable, content-hashed versions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Criterion, Level, LevelDescriptor, RubricVersion
from ..rubrics import RubricDefinition
from . import audit
from .context import Actor


@dataclass(frozen=True)
class ImportOutcome:
    slug: str
    version: int
    created: bool
    rubric_version_id: int


def import_rubric(
    session: Session, actor: Actor, program_id: int, definition: RubricDefinition
) -> ImportOutcome:
    """Store ``definition`` unless the same content is already stored (idempotent by hash).

    A changed file becomes the next version of its slug; stored versions are never changed.
    """
    existing = session.scalar(
        select(RubricVersion).where(
            RubricVersion.program_id == program_id, RubricVersion.content_hash == definition.content_hash
        )
    )
    if existing is not None:
        return ImportOutcome(existing.slug, existing.version, False, existing.id)
    latest = session.scalar(
        select(func.max(RubricVersion.version)).where(
            RubricVersion.program_id == program_id, RubricVersion.slug == definition.slug
        )
    )
    version = RubricVersion(
        program_id=program_id,
        slug=definition.slug,
        version=(latest or 0) + 1,
        title=definition.title,
        description=definition.description,
        level_of_measurement=definition.level_of_measurement,
        earn_cut=definition.earn_cut,
        content_hash=definition.content_hash,
        definition_json=json.dumps(definition.to_canonical_dict(), sort_keys=True, separators=(",", ":")),
        source=definition.source,
    )
    session.add(version)
    session.flush()
    levels = [
        Level(rubric_version_id=version.id, value=lv.value, position=i, label=lv.label)
        for i, lv in enumerate(definition.levels)
    ]
    session.add_all(levels)
    session.flush()
    for position, crit in enumerate(definition.criteria):
        criterion = Criterion(
            rubric_version_id=version.id,
            key=crit.key,
            position=position,
            title=crit.title,
            description=crit.description,
        )
        session.add(criterion)
        session.flush()
        session.add_all(
            LevelDescriptor(criterion_id=criterion.id, level_id=level.id, text=text)
            for level, text in zip(levels, crit.descriptors, strict=True)
        )
    session.flush()
    audit.record(
        session,
        actor,
        "rubric.import",
        object_type="rubric_version",
        object_id=version.id,
        program_id=program_id,
        detail={"slug": version.slug, "version": version.version, "hash": version.content_hash},
    )
    return ImportOutcome(version.slug, version.version, True, version.id)


def import_rubrics(
    session: Session, actor: Actor, program_id: int, definitions: Iterable[RubricDefinition]
) -> list[ImportOutcome]:
    return [import_rubric(session, actor, program_id, d) for d in definitions]


def latest_versions(session: Session, program_id: int) -> dict[str, RubricVersion]:
    rows = session.scalars(
        select(RubricVersion).where(RubricVersion.program_id == program_id).order_by(RubricVersion.version)
    )
    return {r.slug: r for r in rows}

"""Stored rubric versions as plain frozen values, read once per process and database.

A rubric version is immutable once stored (a changed file becomes a new version, see
:mod:`.rubrics`), so its criteria, levels and descriptors can be kept in memory: this is a copy
of rows that never change, not state that decides anything, so several processes sharing one
database never disagree. The cache is keyed by the engine (each app, and each test database, has
its own) and by the rubric version id; only versions a round or an anchor points at (so committed
ones) are read through it. Scoring reads it on every score page and every submit
instead of loading the version's rows again.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, selectinload

from ..models import Criterion, RubricVersion


@dataclass(frozen=True)
class LevelItem:
    id: int
    value: int
    position: int
    label: str


@dataclass(frozen=True)
class DescriptorItem:
    level_id: int
    text: str


@dataclass(frozen=True)
class CriterionItem:
    id: int
    key: str
    position: int
    title: str
    description: str
    descriptors: tuple[DescriptorItem, ...]


@dataclass(frozen=True)
class RubricSnapshot:
    """One stored rubric version: the fields the score page, the score form and scoring read."""

    id: int
    program_id: int
    slug: str
    version: int
    title: str
    earn_cut: int
    criteria: tuple[CriterionItem, ...]  # in position order
    levels: tuple[LevelItem, ...]  # in position order

    @property
    def level_values(self) -> list[int]:
        return [level.value for level in self.levels]


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Engine, dict[int, RubricSnapshot]] = weakref.WeakKeyDictionary()


def load_rubric(session: Session, rubric_version_id: int) -> RubricVersion | None:
    """A rubric version with its criteria, descriptors and levels (the ORM rows, not cached)."""
    return session.scalar(
        select(RubricVersion)
        .where(RubricVersion.id == rubric_version_id)
        .options(
            selectinload(RubricVersion.criteria).selectinload(Criterion.descriptors),
            selectinload(RubricVersion.levels),
        )
    )


def rubric_snapshot(session: Session, rubric_version_id: int) -> RubricSnapshot:
    """The rubric version ``rubric_version_id`` as a frozen value; read from the database once."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _lock:
        found = _cache.get(engine, {}).get(rubric_version_id)
    if found is not None:
        return found
    rubric = load_rubric(session, rubric_version_id)
    if rubric is None:
        raise LookupError(f"no rubric version {rubric_version_id}")
    snapshot = RubricSnapshot(
        id=rubric.id,
        program_id=rubric.program_id,
        slug=rubric.slug,
        version=rubric.version,
        title=rubric.title,
        earn_cut=rubric.earn_cut,
        criteria=tuple(
            CriterionItem(
                id=c.id,
                key=c.key,
                position=c.position,
                title=c.title,
                description=c.description,
                descriptors=tuple(DescriptorItem(d.level_id, d.text) for d in c.descriptors),
            )
            for c in rubric.criteria
        ),
        levels=tuple(LevelItem(lv.id, lv.value, lv.position, lv.label) for lv in rubric.levels),
    )
    with _lock:
        _cache.setdefault(engine, {})[rubric_version_id] = snapshot
    return snapshot


def clear() -> None:
    """Forget every snapshot (tests that rebuild a database under the same engine)."""
    with _lock:
        _cache.clear()

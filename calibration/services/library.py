"""The anchor library: anchors a lead trainer has released, as exemplars of each score point.

Releasing is for good. A released anchor's key and rationale are open to every certified assessor
of the program, so it can never again measure anyone's blind judgement: no round serves it from then
on (:meth:`calibration.models.Anchor.in_pool` leaves it out of every pool), and there is no undo.
A trainer who wants it out of the library retires it; it still never returns to a pool.

Who may read the library, and which anchors it shows, is decided in
:mod:`calibration.services.reveal` (:func:`~calibration.services.reveal.may_open_library`,
:func:`~calibration.services.reveal.in_library`), next to the blind-scoring rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import Anchor, AnchorKeyVersion, Round, RoundAnchor, RoundStatus, RubricVersion
from . import audit
from .anchor_queries import current_key, get_anchor
from .context import Member
from .errors import InvalidInput, NotFound
from .reveal import in_library
from .round_queries import current_keys
from .scoring import rubric_with_levels

__all__ = [
    "CriterionShelf",
    "KeyLine",
    "LevelShelf",
    "LibraryAnchor",
    "LibraryEntry",
    "RubricShelf",
    "library_anchor",
    "library_index",
    "release_anchor",
    "release_blockers",
]


# ------------------------------------------------------------------------------------- releasing
def release_blockers(session: Session, anchor_id: int) -> list[Round]:
    """Rounds not closed yet (draft or open) that hold the anchor: while any does, someone may
    still score it blind, so it cannot be released."""
    return list(
        session.scalars(
            select(Round)
            .join(RoundAnchor, RoundAnchor.round_id == Round.id)
            .where(RoundAnchor.anchor_id == anchor_id, Round.status != RoundStatus.CLOSED)
            .order_by(Round.id)
        )
    )


def release_anchor(session: Session, actor: Member, *, program_id: int, anchor_id: int) -> Anchor:
    """Release the anchor to the library, for good (audited as ``anchor.release``).

    Refused, with the reason, when it is already released, has no master key (the library shows
    the key), or is in a round that is not closed yet (its key must stay hidden from whoever may
    still score it there).
    """
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    if anchor.released_at is not None:
        raise InvalidInput(f"“{anchor.title}” is already in the library; nothing was changed.")
    key = current_key(session, anchor.id)
    if key is None:
        raise InvalidInput(
            "Set the master key first: the library shows each criterion's key level and rationale."
        )
    busy = release_blockers(session, anchor.id)
    if busy:
        names = ", ".join(f"“{r.name}” ({r.status.value})" for r in busy)
        raise InvalidInput(
            f"“{anchor.title}” is still in rounds that are not closed: {names}. Remove it from draft "
            "rounds and wait for open ones to close, so no one who may still score it sees its key. "
            "Nothing was changed."
        )
    anchor.released_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "anchor.release",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail={"title": anchor.title, "key_version": key.version, "status": anchor.status.value},
    )
    return anchor


# ------------------------------------------------------------------------------------- browsing
@dataclass(frozen=True)
class LibraryEntry:
    """An anchor on a shelf: its key puts the shelf's criterion at the shelf's level."""

    anchor_id: int
    title: str


@dataclass(frozen=True)
class LevelShelf:
    value: int
    label: str
    descriptor: str
    entries: tuple[LibraryEntry, ...]


@dataclass(frozen=True)
class CriterionShelf:
    criterion_id: int
    title: str
    levels: tuple[LevelShelf, ...]


@dataclass(frozen=True)
class RubricShelf:
    rubric_version_id: int
    title: str
    version: int
    n_anchors: int
    criteria: tuple[CriterionShelf, ...]


def _library_anchors(session: Session, program_id: int) -> list[Anchor]:
    return list(
        session.scalars(
            select(Anchor)
            .where(Anchor.program_id == program_id, in_library())
            .order_by(Anchor.title, Anchor.id)
        )
    )


def library_index(session: Session, program_id: int) -> list[RubricShelf]:
    """The library by rubric version, criterion and level: which anchors exemplify each score
    point (every level of the rubric is listed, empty ones too)."""
    anchors = _library_anchors(session, program_id)
    keys = current_keys(session, [a.id for a in anchors])
    by_rubric: dict[int, list[Anchor]] = {}
    for a in anchors:
        if a.id in keys:
            by_rubric.setdefault(a.rubric_version_id, []).append(a)
    shelves = []
    for rubric_id in sorted(by_rubric):
        rubric = rubric_with_levels(session, rubric_id)
        members = by_rubric[rubric_id]
        value_of = {level.id: level.value for level in rubric.levels}
        criteria = []
        for criterion in rubric.criteria:
            descriptors = {value_of[d.level_id]: d.text for d in criterion.descriptors}
            criteria.append(
                CriterionShelf(
                    criterion.id,
                    criterion.title,
                    tuple(
                        LevelShelf(
                            level.value,
                            level.label,
                            descriptors.get(level.value, ""),
                            tuple(
                                LibraryEntry(a.id, a.title)
                                for a in members
                                if keys[a.id][1].get(criterion.id) == level.value
                            ),
                        )
                        for level in rubric.levels
                    ),
                )
            )
        shelves.append(RubricShelf(rubric.id, rubric.title, rubric.version, len(members), tuple(criteria)))
    return shelves


@dataclass(frozen=True)
class KeyLine:
    """One criterion of a library anchor's key, with the descriptor of the key's level."""

    criterion_id: int
    criterion_title: str
    level: int
    label: str
    descriptor: str
    rationale: str


@dataclass(frozen=True)
class LibraryAnchor:
    anchor: Anchor
    rubric: RubricVersion
    key_version_id: int
    key_version: int
    lines: tuple[KeyLine, ...]
    released_at: dt.datetime


def library_anchor(session: Session, *, program_id: int, anchor_id: int) -> LibraryAnchor:
    """One anchor of the library with its evidence, current key and rationale (else NotFound)."""
    anchor = session.scalar(
        select(Anchor).where(Anchor.id == anchor_id, Anchor.program_id == program_id, in_library())
    )
    if anchor is None or anchor.released_at is None:
        raise NotFound("anchor")
    key = session.scalar(
        select(AnchorKeyVersion)
        .where(AnchorKeyVersion.anchor_id == anchor.id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
        .options(selectinload(AnchorKeyVersion.entries))
    )
    if key is None:
        raise NotFound("anchor")
    rubric = rubric_with_levels(session, anchor.rubric_version_id)
    label = {level.value: level.label for level in rubric.levels}
    value_of = {level.id: level.value for level in rubric.levels}
    entries = {e.criterion_id: e for e in key.entries}
    lines: list[KeyLine] = []
    for criterion in rubric.criteria:
        entry = entries.get(criterion.id)
        if entry is None:
            continue
        descriptors = {value_of[d.level_id]: d.text for d in criterion.descriptors}
        lines.append(
            KeyLine(
                criterion.id,
                criterion.title,
                entry.level_value,
                label[entry.level_value],
                descriptors.get(entry.level_value, ""),
                entry.rationale,
            )
        )
    return LibraryAnchor(anchor, rubric, key.id, key.version, tuple(lines), anchor.released_at)

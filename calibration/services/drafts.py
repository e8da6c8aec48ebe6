"""Score drafts: what an assessor has typed on a score page, kept on the server until the final
sheet replaces it.

A draft is private to its assessor and is not a score: it is read only by that assessor's own
score page, and no statistic, export or trainer page reads the table. A save is one upsert (a
small write: on SQLite it holds the write lock for one statement). Saves are not audited: a draft
changes no record anyone else sees, and an autosave every few seconds would fill the trail; the
final sheet that replaces it is audited as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Anchor, Round, ScoreDraft, ScoreSheet
from .context import Member
from .errors import AlreadyRecorded, InvalidInput, RoundNotOpen
from .rubric_cache import RubricSnapshot
from .scoring import has_control_characters


@dataclass(frozen=True)
class Draft:
    """A draft as the score page uses it: level per criterion id (only those chosen), notes."""

    levels: dict[int, int]
    notes: str
    saved_at: dt.datetime


def notes_too_long(notes: str, notes_max_chars: int) -> str | None:
    """The message refusing over-long notes (naming the limit), or None."""
    if len(notes) > notes_max_chars:
        return f"Notes can be at most {notes_max_chars:,} characters (you have {len(notes):,})."
    return None


def clean_levels(rubric: RubricSnapshot, levels: Mapping[int, int]) -> dict[int, int]:
    """Only the pairs that name a criterion and a level of this rubric (for refilling a form)."""
    criteria = {c.id for c in rubric.criteria}
    values = {level.value for level in rubric.levels}
    return {c: v for c, v in levels.items() if c in criteria and v in values}


def save_draft(
    session: Session,
    actor: Member,
    *,
    rnd: Round,
    anchor: Anchor,
    rubric: RubricSnapshot,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int,
) -> dt.datetime:
    """Keep ``actor``'s unsubmitted levels and notes for ``anchor`` in ``rnd`` (replacing any
    earlier draft); flush, never commit. Returns when it was saved.

    The round and anchor are resolved within the actor's scope. Raises AlreadyRecorded (the sheet
    is final: there is nothing to draft), RoundNotOpen, or InvalidInput (a criterion or level not
    of this rubric, over-long notes, control characters), all before anything is written.
    """
    if rubric.id != rnd.rubric_version_id or anchor.program_id != rnd.program_id:
        raise ValueError("the rubric and the anchor must be the round's")
    prior = session.scalar(
        select(ScoreSheet.id).where(
            ScoreSheet.round_id == rnd.id,
            ScoreSheet.anchor_id == anchor.id,
            ScoreSheet.assessor_id == actor.user_id,
        )
    )
    if prior is not None:
        raise AlreadyRecorded(prior)
    now = utcnow()
    if not rnd.is_open_at(now):
        raise RoundNotOpen("This round is not open for scoring now.")
    errors: dict[str, list[str]] = {}
    if clean_levels(rubric, levels) != dict(levels):
        errors["form"] = ["The draft named a criterion or level that is not part of this rubric."]
    too_long = notes_too_long(notes, notes_max_chars)
    if too_long:
        errors["notes"] = [too_long]
    elif has_control_characters(notes):
        errors["notes"] = ["Notes contain a control character (such as NUL) that cannot be stored."]
    if errors:
        raise InvalidInput("The draft was not saved.", errors)
    values = {
        "assessor_id": actor.user_id,
        "round_id": rnd.id,
        "anchor_id": anchor.id,
        "levels": {str(c): v for c, v in sorted(levels.items())},
        "notes": notes,
        "saved_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ScoreDraft).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["assessor_id", "round_id", "anchor_id"],
        set_={
            "levels": stmt.excluded.levels,
            "notes": stmt.excluded.notes,
            "saved_at": stmt.excluded.saved_at,
        },
    )
    session.execute(stmt)
    return now


def draft_for(session: Session, *, assessor_id: int, round_id: int, anchor_id: int) -> Draft | None:
    """The assessor's own draft for this anchor in this round, or None."""
    row = session.scalar(
        select(ScoreDraft).where(
            ScoreDraft.assessor_id == assessor_id,
            ScoreDraft.round_id == round_id,
            ScoreDraft.anchor_id == anchor_id,
        )
    )
    if row is None:
        return None
    return Draft({int(k): int(v) for k, v in (row.levels or {}).items()}, row.notes or "", row.saved_at)


def discard_draft(session: Session, *, assessor_id: int, round_id: int, anchor_id: int) -> None:
    """Delete the assessor's draft for this anchor (the final sheet replaces it); flush."""
    session.execute(
        delete(ScoreDraft).where(
            ScoreDraft.assessor_id == assessor_id,
            ScoreDraft.round_id == round_id,
            ScoreDraft.anchor_id == anchor_id,
        )
    )

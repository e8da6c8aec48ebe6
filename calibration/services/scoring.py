"""Submitting a score sheet: validated, final on submit, stored exactly once."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyVersion,
    CertificationStatus,
    CriterionScore,
    Membership,
    Round,
    RubricVersion,
    ScoreSheet,
)
from . import audit
from .assignments import assigned_round, round_anchor
from .context import Member
from .errors import AlreadyRecorded, InvalidInput, RoundNotOpen
from .rubric_cache import RubricSnapshot, load_rubric, rubric_snapshot

# NUL and C0/C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


# Text that can reach a mail header (a subject, a display name) must be one line: any control
# character, line breaks and tabs included, plus Unicode's line and paragraph separators.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ONE_LINE_MESSAGE = "must be one line of plain text: no line breaks, tabs or control characters"


def is_one_line(value: str) -> bool:
    return not _NOT_ONE_LINE.search(value)


def rubric_with_levels(session: Session, rubric_version_id: int) -> RubricVersion:
    rubric = load_rubric(session, rubric_version_id)
    assert rubric is not None  # a foreign key guarantees it
    return rubric


def existing_sheet(session: Session, *, round_id: int, anchor_id: int, assessor_id: int) -> ScoreSheet | None:
    return session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.round_id == round_id,
            ScoreSheet.anchor_id == anchor_id,
            ScoreSheet.assessor_id == assessor_id,
        )
    )


def current_key_version(session: Session, anchor_id: int) -> AnchorKeyVersion | None:
    return session.scalar(
        select(AnchorKeyVersion)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
    )


def sheet_errors(
    rubric: RubricSnapshot, levels: Mapping[int, int], notes: str, notes_max_chars: int
) -> dict[str, list[str]]:
    """Field errors of a sheet's levels and notes (keyed ``criterion_<id>``, ``notes``, ``form``);
    empty when a final sheet (or a practice try) may be stored."""
    level_ids = {level.value: level.id for level in rubric.levels}
    errors: dict[str, list[str]] = {}
    criterion_ids = {c.id for c in rubric.criteria}
    for criterion_id in levels:
        if criterion_id not in criterion_ids:
            errors.setdefault("form", []).append(
                "The form included a criterion that is not part of this rubric; reload the page and try again."
            )
            break
    for criterion in rubric.criteria:
        value = levels.get(criterion.id)
        if value is None:
            errors[f"criterion_{criterion.id}"] = [f"Choose a level for “{criterion.title}”."]
        elif value not in level_ids:
            errors[f"criterion_{criterion.id}"] = [
                f"“{value}” is not a level of this rubric; choose one of {', '.join(map(str, level_ids))}."
            ]
    if len(notes) > notes_max_chars:
        errors["notes"] = [f"Notes can be at most {notes_max_chars:,} characters (you have {len(notes):,})."]
    elif has_control_characters(notes):
        errors["notes"] = ["Notes contain a control character (such as NUL) that cannot be stored."]
    return errors


# What can change while the score page was open, read in one statement under the write lock: a
# sheet already stored, the assessor's certification status, the anchor's current key version.
# Built once (submits are the hot path; the statement is the same every time).
_SUBMIT_CHECKS = select(
    select(ScoreSheet.id)
    .where(
        ScoreSheet.round_id == bindparam("round_id"),
        ScoreSheet.anchor_id == bindparam("anchor_id"),
        ScoreSheet.assessor_id == bindparam("user_id"),
    )
    .scalar_subquery(),
    select(Membership.certification_status)
    .where(Membership.user_id == bindparam("user_id"), Membership.program_id == bindparam("program_id"))
    .scalar_subquery(),
    select(AnchorKeyVersion.id)
    .where(AnchorKeyVersion.anchor_id == bindparam("anchor_id"))
    .order_by(AnchorKeyVersion.version.desc())
    .limit(1)
    .scalar_subquery(),
)


def submit_sheet(
    session: Session,
    actor: Member,
    *,
    round_id: int,
    anchor_id: int,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int = 5000,
) -> ScoreSheet:
    """Store the assessor's final sheet: a level for every criterion of the round's rubric.

    Raises NotFound (out of scope), RoundNotOpen (also for a suspended assessor), InvalidInput (field errors keyed by
    ``criterion_<id>`` or ``notes``) or AlreadyRecorded (a sheet exists; nothing new stored).
    """
    rnd = assigned_round(session, user_id=actor.user_id, program_id=actor.program_id, round_id=round_id)
    anchor = round_anchor(session, rnd, anchor_id)
    return submit_scoped_sheet(
        session,
        actor,
        rnd=rnd,
        anchor=anchor,
        rubric=rubric_snapshot(session, rnd.rubric_version_id),
        levels=levels,
        notes=notes,
        notes_max_chars=notes_max_chars,
    )


def submit_scoped_sheet(
    session: Session,
    actor: Member,
    *,
    rnd: Round,
    anchor: Anchor,
    rubric: RubricSnapshot,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int = 5000,
) -> ScoreSheet:
    """:func:`submit_sheet` for a caller that has already resolved the round and the anchor within
    the actor's scope (:func:`.assignments.assigned_round`, :func:`.assignments.round_anchor`) and
    holds the round's rubric: the same rules and errors, without looking them up again.

    The rules that can change while the page was open (a sheet stored meanwhile, the assessor's
    status, the anchor's current key) are read in one statement, in this transaction.
    """
    if rubric.id != rnd.rubric_version_id or anchor.program_id != rnd.program_id:
        raise ValueError("the rubric and the anchor must be the round's")
    prior_id, status, key_version_id = session.execute(
        _SUBMIT_CHECKS,
        {
            "round_id": rnd.id,
            "anchor_id": anchor.id,
            "user_id": actor.user_id,
            "program_id": actor.program_id,
        },
    ).one()
    if prior_id is not None:
        raise AlreadyRecorded(prior_id)
    if not rnd.is_open_at(utcnow()):
        raise RoundNotOpen("This round is not open for scoring now.")
    if status == CertificationStatus.SUSPENDED:
        raise RoundNotOpen(
            "Your assessor status is suspended, so new scores cannot be recorded. "
            "Your lead trainer will tell you what happens next."
        )

    level_ids = {level.value: level.id for level in rubric.levels}
    errors = sheet_errors(rubric, levels, notes, notes_max_chars)
    if errors:
        raise InvalidInput("Some scores need attention.", errors)

    if key_version_id is None:
        raise InvalidInput("This anchor has no master key yet; tell your lead trainer.")

    sheet = ScoreSheet(
        round_id=rnd.id,
        anchor_id=anchor.id,
        assessor_id=actor.user_id,
        key_version_id=key_version_id,
        notes=notes,
        submitted_at=utcnow(),
        request_id=actor.request_id,
    )
    try:
        with session.begin_nested():
            session.add(sheet)
            session.flush()
            # One multi-row INSERT (an executemany), not one statement per criterion; the score ids
            # are not needed here, and ``sheet.scores`` loads them when read.
            session.execute(
                insert(CriterionScore),
                [
                    {
                        "sheet_id": sheet.id,
                        "criterion_id": c.id,
                        "level_id": level_ids[levels[c.id]],
                        "level_value": levels[c.id],
                    }
                    for c in rubric.criteria
                ],
            )
    except IntegrityError:
        # Another request stored the same sheet between our check and our insert.
        prior = existing_sheet(session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=actor.user_id)
        if prior is None:
            raise
        raise AlreadyRecorded(prior.id) from None
    audit.record(
        session,
        actor,
        "sheet.submit",
        object_type="score_sheet",
        object_id=sheet.id,
        detail={"round_id": rnd.id, "anchor_id": anchor.id, "key_version_id": key_version_id},
    )
    return sheet

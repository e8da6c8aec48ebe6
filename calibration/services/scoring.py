"""Submitting a score sheet: validated, final on submit, stored exactly once."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import (
    AnchorKeyVersion,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Membership,
    RubricVersion,
    ScoreSheet,
)
from . import audit
from .assignments import assigned_round, round_anchor
from .context import Actor
from .errors import AlreadyRecorded, InvalidInput, RoundNotOpen

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
    rubric = session.scalar(
        select(RubricVersion)
        .where(RubricVersion.id == rubric_version_id)
        .options(
            selectinload(RubricVersion.criteria).selectinload(Criterion.descriptors),
            selectinload(RubricVersion.levels),
        )
    )
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


def submit_sheet(
    session: Session,
    actor: Actor,
    *,
    round_id: int,
    anchor_id: int,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int = 5000,
    rubric: RubricVersion | None = None,
) -> ScoreSheet:
    """Store the assessor's final sheet: a level for every criterion of the round's rubric.

    Raises NotFound (out of scope), RoundNotOpen (also for a suspended assessor), InvalidInput (field errors keyed by
    ``criterion_<id>`` or ``notes``) or AlreadyRecorded (a sheet exists; nothing new stored).
    ``rubric``: the round's rubric with its levels, when the caller has already loaded it.
    """
    assert actor.user_id is not None and actor.program_id is not None
    rnd = assigned_round(session, user_id=actor.user_id, program_id=actor.program_id, round_id=round_id)
    anchor = round_anchor(session, rnd, anchor_id)

    prior = existing_sheet(session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=actor.user_id)
    if prior is not None:
        raise AlreadyRecorded(prior.id)
    if not rnd.is_open_at(utcnow()):
        raise RoundNotOpen("This round is not open for scoring now.")
    status = session.scalar(
        select(Membership.certification_status).where(
            Membership.user_id == actor.user_id, Membership.program_id == actor.program_id
        )
    )
    if status == CertificationStatus.SUSPENDED:
        raise RoundNotOpen(
            "Your assessor status is suspended, so new scores cannot be recorded. "
            "Your lead trainer will tell you what happens next."
        )

    if rubric is None or rubric.id != rnd.rubric_version_id:
        rubric = rubric_with_levels(session, rnd.rubric_version_id)
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
    if errors:
        raise InvalidInput("Some scores need attention.", errors)

    key_version = current_key_version(session, anchor.id)
    if key_version is None:
        raise InvalidInput("This anchor has no master key yet; tell your lead trainer.")

    sheet = ScoreSheet(
        round_id=rnd.id,
        anchor_id=anchor.id,
        assessor_id=actor.user_id,
        key_version_id=key_version.id,
        notes=notes,
        submitted_at=utcnow(),
        request_id=actor.request_id,
    )
    sheet.scores = [
        CriterionScore(criterion_id=c.id, level_id=level_ids[levels[c.id]], level_value=levels[c.id])
        for c in rubric.criteria
    ]
    try:
        with session.begin_nested():
            session.add(sheet)
            session.flush()
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
        detail={"round_id": rnd.id, "anchor_id": anchor.id, "key_version_id": key_version.id},
    )
    return sheet

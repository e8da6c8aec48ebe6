"""Correcting a final score: a new linked record with a reason, never a change to the score.

A lead trainer corrects one criterion-score of a final sheet (the assessor reports a slip, say,
clicking 3 for 2). The score stays as it was stored; a :class:`ScoreCorrection` is appended with
the level before and after, the reason, who and when. From then on every statistic reads the
score's effective level (:func:`calibration.models.effective_level`), the per-unit counts move by
trigger, cached reports see a new state, and the assessor's feedback shows the correction and its
reason. Verdicts already recorded from the old level (qualification results, drift flags) stay as
they were: they are decisions with their own history, and a trainer reviews them separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyVersion,
    CriterionScore,
    Membership,
    Round,
    RubricVersion,
    ScoreCorrection,
    ScoreSheet,
    User,
)
from . import audit, events
from .context import Member
from .errors import InvalidInput, NotFound
from .reports import get_round
from .scoring import has_control_characters, rubric_with_levels

REASON_MIN_CHARS = 10
REASON_MAX_CHARS = 2000


@dataclass(frozen=True)
class ScoreLine:
    """One criterion of a sheet as a trainer sees it: the stored level, its corrections, the key."""

    criterion_id: int
    criterion_title: str
    original: int
    effective: int
    key_level: int | None
    corrections: tuple[ScoreCorrection, ...]

    @property
    def corrected(self) -> bool:
        return bool(self.corrections)


@dataclass(frozen=True)
class SheetView:
    sheet: ScoreSheet
    round: Round
    anchor: Anchor
    assessor: User
    rubric: RubricVersion
    key_version: int
    lines: tuple[ScoreLine, ...]

    @property
    def level_labels(self) -> dict[int, str]:
        return {level.value: level.label for level in self.rubric.levels}

    @property
    def n_corrections(self) -> int:
        return sum(len(line.corrections) for line in self.lines)


# What a sheet view reads, loaded with the sheets (a few queries for a whole round, not per sheet).
_VIEW_LOADS = (
    selectinload(ScoreSheet.scores),
    selectinload(ScoreSheet.corrections).selectinload(ScoreCorrection.corrected_by),
    selectinload(ScoreSheet.anchor),
    selectinload(ScoreSheet.key_version).selectinload(AnchorKeyVersion.entries),
)


def _sheet_in_program(
    session: Session, program_id: int, sheet_id: int, *, for_view: bool = False
) -> tuple[ScoreSheet, Round]:
    stmt = select(ScoreSheet, Round).join(Round, Round.id == ScoreSheet.round_id)
    stmt = stmt.where(ScoreSheet.id == sheet_id, Round.program_id == program_id)
    if for_view:  # corrections added earlier in this session must show: refresh what is loaded
        stmt = stmt.options(*_VIEW_LOADS).execution_options(populate_existing=True)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("score sheet")
    return row[0], row[1]


def _view(sheet: ScoreSheet, rnd: Round, assessor: User, rubric: RubricVersion) -> SheetView:
    key = sheet.key_version
    key_level = {e.criterion_id: e.level_value for e in key.entries}
    by_score: dict[int, list[ScoreCorrection]] = {}
    for c in sheet.corrections:
        by_score.setdefault(c.criterion_score_id, []).append(c)
    score_of = {s.criterion_id: s for s in sheet.scores}
    lines = []
    for criterion in rubric.criteria:
        score = score_of[criterion.id]
        history = tuple(sorted(by_score.get(score.id, ()), key=lambda c: c.seq))
        lines.append(
            ScoreLine(
                criterion_id=criterion.id,
                criterion_title=criterion.title,
                original=score.level_value,
                effective=history[-1].level_value if history else score.level_value,
                key_level=key_level.get(criterion.id),
                corrections=history,
            )
        )
    return SheetView(sheet, rnd, sheet.anchor, assessor, rubric, key.version, tuple(lines))


def sheet_view(session: Session, *, program_id: int, sheet_id: int) -> SheetView:
    """One final sheet of the program with each score's corrections. NotFound outside the program."""
    sheet, rnd = _sheet_in_program(session, program_id, sheet_id, for_view=True)
    assessor = session.get(User, sheet.assessor_id)
    assert assessor is not None  # a foreign key guarantees it
    return _view(sheet, rnd, assessor, rubric_with_levels(session, rnd.rubric_version_id))


@dataclass(frozen=True)
class AssessorSheets:
    round: Round
    assessor: User
    sheets: list[SheetView]


def assessor_sheets(session: Session, *, program_id: int, round_id: int, user_id: int) -> AssessorSheets:
    """The assessor's final sheets in one round of the program, in the order they were submitted.

    NotFound unless the round is the program's and the person belongs to the program.
    """
    rnd = get_round(session, program_id=program_id, round_id=round_id)
    assessor = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id)
    )
    if assessor is None:
        raise NotFound("assessor")
    sheets = session.scalars(
        select(ScoreSheet)
        .where(ScoreSheet.round_id == rnd.id, ScoreSheet.assessor_id == user_id)
        .order_by(ScoreSheet.submitted_at, ScoreSheet.id)
        .options(*_VIEW_LOADS)
        .execution_options(populate_existing=True)
    ).all()
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    return AssessorSheets(rnd, assessor, [_view(sheet, rnd, assessor, rubric) for sheet in sheets])


def correct_score(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    sheet_id: int,
    criterion_id: int,
    level_value: int,
    reason: str,
) -> ScoreCorrection:
    """Append a correction of one criterion-score of a final sheet.

    Raises NotFound (the sheet is not in the program) or InvalidInput (field errors keyed by
    ``criterion``, ``level`` or ``reason``; also when another trainer corrected the same score at the
    same moment). Nothing is written unless every check passes.
    """
    sheet, rnd = _sheet_in_program(session, program_id, sheet_id)
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    titles = {c.id: c.title for c in rubric.criteria}
    level_ids = {level.value: level.id for level in rubric.levels}
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if criterion_id not in titles:
        errors["criterion"] = ["Choose one of this rubric's criteria."]
    if level_value not in level_ids:
        errors["level"] = [f"Choose one of this rubric's levels: {', '.join(map(str, level_ids))}."]
    if len(reason) < REASON_MIN_CHARS:
        errors["reason"] = [
            f"Say why the score is corrected, in at least {REASON_MIN_CHARS} characters: "
            "the assessor reads this with their feedback."
        ]
    elif len(reason) > REASON_MAX_CHARS:
        errors["reason"] = [
            f"The reason can be at most {REASON_MAX_CHARS:,} characters (it has {len(reason):,})."
        ]
    elif has_control_characters(reason):
        errors["reason"] = ["The reason contains a control character (such as NUL) that cannot be stored."]
    if errors:
        raise InvalidInput("The correction needs attention.", errors)

    # Lock the score (PostgreSQL; SQLite writers are serialised anyway) so concurrent corrections of
    # the same score queue up and each starts from the level the other left.
    score = session.scalar(
        select(CriterionScore)
        .where(CriterionScore.sheet_id == sheet.id, CriterionScore.criterion_id == criterion_id)
        .with_for_update()
    )
    assert score is not None  # every criterion of the rubric has a score on a final sheet
    last = session.scalar(
        select(ScoreCorrection)
        .where(ScoreCorrection.criterion_score_id == score.id)
        .order_by(ScoreCorrection.seq.desc())
        .limit(1)
    )
    current = last.level_value if last else score.level_value
    if level_value == current:
        raise InvalidInput(
            "The correction needs attention.",
            {
                "level": [
                    f"“{titles[criterion_id]}” already stands at {level_value}; choose a different level."
                ]
            },
        )
    correction = ScoreCorrection(
        criterion_score_id=score.id,
        seq=(last.seq if last else 0) + 1,
        sheet_id=sheet.id,
        round_id=rnd.id,
        criterion_id=criterion_id,
        previous_level_value=current,
        level_id=level_ids[level_value],
        level_value=level_value,
        reason=reason,
        corrected_by_id=actor.user_id,
        corrected_at=utcnow(),
        request_id=actor.request_id,
    )
    try:
        with session.begin_nested():
            session.add(correction)
            session.flush()
    except IntegrityError:
        raise InvalidInput(
            "Someone else corrected this score at the same moment; nothing was saved.",
            {
                "level": [
                    "Reload the sheet to see the latest level, then correct it again if it is still wrong."
                ]
            },
        ) from None
    audit.record(
        session,
        actor,
        "sheet.correct",
        object_type="score_sheet",
        object_id=sheet.id,
        program_id=program_id,
        detail={
            "criterion_id": criterion_id,
            "from": current,
            "to": level_value,
            "seq": correction.seq,
            "correction_id": correction.id,
        },
    )
    events.emit(session, events.ScoreCorrected(correction.id))
    return correction

"""The one place that decides whether an assessor may see an anchor's key.

Blindness rule: the key, its rationale and other assessors' scores are revealed to an
assessor only for an anchor on which that assessor's own sheet in that round is final. On a practice
round with more than one try (:mod:`calibration.services.practice`) the key waits until a try
matches it or the tries are used up; until then only which criteria differed is told.
Feedback compares the key with each score's effective level and shows any correction of the
assessor's own scores, with its reason.
What is revealed is built from the allow-list of fields in :class:`CriterionFeedback`.

The anchor library (:mod:`calibration.services.library`) is the one other way to a key: certified
assessors (:func:`may_open_library`) read the keys of anchors a trainer released (:func:`in_library`),
which no round serves again. An anchor still in a round that is not closed is never in the library,
whatever its release says, so no one who may still score it can read its key there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Anchor,
    AnchorKeyVersion,
    AnchorStatus,
    CertificationStatus,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
)
from .assignments import round_anchor
from .errors import NotFound
from .practice import PracticeState, practice_state
from .scoring import existing_sheet, rubric_with_levels


@dataclass(frozen=True)
class CorrectionNote:
    """A lead trainer's correction of this score, as the assessor reads it."""

    from_level: int
    from_label: str
    to_level: int
    to_label: str
    reason: str
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class CriterionFeedback:
    criterion_id: int
    criterion_title: str
    your_level: int  # the effective level: the latest correction's, else the one submitted
    your_label: str
    your_descriptor: str
    key_level: int
    key_label: str
    key_descriptor: str
    rationale: str
    difference: int  # your level index minus the key's (positive = more lenient than the key)
    corrections: tuple[CorrectionNote, ...] = ()
    n_levels: int = 0  # levels of the rubric's scale: on two levels a miss is a miss, never "adjacent"

    @property
    def submitted_level(self) -> int:
        return self.corrections[0].from_level if self.corrections else self.your_level

    @property
    def verdict(self) -> str:
        if self.difference == 0:
            return "exact"
        if abs(self.difference) == 1 and self.n_levels != 2:
            return "adjacent"
        return "off"

    @property
    def verdict_text(self) -> str:
        if self.difference == 0:
            return "Exact match with the key"
        direction = "above" if self.difference > 0 else "below"
        if self.n_levels == 2:
            return f"Does not match: the key is {self.key_label}"
        steps = abs(self.difference)
        if steps == 1:
            return f"Adjacent: one level {direction} the key"
        return f"Off by {steps} levels ({direction} the key)"


@dataclass(frozen=True)
class Feedback:
    sheet: ScoreSheet
    key_version: int
    criteria: tuple[CriterionFeedback, ...]
    n_levels: int = 0
    practice: PracticeState | None = None  # on a practice round: the tries behind this comparison

    @property
    def within_one_level_applies(self) -> bool:
        """Whether "within one level" says anything: on a two-level scale it always holds."""
        return self.n_levels != 2

    @property
    def n_exact(self) -> int:
        return sum(1 for c in self.criteria if c.difference == 0)

    @property
    def n_adjacent_or_better(self) -> int:
        return sum(1 for c in self.criteria if abs(c.difference) <= 1)


def may_reveal(session: Session, *, assessor_id: int, round_id: int, anchor_id: int) -> ScoreSheet | None:
    """The assessor's final sheet for this anchor in this round when its key may be shown, else
    None: the only reveal test."""
    sheet = existing_sheet(session, round_id=round_id, anchor_id=anchor_id, assessor_id=assessor_id)
    if sheet is None:
        return None
    rnd = session.get(Round, round_id)
    if rnd is not None and rnd.kind == RoundKind.PRACTICE:
        state = practice_state(session, rnd, assessor_id=assessor_id, anchor_id=anchor_id)
        if state is not None and not state.key_shown:
            return None
    return sheet


# Who may read the library: the certified pool (an assessor due for recalibration is still in it;
# released anchors are never served to them, so reading their keys costs no blind measurement).
LIBRARY_READERS = frozenset({CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE})


def may_open_library(status: CertificationStatus | None) -> bool:
    """Whether an assessor with this certification status may read the anchor library."""
    return status in LIBRARY_READERS


def in_library() -> ColumnElement[bool]:
    """The anchors whose key the library shows: released, not retired, and in no round that is not
    closed (draft or open)."""
    unfinished = (
        select(RoundAnchor.anchor_id)
        .join(Round, Round.id == RoundAnchor.round_id)
        .where(Round.status != RoundStatus.CLOSED)
    )
    return and_(
        Anchor.released_at.is_not(None),
        Anchor.status != AnchorStatus.RETIRED,
        Anchor.id.not_in(unfinished),
    )


def feedback(session: Session, rnd: Round, *, assessor_id: int, anchor_id: int) -> Feedback:
    """Per-criterion comparison with the key the sheet was scored against. NotFound before final."""
    anchor = round_anchor(session, rnd, anchor_id)
    sheet = may_reveal(session, assessor_id=assessor_id, round_id=rnd.id, anchor_id=anchor.id)
    if sheet is None:
        raise NotFound("feedback")
    tries = practice_state(session, rnd, assessor_id=assessor_id, anchor_id=anchor.id)
    retried = tries is not None and tries.used > 1
    key = session.scalar(
        select(AnchorKeyVersion)
        .where(
            AnchorKeyVersion.id
            == (tries.key_version_id if tries is not None and retried else sheet.key_version_id)
        )
        .options(selectinload(AnchorKeyVersion.entries))
    )
    assert key is not None
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    position = {level.value: level.position for level in rubric.levels}
    label = {level.value: level.label for level in rubric.levels}
    value_of_level = {level.id: level.value for level in rubric.levels}
    by_criterion = {e.criterion_id: e for e in key.entries}
    given = {s.criterion_id: s.level_value for s in sheet.scores}
    notes: dict[int, list[CorrectionNote]] = {}
    if tries is not None and retried:  # the latest try is compared; the sheet's corrections were for try 1
        given = dict(tries.levels)
    for c in sorted(sheet.corrections, key=lambda c: c.id) if not retried else ():
        given[c.criterion_id] = c.level_value
        notes.setdefault(c.criterion_id, []).append(
            CorrectionNote(
                from_level=c.previous_level_value,
                from_label=label[c.previous_level_value],
                to_level=c.level_value,
                to_label=label[c.level_value],
                reason=c.reason,
                by=c.corrected_by.name,
                at=c.corrected_at,
            )
        )
    items = []
    for criterion in rubric.criteria:
        entry = by_criterion[criterion.id]
        mine = given[criterion.id]
        descriptors = {value_of_level[d.level_id]: d.text for d in criterion.descriptors}
        items.append(
            CriterionFeedback(
                criterion_id=criterion.id,
                criterion_title=criterion.title,
                your_level=mine,
                your_label=label[mine],
                your_descriptor=descriptors.get(mine, ""),
                key_level=entry.level_value,
                key_label=label[entry.level_value],
                key_descriptor=descriptors.get(entry.level_value, ""),
                rationale=entry.rationale,
                difference=position[mine] - position[entry.level_value],
                corrections=tuple(notes.get(criterion.id, ())),
                n_levels=len(rubric.levels),
            )
        )
    return Feedback(
        sheet=sheet,
        key_version=key.version,
        criteria=tuple(items),
        n_levels=len(rubric.levels),
        practice=tries,
    )

"""Practice that teaches: tell which criteria differed, let the assessor try the same anchor again.

On a practice round the first try at an anchor is the assessor's score sheet, as in every round.
When it differs from the key on some criterion and the round allows more tries
(``Round.practice_tries``, default :data:`.policy.PRACTICE_TRIES` for new practice rounds), the
assessor is told *which* criteria differed, not the key's levels nor its rationale, and may try again:
each further try is a new, final :class:`~calibration.models.PracticeAttempt` with its number, never
an update. The key is shown (by :mod:`calibration.services.reveal`) once a try matches it on every
criterion or the tries are used up. Tries are read by no statistic: practice never counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyEntry,
    CertificationStatus,
    Membership,
    PracticeAttempt,
    Round,
    RoundKind,
    ScoreCorrection,
    ScoreSheet,
)
from . import audit
from .context import Member
from .errors import AlreadyRecorded, InvalidInput, NotFound, RoundNotOpen
from .rubric_cache import RubricSnapshot
from .scoring import current_key_version, existing_sheet, sheet_errors


@dataclass(frozen=True)
class PracticeState:
    """Where the assessor is with one anchor of a round, as far as the key may be shown.

    ``differed`` names the criteria (ids, in the rubric's order) on which the latest try differs
    from the key it was compared with; it never says how. ``key_shown`` is the reveal rule's answer.
    """

    sheet: ScoreSheet
    tries: int  # the round's number of tries
    used: int  # tries made: the sheet plus every later try
    levels: dict[int, int]  # the latest try's level per criterion
    key_version_id: int  # the key version the latest try was compared with
    differed: tuple[int, ...]
    submitted_at: dt.datetime  # when the latest try was stored
    notes: str  # the latest try's notes

    @property
    def matched(self) -> bool:
        return not self.differed

    @property
    def key_shown(self) -> bool:
        return self.matched or self.used >= self.tries

    @property
    def tries_left(self) -> int:
        return 0 if self.key_shown else self.tries - self.used


def _sheet_levels(session: Session, sheet: ScoreSheet) -> dict[int, int]:
    """The sheet's effective levels: each score's latest correction, else its own level."""
    levels = {s.criterion_id: s.level_value for s in sheet.scores}
    for c in session.scalars(
        select(ScoreCorrection).where(ScoreCorrection.sheet_id == sheet.id).order_by(ScoreCorrection.seq)
    ):
        levels[c.criterion_id] = c.level_value
    return levels


def _key_levels(session: Session, key_version_id: int) -> dict[int, int]:
    return dict(
        session.execute(
            select(AnchorKeyEntry.criterion_id, AnchorKeyEntry.level_value).where(
                AnchorKeyEntry.key_version_id == key_version_id
            )
        ).all()
    )


def attempts_of(
    session: Session, *, round_id: int, anchor_id: int, assessor_id: int
) -> list[PracticeAttempt]:
    """The assessor's tries after the sheet, in order."""
    return list(
        session.scalars(
            select(PracticeAttempt)
            .where(
                PracticeAttempt.round_id == round_id,
                PracticeAttempt.anchor_id == anchor_id,
                PracticeAttempt.assessor_id == assessor_id,
            )
            .order_by(PracticeAttempt.attempt)
        )
    )


def practice_state(session: Session, rnd: Round, *, assessor_id: int, anchor_id: int) -> PracticeState | None:
    """The state of the assessor's tries at an anchor of a practice round; None on any other kind of
    round (a sheet there is final and shows the key at once) and before the first try."""
    if rnd.kind != RoundKind.PRACTICE:
        return None
    sheet = existing_sheet(session, round_id=rnd.id, anchor_id=anchor_id, assessor_id=assessor_id)
    if sheet is None:
        return None
    later = attempts_of(session, round_id=rnd.id, anchor_id=anchor_id, assessor_id=assessor_id)
    latest: ScoreSheet | PracticeAttempt = later[-1] if later else sheet
    if later:
        levels = {int(cid): int(value) for cid, value in later[-1].levels.items()}
    else:
        levels = _sheet_levels(session, sheet)
    key = _key_levels(session, latest.key_version_id)
    differed = tuple(cid for cid in sorted(key) if levels.get(cid) != key[cid])
    return PracticeState(
        sheet,
        max(1, rnd.practice_tries),
        1 + len(later),
        levels,
        latest.key_version_id,
        differed,
        latest.submitted_at,
        latest.notes,
    )


def practice_states(session: Session, rnd: Round, *, assessor_id: int) -> dict[int, PracticeState]:
    """:func:`practice_state` for every anchor of a practice round the assessor has scored."""
    if rnd.kind != RoundKind.PRACTICE:
        return {}
    anchor_ids = session.scalars(
        select(ScoreSheet.anchor_id).where(
            ScoreSheet.round_id == rnd.id, ScoreSheet.assessor_id == assessor_id
        )
    ).all()
    out = {}
    for anchor_id in anchor_ids:
        state = practice_state(session, rnd, assessor_id=assessor_id, anchor_id=anchor_id)
        if state is not None:
            out[anchor_id] = state
    return out


def try_again(
    session: Session,
    actor: Member,
    *,
    rnd: Round,
    anchor: Anchor,
    rubric: RubricSnapshot,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int = 5000,
) -> PracticeAttempt:
    """Store the assessor's next try at a practice anchor, scoped by the caller (as
    :func:`.scoring.submit_scoped_sheet`): a new final row, numbered after the last.

    Raises NotFound (not a practice round, or no first try yet), RoundNotOpen (also for a suspended
    assessor), InvalidInput (field errors as a sheet's; or no try left: the key is shown) or
    AlreadyRecorded (the same try was stored by another request).
    """
    if rubric.id != rnd.rubric_version_id or anchor.program_id != rnd.program_id:
        raise ValueError("the rubric and the anchor must be the round's")
    state = practice_state(session, rnd, assessor_id=actor.user_id, anchor_id=anchor.id)
    if state is None:  # not a practice round, or no first try yet
        raise NotFound("practice")
    if state.key_shown:
        raise InvalidInput(
            "You have no tries left at this anchor: the key and its rationale are shown below. Nothing was saved."
        )
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
    errors = sheet_errors(rubric, levels, notes, notes_max_chars)
    if errors:
        raise InvalidInput("Some scores need attention.", errors)
    key = current_key_version(session, anchor.id)
    if key is None:
        raise InvalidInput("This anchor has no master key yet; tell your lead trainer.")
    row = PracticeAttempt(
        round_id=rnd.id,
        anchor_id=anchor.id,
        assessor_id=actor.user_id,
        attempt=state.used + 1,
        key_version_id=key.id,
        levels={str(c.id): int(levels[c.id]) for c in rubric.criteria},
        notes=notes,
        submitted_at=utcnow(),
        request_id=actor.request_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another request stored this try between our count and our insert.
        raise AlreadyRecorded(state.sheet.id) from None
    audit.record(
        session,
        actor,
        "practice.try",
        object_type="practice_attempt",
        object_id=row.id,
        detail={"round_id": rnd.id, "anchor_id": anchor.id, "attempt": row.attempt, "key_version_id": key.id},
    )
    return row


def withheld_sheets(session: Session, *, program_id: int, user_id: int) -> frozenset[int]:
    """Ids of the assessor's practice sheets whose key still waits for another try: figures the
    assessor reads (My progress) leave them out, since a comparison with the key would give it away."""
    rounds = session.scalars(
        select(Round)
        .join(ScoreSheet, ScoreSheet.round_id == Round.id)
        .where(
            Round.program_id == program_id,
            Round.kind == RoundKind.PRACTICE,
            Round.practice_tries > 1,
            ScoreSheet.assessor_id == user_id,
        )
        .distinct()
    ).all()
    return frozenset(
        state.sheet.id
        for rnd in rounds
        for state in practice_states(session, rnd, assessor_id=user_id).values()
        if not state.key_shown
    )

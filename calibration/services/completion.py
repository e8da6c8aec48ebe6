"""Submitting a final score sheet, and what it sets in motion, in one transaction.

One call for the view (:func:`submit_final_sheet`): the sheet itself (:mod:`.scoring`), then the
qualification verdict when it was the assessor's last sheet of a qualification round
(:mod:`.certification`), and the drift hook (:mod:`.recalibration`): a recalibration verdict, or
the drift rules when it completed a calibration round. Both are cheap unless the sheet is the
assessor's last of the round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from ..models import Anchor, QualificationResult, Round, RoundAnchor, ScoreSheet
from . import certification, drafts, recalibration, scoring
from .context import Member
from .rubric_cache import RubricSnapshot


@dataclass(frozen=True)
class Completion:
    finished_round: bool = False  # the sheet was the assessor's last one in its round
    qualification: QualificationResult | None = None  # the verdict, when it completed a qualification


_IN_ROUND = RoundAnchor.round_id == bindparam("round_id")
# (the round has anchors, one of them has no sheet of this assessor yet): built once, as every
# submit runs it.
_ROUND_PROGRESS = select(
    exists().where(_IN_ROUND),
    exists().where(
        _IN_ROUND,
        ~exists().where(
            ScoreSheet.round_id == bindparam("round_id"),
            ScoreSheet.anchor_id == RoundAnchor.anchor_id,
            ScoreSheet.assessor_id == bindparam("user_id"),
        ),
    ),
)


def submit_final_sheet(
    session: Session,
    actor: Member,
    *,
    rnd: Round,
    anchor: Anchor,
    rubric: RubricSnapshot,
    levels: Mapping[int, int],
    notes: str,
    notes_max_chars: int,
    defaults: certification.Policy,
) -> Completion:
    """Store ``actor``'s final sheet for ``anchor`` in ``rnd`` and run its follow-ups; flush, never
    commit.

    The round and the anchor are already resolved within the actor's scope, with the round's
    rubric (:func:`.scoring.submit_scoped_sheet`, whose rules and errors apply: AlreadyRecorded,
    RoundNotOpen, InvalidInput, all before anything is written). The sheet replaces the actor's
    draft of it, deleted in the same transaction. Then :func:`after_final_sheet`.
    """
    scoring.submit_scoped_sheet(
        session,
        actor,
        rnd=rnd,
        anchor=anchor,
        rubric=rubric,
        levels=levels,
        notes=notes,
        notes_max_chars=notes_max_chars,
    )
    assert actor.user_id is not None
    drafts.discard_draft(session, assessor_id=actor.user_id, round_id=rnd.id, anchor_id=anchor.id)
    return after_final_sheet(session, actor, round_id=rnd.id, defaults=defaults)


def after_final_sheet(
    session: Session, actor: Member, *, round_id: int, defaults: certification.Policy
) -> Completion:
    """Run the follow-ups of ``actor``'s new final sheet in ``round_id``; flush, never commit.

    Every follow-up acts only on the assessor's last sheet of a round, so the common case (a sheet
    mid-round) costs one statement and nothing else. That statement stops at the first anchor of
    the round the assessor has no sheet for (a look-up in the sheets' unique index per anchor),
    rather than counting the sheets of the round.
    """
    has_anchors, has_unscored = session.execute(
        _ROUND_PROGRESS, {"round_id": round_id, "user_id": actor.user_id}
    ).one()
    if not has_anchors or has_unscored:
        return Completion()
    policy = certification.program_policy(session, actor.program_id, defaults)
    program_id, user_id, request_id = actor.program_id, actor.user_id, actor.request_id
    result = certification.after_sheet(
        session,
        program_id=program_id,
        user_id=user_id,
        round_id=round_id,
        policy=policy,
        request_id=request_id,
    )
    recalibration.after_final_sheet(
        session,
        program_id=program_id,
        user_id=user_id,
        round_id=round_id,
        policy=policy,
        request_id=request_id,
    )
    return Completion(finished_round=True, qualification=result)

"""Key exposure: which assessors have read which anchors' keys (DESIGN §6).

An assessor has *seen an anchor's key* when the reveal rule (:func:`calibration.services.reveal.may_reveal`)
lets them read it: they have a final score sheet on that anchor in some round of the program, of any
kind, practice included (a practice anchor whose key still waits for another try counts too: erring
toward fresh anchors). :func:`seen_keys` is the one definition; round selection and checks, and the
exposure counts on the anchor list, all read it.

A score on an anchor whose key and rationale the assessor has read measures memory, not judgement, so
no counted round (:data:`COUNTED_KINDS`) may serve it to them again (:func:`not_fresh`). Qualification
and recalibration rounds, the gates, also avoid an anchor the assessor meets in another open or closed
round (:func:`seen_anchors`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from ..models import (
    Assignment,
    CertificationStatus,
    Membership,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    ValidityAssignment,
)

# Rounds whose scores count: none of them may serve an anchor whose key an assigned assessor has read.
COUNTED_KINDS = frozenset({RoundKind.CALIBRATION, RoundKind.QUALIFICATION, RoundKind.RECALIBRATION})
# Gate kinds that also avoid an anchor the assessor meets in another open or closed round: they would
# read its key there, before or after this round.
NOT_TWICE_KINDS = frozenset({RoundKind.QUALIFICATION, RoundKind.RECALIBRATION})
# The certified pool the exposure is counted against (an assessor due for recalibration is still in it).
CERTIFIED_POOL = (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)


def _key_readers(program_id: int | None) -> Subquery:
    """(assessor_id, anchor_id) for every key the reveal rule lets an assessor read: a final sheet on
    the anchor in any round of the program (every program when ``program_id`` is None)."""
    stmt = select(ScoreSheet.assessor_id, ScoreSheet.anchor_id)
    if program_id is not None:
        stmt = stmt.join(Round, Round.id == ScoreSheet.round_id).where(Round.program_id == program_id)
    return stmt.subquery("key_readers")


def seen_keys(session: Session, program_id: int | None, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """user id -> ids of the anchors whose key that user has seen (every given user is a key)."""
    ids = list(dict.fromkeys(user_ids))
    seen: dict[int, set[int]] = {uid: set() for uid in ids}
    if not ids:
        return seen
    readers = _key_readers(program_id)
    rows = session.execute(
        select(readers.c.assessor_id, readers.c.anchor_id).where(readers.c.assessor_id.in_(ids)).distinct()
    )
    for user_id, anchor_id in rows:
        seen[user_id].add(anchor_id)
    return seen


def seen_anchors(
    session: Session,
    user_ids: Iterable[int],
    *,
    exclude_round_id: int | None = None,
    program_id: int | None = None,
) -> dict[int, set[int]]:
    """user id -> anchors they have seen: the key (:func:`seen_keys`), the anchor in another
    non-draft round assigned to them (``exclude_round_id`` is the round being prepared), or the
    anchor served to them as a validity item in live work."""
    ids = list(user_ids)
    seen = seen_keys(session, program_id, ids)
    earlier = (
        select(Assignment.user_id, RoundAnchor.anchor_id)
        .join(Round, Round.id == Assignment.round_id)
        .join(RoundAnchor, RoundAnchor.round_id == Round.id)
        .where(Assignment.user_id.in_(ids), Round.status != RoundStatus.DRAFT)
    )
    if program_id is not None:
        earlier = earlier.where(Round.program_id == program_id)
    if exclude_round_id is not None:
        earlier = earlier.where(Round.id != exclude_round_id)
    for user_id, anchor_id in session.execute(earlier).all():
        seen[user_id].add(anchor_id)
    served = select(ValidityAssignment.assessor_id, ValidityAssignment.anchor_id).where(
        ValidityAssignment.assessor_id.in_(ids)
    )
    if program_id is not None:
        served = served.where(ValidityAssignment.program_id == program_id)
    for user_id, anchor_id in session.execute(served).all():
        seen[user_id].add(anchor_id)
    return seen


def not_fresh(session: Session, rnd: Round, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """user id -> anchors this round may not serve them: for counted kinds the keys they have read
    (plus, for qualification and recalibration, anchors they meet in another non-draft round);
    nothing for practice rounds."""
    ids = list(user_ids)
    if rnd.kind not in COUNTED_KINDS:
        return {uid: set() for uid in ids}
    if rnd.kind in NOT_TWICE_KINDS:
        return seen_anchors(session, ids, exclude_round_id=rnd.id, program_id=rnd.program_id)
    return seen_keys(session, rnd.program_id, ids)


def fresh_counts(
    keys: Iterable[Mapping[int, int]], criteria: Sequence[int], levels: Sequence[int]
) -> dict[tuple[int, int], int]:
    """(criterion, level) -> how many of the given keys (the fresh anchors') have that level there;
    every pair of the rubric is present, 0 where nothing is left."""
    counts = Counter(pair for key in keys for pair in key.items())
    return {(c, lv): counts[(c, lv)] for c in criteria for lv in levels}


@dataclass(frozen=True)
class Exposure:
    """How many of the program's certified assessors have seen each anchor's key."""

    pool: int  # certified assessors in the program (including those due for recalibration)
    counts: dict[int, int]  # anchor id -> how many of them have seen its key (absent: none)

    def seen_by(self, anchor_id: int) -> int:
        return self.counts.get(anchor_id, 0)


def anchor_exposure(session: Session, program_id: int, anchor_ids: Iterable[int] | None = None) -> Exposure:
    """Each anchor's exposure in the certified pool (of ``anchor_ids`` only, when given: a page of
    the anchor list reads its own anchors' sheets, not the program's), in two queries."""
    pool = select(Membership.user_id).where(
        Membership.program_id == program_id,
        Membership.role == Role.ASSESSOR,
        Membership.certification_status.in_(CERTIFIED_POOL),
    )
    key_readers = _key_readers(program_id)
    stmt = select(key_readers.c.assessor_id, key_readers.c.anchor_id).where(
        key_readers.c.assessor_id.in_(pool)
    )
    if anchor_ids is not None:
        stmt = stmt.where(key_readers.c.anchor_id.in_(list(anchor_ids)))
    readers = stmt.distinct().subquery()
    counts = session.execute(select(readers.c.anchor_id, func.count()).group_by(readers.c.anchor_id)).all()
    n_pool = session.scalar(select(func.count()).select_from(pool.subquery())) or 0
    return Exposure(pool=int(n_pool), counts={anchor_id: int(n) for anchor_id, n in counts})

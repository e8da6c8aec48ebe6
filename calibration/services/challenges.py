"""Key challenges: an assessor who disagrees with the master key on a criterion says why, from their
feedback; the lead trainer answers. Either the key stands (the answer says why) or the trainer makes
a new key version (with its own reason, as every key change) and the challenge links to it, so
results can be recomputed under the current key (``?key=current`` on the round report).

Blindness holds: a challenge can only be raised about a sheet that is final (the key is already
revealed to its author), and only its author sees it and its answer. Both writes are audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..db import utcnow
from ..models import (
    AnchorKeyEntry,
    AnchorKeyVersion,
    ChallengeStatus,
    CriterionScore,
    KeyChallenge,
    Round,
    ScoreSheet,
    effective_level,
)
from . import audit, events
from .assignments import assigned_round, round_anchor
from .context import Actor, Member
from .errors import InvalidInput, NotFound
from .reveal import may_reveal
from .scoring import current_key_version, has_control_characters, rubric_with_levels

TEXT_MIN_CHARS = 20
TEXT_MAX_CHARS = 2000


def _text(errors: dict[str, list[str]], name: str, value: str, what: str) -> str:
    value = value.strip()
    if len(value) < TEXT_MIN_CHARS:
        errors[name] = [f"Say {what} in at least {TEXT_MIN_CHARS} characters."]
    elif len(value) > TEXT_MAX_CHARS:
        errors[name] = [f"At most {TEXT_MAX_CHARS:,} characters (you have {len(value):,})."]
    elif has_control_characters(value):
        errors[name] = ["The text contains a control character (such as NUL) that cannot be stored."]
    return value


def raise_challenge(
    session: Session, actor: Member, *, round_id: int, anchor_id: int, criterion_id: int, argument: str
) -> KeyChallenge:
    """The assessor questions the key on one criterion of an anchor they have finalised.

    NotFound unless the round is assigned to them and their sheet on the anchor is final (blindness);
    InvalidInput (field errors ``criterion``, ``argument``) otherwise, nothing written. Records
    :class:`.events.ChallengeRaised`: the program's lead trainers are mailed once it is committed.
    """
    rnd = assigned_round(session, user_id=actor.user_id, program_id=actor.program_id, round_id=round_id)
    anchor = round_anchor(session, rnd, anchor_id)
    sheet = may_reveal(session, assessor_id=actor.user_id, round_id=rnd.id, anchor_id=anchor.id)
    if sheet is None:
        raise NotFound("feedback")
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    errors: dict[str, list[str]] = {}
    if criterion_id not in {c.id for c in rubric.criteria}:
        errors["criterion"] = ["Choose the criterion whose key you question."]
    argument = _text(errors, "argument", argument, "why you think the key is wrong, citing the evidence,")
    if not errors and session.scalar(
        select(KeyChallenge.id).where(
            KeyChallenge.sheet_id == sheet.id, KeyChallenge.criterion_id == criterion_id
        )
    ):
        errors["criterion"] = ["You have already questioned the key on this criterion for this anchor."]
    if errors:
        raise InvalidInput("Your question needs attention; nothing was sent.", errors)
    challenge = KeyChallenge(
        program_id=rnd.program_id,
        anchor_id=anchor.id,
        key_version_id=sheet.key_version_id,
        criterion_id=criterion_id,
        sheet_id=sheet.id,
        assessor_id=actor.user_id,
        argument=argument,
        created_at=utcnow(),
        request_id=actor.request_id,
        status=ChallengeStatus.OPEN,
    )
    try:
        with session.begin_nested():
            session.add(challenge)
            session.flush()
    except IntegrityError:  # the same question sent twice at once: the first is kept
        raise InvalidInput(
            "Your question needs attention; nothing was sent.",
            {"criterion": ["You have already questioned the key on this criterion for this anchor."]},
        ) from None
    audit.record(
        session,
        actor,
        "key.challenge",
        object_type="key_challenge",
        object_id=challenge.id,
        detail={"anchor_id": anchor.id, "criterion_id": criterion_id, "key_version_id": sheet.key_version_id},
    )
    events.emit(session, events.ChallengeRaised(challenge.id))  # the lead trainers hear of it
    return challenge


def challenges_of_sheet(session: Session, sheet_id: int) -> dict[int, KeyChallenge]:
    """The author's own challenges on one sheet, by criterion (for their feedback page)."""
    rows = session.scalars(
        select(KeyChallenge)
        .where(KeyChallenge.sheet_id == sheet_id)
        .options(selectinload(KeyChallenge.new_key_version))
    )
    return {c.criterion_id: c for c in rows}


# ------------------------------------------------------------------------------ lead trainer
@dataclass(frozen=True)
class ChallengeView:
    challenge: KeyChallenge
    round: Round
    key_level: int
    key_rationale: str
    your_level: int | None  # the assessor's effective level on that criterion
    latest_version: AnchorKeyVersion
    level_labels: dict[int, str]

    @property
    def key_changed_since(self) -> bool:
        return self.latest_version.id != self.challenge.key_version_id


def open_count(session: Session, program_id: int, anchor_id: int | None = None) -> int:
    stmt = select(func.count(KeyChallenge.id)).where(
        KeyChallenge.program_id == program_id, KeyChallenge.status == ChallengeStatus.OPEN
    )
    if anchor_id is not None:
        stmt = stmt.where(KeyChallenge.anchor_id == anchor_id)
    return session.scalar(stmt) or 0


def challenge_view(session: Session, *, program_id: int, challenge_id: int) -> ChallengeView:
    """One challenge of the program with the key it questions. NotFound outside the program."""
    challenge = session.scalar(
        select(KeyChallenge).where(KeyChallenge.id == challenge_id, KeyChallenge.program_id == program_id)
    )
    if challenge is None:
        raise NotFound("challenge")
    sheet = session.get(ScoreSheet, challenge.sheet_id)
    assert sheet is not None
    rnd = session.get(Round, sheet.round_id)
    assert rnd is not None
    entry = session.scalar(
        select(AnchorKeyEntry).where(
            AnchorKeyEntry.key_version_id == challenge.key_version_id,
            AnchorKeyEntry.criterion_id == challenge.criterion_id,
        )
    )
    assert entry is not None  # every key version has an entry per criterion
    your_level = session.scalar(
        select(effective_level()).where(
            CriterionScore.sheet_id == sheet.id, CriterionScore.criterion_id == challenge.criterion_id
        )
    )
    latest = current_key_version(session, challenge.anchor_id)
    assert latest is not None
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    labels = {level.value: level.label for level in rubric.levels}
    return ChallengeView(challenge, rnd, entry.level_value, entry.rationale, your_level, latest, labels)


def answer(
    session: Session, actor: Actor, *, program_id: int, challenge_id: int, outcome: str, response: str
) -> KeyChallenge:
    """Answer an open challenge: ``key_stands`` or ``key_changed`` (needs a key version newer than
    the one questioned: make it first on the anchor's key page, with its reason)."""
    view = challenge_view(session, program_id=program_id, challenge_id=challenge_id)
    challenge = view.challenge
    errors: dict[str, list[str]] = {}
    if challenge.status != ChallengeStatus.OPEN:
        raise InvalidInput("This challenge has already been answered; nothing was changed.")
    if outcome not in (ChallengeStatus.KEY_STANDS, ChallengeStatus.KEY_CHANGED):
        errors["outcome"] = ["Choose whether the key stands or was changed."]
    elif outcome == ChallengeStatus.KEY_CHANGED and not view.key_changed_since:
        errors["outcome"] = [
            "The key has not changed since it was questioned: change it first on the anchor's key page "
            "(a new version with your reason), then record the answer."
        ]
    response = _text(errors, "response", response, "your answer for the assessor")
    if errors:
        raise InvalidInput("The answer needs attention; nothing was saved.", errors)
    challenge.status = ChallengeStatus(outcome)
    challenge.response = response
    challenge.resolved_by_id = actor.user_id
    challenge.resolved_at = utcnow()
    if challenge.status == ChallengeStatus.KEY_CHANGED:
        challenge.new_key_version_id = view.latest_version.id
    session.flush()
    audit.record(
        session,
        actor,
        "key.challenge_answer",
        object_type="key_challenge",
        object_id=challenge.id,
        program_id=program_id,
        detail={"outcome": challenge.status.value, "new_key_version_id": challenge.new_key_version_id},
    )
    events.emit(session, events.ChallengeAnswered(challenge.id))
    return challenge

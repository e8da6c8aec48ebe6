"""Reading rounds: look-ups, the anchors a draft can choose from, what stops a draft from
opening, and everything the round management page shows.

The use cases that change a round (create, choose anchors and assessors, open, extend, close) live
in :mod:`calibration.services.rounds`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    Assignment,
    Level,
    Membership,
    Program,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    User,
)
from ..stats.passrule import PassRule
from .errors import NotFound
from .exposure import COUNTED_KINDS, fresh_counts, not_fresh
from .policy import ProgramSettings
from .rules import pass_rule_from_json
from .scoring import rubric_with_levels
from .timezones import DEFAULT_ZONE, format_when

# The anchors an automatic selection draws from, per kind of round.
KIND_PURPOSE: dict[RoundKind, AnchorPurpose] = {
    RoundKind.QUALIFICATION: AnchorPurpose.QUALIFICATION,
    RoundKind.CALIBRATION: AnchorPurpose.CALIBRATION,
    RoundKind.RECALIBRATION: AnchorPurpose.CALIBRATION,
    RoundKind.PRACTICE: AnchorPurpose.PRACTICE,
}
# Kinds whose assessors must never meet an anchor whose key they have read (the counted kinds).
UNSEEN_KINDS = COUNTED_KINDS


def when(value: dt.datetime, zone_name: str = DEFAULT_ZONE) -> str:
    """A time as shown in messages: in the program's zone (UTC by default), to the minute, the zone
    named ("2026-07-01 14:00 BST")."""
    return format_when(value, zone_name, "%Y-%m-%d")


def program_zone(session: Session, program_id: int) -> str:
    """The program's time zone (IANA name): its round windows are entered and shown in it."""
    return session.scalar(select(Program.timezone).where(Program.id == program_id)) or DEFAULT_ZONE


# ------------------------------------------------------------------------------------------ look-ups
def get_round(session: Session, *, program_id: int, round_id: int, for_update: bool = False) -> Round:
    """The round if it belongs to the program, else NotFound. ``for_update`` locks its row on
    PostgreSQL, so two trainers changing one round at once take turns (SQLite's write
    transactions already do)."""
    stmt = select(Round).where(Round.id == round_id, Round.program_id == program_id)
    if for_update:
        # Re-read under the lock even if the session already holds the round.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    rnd = session.scalar(stmt)
    if rnd is None:
        raise NotFound("round")
    return rnd


def default_pass_rule(
    session: Session, program_id: int, rubric_version_id: int | None = None
) -> dict[str, float | int]:
    """The program's pass rule in force (its settings over the defaults), for the scale of the
    rubric version when one is given (DESIGN §6: exact agreement follows the number of levels)."""
    n_levels = None
    if rubric_version_id is not None:
        n_levels = session.scalar(
            select(func.count()).select_from(Level).where(Level.rubric_version_id == rubric_version_id)
        )
    return asdict(ProgramSettings.of_program(session, program_id).pass_rule_for(n_levels or None))


def exact_minimums_by_scale(session: Session, program_id: int) -> dict[int, float]:
    """The program's exact-agreement minimum for rubrics of 2 levels, 3 levels and 4 or more (key 4)."""
    settings = ProgramSettings.of_program(session, program_id)
    return {n: settings.pass_rule_for(n).min_exact for n in (2, 3, 4)}


@dataclass(frozen=True)
class RubricChoice:
    rubric: RubricVersion
    latest: bool


def rubric_choices(session: Session, program_id: int) -> list[RubricChoice]:
    """The program's rubric versions: the latest of each slug first, older versions after."""
    versions = list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.title, RubricVersion.slug, RubricVersion.version.desc())
        )
    )
    seen: set[str] = set()
    latest: list[RubricChoice] = []
    older: list[RubricChoice] = []
    for v in versions:
        (older if v.slug in seen else latest).append(RubricChoice(v, v.slug not in seen))
        seen.add(v.slug)
    return latest + older


def assessor_choices(session: Session, program_id: int) -> list[tuple[User, Membership]]:
    """The program's assessors, by name, with their certification status."""
    return [
        (user, membership)
        for user, membership in session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
            .order_by(User.name, User.id)
        ).all()
    ]


def current_keys(session: Session, anchor_ids: Iterable[int]) -> dict[int, tuple[int, dict[int, int]]]:
    """anchor id -> (current key version, {criterion id: key level}) for anchors that have a key."""
    ids = list(anchor_ids)
    latest = (
        select(AnchorKeyVersion.anchor_id, func.max(AnchorKeyVersion.version).label("version"))
        .where(AnchorKeyVersion.anchor_id.in_(ids))
        .group_by(AnchorKeyVersion.anchor_id)
        .subquery()
    )
    rows = session.execute(
        select(
            AnchorKeyVersion.anchor_id,
            AnchorKeyVersion.version,
            AnchorKeyEntry.criterion_id,
            AnchorKeyEntry.level_value,
        )
        .join(
            latest,
            (latest.c.anchor_id == AnchorKeyVersion.anchor_id)
            & (latest.c.version == AnchorKeyVersion.version),
        )
        .join(AnchorKeyEntry, AnchorKeyEntry.key_version_id == AnchorKeyVersion.id)
    ).all()
    keys: dict[int, tuple[int, dict[int, int]]] = {}
    for anchor_id, version, criterion_id, level in rows:
        keys.setdefault(anchor_id, (version, {}))[1][criterion_id] = level
    return keys


def _assigned(session: Session, round_id: int) -> list[tuple[int, str]]:
    return [
        (uid, name)
        for uid, name in session.execute(
            select(User.id, User.name)
            .join(Assignment, Assignment.user_id == User.id)
            .where(Assignment.round_id == round_id)
            .order_by(User.name, User.id)
        ).all()
    ]


def _round_anchor_ids(session: Session, round_id: int) -> list[int]:
    return list(
        session.scalars(
            select(RoundAnchor.anchor_id)
            .where(RoundAnchor.round_id == round_id)
            .order_by(RoundAnchor.position)
        )
    )


def _conflicts(
    session: Session, rnd: Round, anchor_ids: Sequence[int], people: Sequence[tuple[int, str]]
) -> list[str]:
    """Messages naming, per anchor, the assigned assessors it may not be served to (counted kinds)."""
    if rnd.kind not in UNSEEN_KINDS or not anchor_ids or not people:
        return []
    seen = not_fresh(session, rnd, [uid for uid, _ in people])
    titles = dict(session.execute(select(Anchor.id, Anchor.title).where(Anchor.id.in_(anchor_ids))).all())
    messages = []
    for anchor_id in anchor_ids:
        names = [name for uid, name in people if anchor_id in seen[uid]]
        if names:
            messages.append(
                f"“{titles.get(anchor_id, anchor_id)}” has already been seen by {_join(names)}: "
                f"a {rnd.kind.value} round must use anchors its assessors have not seen."
            )
    return messages


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class CandidateAnchor:
    """An active anchor of the round's rubric version, as the trainer chooses from it."""

    anchor: Anchor
    key_version: int | None
    key: dict[int, int]  # criterion id -> current key level
    purpose_match: bool  # its purpose is the one this kind of round draws from
    seen_by: tuple[str, ...]  # assigned assessors it may not be served to (counted kinds)


def candidate_anchors(session: Session, rnd: Round) -> list[CandidateAnchor]:
    """Active anchors of the round's program and rubric version, never those released to the library
    (:meth:`Anchor.in_pool`): the matching purpose first."""
    anchors = list(
        session.scalars(
            select(Anchor).where(
                Anchor.program_id == rnd.program_id,
                Anchor.rubric_version_id == rnd.rubric_version_id,
                Anchor.in_pool(),
            )
        )
    )
    keys = current_keys(session, [a.id for a in anchors])
    people = _assigned(session, rnd.id)
    seen = not_fresh(session, rnd, [uid for uid, _ in people])
    purpose = KIND_PURPOSE[rnd.kind]
    items = [
        CandidateAnchor(
            a,
            keys[a.id][0] if a.id in keys else None,
            keys[a.id][1] if a.id in keys else {},
            a.purpose == purpose,
            tuple(name for uid, name in people if a.id in seen.get(uid, ())),
        )
        for a in anchors
    ]
    items.sort(key=lambda c: (not c.purpose_match, c.anchor.title, c.anchor.id))
    return items


def open_problems(session: Session, rnd: Round, *, now: dt.datetime | None = None) -> list[str]:
    """What stops a draft round from opening (empty when it can open)."""
    now = now or utcnow()
    problems = []
    anchor_ids = _round_anchor_ids(session, rnd.id)
    people = _assigned(session, rnd.id)
    if not anchor_ids:
        problems.append("Choose at least one anchor.")
    if not people:
        problems.append("Assign at least one assessor.")
    if anchor_ids:
        keys = current_keys(session, anchor_ids)
        anchors = {a.id: a for a in session.scalars(select(Anchor).where(Anchor.id.in_(anchor_ids)))}
        for anchor_id in anchor_ids:
            anchor = anchors[anchor_id]
            if anchor_id not in keys:
                problems.append(
                    f"“{anchor.title}” has no master key: set its key or remove it from the round."
                )
            elif anchor.released_at is not None:
                problems.append(
                    f"“{anchor.title}” is released to the anchor library (its key is open to every "
                    "certified assessor): remove it from the round."
                )
            elif anchor.status != AnchorStatus.ACTIVE:
                problems.append(
                    f"“{anchor.title}” is {anchor.status.value}, not active: remove it from the round."
                )
    problems += _conflicts(session, rnd, anchor_ids, people)
    if rnd.closes_at <= now:
        problems.append(
            f"The window ended {when(rnd.closes_at, program_zone(session, rnd.program_id))}: change the window first."
        )
    return problems


# ----------------------------------------------------------------------------- management page
@dataclass(frozen=True)
class RoundManagement:
    """Everything the round's management page shows."""

    round: Round
    rubric: RubricVersion
    pass_rule: PassRule
    anchors: list[CandidateAnchor]  # in the round, in position order
    candidates: list[CandidateAnchor]  # what a draft can choose from (empty once not a draft)
    assessors: list[tuple[User, Membership]]  # assigned
    assessor_choices: list[tuple[User, Membership]]
    n_sheets: int
    problems: list[str] = field(default_factory=list)  # what stops a draft from opening
    uncovered: list[tuple[str, int]] = field(default_factory=list)  # (criterion title, level)
    # (criterion id, level) -> fresh anchors left: of the round's purpose, active, keyed, and
    # servable to every assigned assessor (drafts of counted rounds only; empty otherwise)
    fresh: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def is_draft(self) -> bool:
        return self.round.status == RoundStatus.DRAFT

    @property
    def is_open(self) -> bool:
        return self.round.status == RoundStatus.OPEN

    @property
    def selected_ids(self) -> list[int]:
        return [c.anchor.id for c in self.anchors]

    @property
    def assigned_ids(self) -> list[int]:
        return [u.id for u, _ in self.assessors]

    @property
    def purpose(self) -> str:
        return KIND_PURPOSE[self.round.kind].value

    @property
    def checks_unseen(self) -> bool:
        return self.round.kind in UNSEEN_KINDS


def round_management(
    session: Session, *, program_id: int, round_id: int, now: dt.datetime | None = None
) -> RoundManagement:
    """The round with its anchors (and what a draft could choose), assessors and readiness."""
    rnd = get_round(session, program_id=program_id, round_id=round_id)
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    candidates = candidate_anchors(session, rnd) if rnd.status == RoundStatus.DRAFT else []
    by_id = {c.anchor.id: c for c in candidates}
    chosen_ids = _round_anchor_ids(session, rnd.id)
    missing = [a for a in chosen_ids if a not in by_id]
    if missing:
        # Anchors in the round that are not candidates (not a draft any more, or no longer active).
        keys = current_keys(session, missing)
        for anchor in session.scalars(select(Anchor).where(Anchor.id.in_(missing))):
            key = keys.get(anchor.id)
            by_id[anchor.id] = CandidateAnchor(
                anchor,
                key[0] if key else None,
                key[1] if key else {},
                anchor.purpose == KIND_PURPOSE[rnd.kind],
                (),
            )
    chosen = [by_id[a] for a in chosen_ids]
    assigned = set(session.scalars(select(Assignment.user_id).where(Assignment.round_id == rnd.id)))
    choices = assessor_choices(session, program_id)
    covered = {pair for c in chosen for pair in c.key.items()}
    uncovered = [
        (criterion.title, level)
        for criterion in rubric.criteria
        for level in rubric.level_values
        if (criterion.id, level) not in covered
    ]
    n_sheets = session.scalar(
        select(func.count()).select_from(ScoreSheet).where(ScoreSheet.round_id == rnd.id)
    )
    fresh: dict[tuple[int, int], int] = {}
    if candidates and rnd.kind in UNSEEN_KINDS:
        usable = [
            c.key for c in candidates if c.purpose_match and c.key_version is not None and not c.seen_by
        ]
        fresh = fresh_counts(usable, [c.id for c in rubric.criteria], rubric.level_values)
    return RoundManagement(
        round=rnd,
        rubric=rubric,
        pass_rule=pass_rule_from_json(rnd.pass_rule_json),
        anchors=chosen,
        candidates=candidates,
        assessors=[(u, m) for u, m in choices if u.id in assigned],
        assessor_choices=choices,
        n_sheets=n_sheets or 0,
        problems=open_problems(session, rnd, now=now) if rnd.status == RoundStatus.DRAFT else [],
        uncovered=uncovered,
        fresh=fresh,
    )

"""Validity anchors seeded into live work (issue 18, item 6): the scoring platform asks for an anchor
to slip into an assessor's live queue, posts the assessor's levels back, and the service scores them
against the key. The assessor is never told which items were validity items.

* :func:`assign` picks an anchor under the program's :class:`~.policy.ValidityPolicy`: an active
  calibration anchor with a key, never released to the library, that the assessor has never met (no
  sheet on it, not in any round of theirs, practice included, and never served to them before), and
  that has been served to fewer than ``max_assessors_per_anchor`` assessors; at most
  ``max_per_week`` items per assessor in any 7 days, and, when the platform says how many live items
  the assessor has had since their last validity item, at least ``live_items_between`` of them.
  Refusals are :class:`~.errors.Conflict` with a machine ``code``.
* :func:`record_scores` scores the levels against the key version in force at assignment and stores
  them (final: an answered row never changes). The same levels posted again return the stored result;
  different levels are a conflict.
* :func:`expire_due` marks unanswered items past their expiry ``expired``: they stay listed and
  counted, never dropped.

Calibration anchors serve as validity items (no separate purpose): they are keyed by the same
trainers to the same standard, and exposure keeps each assessor's rounds fresh (an anchor served
to an assessor here counts as met, :func:`.exposure.seen_anchors`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import (
    Anchor,
    AnchorAttachment,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    Membership,
    Role,
    RubricVersion,
    User,
    ValidityAssignment,
    ValidityStatus,
)
from . import audit, jobs, webhooks
from .context import SystemActor
from .errors import Conflict, InvalidInput, NotFound
from .exposure import CERTIFIED_POOL, seen_anchors
from .policy import ProgramSettings, ValidityPolicy

#: A scored_at this far in the future is refused (clocks differ a little).
CLOCK_SKEW = dt.timedelta(minutes=5)
WEEK = dt.timedelta(days=7)
MAX_REF = 200


# --------------------------------------------------------------------------------------- assign
@dataclass(frozen=True)
class Served:
    """An assignment with what the platform shows the assessor (no key, no rationale, no title)."""

    assignment: ValidityAssignment
    evidence_md: str
    attachments: list[AnchorAttachment]
    rubric: RubricVersion
    created: bool  # False: the platform asked again for the same queue item


def _assessor(session: Session, program_id: int, who: str) -> tuple[int, Any]:
    """(user id, certification status) of the program's assessor named by email or id."""
    who = who.strip()
    stmt = (
        select(User.id, Membership.certification_status)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.program_id == program_id, Membership.role == Role.ASSESSOR, User.is_active)
    )
    if who.isdigit() and len(who) < 10:
        stmt = stmt.where(User.id == int(who))
    else:
        stmt = stmt.where(func.lower(User.email) == who.lower())
    row = session.execute(stmt).first()
    if row is None:  # like any id outside the caller's program: not found
        raise NotFound("No assessor of this program has that email address or id.")
    return int(row[0]), row[1]


def _check_rate(
    session: Session, rules: ValidityPolicy, user_id: int, live_items: int | None, now: dt.datetime
) -> None:
    if rules.max_per_week <= 0:
        raise Conflict("seeding_off", "The program does not seed anchors into live work at present.")
    recent = session.scalar(
        select(func.count())
        .select_from(ValidityAssignment)
        .where(ValidityAssignment.assessor_id == user_id, ValidityAssignment.assigned_at > now - WEEK)
    )
    if (recent or 0) >= rules.max_per_week:
        raise Conflict(
            "rate_weekly",
            f"This assessor has had {recent} validity items in the last 7 days, the most the program "
            "allows; ask again later.",
        )
    if live_items is not None and live_items < rules.live_items_between:
        raise Conflict(
            "rate_live_items",
            f"At least {rules.live_items_between} live items must pass between two validity items "
            f"for one assessor; {live_items} have.",
        )


def eligible_anchors(
    session: Session,
    program_id: int,
    user_id: int,
    rules: ValidityPolicy,
    *,
    rubric_version_id: int | None = None,
) -> list[tuple[int, int]]:
    """(anchor id, how many assessors it was served to) of the anchors this assessor may be served
    (only those scored on ``rubric_version_id`` when given)."""
    keyed = select(AnchorKeyVersion.anchor_id).distinct()
    served = (
        select(ValidityAssignment.anchor_id, func.count().label("n"))
        .group_by(ValidityAssignment.anchor_id)
        .subquery()
    )
    stmt = (
        select(Anchor.id, func.coalesce(served.c.n, 0))
        .outerjoin(served, served.c.anchor_id == Anchor.id)
        .where(
            Anchor.program_id == program_id,
            Anchor.purpose == AnchorPurpose.CALIBRATION,
            Anchor.in_pool(),
            Anchor.id.in_(keyed),
            func.coalesce(served.c.n, 0) < rules.max_assessors_per_anchor,
        )
        .order_by(Anchor.id)
    )
    if rubric_version_id is not None:
        stmt = stmt.where(Anchor.rubric_version_id == rubric_version_id)
    rows = session.execute(stmt).all()
    seen = seen_anchors(session, [user_id], program_id=program_id)[user_id]
    return [(int(a), int(n)) for a, n in rows if a not in seen]


def _check_rubric_version(session: Session, program_id: int, rubric_version_id: int) -> None:
    """InvalidInput unless the program has this rubric version (another program's is unknown too)."""
    found = session.scalar(
        select(RubricVersion.id).where(
            RubricVersion.id == rubric_version_id, RubricVersion.program_id == program_id
        )
    )
    if found is None:
        message = "The program has no rubric version with this id."
        raise InvalidInput(message, {"rubric_version_id": [message]})


def _existing(session: Session, program_id: int, external_ref: str) -> ValidityAssignment | None:
    return session.scalar(
        select(ValidityAssignment).where(
            ValidityAssignment.program_id == program_id, ValidityAssignment.external_ref == external_ref
        )
    )


def _served(session: Session, row: ValidityAssignment, created: bool) -> Served:
    anchor = session.get(Anchor, row.anchor_id)
    rubric = session.get(RubricVersion, row.rubric_version_id)
    assert anchor is not None and rubric is not None  # foreign keys
    attachments = list(
        session.scalars(
            select(AnchorAttachment)
            .where(AnchorAttachment.anchor_id == anchor.id)
            .order_by(AnchorAttachment.id)
        )
    )
    return Served(row, anchor.evidence_md, attachments, rubric, created)


_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def evidence_name(n: int, content_type: str) -> str:
    """The neutral file name the platform gets for the item's ``n``-th attachment (the stored name
    could say what the anchor is)."""
    return f"evidence-{n}{_EXTENSIONS.get(content_type, '')}"


def attachment_names(session: Session, anchor_id: int) -> dict[int, str]:
    """attachment id -> :func:`evidence_name`, in the order the item lists them."""
    rows = session.execute(
        select(AnchorAttachment.id, AnchorAttachment.content_type)
        .where(AnchorAttachment.anchor_id == anchor_id)
        .order_by(AnchorAttachment.id)
    ).all()
    return {int(i): evidence_name(n, t) for n, (i, t) in enumerate(rows, start=1)}


def assign(
    session: Session,
    program_id: int,
    *,
    assessor: str,
    external_ref: str,
    live_items: int | None = None,
    rubric_version_id: int | None = None,
    token_id: int | None = None,
    request_id: str | None = None,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
) -> Served:
    """Pick an anchor for the assessor's live queue and record the assignment (flushed, audited);
    with ``rubric_version_id``, one scored on that rubric version of the program (InvalidInput for
    a version the program does not have).

    Asking again with the same ``external_ref`` for the same assessor returns the first assignment
    and writes nothing; the same ``external_ref`` for another assessor, or for another rubric
    version than the one it was given, is a conflict."""
    now = now or utcnow()
    external_ref = external_ref.strip()
    if not external_ref or len(external_ref) > MAX_REF or not external_ref.isprintable():
        raise InvalidInput(
            "The external reference must be 1 to 200 printable characters.",
            {"external_ref": ["Give the platform's id of the queue item (1 to 200 printable characters)."]},
        )
    if rubric_version_id is not None:
        _check_rubric_version(session, program_id, rubric_version_id)
    user_id, status = _assessor(session, program_id, assessor)
    earlier = _existing(session, program_id, external_ref)
    if earlier is not None:
        if earlier.assessor_id != user_id:
            raise Conflict("external_ref_taken", "This external reference was given to another assessor.")
        if rubric_version_id is not None and earlier.rubric_version_id != rubric_version_id:
            raise Conflict(
                "external_ref_taken", "This external reference was given an item of another rubric version."
            )
        return _served(session, earlier, False)
    if status not in CERTIFIED_POOL:
        raise Conflict("not_certified", "Only certified assessors are sent validity items.")
    # One assessor's requests take turns (their membership row's lock), so two at once cannot both
    # pass the weekly rate; SQLite's writes are one at a time already.
    session.execute(
        select(Membership.id)
        .where(Membership.user_id == user_id, Membership.program_id == program_id)
        .with_for_update()
    )
    rules = ProgramSettings.of_program(session, program_id).validity
    _check_rate(session, rules, user_id, live_items, now)
    candidates = eligible_anchors(session, program_id, user_id, rules, rubric_version_id=rubric_version_id)
    if not candidates:
        of_rubric = "" if rubric_version_id is None else " of this rubric version"
        raise Conflict(
            "no_eligible_anchor", f"No keyed anchor{of_rubric} is left that this assessor has never met."
        )
    # The least served first; among them at random, so assessors cannot learn an order.
    fewest = min(n for _, n in candidates)
    anchor_id = (rng or random.SystemRandom()).choice([a for a, n in candidates if n == fewest])
    anchor = session.get(Anchor, anchor_id)
    key = session.scalar(
        select(AnchorKeyVersion)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
    )
    assert anchor is not None and key is not None  # chosen among keyed anchors
    row = ValidityAssignment(
        program_id=program_id,
        assessor_id=user_id,
        anchor_id=anchor_id,
        rubric_version_id=anchor.rubric_version_id,
        key_version_id=key.id,
        external_ref=external_ref,
        status=ValidityStatus.ASSIGNED,
        assigned_at=now,
        expires_at=now + dt.timedelta(days=rules.expiry_days),
        token_id=token_id,
        request_id=request_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent request took the same queue item or anchor first
        again = _existing(session, program_id, external_ref)
        if again is not None and again.assessor_id == user_id:
            return _served(session, again, False)
        raise Conflict(
            "busy", "Another request for this assessor was served at the same moment; ask again."
        ) from None
    audit.record(
        session,
        SystemActor(program_id, request_id),
        "validity.assign",
        object_type="validity_assignment",
        object_id=row.id,
        detail={
            "assessor_id": user_id,
            "anchor_id": anchor_id,
            "key_version": key.version,
            "external_ref": external_ref,
            "rubric_version_id": anchor.rubric_version_id,
            "rubric_version_asked": rubric_version_id,
            "token_id": token_id,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    return _served(session, row, True)


# ---------------------------------------------------------------------------------------- score
@dataclass(frozen=True)
class Scored:
    """A stored answer and its result: everything a ``validity.scored`` notification needs."""

    assignment: ValidityAssignment
    result: dict[str, Any]
    already: bool  # the same levels had been stored before: nothing was written now

    def payload(self) -> dict[str, Any]:
        a = self.assignment
        return {
            "assignment_id": a.id,
            "external_ref": a.external_ref,
            "assessor_id": a.assessor_id,
            "anchor_id": a.anchor_id,
            "key_version_id": a.key_version_id,
            "scored_at": a.scored_at.isoformat() if a.scored_at else None,
            "answered_at": a.answered_at.isoformat() if a.answered_at else None,
            **self.result,
        }


def get_assignment(
    session: Session, program_id: int, assignment_id: int, *, lock: bool = False
) -> ValidityAssignment:
    if not 0 < assignment_id < 2**31:
        raise NotFound("no such assignment")
    stmt = select(ValidityAssignment).where(
        ValidityAssignment.id == assignment_id, ValidityAssignment.program_id == program_id
    )
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise NotFound("no such assignment")
    return row


def score_against_key(
    rubric: RubricVersion, key: Mapping[int, int], levels: Mapping[str, int]
) -> dict[str, Any]:
    """Per criterion (rubric order) the level, the key level, the signed deviation in level steps
    (+ above the key) and whether it is exact or adjacent; plus the item's totals."""
    index = {v: i for i, v in enumerate(rubric.level_values)}
    rows: list[dict[str, Any]] = []
    for c in rubric.criteria:
        given, wanted = int(levels[c.key]), int(key[c.id])
        d = index[given] - index[wanted]
        rows.append(
            {"criterion": c.key, "level": given, "key": wanted, "deviation": d, "exact": d == 0,
             "adjacent": abs(d) <= 1}
        )  # fmt: skip
    n = len(rows)
    return {
        "criteria": rows,
        "n": n,
        "exact": sum(r["exact"] for r in rows),
        "adjacent": sum(r["adjacent"] for r in rows),
        "mean_deviation": (sum(r["deviation"] for r in rows) / n) if n else None,
    }


def _checked_levels(rubric: RubricVersion, levels: Mapping[str, Any]) -> dict[str, int]:
    criteria = {c.key for c in rubric.criteria}
    allowed = rubric.level_values
    errors: dict[str, list[str]] = {}
    for name, value in levels.items():
        if name not in criteria:
            errors[f"levels.{name}"] = ["Not a criterion of this item's rubric."]
        elif isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            errors[f"levels.{name}"] = [f"Not a level of this rubric ({', '.join(map(str, allowed))})."]
    for name in sorted(criteria - set(levels)):
        errors[f"levels.{name}"] = ["Missing: every criterion needs a level."]
    if errors:
        raise InvalidInput("The levels do not fit this item's rubric: see errors.", errors)
    return {k: int(v) for k, v in levels.items()}


def record_scores(
    session: Session,
    program_id: int,
    assignment_id: int,
    *,
    levels: Mapping[str, Any],
    scored_at: dt.datetime,
    token_id: int | None = None,
    request_id: str | None = None,
    now: dt.datetime | None = None,
) -> Scored:
    """Score the assessor's levels against the key version of the assignment and store them (flushed,
    audited). Raises NotFound outside the program, InvalidInput for levels that do not fit the rubric
    or an impossible ``scored_at``, Conflict for an expired item or different levels after an answer."""
    now = now or utcnow()
    row = get_assignment(session, program_id, assignment_id, lock=True)
    rubric = session.get(RubricVersion, row.rubric_version_id)
    assert rubric is not None
    given = _checked_levels(rubric, levels)
    if scored_at.tzinfo is None:
        scored_at = scored_at.replace(tzinfo=dt.UTC)
    if scored_at > now + CLOCK_SKEW or scored_at < row.assigned_at - CLOCK_SKEW:
        raise InvalidInput(
            "scored_at must lie between the assignment and now.",
            {"scored_at": ["Must lie between when the item was assigned and now (UTC)."]},
        )
    if row.status == ValidityStatus.ANSWERED:
        if json.loads(row.levels_json or "{}") == given:
            return Scored(row, json.loads(row.result_json or "{}"), already=True)
        raise Conflict("already_answered", "Different levels were already recorded for this item.")
    if row.status == ValidityStatus.EXPIRED or scored_at > row.expires_at:
        raise Conflict("expired", "This item expired before it was scored; it is reported as expired.")
    key = dict(
        session.execute(
            select(AnchorKeyEntry.criterion_id, AnchorKeyEntry.level_value).where(
                AnchorKeyEntry.key_version_id == row.key_version_id
            )
        ).all()
    )
    result = score_against_key(rubric, key, given)
    changed = session.execute(
        update(ValidityAssignment)
        .where(ValidityAssignment.id == row.id, ValidityAssignment.status == ValidityStatus.ASSIGNED)
        .values(
            status=ValidityStatus.ANSWERED,
            answered_at=now,
            scored_at=scored_at,
            levels_json=json.dumps(given, sort_keys=True),
            result_json=json.dumps(result, sort_keys=True),
            answer_request_id=request_id,
        )
        .execution_options(synchronize_session=False)
    )
    if rows_matched(changed) != 1:  # not reached: the row is locked and was assigned
        raise Conflict("busy", "The item changed meanwhile; post again.")
    session.refresh(row)
    audit.record(
        session,
        SystemActor(program_id, request_id),
        "validity.score",
        object_type="validity_assignment",
        object_id=row.id,
        detail={
            "assessor_id": row.assessor_id,
            "anchor_id": row.anchor_id,
            "token_id": token_id,
            "exact": result["exact"],
            "n": result["n"],
            "mean_deviation": result["mean_deviation"],
        },
    )
    # Ids and API paths only: the receiver reads the result with a token that may see it.
    webhooks.emit(
        session,
        program_id,
        webhooks.VALIDITY_SCORED,
        {
            "assignment_id": row.id,
            "external_ref": row.external_ref,
            "assessor_id": row.assessor_id,
            "links": {"assignment": f"/api/v1/validity/assignments?assessor_id={row.assessor_id}"},
        },
    )
    # New evidence for the validity stream: the drift rules read it (one evaluation per item).
    jobs.enqueue(session, jobs.DRIFT_EVALUATE, {}, dedupe_key=f"{jobs.DRIFT_EVALUATE}:validity:{row.id}")
    return Scored(row, result, already=False)


# --------------------------------------------------------------------------------------- expire
def expire_due(
    session: Session, *, now: dt.datetime | None = None, program_id: int | None = None
) -> dict[int, list[int]]:
    """Mark every unanswered item past its expiry ``expired`` (flushed; one audit row per program
    naming the items). Returns program id -> the ids expired now. Safe to run from cron."""
    now = now or utcnow()
    stmt = select(ValidityAssignment.id, ValidityAssignment.program_id).where(
        ValidityAssignment.status == ValidityStatus.ASSIGNED, ValidityAssignment.expires_at <= now
    )
    if program_id is not None:
        stmt = stmt.where(ValidityAssignment.program_id == program_id)
    due: dict[int, list[int]] = {}
    for row_id, pid in session.execute(stmt.order_by(ValidityAssignment.id)).all():
        due.setdefault(int(pid), []).append(int(row_id))
    done: dict[int, list[int]] = {}
    for pid, ids in due.items():
        result = session.execute(
            update(ValidityAssignment)
            .where(ValidityAssignment.id.in_(ids), ValidityAssignment.status == ValidityStatus.ASSIGNED)
            .values(status=ValidityStatus.EXPIRED, expired_at=now)
        )
        if rows_matched(result):
            done[pid] = ids
            audit.record(
                session,
                SystemActor(pid),
                "validity.expire",
                object_type="program",
                object_id=pid,
                detail={"assignment_ids": ids, "count": len(ids)},
            )
    session.flush()
    return done


# ----------------------------------------------------------------------------------------- list
def assignments(
    session: Session,
    program_id: int,
    *,
    after: int,
    limit: int,
    status: ValidityStatus | None = None,
    assessor_id: int | None = None,
) -> tuple[list[ValidityAssignment], bool]:
    """One page of the program's assignments by id (expired and unanswered ones included)."""
    stmt = select(ValidityAssignment).where(
        ValidityAssignment.program_id == program_id, ValidityAssignment.id > after
    )
    if status is not None:
        stmt = stmt.where(ValidityAssignment.status == status)
    if assessor_id is not None:
        stmt = stmt.where(ValidityAssignment.assessor_id == assessor_id)
    rows = list(session.scalars(stmt.order_by(ValidityAssignment.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def overdue(row: ValidityAssignment, now: dt.datetime) -> bool:
    """Unanswered past its expiry, not yet marked by the expiry command."""
    return row.status == ValidityStatus.ASSIGNED and row.expires_at <= now

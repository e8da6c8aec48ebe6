"""Rounds for lead trainers: create a draft, choose its anchors (by hand or automatically) and its
assessors, then open, extend and close it.

Lifecycle: ``draft → open → closed``. Anchors, assessors and the window change only while the
round is a draft; an open round can only be extended or closed. Every change is audited
(``round.create``, ``round.anchors_set``, ``round.assessors_set``, ``round.reschedule``,
``round.open``, ``round.extend``, ``round.close``). A refused change raises a domain error before
anything is written.

"Seen" (DESIGN §6): no counted round (calibration, qualification, recalibration) serves an assessor an
anchor whose key they have read (:func:`calibration.services.exposure.seen_keys`: a final sheet on it
in any round). Qualification and recalibration rounds also avoid an anchor the assessor meets in
another non-draft round (they would read its key there before or after this one). Draft rounds are
invisible to assessors, so they do not count; opening a draft checks again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from . import audit, webhooks
from .context import Actor
from .errors import InvalidInput
from .exposure import seen_anchors as seen_anchors  # re-exported: callers and tests use it here
from .policy import MAX_PRACTICE_TRIES, PRACTICE_TRIES, ProgramSettings
from .round_queries import (
    KIND_PURPOSE,
    UNSEEN_KINDS,
    CandidateAnchor,
    RoundManagement,
    RubricChoice,
    _assigned,
    _conflicts,
    _round_anchor_ids,
    assessor_choices,
    candidate_anchors,
    current_keys,
    default_pass_rule,
    exact_minimums_by_scale,
    get_round,
    open_problems,
    program_zone,
    round_management,
    rubric_choices,
    when,
)
from .scoring import ONE_LINE_MESSAGE, is_one_line, rubric_with_levels
from .selection import DEFAULT_TARGET, Candidate, CoverageImpossible, select_anchors

__all__ = [
    "COUNT_FIELDS",
    "COUNT_MAX",
    "KIND_PURPOSE",
    "MAX_TARGET",
    "NAME_MAX_CHARS",
    "SHARE_FIELDS",
    "UNSEEN_KINDS",
    "CandidateAnchor",
    "RoundManagement",
    "RubricChoice",
    "assessor_choices",
    "auto_select_anchors",
    "candidate_anchors",
    "check_pass_rule",
    "close_round",
    "create_round",
    "current_keys",
    "default_pass_rule",
    "exact_minimums_by_scale",
    "extend_round",
    "get_round",
    "open_problems",
    "open_round",
    "program_zone",
    "reschedule_round",
    "round_management",
    "rubric_choices",
    "set_anchors",
    "set_assessors",
    "when",
]

NAME_MAX_CHARS = 200
MAX_TARGET = 100

# Pass rule fields: shares (fractions, shown as %) and counts with their minimum.
SHARE_FIELDS = {
    "min_exact": "Exact agreement",
    "min_adjacent": "Exact-or-adjacent agreement",
    "min_decision": "Decision agreement at the earn cut",
}
COUNT_FIELDS = {
    "max_discrepant": ("The number of scores two or more levels off", 0),
    "min_anchors": ("The minimum number of anchors", 1),
    "min_scores": ("The minimum number of criterion scores", 1),
}
COUNT_MAX = 10_000


def _audit(session: Session, actor: Actor, rnd: Round, action: str, detail: Mapping[str, Any]) -> None:
    audit.record(
        session,
        actor,
        action,
        object_type="round",
        object_id=rnd.id,
        program_id=rnd.program_id,
        detail=detail,
    )


# ------------------------------------------------------------------------------------ checks
def check_pass_rule(rule: Mapping[str, Any]) -> tuple[dict[str, float | int], dict[str, list[str]]]:
    """(the rule with every field, errors by field). Shares are fractions in [0, 1]; counts whole."""
    clean: dict[str, float | int] = {}
    errors: dict[str, list[str]] = {}
    for name, label in SHARE_FIELDS.items():
        value = rule.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            errors[name] = [f"{label}: enter a percentage between 0 and 100."]
        elif not 0 <= value <= 1:
            errors[name] = [f"{label} must be between 0% and 100% (you entered {value * 100:g}%)."]
        else:
            clean[name] = round(float(value), 6)
    for name, (label, minimum) in COUNT_FIELDS.items():
        value = rule.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = [f"{label}: enter a whole number."]
        elif value < minimum:
            errors[name] = [f"{label} must be at least {minimum} (you entered {value})."]
        elif value > COUNT_MAX:
            errors[name] = [f"{label} can be at most {COUNT_MAX:,} (you entered {value:,})."]
        else:
            clean[name] = value
    return clean, errors


def _check_window(
    errors: dict[str, list[str]],
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    now: dt.datetime,
    zone_name: str,
) -> None:
    if opens_at is None or opens_at.tzinfo is None:
        errors["opens_date"] = ["Enter the date and time (UTC) the round opens."]
    if closes_at is None or closes_at.tzinfo is None:
        errors["closes_date"] = ["Enter the date and time (UTC) the round closes."]
    if errors.get("opens_date") or errors.get("closes_date"):
        return
    assert opens_at is not None and closes_at is not None
    if closes_at <= opens_at:
        errors["closes_date"] = [
            "The round must close after it opens "
            f"(it opens {when(opens_at, zone_name)}, you chose {when(closes_at, zone_name)})."
        ]
    elif closes_at <= now:
        errors["closes_date"] = [
            f"The closing time must be in the future (it is now {when(now, zone_name)})."
        ]


def _check_assessors(session: Session, program_id: int, user_ids: Sequence[int]) -> list[str]:
    if not user_ids:
        return ["Choose at least one assessor."]
    known = {u.id for u, _ in assessor_choices(session, program_id)}
    if set(user_ids) - known:
        return ["One of the chosen people is not an assessor in this program; reload the page."]
    return []


def _dedupe(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _require_draft(rnd: Round, what: str) -> None:
    if rnd.status != RoundStatus.DRAFT:
        raise InvalidInput(
            f"{what} can be changed only while the round is a draft; this round is {rnd.status.value}. "
            "Nothing was changed."
        )


# ------------------------------------------------------------------------------------- create
def create_round(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    name: str,
    kind: str,
    rubric_version_id: int,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    pass_rule: Mapping[str, Any],
    assessor_ids: Sequence[int],
    now: dt.datetime | None = None,
    practice_tries: int | None = None,
) -> Round:
    """A new draft round with its assessors and pass rule (stored as JSON: the rule in force).

    ``practice_tries`` (practice rounds only; default :data:`.policy.PRACTICE_TRIES`): how many tries
    an assessor has at each anchor before its key is shown.

    Raises InvalidInput with field errors (``name``, ``kind``, ``rubric_version_id``, ``opens_date``,
    ``closes_date``, a pass rule field, ``assessor_ids``, ``practice_tries``); nothing is written then.
    """
    now = now or utcnow()
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the round a name."]
    elif len(name) > NAME_MAX_CHARS:
        errors["name"] = [f"The name can be at most {NAME_MAX_CHARS} characters (you have {len(name)})."]
    elif not is_one_line(name):
        # Round names go into mail subjects (deadline reminders).
        errors["name"] = [f"The name {ONE_LINE_MESSAGE}."]
    if kind not in {k.value for k in RoundKind}:
        errors["kind"] = ["Choose a kind: qualification, calibration, recalibration or practice."]
    rubric = session.scalar(
        select(RubricVersion).where(
            RubricVersion.id == rubric_version_id, RubricVersion.program_id == program_id
        )
    )
    if rubric is None:
        errors["rubric_version_id"] = ["Choose one of this program's rubrics."]
    _check_window(errors, opens_at, closes_at, now, program_zone(session, program_id))
    rule, rule_errors = check_pass_rule(pass_rule)
    errors.update(rule_errors)
    people = _dedupe(assessor_ids)
    if problems := _check_assessors(session, program_id, people):
        errors["assessor_ids"] = problems
    tries = PRACTICE_TRIES if practice_tries is None else practice_tries
    if kind == RoundKind.PRACTICE.value and not 1 <= tries <= MAX_PRACTICE_TRIES:
        errors["practice_tries"] = [f"Give between 1 and {MAX_PRACTICE_TRIES} tries (you gave {tries})."]
    if errors:
        raise InvalidInput("Some fields need attention; nothing was saved.", errors)
    practice = kind == RoundKind.PRACTICE.value

    # Keep any extra keys the program stores with its rule; the edited fields win.
    stored_rule = {**json.loads(ProgramSettings.of_program(session, program_id).pass_rule_json()), **rule}
    rnd = Round(
        program_id=program_id,
        rubric_version_id=rubric_version_id,
        name=name,
        kind=RoundKind(kind),
        status=RoundStatus.DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        pass_rule_json=json.dumps(stored_rule, sort_keys=True),
        created_by_id=actor.user_id,
        practice_tries=tries if practice else 1,
    )
    session.add(rnd)
    session.flush()
    session.add_all(Assignment(round_id=rnd.id, user_id=uid) for uid in people)
    session.flush()
    detail: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "rubric_version_id": rubric_version_id,
        "opens_at": rnd.opens_at.isoformat(),
        "closes_at": rnd.closes_at.isoformat(),
        "pass_rule": stored_rule,
        "assessor_ids": people,
    }
    if practice:
        detail["practice_tries"] = rnd.practice_tries
    _audit(session, actor, rnd, "round.create", detail)
    return rnd


# ------------------------------------------------------------------------------------ anchors
def set_anchors(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    round_id: int,
    anchor_ids: Sequence[int],
    method: str = "hand",
) -> list[int]:
    """Replace a draft round's anchors (in the given order) with active anchors of its rubric version.

    For counted rounds an anchor an assigned assessor may not be served (:func:`not_fresh`) is
    refused, naming the anchors and the assessors.
    Returns the stored anchor ids; an unchanged selection writes nothing.
    """
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    _require_draft(rnd, "Anchors")
    chosen = _dedupe(anchor_ids)
    allowed = {c.anchor.id for c in candidate_anchors(session, rnd)}
    if set(chosen) - allowed:
        raise InvalidInput(
            "Only active anchors of this round's rubric version can be chosen; reload the page. "
            "Nothing was changed.",
            {"anchor_ids": ["One of the chosen anchors is not available for this round."]},
        )
    if conflicts := _conflicts(session, rnd, chosen, _assigned(session, rnd.id)):
        raise InvalidInput(
            "Some anchors cannot be used in this round; nothing was changed.", {"anchor_ids": conflicts}
        )
    before = _round_anchor_ids(session, rnd.id)
    if before == chosen:
        return chosen
    for row in list(session.scalars(select(RoundAnchor).where(RoundAnchor.round_id == rnd.id))):
        session.delete(row)
    session.flush()  # the (round, anchor) constraint: old rows go before new ones arrive
    session.add_all(RoundAnchor(round_id=rnd.id, anchor_id=a, position=i) for i, a in enumerate(chosen))
    session.flush()
    session.expire(rnd, ["round_anchors"])
    detail: dict[str, Any] = {
        "method": method,
        "anchor_ids": chosen,
        "added": [a for a in chosen if a not in before],
        "removed": [a for a in before if a not in chosen],
    }
    _audit(session, actor, rnd, "round.anchors_set", detail)
    return chosen


def auto_select_anchors(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    round_id: int,
    target: int | None = DEFAULT_TARGET,
    seed: int | None = None,
    criterion_weights: Mapping[int, float] | None = None,
) -> list[int]:
    """Choose a draft round's anchors automatically (see :mod:`calibration.services.selection`).

    Draws from active anchors with a key whose purpose fits the kind of round; for counted rounds,
    anchors any assigned assessor may not be served (:func:`not_fresh`) are left out. The seed defaults to
    the round's id, so the same situation gives the same choice. Raises CoverageImpossible naming
    the (criterion, level) pairs no available anchor covers; nothing is written then.
    """
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    _require_draft(rnd, "Anchors")
    if target is None or not 1 <= target <= MAX_TARGET:
        raise InvalidInput(
            "Some fields need attention; nothing was changed.",
            {"target": [f"Choose how many anchors: a whole number from 1 to {MAX_TARGET}."]},
        )
    rubric = rubric_with_levels(session, rnd.rubric_version_id)
    pool = [c for c in candidate_anchors(session, rnd) if c.purpose_match and c.key_version is not None]
    seen = {c.anchor.id for c in pool if c.seen_by}
    titles = {c.id: c.title for c in rubric.criteria}
    try:
        chosen = select_anchors(
            [Candidate(c.anchor.id, c.key) for c in pool],
            criteria=[c.id for c in rubric.criteria],
            levels=rubric.level_values,
            exclude=seen,
            target=target,
            seed=rnd.id if seed is None else seed,
            criterion_weights=criterion_weights,
            criterion_titles=titles,
        )
    except CoverageImpossible as exc:
        purpose = KIND_PURPOSE[rnd.kind].value
        note = f" Only active {purpose} anchors with a master key are drawn from."
        if exc.n_excluded:
            note += (
                f" {exc.n_excluded} anchor{'s were' if exc.n_excluded != 1 else ' was'} left out because "
                "an assigned assessor has already seen "
                f"{'them' if exc.n_excluded != 1 else 'it'}."
            )
        raise CoverageImpossible(str(exc) + note, exc.missing, n_excluded=exc.n_excluded) from None
    return set_anchors(
        session, actor, program_id=program_id, round_id=rnd.id, anchor_ids=chosen, method="auto"
    )


# ---------------------------------------------------------------------------------- assessors
def set_assessors(
    session: Session, actor: Actor, *, program_id: int, round_id: int, user_ids: Sequence[int]
) -> list[int]:
    """Replace a draft round's assessors (at least one, all assessors of the program)."""
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    _require_draft(rnd, "Assessors")
    people = _dedupe(user_ids)
    if problems := _check_assessors(session, program_id, people):
        raise InvalidInput("Some fields need attention; nothing was changed.", {"assessor_ids": problems})
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    pairs = sorted(((uid, names[uid]) for uid in people), key=lambda p: (p[1], p[0]))
    if conflicts := _conflicts(session, rnd, _round_anchor_ids(session, rnd.id), pairs):
        raise InvalidInput(
            "These assessors cannot take this round with its current anchors; nothing was changed.",
            {"assessor_ids": conflicts},
        )
    rows = list(session.scalars(select(Assignment).where(Assignment.round_id == rnd.id)))
    before = {row.user_id for row in rows}
    if before == set(people):
        return people
    for row in rows:
        if row.user_id not in people:
            session.delete(row)
    session.add_all(Assignment(round_id=rnd.id, user_id=uid) for uid in people if uid not in before)
    session.flush()
    session.expire(rnd, ["assignments"])
    _audit(
        session,
        actor,
        rnd,
        "round.assessors_set",
        {"added": sorted(set(people) - before), "removed": sorted(before - set(people))},
    )
    return people


# ---------------------------------------------------------------------------------- lifecycle
def reschedule_round(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    round_id: int,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> Round:
    """Change a draft round's window (an open round can only be extended)."""
    now = now or utcnow()
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    if rnd.status != RoundStatus.DRAFT:
        raise InvalidInput(
            f"The window can be changed only while the round is a draft; this round is {rnd.status.value}."
            + (" Extend it instead." if rnd.status == RoundStatus.OPEN else "")
            + " Nothing was changed."
        )
    errors: dict[str, list[str]] = {}
    _check_window(errors, opens_at, closes_at, now, program_zone(session, program_id))
    if errors:
        raise InvalidInput("The window needs attention; nothing was changed.", errors)
    assert opens_at is not None and closes_at is not None
    before = (rnd.opens_at, rnd.closes_at)
    rnd.opens_at, rnd.closes_at = opens_at, closes_at
    session.flush()
    detail = {
        "opens_at": [before[0].isoformat(), opens_at.astimezone(dt.UTC).isoformat()],
        "closes_at": [before[1].isoformat(), closes_at.astimezone(dt.UTC).isoformat()],
    }
    _audit(session, actor, rnd, "round.reschedule", detail)
    return rnd


def open_round(
    session: Session, actor: Actor, *, program_id: int, round_id: int, now: dt.datetime | None = None
) -> Round:
    """Open a draft round. Assessors see it from ``opens_at`` (not before) until it closes."""
    now = now or utcnow()
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    if rnd.status == RoundStatus.OPEN:
        raise InvalidInput("This round is already open; nothing was changed.")
    if rnd.status == RoundStatus.CLOSED:
        raise InvalidInput(
            "This round is closed; a closed round cannot be opened again. Nothing was changed."
        )
    if problems := open_problems(session, rnd, now=now):
        raise InvalidInput("The round cannot open yet; nothing was changed.", {"open": problems})
    rnd.status = RoundStatus.OPEN
    session.flush()
    detail: dict[str, Any] = {
        "opens_at": rnd.opens_at.isoformat(),
        "closes_at": rnd.closes_at.isoformat(),
        "anchor_ids": _round_anchor_ids(session, rnd.id),
        "assessor_ids": [uid for uid, _ in _assigned(session, rnd.id)],
    }
    _audit(session, actor, rnd, "round.open", detail)
    return rnd


def extend_round(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    round_id: int,
    closes_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> Round:
    """Move an open round's closing time later (after now and after the current close)."""
    now = now or utcnow()
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    if rnd.status == RoundStatus.DRAFT:
        raise InvalidInput(
            "Only an open round can be extended; change a draft's window instead. Nothing was changed."
        )
    if rnd.status == RoundStatus.CLOSED:
        raise InvalidInput("This round is closed; a closed round cannot be extended. Nothing was changed.")
    zone_name = program_zone(session, program_id)
    if closes_at is None or closes_at.tzinfo is None:
        problem = "Enter the new date and time (UTC) the round closes."
    elif closes_at <= now:
        problem = f"The new closing time must be in the future (it is now {when(now, zone_name)})."
    elif closes_at <= rnd.closes_at:
        problem = (
            f"The new closing time must be later than the current one ({when(rnd.closes_at, zone_name)})."
        )
    else:
        problem = None
    if problem:
        raise InvalidInput("The round was not extended; nothing was changed.", {"closes_date": [problem]})
    assert closes_at is not None
    before = rnd.closes_at
    rnd.closes_at = closes_at
    session.flush()
    detail = {"closes_at": [before.isoformat(), closes_at.astimezone(dt.UTC).isoformat()]}
    _audit(session, actor, rnd, "round.extend", detail)
    return rnd


def close_round(
    session: Session, actor: Actor, *, program_id: int, round_id: int, now: dt.datetime | None = None
) -> Round:
    """Close an open round now: no more scoring; feedback stays readable."""
    now = now or utcnow()
    rnd = get_round(session, program_id=program_id, round_id=round_id, for_update=True)
    if rnd.status != RoundStatus.OPEN:
        raise InvalidInput(
            f"Only an open round can be closed; this round is {rnd.status.value}. Nothing was changed."
        )
    before = rnd.closes_at
    rnd.status = RoundStatus.CLOSED
    # The window shows when scoring really ended (kept as is if the round never started: the
    # window must stay after its opening).
    if rnd.opens_at < now < rnd.closes_at:
        rnd.closes_at = now
    session.flush()
    detail = {"closes_at": [before.isoformat(), rnd.closes_at.isoformat()], "closed_at": now.isoformat()}
    _audit(session, actor, rnd, "round.close", detail)
    webhooks.emit(
        session,
        program_id,
        webhooks.ROUND_CLOSED,
        {
            "round_id": rnd.id,
            "kind": rnd.kind.value,
            "links": {"round": f"/api/v1/rounds/{rnd.id}", "report": f"/api/v1/rounds/{rnd.id}/report"},
        },
    )
    return rnd

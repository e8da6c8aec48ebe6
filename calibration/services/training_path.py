"""A new assessor's path to certification, as a task list: practice, qualification, certified.

Each step says where the assessor is (done, in progress, not started, waiting) and the path says what
is next, with the pass rule's main figures stated before the qualification round is started (as the
large scoring programs do). Shown only while the assessor is invited or in training.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    CertificationStatus,
    QualificationOutcome,
    Round,
    RoundKind,
    RoundStatus,
    ScoreSheet,
)
from .assignments import RoundProgress
from .certification_view import results_of
from .rubric_cache import rubric_snapshot
from .rules import pass_rule_from_json

S = CertificationStatus

#: The statuses whose dashboard shows the path.
ON_THE_PATH = (S.INVITED, S.IN_TRAINING)


@dataclass(frozen=True)
class PathStep:
    """One task of the path. ``state`` is "done", "current", "todo" or "waiting"."""

    key: str  # "practice", "qualification", "certified"
    title: str
    status: str  # a few words: "Done", "In progress: 2 of 4 anchors", "Not started", ...
    state: str
    detail: str = ""
    round_id: int | None = None
    action: str | None = None  # the words of the button that starts or continues it


@dataclass(frozen=True)
class TrainingPath:
    steps: tuple[PathStep, ...]
    next_text: str

    @property
    def current(self) -> PathStep | None:
        """The step the primary action belongs to (the first current one), if any."""
        return next((s for s in self.steps if s.state == "current" and s.round_id is not None), None)


def _day(value: dt.datetime) -> str:
    return f"{value:%-d %B %Y}"


def _percent(share: float) -> str:
    return f"{100 * share:g}%"


def pass_rule_words(session: Session, rnd: Round) -> str:
    """The round's main pass figures in plain words, for before it is started."""
    rule = pass_rule_from_json(rnd.pass_rule_json)
    levels = rubric_snapshot(session, rnd.rubric_version_id).levels
    words = f"at least {_percent(rule.min_exact)} of your scores must match the key exactly"
    if len(levels) > 2:
        words += f" and at least {_percent(rule.min_adjacent)} be within one level of it"
    return words


def _practice_step(practice: Sequence[RoundProgress]) -> PathStep:
    if not practice:
        return PathStep(
            "practice",
            "Practise on anchors with feedback",
            "No practice assigned",
            "waiting",
            "Your lead trainer has not given you practice anchors; you can start with qualification.",
        )
    open_rounds = [p for p in practice if p.open_now and not p.finished]
    p = open_rounds[0] if open_rounds else practice[0]
    total = sum(x.n_anchors for x in practice)
    done = sum(min(x.n_done, x.n_anchors) for x in practice)
    tries = p.round.practice_tries
    detail = (
        "Not counted. After each try you see which criteria differed from the key and may try the same "
        f"anchor again ({tries} tries), then the key and its rationale are shown."
        if tries > 1
        else "Not counted. After each anchor you see the key and its rationale."
    )
    if not open_rounds:
        status = f"Done: {done} of {total} anchors" if done >= total else f"Closed: {done} of {total} anchors"
        return PathStep("practice", "Practise on anchors with feedback", status, "done", detail, p.round.id)
    if done == 0:
        return PathStep(
            "practice", "Practise on anchors with feedback", f"Not started: {total} anchors", "current",
            detail, p.round.id, "Start practice",
        )  # fmt: skip
    return PathStep(
        "practice", "Practise on anchors with feedback", f"In progress: {done} of {total} anchors scored",
        "current", detail, p.round.id, "Continue practice",
    )  # fmt: skip


def training_path(
    session: Session,
    *,
    program_id: int,
    user_id: int,
    status: CertificationStatus | None,
    rounds: Sequence[RoundProgress],
) -> TrainingPath | None:
    """The path for an assessor who is invited or in training (None otherwise). ``rounds`` is the
    dashboard's list of their rounds (:func:`.assignments.dashboard`)."""
    if status not in ON_THE_PATH:
        return None
    practice = _practice_step([p for p in rounds if p.round.kind == RoundKind.PRACTICE])
    practising = practice.state == "current"
    results = results_of(session, program_id, user_id)
    latest = results[-1] if results else None
    attempts = [p for p in rounds if p.round.kind == RoundKind.QUALIFICATION]
    waiting_round = next(
        (p for p in attempts if p.open_now and not p.finished and p.round.status == RoundStatus.OPEN), None
    )
    title = "Pass the qualification round"
    if latest is not None and latest.outcome == QualificationOutcome.PASS:
        qualification = PathStep("qualification", title, "Passed", "done")
    elif waiting_round is not None:
        rnd = waiting_round.round
        again = latest is not None and latest.outcome == QualificationOutcome.FAIL
        label = f"attempt {latest.attempt + 1}" if again and latest is not None else "your round"
        detail = (
            f"Counts. {waiting_round.n_anchors} anchors you have not seen, closes {_day(rnd.closes_at)}. "
            f"To pass, {pass_rule_words(session, rnd)}."
        )
        if waiting_round.n_done:
            state_words = f"In progress: {waiting_round.n_done} of {waiting_round.n_anchors} anchors scored"
            action = "Continue qualification"
        else:
            state_words = "Not started" + (f" ({label})" if again else "")
            action = "Start qualification"
        qualification = PathStep(
            "qualification", title, state_words, "todo" if practising else "current", detail, rnd.id, action
        )
    elif latest is not None:
        qualification = PathStep(
            "qualification", title, "Waiting for your lead trainer", "waiting",
            "Your lead trainer decides what happens next; you will see it under My certification.",
        )  # fmt: skip
    else:
        qualification = PathStep(
            "qualification", title, "Not assigned yet", "waiting",
            "Your lead trainer will assign your qualification round.",
        )  # fmt: skip
    certified = PathStep(
        "certified",
        "Certified",
        "Not yet",
        "todo",
        "Passing the qualification round certifies you for a year.",
    )
    steps = (practice, qualification, certified)
    if status == S.INVITED:
        text = "Accept your invitation from the link in the email to start."
    elif practising and practice.action == "Start practice":
        text = "Next: practise. Practice comes before your qualification round and never counts."
    elif practising:
        text = f"Next: practise. Finish your practice ({practice.status.split(': ', 1)[-1]}), then your qualification round."
    elif qualification.round_id is not None and qualification.state == "current":
        text = f"Next: your qualification round. {qualification.detail}"
    else:
        text = (
            f"Next: {qualification.detail}" if qualification.detail else "Next: wait for your lead trainer."
        )
    return TrainingPath(steps, text)


def has_calibration_scores(session: Session, *, program_id: int, user_id: int) -> bool:
    """Whether the assessor has any final sheet in a calibration round: the drift and lean checks read
    nothing else, so with none there is nothing they could have found either way."""
    n = session.scalar(
        select(func.count())
        .select_from(ScoreSheet)
        .join(Round, Round.id == ScoreSheet.round_id)
        .where(
            ScoreSheet.assessor_id == user_id,
            Round.program_id == program_id,
            Round.kind == RoundKind.CALIBRATION,
        )
    )
    return bool(n)

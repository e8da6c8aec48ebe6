"""Recalibrations waiting for anchors, as stored and as shown to trainers: the shortfall (what keeps
a round of unseen anchors from being assembled) and the lists on the trainer's pages. Starting and
retrying them is :mod:`calibration.services.recalibration`'s job."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Recalibration, RecalibrationWait, RubricVersion, User, WaitStatus
from .errors import NotFound
from .scoring import rubric_with_levels


@dataclass(frozen=True)
class Shortfall:
    """What keeps a recalibration round from being assembled: (criterion, level) pairs no unseen
    anchor's key has, and how many anchors a round needs against how many unseen ones exist."""

    pairs: tuple[tuple[int, int], ...]
    needed: int
    available: int

    @property
    def more(self) -> int:
        return max(0, self.needed - self.available)

    def to_json(self) -> str:
        return json.dumps(
            {
                "pairs": [list(p) for p in self.pairs],
                "needed": self.needed,
                "available": self.available,
                "more": self.more,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Shortfall | None:
        data = json.loads(text or "{}")
        if not data:
            return None
        return cls(
            tuple((int(c), int(lv)) for c, lv in data["pairs"]), int(data["needed"]), int(data["available"])
        )


def started_count(session: Session, program_id: int) -> int:
    """How many recalibrations the program has started (to tell what a change set in motion)."""
    return int(session.scalar(select(func.count()).where(Recalibration.program_id == program_id)) or 0)


def waiting_of(session: Session, program_id: int, user_id: int) -> RecalibrationWait | None:
    """The assessor's recalibration that waits for anchors, if any."""
    return session.scalar(
        select(RecalibrationWait)
        .where(
            RecalibrationWait.program_id == program_id,
            RecalibrationWait.user_id == user_id,
            RecalibrationWait.status == WaitStatus.WAITING,
        )
        .order_by(RecalibrationWait.id.desc())
        .limit(1)
    )


def shortfall_lines(
    session: Session, row: RecalibrationWait, rubric: RubricVersion | None = None
) -> list[str]:
    """The shortfall in words for trainers (never for the assessor: it describes unseen keys).
    ``rubric`` is the wait's rubric version with its levels, when the caller has it already."""
    shortfall = Shortfall.from_json(row.shortfall_json)
    if shortfall is None:
        return [row.problem] if row.problem else []
    if rubric is None and row.rubric_version_id:
        rubric = rubric_with_levels(session, row.rubric_version_id)
    titles = {c.id: c.title for c in rubric.criteria} if rubric else {}
    order = {c.id: i for i, c in enumerate(rubric.criteria)} if rubric else {}
    by_criterion: dict[int, list[int]] = {}
    for criterion, level in shortfall.pairs:
        by_criterion.setdefault(criterion, []).append(level)
    levels = rubric.level_values if rubric else []
    out: list[str]
    if rubric and set(shortfall.pairs) == {(c.id, lv) for c in rubric.criteria for lv in levels}:
        out = [
            f"every criterion at levels {', '.join(map(str, levels))} (for each criterion, an anchor "
            "keyed at each level)"
        ]
    else:
        out = [
            f"an anchor keyed “{titles.get(c, c)}” at level{'s' if len(lvls) > 1 else ''} "
            f"{', '.join(map(str, sorted(lvls)))}{' (one for each level)' if len(lvls) > 1 else ''}"
            for c, lvls in sorted(by_criterion.items(), key=lambda kv: order.get(kv[0], kv[0]))
        ]
    if shortfall.more:
        out.append(
            f"{shortfall.more} more anchor{'s' if shortfall.more != 1 else ''} in all "
            f"(a round needs {shortfall.needed}; {shortfall.available} never seen "
            f"{'is' if shortfall.available == 1 else 'are'} available)"
        )
    return out


@dataclass(frozen=True)
class WaitLine:
    wait: RecalibrationWait
    name: str
    rubric_title: str
    shortfall: list[str]


def waiting_lines(
    session: Session, program_id: int, *, user_id: int | None = None, flag_id: int | None = None
) -> list[WaitLine]:
    """The program's recalibrations waiting for anchors (or one assessor's, or one flag's)."""
    stmt = (
        select(RecalibrationWait, User.name)
        .join(User, User.id == RecalibrationWait.user_id)
        .where(RecalibrationWait.program_id == program_id, RecalibrationWait.status == WaitStatus.WAITING)
        .order_by(RecalibrationWait.created_at, RecalibrationWait.id)
    )
    if user_id is not None:
        stmt = stmt.where(RecalibrationWait.user_id == user_id)
    if flag_id is not None:
        stmt = stmt.where(RecalibrationWait.flag_id == flag_id)
    out = []
    rubrics: dict[int, RubricVersion] = {}  # waits share a few rubric versions: load each once
    for row, name in session.execute(stmt).all():
        rubric = None
        if row.rubric_version_id is not None:
            if row.rubric_version_id not in rubrics:
                rubrics[row.rubric_version_id] = rubric_with_levels(session, row.rubric_version_id)
            rubric = rubrics[row.rubric_version_id]
        title = f"{rubric.title} (version {rubric.version})" if rubric else ""
        out.append(WaitLine(row, name, title, shortfall_lines(session, row, rubric)))
    return out


def get_wait(session: Session, *, program_id: int, wait_id: int) -> RecalibrationWait:
    """A wait of the program (any status), else NotFound."""
    row = session.scalar(
        select(RecalibrationWait).where(
            RecalibrationWait.id == wait_id, RecalibrationWait.program_id == program_id
        )
    )
    if row is None:
        raise NotFound("recalibration")
    return row

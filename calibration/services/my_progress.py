"""My progress: the assessor's own history, from the same service as the trainer's profile page.

:func:`calibration.services.profiles.assessor_profile` reads only the assessor's own final sheets
(each against the key version it was scored with), so every figure here comes from anchors whose key
the reveal rule has already opened to them (a practice sheet whose key waits for another try is left
out). What the trainer's page adds about the assessor (email,
drift flags under review) is left out, and a round still in progress shows no verdict: its result
comes once the last sheet is final.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import CertificationStatus, RoundKind, RoundStatus
from ..stats.passrule import PassRule
from .practice import withheld_sheets
from .profiles import ProfileRound, RubricSection, assessor_profile
from .round_results import COUNTED_KINDS

__all__ = ["MyProgress", "ProgressRound", "my_progress"]


@dataclass(frozen=True)
class ProgressRound:
    """One of the assessor's rounds; ``finished`` when every anchor has their final sheet."""

    line: ProfileRound

    @property
    def finished(self) -> bool:
        return self.line.n_anchors > 0 and self.line.n_done >= self.line.n_anchors

    @property
    def counted(self) -> bool:
        return self.line.kind in COUNTED_KINDS

    @property
    def has_result_page(self) -> bool:
        return self.finished and self.counted

    @property
    def outcome_text(self) -> str:
        """The verdict in words; none while the round is in progress or for practice."""
        if self.line.kind == RoundKind.PRACTICE:
            return "Practice: not counted"
        if not self.finished:
            return "In progress"
        if self.line.decision is None:
            return "—"
        return {"pass": "Meets the pass rule", "fail": "Below the pass rule", "too_few": "Too few to judge"}[
            self.line.decision.outcome
        ]


@dataclass(frozen=True)
class MyProgress:
    name: str
    status: CertificationStatus | None
    expires_at: dt.datetime | None
    rule: PassRule
    rounds: tuple[ProgressRound, ...]
    sections: tuple[RubricSection, ...]

    @property
    def scored_rounds(self) -> tuple[ProgressRound, ...]:
        return tuple(r for r in self.rounds if r.line.n_done > 0)

    @property
    def any_judged(self) -> bool:
        """Whether any criterion has enough scores to be judged (else no weak spot can be named)."""
        return any(not c.too_few for s in self.sections for c in s.criteria)

    @property
    def weak_spots(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(rubric, criterion, findings) for every criterion with a finding."""
        return [(s.title, c.title, c.findings) for s in self.sections for c in s.criteria if c.findings]


def my_progress(session: Session, *, program_id: int, user_id: int) -> MyProgress:
    """The signed-in assessor's history: accuracy and signed deviation per round, per rubric and per
    criterion, category use against the key and weak spots (only their own data)."""
    now = utcnow()
    # Practice sheets whose key still waits for another try stay out: the figures would give it away.
    hidden = withheld_sheets(session, program_id=program_id, user_id=user_id)
    p = assessor_profile(session, program_id=program_id, user_id=user_id, leave_out=hidden)
    return MyProgress(
        name=p.name,
        status=p.status,
        expires_at=p.expires_at,
        rule=p.rule,
        # As on the dashboard: no draft and no round before it opens, unless already scored in.
        rounds=tuple(
            ProgressRound(r)
            for r in p.rounds
            if r.n_done > 0 or (r.status != RoundStatus.DRAFT and r.opens_at <= now)
        ),
        sections=tuple(p.sections),
    )

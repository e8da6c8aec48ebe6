"""Reviewing drift flags: a trainer confirms a flag (the caller starts recalibration:
:func:`calibration.services.recalibration.confirm_flag`) or dismisses it with a reason, both audited;
and the flags as trainers and assessors read them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    CertificationStatus,
    Criterion,
    DriftFlag,
    FlagStatus,
    Membership,
    Round,
    User,
)
from . import audit
from .certification import check_reason
from .context import Actor, Member
from .drift import RULE_NAMES
from .errors import InvalidInput, NotFound
from .flag_words import RuleWords, rule_words, stream_words


# ---------------------------------------------------------------------------------------- review
def get_flag(session: Session, *, program_id: int, flag_id: int, for_update: bool = False) -> DriftFlag:
    stmt = select(DriftFlag).where(DriftFlag.id == flag_id, DriftFlag.program_id == program_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    flag = session.scalar(stmt)
    if flag is None:
        raise NotFound("flag")
    return flag


def _review(
    session: Session, actor: Actor, flag: DriftFlag, status: FlagStatus, reason: str, now: dt.datetime
) -> None:
    if flag.status != FlagStatus.OPEN:
        raise InvalidInput(f"This flag was already {flag.status.value}; nothing was changed.")
    flag.status = status
    flag.reviewed_at = now
    flag.reviewed_by_id = actor.user_id
    flag.review_reason = reason
    session.flush()
    audit.record(
        session,
        actor,
        f"drift.{'confirm' if status == FlagStatus.CONFIRMED else 'dismiss'}",
        object_type="drift_flag",
        object_id=flag.id,
        program_id=flag.program_id,
        detail={"rule": flag.rule.value, "user_id": flag.user_id, "reason": reason},
    )


def dismiss(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    flag_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> DriftFlag:
    """Dismiss a flag with a reason (audited)."""
    reason = check_reason(reason)
    flag = get_flag(session, program_id=program_id, flag_id=flag_id, for_update=True)
    _review(session, actor, flag, FlagStatus.DISMISSED, reason, now or utcnow())
    return flag


def confirm(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    flag_id: int,
    reason: str = "",
    now: dt.datetime | None = None,
) -> DriftFlag:
    """Confirm a flag (audited); the caller starts recalibration (:mod:`calibration.services.recalibration`)."""
    reason = check_reason(reason) if reason.strip() else "confirmed"
    flag = get_flag(session, program_id=program_id, flag_id=flag_id, for_update=True)
    _review(session, actor, flag, FlagStatus.CONFIRMED, reason, now or utcnow())
    return flag


# ------------------------------------------------------------------------------------------ views
@dataclass(frozen=True)
class FlagLine:
    flag: DriftFlag
    name: str | None
    rule_name: str
    round_name: str | None
    criterion: str | None
    too_few: tuple[str, ...] = ()  # names of the rounds the rule left out as too few to judge

    @property
    def evidence(self) -> dict[str, Any]:
        evidence: dict[str, Any] = json.loads(self.flag.evidence_json)
        return evidence

    @property
    def parameters(self) -> dict[str, Any]:
        parameters: dict[str, Any] = json.loads(self.flag.parameters_json)
        return parameters

    @property
    def words(self) -> RuleWords:
        """The rule, its parameters and nominal false-alarm rate in plain words."""
        return rule_words(self.flag)

    @property
    def evidence_source(self) -> str:
        """Which stream the flag came from, in plain words ("Evidence: calibration rounds")."""
        return stream_words(self.flag.stream)

    @property
    def window(self) -> list[int]:
        window: list[int] = json.loads(self.flag.window_json)
        return window


def flag_lines(
    session: Session, program_id: int, *, user_id: int | None = None, flag_id: int | None = None
) -> list[FlagLine]:
    """Flags of the program (or one assessor's, or one flag), open ones first, newest first."""
    stmt = select(DriftFlag).where(DriftFlag.program_id == program_id)
    if user_id is not None:
        stmt = stmt.where(DriftFlag.user_id == user_id)
    if flag_id is not None:
        stmt = stmt.where(DriftFlag.id == flag_id)
    flags = list(session.scalars(stmt.order_by(DriftFlag.status != FlagStatus.OPEN, DriftFlag.id.desc())))
    return lines_for(session, flags)


def lines_for(session: Session, flags: list[DriftFlag]) -> list[FlagLine]:
    """``flags`` as lines with the names they show, in three queries whatever their number."""
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_({f.user_id for f in flags if f.user_id}))
        ).all()
    )
    too_few = {f.id: _too_few_ids(f) for f in flags}
    wanted = {f.round_id for f in flags if f.round_id} | {r for ids in too_few.values() for r in ids}
    rounds = dict(session.execute(select(Round.id, Round.name).where(Round.id.in_(wanted))).all())
    crits = dict(
        session.execute(
            select(Criterion.id, Criterion.title).where(
                Criterion.id.in_({f.criterion_id for f in flags if f.criterion_id})
            )
        ).all()
    )
    return [
        FlagLine(
            f,
            names.get(f.user_id) if f.user_id else None,
            RULE_NAMES[f.rule],
            rounds.get(f.round_id) if f.round_id else None,
            crits.get(f.criterion_id) if f.criterion_id else None,
            tuple(rounds.get(r, f"round {r}") for r in too_few[f.id]),
        )
        for f in flags
    ]


def _too_few_ids(flag: DriftFlag) -> list[int]:
    """Round ids the flag's evidence lists as too few to judge (rules of issue 15 store them)."""
    ids = json.loads(flag.evidence_json or "{}").get("too_few_rounds") or []
    return [int(r) for r in ids if isinstance(r, int)]


def assessors_of_round(session: Session, round_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Assignment.user_id).where(Assignment.round_id == round_id).order_by(Assignment.user_id)
        )
    )


def affected_assessors(session: Session, program_id: int, flag: DriftFlag) -> list[int]:
    """Who confirming the flag starts recalibration for: its assessor, or for a flag about the cohort
    every assessor of its round who is certified now."""
    if flag.user_id is not None:
        return [flag.user_id]
    if flag.round_id is None:
        return []
    return list(
        session.scalars(
            select(Assignment.user_id)
            .join(
                Membership,
                (Membership.user_id == Assignment.user_id) & (Membership.program_id == program_id),
            )
            .where(
                Assignment.round_id == flag.round_id,
                Membership.certification_status == CertificationStatus.CERTIFIED,
            )
            .order_by(Assignment.user_id)
        )
    )

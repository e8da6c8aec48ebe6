"""What the trainer's validity page shows (``/trainer/validity``): the seeding rules in force, the
counts by status (expired and overdue ones stand out), a page of assignments filtered by status and
assessor, each assessor's accuracy on answered items with 95% intervals (from
:mod:`calibration.stats`), and the flags raised on this evidence stream."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    DriftFlag,
    EvidenceStream,
    Membership,
    Role,
    RubricVersion,
    User,
    ValidityAssignment,
    ValidityStatus,
)
from ..stats.accuracy import accuracy_by_rater
from ..stats.labels import interpret
from ..stats.results import Estimate, Proportion
from .flags import FlagLine, lines_for
from .policy import ProgramSettings, ValidityPolicy

PAGE_SIZE = 50


@dataclass(frozen=True)
class AssignmentLine:
    row: ValidityAssignment
    assessor: str
    anchor: str
    overdue: bool
    exact: int | None  # criterion-scores that matched the key, once answered
    n: int | None
    mean_deviation: float | None


@dataclass(frozen=True)
class AccuracyLine:
    assessor: str
    user_id: int
    rubric: str
    items: int
    exact: Proportion
    adjacent: Proportion
    deviation: Estimate
    lean: str | None  # "lenient", "severe", "no clear lean" or "too few to judge"


@dataclass(frozen=True)
class ValidityPage:
    rules: ValidityPolicy
    counts: dict[str, int]  # by status, plus "overdue"
    lines: list[AssignmentLine]
    page: int
    more: bool
    assessors: list[tuple[int, str]]  # for the filter
    accuracy: list[AccuracyLine]
    flags: list[FlagLine]


def _counts(session: Session, program_id: int, now: dt.datetime) -> dict[str, int]:
    counts = {s.value: 0 for s in ValidityStatus}
    for status, n in session.execute(
        select(ValidityAssignment.status, func.count())
        .where(ValidityAssignment.program_id == program_id)
        .group_by(ValidityAssignment.status)
    ).all():
        counts[ValidityStatus(status).value] = int(n)
    counts["overdue"] = int(
        session.scalar(
            select(func.count())
            .select_from(ValidityAssignment)
            .where(
                ValidityAssignment.program_id == program_id,
                ValidityAssignment.status == ValidityStatus.ASSIGNED,
                ValidityAssignment.expires_at <= now,
            )
        )
        or 0
    )
    return counts


def _accuracy(session: Session, program_id: int, names: dict[int, str], rules: Any) -> list[AccuracyLine]:
    """Per rubric version and assessor: accuracy on answered items, read in one query."""
    rows = session.execute(
        select(
            ValidityAssignment.assessor_id,
            ValidityAssignment.rubric_version_id,
            ValidityAssignment.result_json,
        )
        .where(
            ValidityAssignment.program_id == program_id,
            ValidityAssignment.status == ValidityStatus.ANSWERED,
        )
        .order_by(ValidityAssignment.id)
    ).all()
    by_rubric: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for uid, rubric_id, result_json in rows:
        by_rubric.setdefault(int(rubric_id), []).append((int(uid), json.loads(result_json or "{}")))
    out: list[AccuracyLine] = []
    for rubric_id, answers in by_rubric.items():
        rubric = session.get(RubricVersion, rubric_id)
        assert rubric is not None
        raters, given, key = [], [], []
        items: dict[int, int] = {}
        for uid, result in answers:
            items[uid] = items.get(uid, 0) + 1
            for c in result.get("criteria", []):
                raters.append(uid)
                given.append(int(c["level"]))
                key.append(int(c["key"]))
        if not raters:
            continue
        table = accuracy_by_rater(
            np.asarray(raters), np.asarray(given), np.asarray(key), levels=rubric.level_values
        )
        for uid in sorted(items, key=lambda u: names.get(u, "")):
            acc = table.by_rater.get(uid)
            if acc is None:
                continue
            d = acc.mean_signed_deviation
            lean = interpret(
                d.value, (d.ci_low, d.ci_high), scale="lean", n_anchors=items[uid], n_scores=acc.n,
                min_anchors=rules.min_anchors, min_scores=rules.min_scores,
            )  # fmt: skip
            out.append(
                AccuracyLine(
                    names.get(uid, f"assessor {uid}"),
                    uid,
                    f"{rubric.title} (version {rubric.version})",
                    items[uid],
                    acc.exact,
                    acc.adjacent,
                    d,
                    lean,
                )
            )
    return out


def validity_page(
    session: Session,
    program_id: int,
    *,
    status: ValidityStatus | None = None,
    assessor_id: int | None = None,
    page: int = 1,
    now: dt.datetime | None = None,
) -> ValidityPage:
    now = now or utcnow()
    settings = ProgramSettings.of_program(session, program_id)
    people = session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
        .order_by(User.name)
    ).all()
    names = {int(u): n for u, n in people}
    stmt = select(ValidityAssignment).where(ValidityAssignment.program_id == program_id)
    if status is not None:
        stmt = stmt.where(ValidityAssignment.status == status)
    if assessor_id is not None:
        stmt = stmt.where(ValidityAssignment.assessor_id == assessor_id)
    page = max(page, 1)
    found = list(
        session.scalars(
            stmt.order_by(ValidityAssignment.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
        )
    )
    rows, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    titles = dict(
        session.execute(
            select(Anchor.id, Anchor.title).where(Anchor.id.in_({r.anchor_id for r in rows}))
        ).all()
    )
    lines = []
    for r in rows:
        result = json.loads(r.result_json) if r.result_json else None
        lines.append(
            AssignmentLine(
                r,
                names.get(r.assessor_id, f"assessor {r.assessor_id}"),
                titles.get(r.anchor_id, f"anchor {r.anchor_id}"),
                r.status == ValidityStatus.ASSIGNED and r.expires_at <= now,
                None if result is None else int(result["exact"]),
                None if result is None else int(result["n"]),
                None if result is None else result["mean_deviation"],
            )
        )
    flags = list(
        session.scalars(
            select(DriftFlag)
            .where(DriftFlag.program_id == program_id, DriftFlag.stream == EvidenceStream.VALIDITY)
            .order_by(DriftFlag.id.desc())
            .limit(PAGE_SIZE)
        )
    )
    return ValidityPage(
        rules=settings.validity,
        counts=_counts(session, program_id, now),
        lines=lines,
        page=page,
        more=more,
        assessors=[(int(u), n) for u, n in people],
        accuracy=_accuracy(session, program_id, names, settings.drift),
        flags=lines_for(session, flags),
    )


__all__ = ["PAGE_SIZE", "AccuracyLine", "AssignmentLine", "ValidityPage", "validity_page"]

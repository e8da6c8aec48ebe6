"""The assessor profile and the program overview for lead trainers.

Both pages read aggregates, never whole rounds' reports: the profile reads one assessor's score
rows (one Core query) and gets accuracy per round and per criterion from
:func:`calibration.stats.accuracy_by_rater` with the round as the group; the overview gets each
round's cohort alpha from level counts aggregated in SQL (``GROUP BY`` round, anchor, criterion,
level), expanded back into rows for :func:`calibration.stats.krippendorff_alpha` with the same
seed and resamples as the round report, so both pages show the same interval. Results are cached
per database state, like the round report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Assignment,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Membership,
    Program,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreCorrection,
    ScoreSheet,
    User,
    effective_level,
)
from ..stats.accuracy import AccuracyResult, accuracy_by_rater
from ..stats.labels import interpret
from ..stats.passrule import PassDecision, PassRule, evaluate_pass_rule
from ..stats.results import Estimate
from . import report_store
from .cohort_alpha import ROUND_ALPHAS, ROUND_SHEET_COUNTS, alpha_label, round_alphas, round_sheet_counts
from .errors import NotFound
from .flags import FlagLine, flag_lines
from .policy import ProgramSettings
from .report_cache import ROUND_REPORTS, ReportCache, database_identity
from .rules import pass_rule_from_json
from .score_rows import int_columns, keyed_scores, label_id

__all__ = [
    "PROFILES",
    "ROUND_ALPHAS",
    "STATUS_ORDER",
    "AssessorProfile",
    "CriterionLine",
    "DueLine",
    "ProfileRound",
    "ProgramOverview",
    "RoundAlpha",
    "RubricSection",
    "assessor_profile",
    "clear_caches",
    "program_overview",
]

PROFILES = ReportCache(maxsize=64, namespace="profile")


def clear_caches() -> None:
    """Forget every cached report, profile and alpha (the benchmark's cold runs; never needed for
    correctness: keys follow the database)."""
    ROUND_REPORTS.clear()
    PROFILES.clear()
    ROUND_ALPHAS.clear()
    ROUND_SHEET_COUNTS.clear()
    report_store.clear()


# ------------------------------------------------------------------------------------------- profile
@dataclass(frozen=True)
class ProfileRound:
    """One round of the assessor's history (accuracy against the key version of each sheet)."""

    round_id: int
    name: str
    kind: RoundKind
    status: RoundStatus
    opens_at: dt.datetime
    closes_at: dt.datetime
    n_anchors: int
    n_done: int
    accuracy: AccuracyResult | None
    decision: PassDecision | None


@dataclass(frozen=True)
class CriterionLine:
    """The assessor's accuracy on one criterion over every round of one rubric version.

    ``finding`` is a plain sentence when the criterion is a weak spot (exact agreement clearly below
    the pass rule, or a deviation whose interval excludes zero); ``too_few`` when there are fewer
    criterion-scores than the pass rule's minimum (DESIGN §6: no judgement then).
    """

    criterion_id: int
    title: str
    accuracy: AccuracyResult
    too_few: bool
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RubricSection:
    rubric_version_id: int
    title: str
    version: int
    level_labels: dict[int, str]
    overall: AccuracyResult
    criteria: list[CriterionLine]
    min_exact: float | None = None  # exact agreement the weak spots are judged against (by scale)


@dataclass(frozen=True)
class AssessorProfile:
    user_id: int
    name: str
    email: str
    status: CertificationStatus | None
    certified_at: dt.datetime | None
    expires_at: dt.datetime | None
    member_since: dt.datetime
    rule: PassRule
    rounds: list[ProfileRound] = field(default_factory=list)
    sections: list[RubricSection] = field(default_factory=list)
    flags: tuple[FlagLine, ...] = ()  # drift flags about this assessor, open ones first

    @property
    def n_sheets(self) -> int:
        return sum(r.n_done for r in self.rounds)


def _findings(result: AccuracyResult, rule: PassRule) -> tuple[str, ...]:
    """Plain-language weak spots, from the result's own intervals compared with the pass rule."""
    out = []
    if result.exact.ci_high is not None and result.exact.ci_high < rule.min_exact:
        out.append(f"exact agreement is clearly below the {rule.min_exact:.0%} the pass rule asks for")
    msd = result.mean_signed_deviation
    # Called only at or above the minimum criterion-scores: the lean is decided by the one labeller.
    lean = interpret(
        msd.value, msd.interval, scale="lean", n_anchors=rule.min_anchors, n_scores=result.n,
        min_anchors=rule.min_anchors, min_scores=rule.min_scores,
    )  # fmt: skip
    if lean == "lenient":
        out.append("scores are systematically above the key (lenient)")
    elif lean == "severe":
        out.append("scores are systematically below the key (severe)")
    return tuple(out)


def assessor_profile(
    session: Session, *, program_id: int, user_id: int, leave_out: frozenset[int] = frozenset()
) -> AssessorProfile:
    """Every round of one assessor with accuracy, category use and per-criterion weak spots.

    ``leave_out``: ids of the assessor's sheets to keep out of every figure (My progress leaves out
    practice sheets whose key still waits for another try: :func:`.practice.withheld_sheets`).
    """
    person = session.execute(
        select(
            User.id,
            User.name,
            User.email,
            Membership.certification_status,
            Membership.certified_at,
            Membership.certification_expires_at,
            Membership.created_at,
        )
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
    ).one_or_none()
    if person is None:
        raise NotFound("assessor")
    settings = ProgramSettings.of_program(session, program_id)
    rule = settings.pass_rule
    mine = or_(
        Round.id.in_(select(Assignment.round_id).where(Assignment.user_id == user_id)),
        Round.id.in_(select(ScoreSheet.round_id).where(ScoreSheet.assessor_id == user_id)),
    )
    rounds = session.execute(
        select(
            Round.id,
            Round.name,
            Round.kind,
            Round.status,
            Round.opens_at,
            Round.closes_at,
            Round.rubric_version_id,
            Round.pass_rule_json,
        )
        .where(Round.program_id == program_id, mine)
        .order_by(Round.opens_at, Round.id)
    ).all()
    round_ids = select(Round.id).where(Round.program_id == program_id, mine)
    n_anchors = dict(
        session.execute(
            select(RoundAnchor.round_id, func.count())
            .where(RoundAnchor.round_id.in_(round_ids))
            .group_by(RoundAnchor.round_id)
        ).all()
    )
    sheets = session.execute(
        select(ScoreSheet.round_id, func.count(), func.max(ScoreSheet.id))
        .where(ScoreSheet.assessor_id == user_id, ScoreSheet.round_id.in_(round_ids))
        .group_by(ScoreSheet.round_id)
    ).all()
    done = {rid: n for rid, n, _ in sheets}
    corrected = session.execute(
        select(ScoreCorrection.round_id, func.max(ScoreCorrection.id))
        .join(ScoreSheet, ScoreSheet.id == ScoreCorrection.sheet_id)
        .where(ScoreSheet.assessor_id == user_id, ScoreCorrection.round_id.in_(round_ids))
        .group_by(ScoreCorrection.round_id)
    ).all()
    state = (
        database_identity(session),
        program_id,
        user_id,
        tuple(sorted((rid, n, top) for rid, n, top in sheets)),
        tuple(sorted(corrected)),
        tuple((r.id, r.rubric_version_id, r.pass_rule_json) for r in rounds),
        rule,
        settings.exact_by_scale,
        tuple(sorted(leave_out)),
    )
    results, sections = PROFILES.get_or_compute(
        state, lambda: _profile_statistics(session, user_id, rounds, round_ids, done, settings, leave_out)
    )
    lines = [
        ProfileRound(
            r.id,
            r.name,
            r.kind,
            r.status,
            r.opens_at,
            r.closes_at,
            n_anchors.get(r.id, 0),
            done.get(r.id, 0),
            *results.get(r.id, (None, None)),
        )
        for r in rounds
    ]
    return AssessorProfile(
        user_id=person.id,
        name=person.name,
        email=person.email,
        status=person.certification_status,
        certified_at=person.certified_at,
        expires_at=person.certification_expires_at,
        member_since=person.created_at,
        flags=tuple(flag_lines(session, program_id, user_id=person.id)),
        rule=rule,
        rounds=lines,
        sections=sections,
    )


def _profile_statistics(
    session: Session,
    user_id: int,
    rounds: Sequence[Any],
    round_ids: Any,
    done: dict[int, int],
    settings: ProgramSettings,
    leave_out: frozenset[int] = frozenset(),
) -> tuple[dict[Any, tuple[AccuracyResult, PassDecision | None]], list[RubricSection]]:
    """Accuracy per round and per criterion, one call per rubric version (the round is the group)."""
    stmt, _ = keyed_scores(
        round_ids, "sheet", [ScoreSheet.round_id, CriterionScore.criterion_id, effective_level()]
    )
    stmt = stmt.where(ScoreSheet.assessor_id == user_id)
    if leave_out:
        stmt = stmt.where(ScoreSheet.id.not_in(sorted(leave_out)))
    arr = int_columns(session, stmt, 5)
    rubric_of = {r.id: r.rubric_version_id for r in rounds}
    rubric_ids = sorted({rubric_of[int(rid)] for rid in np.unique(arr[:, 0])})
    if not rubric_ids:
        return {}, []
    rubrics = {
        r.id: r
        for r in session.execute(
            select(
                RubricVersion.id, RubricVersion.title, RubricVersion.version, RubricVersion.earn_cut
            ).where(RubricVersion.id.in_(rubric_ids))
        ).all()
    }
    levels: dict[int, dict[int, str]] = {rid: {} for rid in rubric_ids}
    for rid, value, label in session.execute(
        select(Level.rubric_version_id, Level.value, Level.label)
        .where(Level.rubric_version_id.in_(rubric_ids))
        .order_by(Level.rubric_version_id, Level.position)
    ).all():
        levels[rid][value] = label
    criteria: dict[int, list[tuple[int, str]]] = {rid: [] for rid in rubric_ids}
    for cid, rid, title in session.execute(
        select(Criterion.id, Criterion.rubric_version_id, Criterion.title)
        .where(Criterion.rubric_version_id.in_(rubric_ids))
        .order_by(Criterion.rubric_version_id, Criterion.position)
    ).all():
        criteria[rid].append((cid, title))

    rules = {r.id: pass_rule_from_json(r.pass_rule_json) for r in rounds}
    kinds = {r.id: r.kind for r in rounds}
    row_rubric = np.array([rubric_of[int(x)] for x in arr[:, 0]], dtype=np.int64)
    results: dict[Any, tuple[AccuracyResult, PassDecision | None]] = {}
    sections = []
    for rid in rubric_ids:
        part = arr[row_rubric == rid]
        info = rubrics[rid]
        rule = settings.pass_rule_for(len(levels[rid]))  # weak spots against the scale's own minimum
        table = accuracy_by_rater(
            part[:, 0],
            part[:, 2],
            part[:, 3],
            levels=list(levels[rid]),
            earn_cut=info.earn_cut,
            criteria=part[:, 1],
        )
        for round_id, result in table.by_rater.items():
            rid_ = label_id(round_id)  # the group ids are round ids
            # Practice never counts toward a decision (DESIGN §2): its accuracy is shown, no verdict.
            decision = (
                None
                if kinds[rid_] == RoundKind.PRACTICE
                else evaluate_pass_rule(result, rules[rid_], n_anchors=done.get(rid_, 0))
            )
            results[round_id] = (result, decision)
        lines = [
            CriterionLine(
                cid,
                title,
                table.by_criterion[cid],
                too_few=table.by_criterion[cid].n < rule.min_scores,
                findings=()
                if table.by_criterion[cid].n < rule.min_scores
                else _findings(table.by_criterion[cid], rule),
            )
            for cid, title in criteria[rid]
            if cid in table.by_criterion
        ]
        sections.append(
            RubricSection(rid, info.title, info.version, levels[rid], table.overall, lines, rule.min_exact)
        )
    return results, sections


# ------------------------------------------------------------------------------------------ overview
@dataclass(frozen=True)
class RoundAlpha:
    round_id: int
    name: str
    kind: RoundKind
    status: RoundStatus
    opens_at: dt.datetime
    n_sheets: int
    n_assessors: int
    alpha: Estimate | None  # None: no scores yet
    label: str | None = None  # from calibration.stats.labels.interpret, under the round's pass rule


@dataclass(frozen=True)
class DueLine:
    user_id: int
    name: str
    status: CertificationStatus | None
    expires_at: dt.datetime | None
    days_left: int | None
    reason: str


@dataclass(frozen=True)
class ProgramOverview:
    program_name: str
    reminder_days: int
    today: dt.datetime
    rounds: list[RoundAlpha]
    statuses: list[tuple[str, int]]
    due: list[DueLine]

    @property
    def n_assessors(self) -> int:
        return sum(n for _, n in self.statuses)

    @property
    def trend(self) -> list[RoundAlpha]:
        """The cohort's agreement over time: calibration rounds that have opened, oldest first."""
        return [r for r in self.rounds if r.kind == RoundKind.CALIBRATION and r.status != RoundStatus.DRAFT]

    @property
    def scored_rounds(self) -> list[RoundAlpha]:
        return [r for r in self.trend if r.alpha is not None]

    @property
    def other_rounds(self) -> list[tuple[str, list[RoundAlpha]]]:
        """Every round not in :attr:`trend`, grouped under its kind (calibration drafts apart),
        newest first within a group."""
        groups: dict[str, list[RoundAlpha]] = {}
        trend = {r.round_id for r in self.trend}
        for r in self.rounds:
            if r.round_id not in trend:
                kind = "calibration (draft)" if r.kind == RoundKind.CALIBRATION else r.kind.value
                groups.setdefault(kind, []).append(r)
        order = [k.value for k in RoundKind if k != RoundKind.CALIBRATION] + ["calibration (draft)"]
        return [(k, groups[k][::-1]) for k in order if k in groups]


STATUS_ORDER = [s.value for s in CertificationStatus]


def program_overview(
    session: Session, *, program_id: int, now: dt.datetime | None = None, every_alpha: bool = False
) -> ProgramOverview:
    """Cohort alpha per calibration round over time (``every_alpha``: of every round, for the
    export), assessors by status, and who is due for recalibration."""
    now = now or utcnow()
    program = session.execute(
        select(Program.name, Program.settings_json).where(Program.id == program_id)
    ).one()
    reminder_days = ProgramSettings.from_json(program.settings_json).certification.reminder_days
    rounds = session.execute(
        select(
            Round.id,
            Round.name,
            Round.kind,
            Round.status,
            Round.opens_at,
            Round.rubric_version_id,
            RubricVersion.level_of_measurement,
            Round.pass_rule_json,
            RubricVersion.title,
        )
        .join(RubricVersion, RubricVersion.id == Round.rubric_version_id)
        .where(Round.program_id == program_id)
        .order_by(Round.opens_at, Round.id)
    ).all()
    practising = dict(  # a practice round is one person's: it is named after its rubric and them
        session.execute(
            select(Assignment.round_id, User.name)
            .join(User, User.id == Assignment.user_id)
            .join(Round, Round.id == Assignment.round_id)
            .where(Round.program_id == program_id, Round.kind == RoundKind.PRACTICE)
        ).all()
    )
    counts = round_sheet_counts(session, program_id)
    corrected = dict(
        session.execute(
            select(ScoreCorrection.round_id, func.max(ScoreCorrection.id))
            .join(Round, Round.id == ScoreCorrection.round_id)
            .where(Round.program_id == program_id)
            .group_by(ScoreCorrection.round_id)
        ).all()
    )
    # The page's trend shows the alpha of calibration rounds only: the others are not computed.
    trend = [r for r in rounds if r.kind == RoundKind.CALIBRATION and r.status != RoundStatus.DRAFT]
    alphas = round_alphas(session, rounds if every_alpha else trend, counts, corrected)
    lines = [
        RoundAlpha(
            r.id,
            _round_name(r, practising.get(r.id)),
            r.kind,
            r.status,
            r.opens_at,
            counts.get(r.id, (0, None, 0))[0],
            counts.get(r.id, (0, None, 0))[2],
            alphas.get(r.id),
            alpha_label(alphas.get(r.id), r.pass_rule_json),
        )
        for r in rounds
    ]
    assessors = (Membership.program_id == program_id) & (Membership.role == Role.ASSESSOR)
    by_status = dict(
        session.execute(
            select(Membership.certification_status, func.count())
            .where(assessors)
            .group_by(Membership.certification_status)
        ).all()
    )
    statuses = [(s.value, by_status.get(s, 0)) for s in CertificationStatus]
    if by_status.get(None):
        statuses.append(("no status", by_status[None]))
    horizon = now + dt.timedelta(days=reminder_days)
    due_rows = session.execute(
        select(User.id, User.name, Membership.certification_status, Membership.certification_expires_at)
        .join(Membership, Membership.user_id == User.id)
        .where(
            assessors,
            or_(
                Membership.certification_status == CertificationStatus.RECALIBRATION_DUE,
                (Membership.certification_expires_at <= horizon)
                & (Membership.certification_status != CertificationStatus.SUSPENDED),
            ),
        )
    ).all()
    # Soonest (or longest expired) first; "recalibration due" without an expiry date last.
    due = sorted(
        (_due_line(row, now) for row in due_rows),
        key=lambda d: (d.expires_at is None, d.expires_at or now, d.name),
    )
    return ProgramOverview(program.name, reminder_days, now, lines, statuses, due)


def _round_name(row: Any, person: str | None) -> str:
    if row.kind != RoundKind.PRACTICE:
        return str(row.name)
    return f"{row.name}: {row.title}, {person}" if person else f"{row.name}: {row.title}"


def _due_line(row: Any, now: dt.datetime) -> DueLine:
    expires = row.certification_expires_at
    days = None if expires is None else int((expires - now).total_seconds() / 86400)  # whole days, toward 0
    if expires is None or days is None:
        reason = "recalibration due"
    elif expires <= now:
        reason = "certification expired today" if days == 0 else f"certification expired {_days(-days)} ago"
    else:
        reason = "certification expires today" if days == 0 else f"certification expires in {_days(days)}"
    if row.certification_status == CertificationStatus.RECALIBRATION_DUE and expires is not None:
        reason = f"recalibration due; {reason}"
    return DueLine(row.id, row.name, row.certification_status, expires, days, reason)


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"

"""Round results for lead trainers: score rows read through the query kernel
(:mod:`calibration.services.score_rows`), statistics from :mod:`calibration.stats`, cached per
state of the round (:mod:`calibration.services.report_cache`).

Two ways to compare scores with the master key: ``"sheet"`` (default) uses the key version each
sheet was scored against; ``"current"`` recomputes every sheet against its anchor's latest key.

The computed :class:`~calibration.stats.RoundReport` is cached in-process, keyed by what the
database says about the round (sheet count and highest sheet id, latest score correction, key
versions involved, rubric,
pass rule, key mode, database): a new sheet or key version gives a new key, so any process computes
the same answer and a stale entry is never used. The cache only saves work; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import (
    Anchor,
    AnchorKeyVersion,
    Assignment,
    Criterion,
    Level,
    Round,
    RoundAnchor,
    RubricVersion,
    ScoreCorrection,
    ScoreSheet,
    User,
)
from ..stats.accuracy import AccuracyResult
from ..stats.labels import interpret
from ..stats.passrule import PassDecision, PassRule
from ..stats.report import CohortReliability, RoundReport, round_report
from .errors import NotFound
from .report_cache import ROUND_REPORTS, ReportCache, database_identity
from .rules import level_of_measurement, pass_rule_from_json
from .score_rows import (
    KEY_MODES,
    KeyMode,
    ScoreRows,
    int_columns,
    keyed_scores,
    latest_key_versions,
    round_score_rows,
)

__all__ = [
    # with the score-row kernel and the report cache, re-exported for callers of their old home
    "KEY_MODES",
    "N_BOOT",
    "PAIRWISE_FULL_TABLE",
    "PAIRWISE_LOWEST",
    "ROUND_REPORTS",
    "AssessorLine",
    "KeyMode",
    "PairLine",
    "ReportCache",
    "RoundOverview",
    "ScoreRows",
    "compute_round_report",
    "database_identity",
    "get_round",
    "int_columns",
    "keyed_scores",
    "round_overview",
    "round_score_rows",
    "round_state",
]

#: Bootstrap resamples behind every interval of alpha and the kappas (DESIGN §5: at least 1,000).
N_BOOT = 1000
#: Up to this many assessors the pairwise kappa table lists every pair; above it, the lowest pairs.
PAIRWISE_FULL_TABLE = 25
PAIRWISE_LOWEST = 25


# ------------------------------------------------------------------------------------------- reading
def round_state(session: Session, rnd: Round, key_mode: KeyMode) -> tuple[Any, ...]:
    """What the cached report depends on, read from the database in one query."""
    in_round = ScoreSheet.round_id == rnd.id
    anchors = select(ScoreSheet.anchor_id).where(in_round)
    parts = [
        select(func.count(ScoreSheet.id)).where(in_round).scalar_subquery(),
        select(func.max(ScoreSheet.id)).where(in_round).scalar_subquery(),
        # Corrections are only ever added: the highest id changes with any new one.
        select(func.max(ScoreCorrection.id)).where(ScoreCorrection.round_id == rnd.id).scalar_subquery(),
    ]
    if key_mode == "current":
        # Key versions are only ever added: their count and highest id change with any new key.
        parts += [
            select(func.count(AnchorKeyVersion.id))
            .where(AnchorKeyVersion.anchor_id.in_(anchors))
            .scalar_subquery(),
            select(func.max(AnchorKeyVersion.id))
            .where(AnchorKeyVersion.anchor_id.in_(anchors))
            .scalar_subquery(),
        ]
    state = tuple(session.execute(select(*parts)).one())
    return (database_identity(session), rnd.id, key_mode, rnd.rubric_version_id, rnd.pass_rule_json, *state)


# ------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class AssessorLine:
    user_id: int
    name: str
    n_done: int
    n_anchors: int
    accuracy: AccuracyResult | None
    decision: PassDecision | None
    n_corrections: int = 0  # scores on this assessor's sheets corrected by a trainer

    @property
    def finished(self) -> bool:
        return self.n_anchors > 0 and self.n_done >= self.n_anchors


@dataclass(frozen=True)
class PairLine:
    """One pair of assessors in the pairwise kappa table."""

    a: str
    b: str
    kappa: float | None
    n_common: int
    ci_low: float | None = None  # seeded bootstrap 95% interval over the units the pair shares
    ci_high: float | None = None
    too_few: bool = False  # below the minimum evidence: the number, and "too few to judge"


@dataclass(frozen=True)
class RoundOverview:
    round: Round
    rubric: RubricVersion
    n_anchors: int
    lines: list[AssessorLine] = field(default_factory=list)
    report: RoundReport | None = None
    criterion_titles: dict[Any, str] = field(default_factory=dict)
    anchor_titles: dict[Any, str] = field(default_factory=dict)
    key_versions: list[int] = field(default_factory=list)
    key_mode: KeyMode = "sheet"
    n_sheets: int = 0
    n_stale_sheets: int = 0
    level_labels: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def n_corrections(self) -> int:
        return sum(line.n_corrections for line in self.lines)

    @property
    def n_finished(self) -> int:
        return sum(1 for line in self.lines if line.finished)

    @cached_property
    def pass_rule(self) -> PassRule:
        """The round's stored rule, parsed once (the page asks for it per assessor)."""
        return pass_rule_from_json(self.round.pass_rule_json)

    @property
    def levels(self) -> list[int]:
        return list(self.level_labels)

    def name(self, user_id: Any) -> str:
        return self.names.get(int(user_id), f"Assessor {user_id}")

    @property
    def pairwise_complete(self) -> bool:
        """Whether :meth:`pairwise_lines` lists every pair (else only the lowest ones)."""
        return self.report is None or len(self.report.pairwise_kappa.rater_ids) <= PAIRWISE_FULL_TABLE

    def pairwise_lines(self, *, every_pair: bool = False) -> list[PairLine]:
        """Pairs of assessors with their kappa: all pairs for a small cohort, else the lowest
        :data:`PAIRWISE_LOWEST` (undefined pairs last). ``every_pair`` always lists all of them."""
        if self.report is None:
            return []
        pm = self.report.pairwise_kappa
        ids = [int(x) for x in pm.rater_ids]
        a, b = np.triu_indices(len(ids), k=1)
        kappas = pm.values[a, b]
        if not (every_pair or self.pairwise_complete):
            order = np.argsort(np.where(np.isnan(kappas), np.inf, kappas), kind="stable")[:PAIRWISE_LOWEST]
            a, b, kappas = a[order], b[order], kappas[order]
        common = pm.n_common[a, b]
        no_interval = np.full(a.size, np.nan)  # a matrix computed without bootstrap intervals
        lows = no_interval if pm.ci_low is None else pm.ci_low[a, b]
        highs = no_interval if pm.ci_high is None else pm.ci_high[a, b]
        report = self.report
        return [
            PairLine(
                self.name(ids[i]),
                self.name(ids[j]),
                _number(k),
                int(n),
                _number(lo),
                _number(hi),
                report.pair_too_few(int(n)),
            )
            for i, j, k, n, lo, hi in zip(
                a.tolist(),
                b.tolist(),
                kappas.tolist(),
                common.tolist(),
                lows.tolist(),
                highs.tolist(),
                strict=True,
            )
        ]

    def lean(self, line: AssessorLine) -> str | None:
        """ "lenient", "severe", "no clear lean" or "too few to judge" for one assessor's signed deviation
        (:func:`calibration.stats.labels.interpret`, under the round's pass rule); None when undefined."""
        if line.accuracy is None:
            return None
        msd = line.accuracy.mean_signed_deviation
        rule = self.pass_rule
        return interpret(
            msd.value,
            msd.interval,
            scale="lean",
            n_anchors=line.n_done,
            n_scores=line.accuracy.n,
            min_anchors=rule.min_anchors,
            min_scores=rule.min_scores,
        )

    def alpha_label(self, rel: CohortReliability) -> str | None:
        """The label of one scope's alpha under the round's pass rule."""
        return rel.alpha_label(self.pass_rule)


def _number(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def get_round(session: Session, *, program_id: int, round_id: int) -> Round:
    """The round if it belongs to the program, else NotFound."""
    rnd = session.scalar(select(Round).where(Round.id == round_id, Round.program_id == program_id))
    if rnd is None:
        raise NotFound("round")
    return rnd


def compute_round_report(
    session: Session, rnd: Round, rubric: RubricVersion, levels: list[int], key_mode: KeyMode, n_boot: int
) -> RoundReport | None:
    """The round's report from its stored scores, cached per state of the round."""
    key = (*round_state(session, rnd, key_mode), n_boot)

    def compute() -> RoundReport | None:
        rows = round_score_rows(session, rnd.id, key_mode=key_mode)
        if not len(rows):
            return None
        return round_report(
            rows.anchor,
            rows.assessor,
            rows.criterion,
            rows.level,
            rows.key,
            levels=levels,
            earn_cut=rubric.earn_cut,
            level_of_measurement=level_of_measurement(rubric.level_of_measurement),
            pass_rule=pass_rule_from_json(rnd.pass_rule_json),
            n_boot=n_boot,
            seed=rnd.id,
        )

    return ROUND_REPORTS.get_or_compute(key, compute)


def round_overview(
    session: Session, *, program_id: int, round_id: int, key_mode: KeyMode = "sheet", n_boot: int = N_BOOT
) -> RoundOverview:
    """Progress and the full agreement report of one round, in a fixed number of queries."""
    if key_mode not in KEY_MODES:
        raise ValueError(f"key_mode must be one of {KEY_MODES}, got {key_mode!r}")
    rnd = get_round(session, program_id=program_id, round_id=round_id)
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None  # a foreign key guarantees it
    level_rows = session.execute(
        select(Level.value, Level.label).where(Level.rubric_version_id == rubric.id).order_by(Level.position)
    ).all()
    anchors = session.execute(
        select(Anchor.id, Anchor.title)
        .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
        .where(RoundAnchor.round_id == rnd.id)
        .order_by(RoundAnchor.position)
    ).all()
    criteria = session.execute(
        select(Criterion.id, Criterion.title)
        .where(Criterion.rubric_version_id == rubric.id)
        .order_by(Criterion.position)
    ).all()
    # Everyone assigned, plus anyone who submitted a sheet and was later unassigned.
    people = session.execute(
        select(User.id, User.name)
        .where(
            or_(
                User.id.in_(select(Assignment.user_id).where(Assignment.round_id == rnd.id)),
                User.id.in_(select(ScoreSheet.assessor_id).where(ScoreSheet.round_id == rnd.id)),
            )
        )
        .order_by(User.name, User.id)
    ).all()
    done = dict(
        session.execute(
            select(ScoreSheet.assessor_id, func.count())
            .where(ScoreSheet.round_id == rnd.id)
            .group_by(ScoreSheet.assessor_id)
        ).all()
    )
    corrected = dict(
        session.execute(
            select(ScoreSheet.assessor_id, func.count(ScoreCorrection.id))
            .join(ScoreSheet, ScoreSheet.id == ScoreCorrection.sheet_id)
            .where(ScoreCorrection.round_id == rnd.id)
            .group_by(ScoreSheet.assessor_id)
        ).all()
    )
    key_versions, n_stale = _key_versions(session, rnd.id, key_mode)
    levels = [value for value, _ in level_rows]
    report = compute_round_report(session, rnd, rubric, levels, key_mode, n_boot)
    lines = [
        AssessorLine(
            user_id=uid,
            name=name,
            n_done=done.get(uid, 0),
            n_anchors=len(anchors),
            accuracy=report.accuracy.by_rater.get(uid) if report else None,
            decision=report.pass_decisions.get(uid) if report else None,
            n_corrections=corrected.get(uid, 0),
        )
        for uid, name in people
    ]
    return RoundOverview(
        rnd,
        rubric,
        len(anchors),
        lines,
        report,
        criterion_titles=dict(criteria),
        anchor_titles=dict(anchors),
        key_versions=key_versions,
        key_mode=key_mode,
        n_sheets=sum(done.values()),
        n_stale_sheets=n_stale,
        level_labels=dict(level_rows),
        names=dict(people),
    )


def _key_versions(session: Session, round_id: int, key_mode: KeyMode) -> tuple[list[int], int]:
    """Key version numbers the report uses, and how many sheets were scored against an older key."""
    kv = aliased(AnchorKeyVersion, name="kv")
    latest = latest_key_versions(select(ScoreSheet.anchor_id).where(ScoreSheet.round_id == round_id))
    row = (
        select(kv.version.label("stored"), latest.c.version.label("current"))
        .select_from(ScoreSheet)
        .join(kv, kv.id == ScoreSheet.key_version_id)
        .join(latest, latest.c.anchor_id == ScoreSheet.anchor_id)
        .where(ScoreSheet.round_id == round_id)
        .subquery()
    )
    column = row.c.current if key_mode == "current" else row.c.stored
    stale = func.sum(case((row.c.stored < row.c.current, 1), else_=0))
    counts = session.execute(select(column, stale).group_by(column).order_by(column)).all()
    return [int(v) for v, _ in counts], sum(int(s or 0) for _, s in counts)

"""Each round's cohort alpha for the program overview, from level counts instead of score rows.

The counts come from ``unit_level_count`` (kept in step with every criterion-score by a database
trigger) and are expanded back into rows for :func:`calibration.stats.krippendorff_alpha` with the
same seed and resamples as the round report, so the overview and the report show the same interval.
Results are cached per database state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Level, Round, ScoreSheet
from ..models.scoring import UnitLevelCount
from ..stats import krippendorff_alpha
from ..stats.results import Estimate
from .report_cache import ReportCache, database_identity
from .reports import N_BOOT
from .rules import level_of_measurement as measurement
from .rules import pass_rule_from_json
from .score_rows import int_columns

ROUND_ALPHAS = ReportCache(maxsize=512, namespace="round-alpha")
#: Each program's sheets per round, keyed by the criterion-score count of each of its rounds.
ROUND_SHEET_COUNTS = ReportCache(maxsize=64)

#: ``round id -> (sheets, highest sheet id, assessors, highest anchor id)``
SheetCounts = dict[int, tuple[int, int, int, int]]


def round_sheet_counts(session: Session, program_id: int) -> SheetCounts:
    """Sheets, the highest sheet id, assessors and the highest anchor id of every round of the
    program that has scores, for the overview and the cache keys of :func:`round_alphas`.

    Counting them means grouping every score sheet of the program (a ``COUNT(DISTINCT)`` over
    hundreds of thousands of rows at 300 assessors and 30 rounds), so the answer is cached under
    each round's number of criterion-scores read from ``unit_level_count`` (a few thousand rows, kept
    by a trigger in the transaction that inserts the scores). Sheets are never updated or deleted and
    each is inserted with its criterion-scores, so any new sheet changes that key; the highest sheet
    id is added as well.
    """
    state = session.execute(
        select(UnitLevelCount.round_id, func.sum(UnitLevelCount.n))
        .join(Round, Round.id == UnitLevelCount.round_id)
        .where(Round.program_id == program_id)
        .group_by(UnitLevelCount.round_id)
        .order_by(UnitLevelCount.round_id)
    ).all()
    key = (
        database_identity(session),
        program_id,
        session.scalar(select(func.max(ScoreSheet.id))),
        tuple((rid, int(n)) for rid, n in state),
    )

    def compute() -> SheetCounts:
        return {
            rid: (n, top, people, max_anchor)
            for rid, n, top, people, max_anchor in session.execute(
                select(
                    ScoreSheet.round_id,
                    func.count(ScoreSheet.id),
                    func.max(ScoreSheet.id),
                    func.count(ScoreSheet.assessor_id.distinct()),
                    func.max(ScoreSheet.anchor_id),
                )
                .join(Round, Round.id == ScoreSheet.round_id)
                .where(Round.program_id == program_id)
                .group_by(ScoreSheet.round_id)
            ).all()
        }

    return dict(ROUND_SHEET_COUNTS.get_or_compute(key, compute))


def alpha_label(alpha: Estimate | None, rule_json: Any) -> str | None:
    """The cohort alpha's label under the round's own minimum evidence (anchors and criterion-scores
    are recorded in ``alpha.extra`` by :func:`alpha_from_counts`)."""
    if alpha is None:
        return None
    rule = pass_rule_from_json(rule_json)
    return alpha.label(min_anchors=rule.min_anchors, min_scores=rule.min_scores)


def round_alphas(
    session: Session,
    rounds: Sequence[Any],
    counts: dict[int, tuple[int, int, int, int]],
    corrected: dict[int, int],
) -> dict[int, Estimate]:
    """Cohort alpha of every round with scores; only rounds not cached are read, in one query.

    ``corrected``: each round's highest score-correction id (a correction moves the level counts).
    """
    ident = database_identity(session)
    keys = {
        r.id: (
            ident,
            r.id,
            r.rubric_version_id,
            r.level_of_measurement,
            *counts[r.id][:2],
            corrected.get(r.id),
            N_BOOT,
        )
        for r in rounds
        if r.id in counts
    }
    out: dict[int, Estimate] = {}
    missing = []
    for rid, key in keys.items():
        hit = ROUND_ALPHAS.get(key)
        if hit is None:
            missing.append(rid)
        else:
            out[rid] = hit
    if not missing:
        return out
    info = {r.id: r for r in rounds}
    rubric_ids = sorted({info[rid].rubric_version_id for rid in missing})
    levels: dict[int, list[int]] = {rid: [] for rid in rubric_ids}
    for rid, value in session.execute(
        select(Level.rubric_version_id, Level.value)
        .where(Level.rubric_version_id.in_(rubric_ids))
        .order_by(Level.rubric_version_id, Level.position)
    ).all():
        levels[rid].append(value)
    agg = level_counts(session, missing)
    for rid in missing:
        r = info[rid]
        part = agg[agg[:, 0] == rid]
        estimate = alpha_from_counts(
            part[:, 1:], levels[r.rubric_version_id], r.level_of_measurement, counts[rid][2], seed=rid
        )
        ROUND_ALPHAS.put(keys[rid], estimate)
        out[rid] = estimate
    return out


def level_counts(session: Session, round_ids: list[int]) -> np.ndarray:
    """``(round, anchor, criterion, level, count)`` rows for the given rounds.

    Read from ``unit_level_count``, which a database trigger keeps in step with every criterion-score
    insert: a few thousand rows per program instead of a ``GROUP BY`` over millions of scores.
    """
    stmt = (
        select(
            UnitLevelCount.round_id,
            UnitLevelCount.anchor_id,
            UnitLevelCount.criterion_id,
            UnitLevelCount.level_value,
            UnitLevelCount.n,
        )
        .where(UnitLevelCount.round_id.in_(round_ids), UnitLevelCount.n > 0)
        .order_by(UnitLevelCount.round_id, UnitLevelCount.anchor_id, UnitLevelCount.criterion_id)
    )
    return int_columns(session, stmt, 5)


def alpha_from_counts(
    part: np.ndarray, levels: list[int], level_of_measurement: str, n_assessors: int, *, seed: int
) -> Estimate:
    """Alpha over (anchor, criterion) units from ``(anchor, criterion, level, count)`` rows.

    The counts are expanded back into one row per rating. Alpha depends only on each unit's level
    counts, not on who gave which level; the rater labels are therefore synthetic, distinct within a
    unit (each assessor scores a unit once, so a unit has at most ``n_assessors`` ratings) and
    rotated so the number of distinct labels matches the real number of assessors. The round report
    computes alpha on the same units with the same seed and resamples, so the two agree exactly.
    """
    pairs, unit = np.unique(part[:, :2], axis=0, return_inverse=True)
    unit = unit.reshape(-1)
    order = np.argsort(unit, kind="stable")
    unit, value, count = unit[order], part[order, 2], part[order, 3]
    units = np.repeat(unit, count)
    values = np.repeat(value, count)
    per_unit = np.bincount(units, minlength=pairs.shape[0])
    start = np.concatenate([[0], np.cumsum(per_unit)[:-1]])
    position = np.arange(units.size) - np.repeat(start, per_unit)
    raters = (position + units) % max(n_assessors, int(per_unit.max(initial=1)), 1)
    estimate = krippendorff_alpha(
        units,
        raters,
        values,
        levels=levels,
        level_of_measurement=measurement(level_of_measurement),
        n_boot=N_BOOT,
        seed=seed,
    )
    # The evidence behind the label: units are anchor x criterion, so count the anchors themselves.
    evidence = {"n_anchors": float(np.unique(pairs[:, 0]).size), "n_scores": float(count.sum())}
    return replace(estimate, extra={**estimate.extra, **evidence})

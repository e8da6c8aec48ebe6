"""The round's scores in long form (one row per criterion-score), for the round export's "scores" table.

Read in a fixed number of narrow queries instead of one wide row per score: the sheets (a few
thousand, with their round, anchor, assessor and time), the criterion-scores as plain integers, and
the small tables beside them (criteria, key entries, corrections). Each sheet's cells and each
criterion's cells are formatted once and shared by the rows that repeat them, so the cost is that of
the scores' integers, not of formatting every cell of every row.

A built export is kept in a small in-process cache while the round's data stays the same: its key is
what the database says (the round's sheet count, highest sheet id and highest correction id, key
versions for ``"current"``) plus every name and title the rows show, read fresh on each request
(a renamed assessor or anchor makes a new key). Sheets and corrections are only ever added. The cache
only saves work; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Anchor,
    Criterion,
    CriterionScore,
    Round,
    ScoreSheet,
    User,
)
from .report_cache import ReportCache
from .score_rows import KeyMode, key_entries, score_corrections, sheet_key_versions

__all__ = ["SCORES_HEADER", "SCORE_EXPORTS", "clear_cache", "score_table"]

SCORES_HEADER = (
    "round_id",
    "round",
    "anchor_id",
    "anchor",
    "assessor_id",
    "assessor",
    "criterion_key",
    "criterion",
    "level",
    "key_level",
    "key_version",
    "submitted_at_utc",
    "submitted_level",
    "corrections",
)

#: Built score tables (about 20 MB each in memory for 60,000 scores): only the latest two are kept.
SCORE_EXPORTS = ReportCache(maxsize=2)


def clear_cache() -> None:
    """Forget built score tables (the benchmark's cold runs; never needed for correctness)."""
    SCORE_EXPORTS.clear()


def freshness_key(session: Session, rnd: Round, key_mode: KeyMode, state: tuple[Any, ...]) -> tuple[Any, ...]:
    """What the score table shows besides the scores themselves: ``state`` (the round's sheet and
    correction totals, see :func:`calibration.services.reports.round_state`) and every name and
    title on its rows, in three small queries."""
    on_sheets = select(ScoreSheet.anchor_id).where(ScoreSheet.round_id == rnd.id)
    anchors = session.execute(
        select(Anchor.id, Anchor.title).where(Anchor.id.in_(on_sheets)).order_by(Anchor.id)
    ).all()
    people = session.execute(
        select(User.id, User.name)
        .where(User.id.in_(select(ScoreSheet.assessor_id).where(ScoreSheet.round_id == rnd.id)))
        .order_by(User.id)
    ).all()
    criteria = session.execute(
        select(Criterion.id, Criterion.key, Criterion.title, Criterion.position)
        .where(Criterion.rubric_version_id == rnd.rubric_version_id)
        .order_by(Criterion.id)
    ).all()
    return (
        *state,
        rnd.name,
        tuple(map(tuple, anchors)),
        tuple(map(tuple, people)),
        tuple(map(tuple, criteria)),
    )


def score_table(
    session: Session, rnd: Round, key_mode: KeyMode, cell: Callable[[Any], str]
) -> tuple[tuple[str, ...], ...]:
    """Every criterion-score of the round with its key level, as rows of cells (``cell`` formats
    each value), ordered by submission time, sheet and criterion position. Scores whose key version
    has no entry for their criterion are left out (as an inner join would)."""
    sheet_key = sheet_key_versions(session, rnd.id, key_mode)  # sheet id -> (key version id, number)
    entries = key_entries(session, {kv for kv, _ in sheet_key.values()})
    criteria = {
        cid: (cell(key), cell(title))
        for cid, key, title in session.execute(
            select(Criterion.id, Criterion.key, Criterion.title).where(
                Criterion.rubric_version_id == rnd.rubric_version_id
            )
        )
    }
    corrections = score_corrections(session, rnd.id)
    cells = _Cells(cell)
    # Per sheet: its six leading cells, its key version (id and cell) and its time's cell.
    sheets: dict[int, tuple[tuple[str, ...], int, str, str]] = {}
    for sid, rid, rname, aid, title, uid, name, submitted_at in session.execute(
        select(
            ScoreSheet.id,
            Round.id,
            Round.name,
            Anchor.id,
            Anchor.title,
            User.id,
            User.name,
            ScoreSheet.submitted_at,
        )
        .join(Round, Round.id == ScoreSheet.round_id)
        .join(Anchor, Anchor.id == ScoreSheet.anchor_id)
        .join(User, User.id == ScoreSheet.assessor_id)
        .where(ScoreSheet.round_id == rnd.id)
    ):
        # No key version (id 0, which no row has): the sheet's scores are left out below.
        kv_id, version = sheet_key.get(sid, (0, 0))
        lead = (cells[rid], cells[rname], cells[aid], cells[title], cells[uid], cells[name])
        sheets[sid] = (lead, kv_id, cells[version], cell(submitted_at))
    scores = (
        session.connection()
        .execute(
            select(
                CriterionScore.id,
                CriterionScore.sheet_id,
                CriterionScore.criterion_id,
                CriterionScore.level_value,
            )
            .join(ScoreSheet, ScoreSheet.id == CriterionScore.sheet_id)
            .join(Criterion, Criterion.id == CriterionScore.criterion_id)
            .where(ScoreSheet.round_id == rnd.id)
            .order_by(ScoreSheet.submitted_at, ScoreSheet.id, Criterion.position)
        )
        .all()
    )
    rows: list[tuple[str, ...]] = []
    append = rows.append
    for score_id, sheet_id, criterion_id, submitted in scores:
        lead_cells, key_version_id, version_cell, at_cell = sheets[sheet_id]
        key_level = entries.get((key_version_id, criterion_id))
        if key_level is None:
            continue
        level, n_corrections = corrections.get(score_id, (submitted, 0))
        append(
            lead_cells
            + criteria[criterion_id]
            + (cells[level], cells[key_level], version_cell, at_cell, cells[submitted], cells[n_corrections])
        )
    return tuple(rows)


class _Cells(dict[Any, str]):
    """Each value's cell, made on first use and shared by every row that repeats it."""

    def __init__(self, cell: Callable[[Any], str]) -> None:
        super().__init__()
        self._cell = cell

    def __missing__(self, value: Any) -> str:
        out = self[value] = self._cell(value)
        return out

"""The score-row query kernel: criterion-scores read through Core straight into numpy columns.

Every service that computes statistics from stored scores (round reports, exports, drift, assessor
profiles, certification, anchors, the demo) reads them through :func:`keyed_scores` and
:func:`int_columns`: one query, no ORM entities, each score beside the master-key level it is
compared with. Two ways to pick that key level (``key_mode``): ``"sheet"`` (default) uses the key
version each sheet was scored against; ``"current"`` uses each anchor's latest key version.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import Executable, Select, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.selectable import Subquery

from ..models import AnchorKeyEntry, AnchorKeyVersion, CriterionScore, ScoreCorrection, ScoreSheet

__all__ = [
    "KEY_MODES",
    "KeyMode",
    "ScoreRows",
    "int_columns",
    "key_entries",
    "keyed_scores",
    "label_id",
    "latest_key_versions",
    "round_score_rows",
    "score_corrections",
    "sheet_key_versions",
]

KeyMode = Literal["sheet", "current"]
KEY_MODES: tuple[KeyMode, ...] = ("sheet", "current")


def latest_key_versions(anchor_ids: Any) -> Subquery:
    """Subquery: each anchor's latest key version number (``anchor_id``, ``version``)."""
    return (
        select(AnchorKeyVersion.anchor_id, func.max(AnchorKeyVersion.version).label("version"))
        .where(AnchorKeyVersion.anchor_id.in_(anchor_ids))
        .group_by(AnchorKeyVersion.anchor_id)
        .subquery("latest_key")
    )


def keyed_scores(round_ids: Any, key_mode: KeyMode, columns: Sequence[Any]) -> tuple[Select[Any], Any]:
    """A Core select of criterion-scores in ``round_ids`` joined to the key level under ``key_mode``.

    Returns the statement (``columns`` first, then the key level and key version number) and the
    key-version alias, for callers that add columns. One query, no ORM entities.
    """
    kv = aliased(AnchorKeyVersion, name="kv")
    stmt = (
        select(*columns, AnchorKeyEntry.level_value.label("key_level"), kv.version.label("key_version"))
        .select_from(ScoreSheet)
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
    )
    if key_mode == "current":
        latest = latest_key_versions(select(ScoreSheet.anchor_id).where(ScoreSheet.round_id.in_(round_ids)))
        stmt = stmt.join(latest, latest.c.anchor_id == ScoreSheet.anchor_id).join(
            kv, (kv.anchor_id == latest.c.anchor_id) & (kv.version == latest.c.version)
        )
    else:
        stmt = stmt.join(kv, kv.id == ScoreSheet.key_version_id)
    stmt = stmt.join(
        AnchorKeyEntry,
        (AnchorKeyEntry.key_version_id == kv.id)
        & (AnchorKeyEntry.criterion_id == CriterionScore.criterion_id),
    ).where(ScoreSheet.round_id.in_(round_ids))
    return stmt, kv


def int_columns(session: Session, stmt: Executable, n_columns: int) -> np.ndarray:
    """Run a Core select of integer columns straight into an ``n x n_columns`` int64 array.

    The rows' values are streamed with ``np.fromiter``: ``np.array`` over Row objects probes each
    row for the array protocols, which costs far more than the query.
    """
    result = session.connection().execute(stmt)
    flat = np.fromiter(itertools.chain.from_iterable(result), dtype=np.int64)
    return flat.reshape(-1, n_columns)


@dataclass(frozen=True)
class ScoreRows:
    """Long-form score rows of one round, each with its key level and key version number."""

    assessor: np.ndarray
    anchor: np.ndarray
    criterion: np.ndarray
    level: np.ndarray
    key: np.ndarray
    key_version: np.ndarray

    def __len__(self) -> int:
        return int(self.level.size)


def round_score_rows(session: Session, round_id: int, *, key_mode: KeyMode = "sheet") -> ScoreRows:
    """The round's criterion-scores with their effective level and key level, as numpy columns.

    The same rows as :func:`keyed_scores` with :func:`~calibration.models.effective_level` would
    give, in the same order, read as one narrow query of plain integers (the scores on their
    sheets: no per-row correction subquery, no key join) and three small ones (each sheet's key
    version, those versions' key entries, the round's corrections), joined here in numpy. A score
    whose key version has no entry for its criterion is left out, as the join would.
    """
    scores = int_columns(
        session,
        select(
            CriterionScore.id,
            ScoreSheet.id,
            ScoreSheet.assessor_id,
            ScoreSheet.anchor_id,
            CriterionScore.criterion_id,
            CriterionScore.level_value,
        )
        .select_from(ScoreSheet)
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .where(ScoreSheet.round_id == round_id),
        6,
    )
    score_id, sheet, assessor, anchor, criterion, level = (scores[:, i] for i in range(6))
    sheet_keys = sheet_key_versions(session, round_id, key_mode)
    # Each score's key version (id and number): -1 where its sheet has none.
    sheet_ids = np.fromiter(sheet_keys, dtype=np.int64, count=len(sheet_keys))
    kv_of_sheet = np.fromiter((kv for kv, _ in sheet_keys.values()), dtype=np.int64, count=len(sheet_keys))
    number_of_sheet = np.fromiter((n for _, n in sheet_keys.values()), dtype=np.int64, count=len(sheet_keys))
    kv_id = _lookup(sheet_ids, kv_of_sheet, sheet)
    key_version = _lookup(sheet_ids, number_of_sheet, sheet)
    entries = key_entries(session, set(kv_of_sheet.tolist()))
    width = max([int(criterion.max(initial=0)), *(c for _, c in entries)], default=0) + 1
    entry_codes = np.fromiter((kv * width + c for kv, c in entries), dtype=np.int64, count=len(entries))
    entry_levels = np.fromiter(entries.values(), dtype=np.int64, count=len(entries))
    key = _lookup(entry_codes, entry_levels, np.where(kv_id >= 0, kv_id * width + criterion, -1))
    corrected = score_corrections(session, round_id)
    corrected_ids = np.fromiter(corrected, dtype=np.int64, count=len(corrected))
    corrected_levels = np.fromiter((lv for lv, _ in corrected.values()), dtype=np.int64, count=len(corrected))
    fixed = _lookup(corrected_ids, corrected_levels, score_id)
    level = np.where(fixed >= 0, fixed, level)
    keep = key >= 0
    return ScoreRows(assessor[keep], anchor[keep], criterion[keep], level[keep], key[keep], key_version[keep])


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` at the position of each of ``wanted`` in ``keys`` (distinct, non-negative), -1
    where it is not there."""
    if not keys.size:
        return np.full(wanted.shape, -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    pos = np.searchsorted(sorted_keys, wanted).clip(max=keys.size - 1)
    found = sorted_keys[pos] == wanted
    return np.where(found, values[order][pos], -1)


def sheet_key_versions(session: Session, round_id: int, key_mode: KeyMode) -> dict[int, tuple[int, int]]:
    """Each sheet's key version (id and number): the one it was scored against, or under
    ``"current"`` its anchor's latest."""
    kv = AnchorKeyVersion
    if key_mode == "current":
        latest = latest_key_versions(select(ScoreSheet.anchor_id).where(ScoreSheet.round_id == round_id))
        stmt = (
            select(ScoreSheet.id, kv.id, kv.version)
            .join(latest, latest.c.anchor_id == ScoreSheet.anchor_id)
            .join(kv, (kv.anchor_id == latest.c.anchor_id) & (kv.version == latest.c.version))
        )
    else:
        stmt = select(ScoreSheet.id, kv.id, kv.version).join(kv, kv.id == ScoreSheet.key_version_id)
    rows = session.execute(stmt.where(ScoreSheet.round_id == round_id))
    return {sid: (kv_id, version) for sid, kv_id, version in rows}


def key_entries(session: Session, key_version_ids: set[int]) -> dict[tuple[int, int], int]:
    """The key's level per (key version id, criterion id)."""
    if not key_version_ids:
        return {}
    rows = session.execute(
        select(AnchorKeyEntry.key_version_id, AnchorKeyEntry.criterion_id, AnchorKeyEntry.level_value).where(
            AnchorKeyEntry.key_version_id.in_(sorted(key_version_ids))
        )
    )
    return {(kv, cid): level for kv, cid, level in rows}


def score_corrections(session: Session, round_id: int) -> dict[int, tuple[int, int]]:
    """Each corrected criterion-score of the round: its effective level (its latest correction's)
    and how many corrections it has had."""
    rows = session.execute(
        select(ScoreCorrection.criterion_score_id, ScoreCorrection.level_value)
        .join(CriterionScore, CriterionScore.id == ScoreCorrection.criterion_score_id)
        .join(ScoreSheet, ScoreSheet.id == CriterionScore.sheet_id)
        .where(ScoreSheet.round_id == round_id)
        .order_by(ScoreCorrection.criterion_score_id, ScoreCorrection.seq)
    )
    out: dict[int, tuple[int, int]] = {}
    for score_id, level in rows:
        _, n = out.get(score_id, (level, 0))
        out[score_id] = (level, n + 1)
    return out


def label_id(label: Hashable | None) -> int:
    """An id (or round position) the statistics hand back as a generic label.

    The labels are values of the int64 columns read here, so they are integers; anything else is a
    programming error and raises TypeError, as ``int(None)`` would.
    """
    if isinstance(label, int | np.integer):
        return int(label)
    raise TypeError(f"expected an integer id, got {label!r}")

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

from ..models import AnchorKeyEntry, AnchorKeyVersion, CriterionScore, ScoreSheet, effective_level

__all__ = [
    "KEY_MODES",
    "KeyMode",
    "ScoreRows",
    "int_columns",
    "keyed_scores",
    "label_id",
    "latest_key_versions",
    "round_score_rows",
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
    """One Core query, plain tuples into numpy columns (no ORM entities)."""
    stmt, _ = keyed_scores(
        [round_id],
        key_mode,
        [
            ScoreSheet.assessor_id,
            ScoreSheet.anchor_id,
            CriterionScore.criterion_id,
            effective_level(),
        ],
    )
    arr = int_columns(session, stmt, 6)
    return ScoreRows(*(arr[:, i] for i in range(6)))


def label_id(label: Hashable | None) -> int:
    """An id (or round position) the statistics hand back as a generic label.

    The labels are values of the int64 columns read here, so they are integers; anything else is a
    programming error and raises TypeError, as ``int(None)`` would.
    """
    if isinstance(label, int | np.integer):
        return int(label)
    raise TypeError(f"expected an integer id, got {label!r}")

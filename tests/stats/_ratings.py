"""Hypothesis strategies and small helpers shared by the statistics tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

LEVEL_SETS = ([1, 2, 3, 4], [0, 1], [1, 2, 3], [0, 1, 2, 3, 4], [-2, 0, 5, 9], [10, 20, 30, 40, 50, 60])


@dataclass(frozen=True)
class Ratings:
    """A units x raters table (NaN missing) and its long rows."""

    table: np.ndarray
    levels: list[int]

    @property
    def long(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u, r = np.nonzero(~np.isnan(self.table))
        return u.astype(np.int64), r.astype(np.int64), self.table[u, r]

    @property
    def units(self) -> np.ndarray:
        return self.long[0]

    @property
    def raters(self) -> np.ndarray:
        return self.long[1]

    @property
    def values(self) -> np.ndarray:
        return self.long[2]


@st.composite
def ratings(
    draw: st.DrawFn,
    *,
    min_units: int = 0,
    max_units: int = 12,
    min_raters: int = 1,
    max_raters: int = 5,
    missing: bool = True,
) -> Ratings:
    levels = draw(st.sampled_from(LEVEL_SETS))
    n_units = draw(st.integers(min_units, max_units))
    n_raters = draw(st.integers(min_raters, max_raters))
    cells = st.one_of(st.none(), st.sampled_from(levels)) if missing else st.sampled_from(levels)
    flat = draw(st.lists(cells, min_size=n_units * n_raters, max_size=n_units * n_raters))
    table = np.array([np.nan if x is None else x for x in flat], dtype=float).reshape(n_units, n_raters)
    return Ratings(table, levels)


def long_rows(table: list[list[float | None]]) -> tuple[list[int], list[int], list[float]]:
    """Long rows from a units x raters list of lists (None missing)."""
    units, raters, values = [], [], []
    for i, row in enumerate(table):
        for j, v in enumerate(row):
            if v is not None:
                units.append(i)
                raters.append(j)
                values.append(v)
    return units, raters, values

"""Per-anchor summary: how raters scored each anchor against its key, with the *contentious* marker."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _check_lengths, _check_levels, _factorize, _level_index, _py
from calibration.stats.labels import MIN_ANCHORS
from calibration.stats.proportions import _proportion, wilson_intervals
from calibration.stats.results import Proportion

__all__ = ["AnchorRow", "AnchorSummary", "anchor_summary"]


@dataclass(frozen=True)
class AnchorRow:
    """How the raters scored one anchor on one criterion, against its key level.

    ``contentious`` marks an anchor where more than half of the ratings miss the key in the same direction
    (above, or below), with at least ``min_ratings`` ratings: it points at the key or the rubric, not at
    the assessors. ``direction`` is "above" or "below" then, else None. ``too_few`` is true below
    ``min_ratings`` ratings: no marker either way, only "too few to judge".

    ``mean_signed_deviation`` (level index, positive above the key) carries a Student's t 95% interval
    ``deviation_ci_low``/``deviation_ci_high`` (None below two ratings).
    """

    unit: Hashable
    criterion: Hashable | None
    key_level: Any
    n: int
    counts: tuple[int, ...]
    exact: Proportion
    n_above: int
    n_below: int
    mean_signed_deviation: float | None
    contentious: bool
    direction: Literal["above", "below"] | None
    deviation_ci_low: float | None = None
    deviation_ci_high: float | None = None
    too_few: bool = False


@dataclass(frozen=True)
class AnchorSummary:
    """One :class:`AnchorRow` per (anchor, criterion), sorted by anchor then criterion."""

    levels: tuple[Any, ...]
    rows: tuple[AnchorRow, ...]

    def get(self, unit: Hashable, criterion: Hashable | None = None) -> AnchorRow:
        """The row of one anchor (and criterion); KeyError if absent."""
        for row in self.rows:
            if row.unit == unit and row.criterion == criterion:
                return row
        raise KeyError((unit, criterion))

    @property
    def contentious(self) -> tuple[AnchorRow, ...]:
        return tuple(r for r in self.rows if r.contentious)


def anchor_summary(
    units: Any,
    raters: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    criteria: Any = None,
    min_ratings: int = MIN_ANCHORS,
) -> AnchorSummary:
    """Score distribution, exact share and direction of misses for every (anchor, criterion).

    Counts come from one ``np.bincount`` of ``group * q + level index``; the key level of each group from
    another. A row is *contentious* when ``n_above > n / 2`` or ``n_below > n / 2`` (a majority of the
    ratings miss the key the same way) and ``n >= min_ratings``.

    Parameters
    ----------
    units, raters : array_like
        The anchor and the assessor of each row.
    values, key : array_like
        The assessor's level and the key level of each row.
    levels : sequence
        The rubric's ordered levels (all of them).
    criteria : array_like, optional
        The criterion of each row; without it each anchor is one group.
    min_ratings : int
        Fewest ratings for a contentious marker (default 5, the minimum evidence of DESIGN §6: a
        "majority" of two or three ratings is one or two assessors); below it the row is ``too_few``.

    Returns
    -------
    AnchorSummary

    Raises
    ------
    ValueError
        A level outside ``levels``; two key levels for one anchor and criterion; a rater scoring the same
        anchor and criterion twice.

    References
    ----------
    DESIGN §5, "per anchor"; Student's t interval for the mean deviation.

    Examples
    --------
    >>> s = anchor_summary([1] * 5, [1, 2, 3, 4, 5], [3, 3, 2, 3, 2], [2] * 5, levels=[1, 2, 3])
    >>> row = s.get(1)
    >>> row.counts, row.n_above, row.contentious, row.direction, row.too_few
    ((0, 2, 3), 3, True, 'above', False)
    >>> round(row.mean_signed_deviation, 2), round(row.deviation_ci_low, 2), round(row.deviation_ci_high, 2)
    (0.6, -0.08, 1.28)
    >>> anchor_summary([1, 1, 1], [1, 2, 3], [3, 3, 2], [2, 2, 2], levels=[1, 2, 3]).get(1).too_few
    True
    """
    lv = _check_levels(levels, labels=True)
    q = lv.size
    _check_lengths(units=units, raters=raters, values=values, key=key, criteria=criteria)
    u_codes, unit_ids = _factorize(units, "units")
    r_codes, rater_ids = _factorize(raters, "raters")
    a = _level_index(values, lv, what="value")
    k = _level_index(key, lv, what="key level")
    if criteria is None:
        crit_ids, c_codes, n_c = np.zeros(0, dtype=np.intp), np.zeros_like(u_codes), 1
    else:
        c_codes, crit_ids = _factorize(criteria, "criteria")
        n_c = max(crit_ids.size, 1)
    n_g = unit_ids.size * n_c
    group = u_codes * n_c + c_codes
    pair = group * max(rater_ids.size, 1) + r_codes
    dup = np.bincount(pair, minlength=n_g * max(rater_ids.size, 1)) > 1
    if dup.any():
        g, r = divmod(int(np.flatnonzero(dup)[0]), max(rater_ids.size, 1))
        where = f"anchor {_py(unit_ids[g // n_c])!r}"
        where += f", criterion {_py(crit_ids[g % n_c])!r}" if criteria is not None else ""
        raise ValueError(f"rater {_py(rater_ids[r])!r} scored {where} more than once")
    counts = np.bincount(group * q + a, minlength=n_g * q).reshape(n_g, q)
    key_counts = np.bincount(group * q + k, minlength=n_g * q).reshape(n_g, q)
    n_keys = (key_counts > 0).sum(axis=1)
    if (n_keys > 1).any():
        g = int(np.flatnonzero(n_keys > 1)[0])
        where = f"anchor {_py(unit_ids[g // n_c])!r}"
        where += f", criterion {_py(crit_ids[g % n_c])!r}" if criteria is not None else ""
        found = [_py(x) for x in lv[key_counts[g] > 0]]
        raise ValueError(f"{where} has more than one key level: {found!r}")
    n = counts.sum(axis=1)
    key_idx = key_counts.argmax(axis=1)
    rows_g = np.arange(n_g)
    cum = counts.cumsum(axis=1)
    n_exact = counts[rows_g, key_idx]
    n_below = cum[rows_g, key_idx] - n_exact
    n_above = n - cum[rows_g, key_idx]
    dev = np.arange(q)[None, :] - key_idx[:, None]
    dev_sum = (counts * dev).sum(axis=1)
    dev_mean = dev_sum / np.maximum(n, 1)
    two = n >= 2
    ss = (counts * (dev - dev_mean[:, None]) ** 2).sum(axis=1)
    half = np.where(
        two,
        sps.t.ppf(0.975, np.maximum(n - 1, 1)) * np.sqrt(ss / np.maximum((n - 1) * n, 1)),
        np.nan,
    )
    above = (2 * n_above > n) & (n >= min_ratings)
    below = (2 * n_below > n) & (n >= min_ratings)
    levels_t = tuple(_py(x) for x in lv)
    exact_low, exact_high = wilson_intervals(n_exact, n)
    rows = []
    for g in np.flatnonzero(n > 0).tolist():
        ng = int(n[g])
        rows.append(
            AnchorRow(
                unit=_py(unit_ids[g // n_c]),
                criterion=_py(crit_ids[g % n_c]) if criteria is not None else None,
                key_level=levels_t[key_idx[g]],
                n=ng,
                counts=tuple(int(x) for x in counts[g]),
                exact=_proportion(int(n_exact[g]), ng, float(exact_low[g]), float(exact_high[g])),
                n_above=int(n_above[g]),
                n_below=int(n_below[g]),
                mean_signed_deviation=float(dev_sum[g]) / ng,
                contentious=bool(above[g] or below[g]),
                direction="above" if above[g] else "below" if below[g] else None,
                deviation_ci_low=float(dev_mean[g] - half[g]) if two[g] else None,
                deviation_ci_high=float(dev_mean[g] + half[g]) if two[g] else None,
                too_few=bool(ng < min_ratings),
            )
        )
    return AnchorSummary(levels=levels_t, rows=tuple(rows))

"""Agreement between live readers of the same work: pairing first and second reads, the adjudication
rate, and each reader's agreement with their co-readers.

Operational (live) scoring reads a submission once, often twice (double scoring) and, when the two
reads disagree, a third time (adjudication). The canonical input is long rows, one per read:
``units`` (a submission x criterion), ``reads`` (1 = first read, 2 = second read, more = adjudication
or a later read), the reader and the level. Everything here is vectorised over rows (sorting and
``bincount``), so a million reads take a fraction of a second.

Definitions (documented for trainers in ``docs/operational.md``):

* A **pair** is the first and the second read of one unit; units without both are not paired.
* A unit **needs adjudication** when it has a read after the second, or when its first and second
  reads are more than one level apart (the adjacent rule: two or more levels on the rubric's scale;
  on a two-level scale, any disagreement, since there is no adjacent level).
* A reader's **agreement with co-readers** is read on every pair they are in: their level against
  the other read's. Exact and exact-or-adjacent shares get Wilson intervals; the mean signed
  difference (own level minus the co-reader's, in level steps: + lenient, − severe) gets a Student t
  interval that treats the reader's submissions as clusters (the criteria of one submission are read
  together, so they are correlated): ``var = m/(m-1) * sum_s (D_s - mean n_s)^2 / n^2`` with ``m``
  submissions, ``D_s`` the sum of differences on submission ``s`` and ``n_s`` its pairs (Cochran 1977,
  §6.9), on ``m - 1`` df.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from .proportions import wilson_intervals

__all__ = ["CoreaderTable", "ReadPairs", "adjudication_needed", "coreader_agreement", "pair_reads"]


@dataclass(frozen=True, eq=False)
class ReadPairs:
    """Row indices of each unit's first read (``first``) and second read (``second``), and per unit
    (sorted unit order, ``unit_ids``) whether it has a read after the second (``later``)."""

    first: np.ndarray
    second: np.ndarray
    unit_ids: np.ndarray
    later: np.ndarray

    def __len__(self) -> int:
        return int(self.first.size)


def _sorted_by_unit(units: np.ndarray, reads: np.ndarray) -> np.ndarray | None:
    """The (unit, read) order of the rows, or None when they are in it already (as the report's
    query gives them: then no copy of the columns is made)."""
    if units.size < 2 or (
        bool(np.all(units[1:] >= units[:-1]))
        and bool(np.all((units[1:] != units[:-1]) | (reads[1:] > reads[:-1])))
    ):
        return None
    return np.lexsort((reads, units))


def pair_reads(units: Any, reads: Any) -> ReadPairs:
    """Pair each unit's first and second read.

    Parameters
    ----------
    units : array_like of int
        The unit (submission x criterion) of each read.
    reads : array_like of int
        Its read number: 1 first, 2 second, 3 or more adjudication or later reads.

    Returns
    -------
    ReadPairs
        ``first[i]`` and ``second[i]`` index the rows of pair ``i`` (in unit order).

    Raises
    ------
    ValueError
        If the arrays differ in length, a read number is below 1, or a unit has the same read twice.

    Examples
    --------
    >>> p = pair_reads([7, 7, 8, 9, 9, 9], [2, 1, 1, 1, 2, 3])
    >>> p.first.tolist(), p.second.tolist(), p.later.tolist()
    ([1, 3], [0, 4], [False, False, True])
    """
    u, r = _integers(units), _integers(reads)  # compared only: narrow integers need no wider copy
    if u.shape != r.shape or u.ndim != 1:
        raise ValueError(f"units and reads must be 1-d and of one length, got {u.shape} and {r.shape}")
    if r.size and int(r.min()) < 1:
        raise ValueError(f"read numbers start at 1, got {int(r.min())}")
    order = _sorted_by_unit(u, r)
    in_order = order is None
    us, rs = (u, r) if order is None else (u[order], r[order])
    same = us[1:] == us[:-1]
    if bool(np.any(same & (rs[1:] == rs[:-1]))):
        raise ValueError("a unit has the same read number twice")
    at = np.flatnonzero(same & (rs[:-1] == 1) & (rs[1:] == 2))
    starts = np.flatnonzero(np.r_[True, ~same]) if us.size else np.zeros(0, dtype=np.int64)
    unit_ids = us[starts]
    later = np.zeros(unit_ids.size, dtype=bool)
    if us.size:
        later = np.logical_or.reduceat(rs > 2, starts)
    if in_order:
        return ReadPairs(at, at + 1, unit_ids, later)
    assert order is not None
    return ReadPairs(order[at], order[at + 1], unit_ids, later)


def adjudication_needed(first: Any, second: Any, *, n_levels: int) -> np.ndarray:
    """Whether each pair's reads are beyond the adjacent rule (level indices ``first``, ``second``):
    two or more levels apart, or on a two-level scale any disagreement.

    Examples
    --------
    >>> adjudication_needed([0, 0, 1], [1, 2, 3], n_levels=4).tolist()
    [False, True, True]
    >>> adjudication_needed([0, 1], [1, 1], n_levels=2).tolist()
    [True, False]
    """
    a, b = _integers(first), _integers(second)  # no wider copies: the difference is taken in int64
    gap = 1 if n_levels <= 2 else 2
    return np.asarray(np.abs(np.subtract(a, b, dtype=np.int64)) >= gap)


def _dense(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each element's index among them (``np.unique`` with
    ``return_inverse``): by counting when the values span a small range, else one stable argsort
    (both faster than ``np.unique`` on millions of values)."""
    if x.size and int(x.max()) - int(x.min()) < 4 * x.size:
        lo = int(x.min())
        shifted = x - lo
        present = np.bincount(shifted) > 0
        rank: np.ndarray = np.cumsum(present, dtype=np.int32 if present.size < 2**31 else np.int64)
        rank -= 1
        return np.flatnonzero(present) + lo, rank[shifted]
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.empty(xs.size, dtype=bool)
    new[:1] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    inverse = np.empty(x.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return xs[new], inverse


def _cluster_ids(gi: np.ndarray, cluster: np.ndarray, k: int) -> np.ndarray:
    """Each row's (group, cluster) pair numbered in (cluster, group) order: one stable sort on
    ``cluster * k + group``, which is a merge of a few runs when rows come nearly in cluster order
    (as the report's do). Within one group the numbers still rise with the cluster, so sums over
    a group's clusters add in the same order as with (group, cluster) numbering."""
    top = (int(cluster.max()) + 1) * k if cluster.size else 0
    small = cluster.size < 2**31 and top < 2**31 and int(cluster.min(initial=0)) >= 0
    key = np.multiply(cluster, k, dtype=np.int32 if small else np.int64)  # half the memory when it fits
    key += gi
    order = np.argsort(key, kind="stable")
    ks = key[order]
    del key
    new = np.empty(ks.size, dtype=bool)
    new[:1] = True
    np.not_equal(ks[1:], ks[:-1], out=new[1:])
    del ks
    number: np.ndarray = np.cumsum(new, dtype=np.int32 if new.size < 2**31 else np.int64)
    number -= 1
    ids = np.empty(new.size, dtype=number.dtype)
    ids[order] = number
    return ids


def _integers(x: Any) -> np.ndarray:
    """Integer columns: up to 32 bits as they are (no wider copy; arithmetic on them widens where it
    could overflow), else as int64."""
    arr = np.asarray(x)
    if arr.dtype.kind in "iu" and arr.dtype.itemsize <= 4:
        return arr
    return np.asarray(arr, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class CoreaderTable:
    """Per group (``groups``, sorted), a reader's agreement with co-readers: ``n`` pairs, ``m``
    submissions (clusters), exact and exact-or-adjacent counts with Wilson bounds, and the mean
    signed difference (own minus co-reader, level steps) with its clustered t interval (NaN when
    ``m < 2`` or there is no spread)."""

    groups: np.ndarray
    n: np.ndarray
    m: np.ndarray
    exact: np.ndarray
    exact_low: np.ndarray
    exact_high: np.ndarray
    adjacent: np.ndarray
    adjacent_low: np.ndarray
    adjacent_high: np.ndarray
    mean: np.ndarray
    mean_low: np.ndarray
    mean_high: np.ndarray
    se: np.ndarray


def coreader_agreement(
    groups: Any, clusters: Any, own: Any, other: Any, *, confidence: float = 0.95
) -> CoreaderTable:
    """Agreement of each group's reads with the co-read of the same unit, all groups at once.

    Parameters
    ----------
    groups : array_like of int
        The group of each row, e.g. ``reader`` or ``reader * n_periods + period``.
    clusters : array_like of int
        The submission of each row (criteria of one submission are one cluster).
    own, other : array_like of int
        Level indices (0 = lowest level) of the group's read and of the co-reader's read.
    confidence : float
        Two-sided coverage of the intervals.

    Returns
    -------
    CoreaderTable

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques* (3rd ed.), §6.9. Wilson, E. B. (1927). *JASA* 22, 209-212.

    Examples
    --------
    Reader 1 is one level above the co-reader on two of four pairs:

    >>> t = coreader_agreement([1, 1, 1, 1], [10, 11, 12, 13], [2, 3, 1, 2], [1, 2, 1, 2])
    >>> t.n.tolist(), t.exact.tolist(), t.adjacent.tolist(), t.mean.tolist()
    ([4], [2], [4], [0.5])
    >>> [round(float(x), 3) for x in (t.mean_low[0], t.mean_high[0])]
    [-0.419, 1.419]
    """
    g, c = _integers(groups), _integers(clusters)
    a, b = _integers(own), _integers(other)
    if not (g.shape == c.shape == a.shape == b.shape) or g.ndim != 1:
        raise ValueError("groups, clusters, own and other must be 1-d and of one length")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    ids, gi = _dense(g)
    k = ids.size
    # clusters within groups: numbered first, so that the differences are not held meanwhile
    c_lo = int(c.min()) if c.size else 0
    shift = c_lo < 0 or (c_lo > 0 and c.dtype.itemsize == 8)  # keys stay far from overflow
    cid = _cluster_ids(gi, np.subtract(c, c_lo, dtype=np.int64) if shift else c, k)
    d = np.subtract(a, b, dtype=np.float64)  # exact: level indices are far below 2**53
    n = np.bincount(gi, minlength=k)
    exact = np.bincount(gi[d == 0], minlength=k)
    adjacent = np.bincount(gi[np.abs(d) <= 1], minlength=k)
    total = np.bincount(gi, weights=d, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    # sum of differences and count per (group, submission)
    n_c = np.bincount(cid)
    d_c = np.bincount(cid, weights=d)
    g_of_c = np.zeros(n_c.size, dtype=np.int64)
    g_of_c[cid] = gi
    m = np.bincount(g_of_c, minlength=k) if g.size else np.zeros(k, dtype=np.int64)
    resid = d_c - mean[g_of_c] * n_c
    ss = np.bincount(g_of_c, weights=resid**2, minlength=k) if g.size else np.zeros(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(m >= 2, m / np.maximum(m - 1, 1) * ss / np.maximum(n, 1) ** 2, np.nan)
    se = np.sqrt(var)
    tq = sps.t.ppf(0.5 + confidence / 2.0, np.maximum(m - 1, 1))
    half = np.where((m >= 2) & (se > 0), tq * se, np.nan)
    e_low, e_high = wilson_intervals(exact, n, confidence=confidence)
    a_low, a_high = wilson_intervals(adjacent, n, confidence=confidence)
    return CoreaderTable(
        groups=ids,
        n=n,
        m=m,
        exact=exact,
        exact_low=np.asarray(e_low),
        exact_high=np.asarray(e_high),
        adjacent=adjacent,
        adjacent_low=np.asarray(a_low),
        adjacent_high=np.asarray(a_high),
        mean=mean,
        mean_low=mean - half,
        mean_high=mean + half,
        se=np.where(m >= 2, se, np.nan),
    )

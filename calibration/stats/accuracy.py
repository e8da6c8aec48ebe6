"""Accuracy: each assessor's scores against the master key.

Input is long rows: one row per criterion-score, with the assessor (``raters``), the level the assessor
gave (``values``) and the key level for the same anchor and criterion (``key``), optionally the
criterion (``criteria``) and the anchor (``units``) of the row. ``levels`` is the rubric's full ordered
scale; every statistic works on the level *index* ``0..q-1`` over all levels, used or not.

Conventions
-----------
* Signed deviation ``d = index(assessor level) - index(key level)``: positive is lenient, negative severe.
* Exact: ``d == 0``; adjacent-or-better: ``|d| <= 1``; discrepant: ``|d| >= 2``.
* Agreement weights on the level index: linear ``1 - |i-j|/(q-1)``, quadratic ``1 - (i-j)^2/(q-1)^2``.
* Everything is computed from per-group ``q x q`` confusion matrices (rows: assessor level, columns: key
  level) built by one ``np.bincount`` over a composite key, never by a Python loop over rows.
* Undefined is an answer: a value of ``None`` with a plain ``reason`` (arrays use NaN internally).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from calibration.stats.results import Estimate

__all__ = [
    "CENTRAL_TENDENCY_EXCESS",
    "CENTRAL_TENDENCY_MIN_SCORES",
    "AccuracyArrays",
    "AccuracyResult",
    "AccuracyTable",
    "CategoryUse",
    "DecisionAgreement",
    "Proportion",
    "accuracy",
    "accuracy_arrays",
    "accuracy_by_rater",
    "confusion_by_group",
    "weight_matrix",
    "weighted_kappa_by_rater",
    "wilson_interval",
    "wilson_intervals",
]

Weights = Literal["linear", "quadratic"] | None

#: Central tendency flag: the assessor's share of middle levels exceeds the key's by at least this much...
CENTRAL_TENDENCY_EXCESS = 0.20
#: ...over at least this many criterion-scores.
CENTRAL_TENDENCY_MIN_SCORES = 10
_EPS = 1e-12  # absorbs float rounding when a share sits exactly on a threshold


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Proportion:
    """A share ``count / n`` with its Wilson score interval; ``p`` is None when ``n == 0``."""

    count: int
    n: int
    p: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return self.p is not None

    def label(self) -> str:
        """Plain text such as ``"65% (13 of 20)"``, or the reason when undefined."""
        if self.p is None:
            return f"undefined ({self.reason})"
        return f"{_percent(self.p)} ({self.count} of {self.n})"


@dataclass(frozen=True)
class DecisionAgreement:
    """Agreement on the earned / not-yet decision at the rubric's earn cut.

    ``false_earned``: assessor at or above the cut where the key is below it; ``false_not_yet``: the
    reverse.
    """

    earn_cut: Any
    agreement: Proportion
    false_earned: int
    false_not_yet: int


@dataclass(frozen=True)
class CategoryUse:
    """How often the assessor and the key use each level, with two descriptive flags.

    ``central_tendency``: the rubric has a middle (``q >= 3``), there are at least
    ``CENTRAL_TENDENCY_MIN_SCORES`` scores, and the assessor's share of middle levels (all but the lowest
    and highest) exceeds the key's by at least ``CENTRAL_TENDENCY_EXCESS``. ``restricted_range``: the
    assessor uses fewer distinct levels than the key does.
    """

    levels: tuple[Any, ...]
    assessor_counts: tuple[int, ...]
    key_counts: tuple[int, ...]
    assessor_share: tuple[float, ...] | None
    key_share: tuple[float, ...] | None
    middle_excess: float | None
    central_tendency: bool
    restricted_range: bool


@dataclass(frozen=True)
class AccuracyResult:
    """Accuracy of one group of criterion-scores (one assessor, one criterion, or everyone)."""

    rater: Hashable | None
    criterion: Hashable | None
    levels: tuple[Any, ...]
    n: int
    exact: Proportion
    adjacent: Proportion
    discrepant: Proportion
    mean_signed_deviation: Estimate
    mean_absolute_deviation: float | None
    weighted_kappa: Estimate
    decision: DecisionAgreement | None
    confusion: tuple[tuple[int, ...], ...]
    category_use: CategoryUse

    @property
    def confusion_matrix(self) -> np.ndarray:
        """``q x q`` counts: rows are the assessor's level, columns the key's level."""
        return np.array(self.confusion, dtype=np.int64).reshape(len(self.levels), len(self.levels))


@dataclass(frozen=True, eq=False)
class AccuracyArrays:
    """Per-group accuracy statistics as arrays (NaN where undefined), for large inputs.

    Every field has the group axis first; ``confusion`` is ``(G, q, q)``; ``*_ci`` fields are ``(G, 2)``
    Wilson (shares) or normal (kappa) 95% limits.
    """

    n: np.ndarray
    exact: np.ndarray
    adjacent: np.ndarray
    discrepant: np.ndarray
    exact_ci: np.ndarray
    adjacent_ci: np.ndarray
    discrepant_ci: np.ndarray
    mean_signed: np.ndarray
    se_signed: np.ndarray
    ci_low_signed: np.ndarray
    ci_high_signed: np.ndarray
    mean_absolute: np.ndarray
    kappa: np.ndarray
    kappa_se: np.ndarray
    kappa_ci: np.ndarray
    decision_agree: np.ndarray | None
    decision_ci: np.ndarray | None
    false_earned: np.ndarray | None
    false_not_yet: np.ndarray | None
    confusion: np.ndarray


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy for everyone, per rater, per criterion and per (rater, criterion).

    The three mappings are read-only; their result objects are built on first access from arrays
    computed up front, so a large table costs little until it is read.
    """

    levels: tuple[Any, ...]
    earn_cut: Any
    overall: AccuracyResult
    by_rater: Mapping[Hashable, AccuracyResult]
    by_criterion: Mapping[Hashable, AccuracyResult]
    by_rater_criterion: Mapping[tuple[Hashable, Hashable], AccuracyResult]


# ------------------------------------------------------------------------------------------- helpers
def _percent(p: float) -> str:
    text = f"{100 * p:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _check_levels(levels: Any) -> np.ndarray:
    lv = np.asarray(levels)
    if lv.ndim != 1 or lv.size < 2:
        raise ValueError(f"levels must list at least two ordered levels, got {levels!r}")
    if np.unique(lv).size != lv.size:
        raise ValueError(f"levels must be distinct, got {lv.tolist()!r}")
    if lv.dtype.kind in "iuf" and not np.all(lv[1:] > lv[:-1]):
        # Signed deviations and weights follow the list's order: a shuffled list would quietly change them.
        raise ValueError(
            f"levels must be in ascending order (the rubric's order from lowest to highest), got "
            f"{lv.tolist()!r}; pass {sorted(lv.tolist())!r}"
        )
    return lv


def _level_index(values: Any, lv: np.ndarray, *, what: str, scale: int = 1) -> np.ndarray:
    """Map level values to ``scale *`` their index in ``lv``; ValueError naming the first value outside it."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise ValueError(f"{what}s must be one-dimensional, got shape {v.shape}")
    if v.size == 0:
        return np.zeros(0, dtype=np.intp)

    def fail(bad: Any) -> ValueError:
        return ValueError(f"{what} {_py(bad)!r} is not one of the rubric levels {lv.tolist()!r}")

    if v.dtype.kind in "iu" and lv.dtype.kind in "iu" and int(lv.max()) - int(lv.min()) <= 4096:
        # Small integer scale: a lookup table is several times faster than a search; non-negative levels
        # index it directly, which saves a pass over the rows.
        lo, hi = int(lv.min()), int(lv.max())
        base = min(lo, 0)
        vmin, vmax = int(v.min()), int(v.max())
        if vmin < lo or vmax > hi:
            raise fail(v[(v < lo) | (v > hi)][0])
        lut = np.full(hi - base + 1, -1, dtype=np.intp)
        lut[lv.astype(np.int64) - base] = np.arange(lv.size) * scale
        idx = lut[v] if base == 0 else lut[v.astype(np.int64) - base]
        if (idx < 0).any():
            raise fail(v[idx < 0][0])
        return idx
    order = np.argsort(lv, kind="stable")
    ordered = lv[order]
    try:
        pos = np.minimum(np.searchsorted(ordered, v), lv.size - 1)
        ok = ordered[pos] == v
    except TypeError:  # e.g. strings against numbers
        raise fail(v[0]) from None
    if not np.all(ok):
        raise fail(v[~ok][0])
    return order[pos] * scale if scale != 1 else order[pos]


def _factorize(ids: Any, *, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids and each row's code; compact integer ids skip the sort."""
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {a.shape}")
    if a.size and a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if hi - lo <= max(4 * a.size, 1024):
            shifted = a.astype(np.int64, copy=False) - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            uniques = (np.flatnonzero(present) + lo).astype(a.dtype)
            return uniques, (np.cumsum(present) - 1)[shifted]
    uniques, codes = np.unique(a, return_inverse=True)
    return uniques, codes.reshape(-1)


def _group_confusion(
    ids: Any, aq: np.ndarray, k: np.ndarray, q: int, *, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct group ids and their ``(G, q, q)`` confusion matrices.

    Compact non-negative integer ids are their own slots: no sort, no remapping pass and no separate
    presence count; the slots of absent ids are dropped afterwards, by their empty matrices.
    """
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {a.shape}")
    if a.size and a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= max(4 * a.size, 1024):
            confusion = _confusion(a, aq, k, hi + 1, q)
            present = np.flatnonzero(confusion.reshape(hi + 1, q * q).any(axis=1))
            return present.astype(a.dtype), confusion[present]
    uniques, codes = _factorize(a, what=what)
    return uniques, _confusion(codes, aq, k, uniques.size, q)


def _check_lengths(**arrays: Any) -> int:
    """The common number of rows; ValueError naming an array that is not 1-D or differs in length."""
    sizes = {}
    for name, a in arrays.items():
        if a is None:
            continue
        if np.ndim(a) != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {np.shape(a)}")
        sizes[name] = np.shape(a)[0]
    first_name, first = next(iter(sizes.items()))
    for name, size in sizes.items():
        if size != first:
            raise ValueError(f"{name} has {size} rows but {first_name} has {first}")
    return first


def _earn_cut_index(earn_cut: Any, lv: np.ndarray) -> int | None:
    if earn_cut is None:
        return None
    return int(_level_index(np.array([earn_cut]), lv, what="earn cut")[0])


def weight_matrix(q: int, weights: Weights = "quadratic") -> np.ndarray:
    """Agreement weights on the level index over all ``q`` levels.

    Parameters
    ----------
    q : int
        Number of rubric levels (at least 2).
    weights : {"quadratic", "linear", None}
        ``1 - (i-j)^2/(q-1)^2``, ``1 - |i-j|/(q-1)`` (Cicchetti & Allison 1971), or identity.

    Returns
    -------
    numpy.ndarray
        ``q x q`` float matrix with ones on the diagonal.

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220.

    Examples
    --------
    >>> weight_matrix(3, "linear").tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    if q < 2:
        raise ValueError(f"weights need at least two levels, got q={q}")
    i = np.arange(q)
    dist = np.abs(i[:, None] - i[None, :]) / (q - 1)
    if weights == "quadratic":
        return 1.0 - dist**2
    if weights == "linear":
        return 1.0 - dist
    if weights is None:
        return np.eye(q)
    raise ValueError(f"weights must be 'linear', 'quadratic' or None, got {weights!r}")


# ----------------------------------------------------------------------------------------- proportions
@lru_cache(maxsize=8)
def _z(confidence: float) -> float:
    """Two-sided normal quantile (cached: ``norm.ppf`` costs far more than the arithmetic around it)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(sps.norm.ppf(0.5 + confidence / 2.0))


def wilson_intervals(counts: Any, n: Any, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson score intervals; NaN where ``n == 0``.

    Parameters
    ----------
    counts, n : array_like of int
        Successes and trials, broadcast together; ``0 <= counts <= n``.
    confidence : float
        Two-sided coverage, default 0.95.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22, 209-212. Newcombe, R. G. (1998). Two-sided confidence intervals for the single
    proportion. *Statistics in Medicine* 17, 857-872 (method 3).

    Examples
    --------
    >>> low, high = wilson_intervals([81, 0], [263, 20])
    >>> [round(float(x), 4) for x in low], [round(float(x), 4) for x in high]
    ([0.2553, 0.0], [0.3662, 0.1611])
    """
    z = _z(confidence)
    x, m = np.broadcast_arrays(np.asarray(counts, dtype=float), np.asarray(n, dtype=float))
    if np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        bad = np.flatnonzero((m < 0) | (x < 0) | (x > m))[0]
        raise ValueError(f"count {x.flat[bad]:g} is not between 0 and n={m.flat[bad]:g}")
    z2 = z * z
    has = m > 0
    ms = np.where(has, m, 1.0)
    center = (x + z2 / 2.0) / (ms + z2)
    half = z * np.sqrt(x * (ms - x) / ms + z2 / 4.0) / (ms + z2)
    low = np.where(x == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(x == m, 1.0, np.clip(center + half, 0.0, 1.0))
    return np.where(has, low, np.nan), np.where(has, high, np.nan)


def wilson_interval(count: int, n: int, *, confidence: float = 0.95) -> Proportion:
    """The share ``count / n`` with its Wilson score interval.

    Parameters
    ----------
    count, n : int
        Successes and trials, ``0 <= count <= n``.
    confidence : float
        Two-sided coverage, default 0.95.

    Returns
    -------
    Proportion
        ``p``, ``ci_low`` and ``ci_high`` are None (with a reason) when ``n == 0``.

    References
    ----------
    Wilson (1927); Newcombe (1998), Table I, method 3 (e.g. 81/263 gives 0.2553 to 0.3662).

    Examples
    --------
    >>> r = wilson_interval(15, 148)
    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (0.0624, 0.1605)
    >>> wilson_interval(0, 0).reason
    'no scores'
    """
    low, high = wilson_intervals(count, n, confidence=confidence)
    return _proportion(int(count), int(n), float(low), float(high), confidence)


def _proportion(count: int, n: int, low: float, high: float, confidence: float = 0.95) -> Proportion:
    if n == 0:
        return Proportion(0, 0, None, None, None, confidence, "no scores")
    return Proportion(count, n, count / n, low, high, confidence)


# ------------------------------------------------------------------------------------ array internals
def confusion_by_group(groups: Any, values: Any, key: Any, *, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Assessor-by-key confusion matrices for every group, in one ``np.bincount``.

    Parameters
    ----------
    groups : array_like
        Group id of each row (e.g. the rater).
    values, key : array_like
        The assessor's level and the key level of each row; both must be in ``levels``.
    levels : sequence
        The rubric's ordered levels (all of them).

    Returns
    -------
    group_ids : numpy.ndarray
        Sorted distinct group ids.
    confusion : numpy.ndarray
        ``(G, q, q)`` int64 counts; ``confusion[g, i, j]`` counts rows of group ``g`` where the assessor
        gave level index ``i`` and the key has level index ``j``.

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220 (the agreement table).

    Examples
    --------
    >>> ids, c = confusion_by_group([7, 7, 9], [1, 2, 2], [1, 1, 2], levels=[1, 2])
    >>> ids.tolist(), c.tolist()
    ([7, 9], [[[1, 0], [1, 0]], [[0, 0], [0, 1]]])
    """
    lv = _check_levels(levels)
    _check_lengths(groups=groups, values=values, key=key)
    q = lv.size
    aq = _level_index(values, lv, what="value", scale=q)
    k = _level_index(key, lv, what="key level")
    return _group_confusion(groups, aq, k, q, what="groups")


def _confusion(codes: np.ndarray, aq: np.ndarray, k: np.ndarray, n_groups: int, q: int) -> np.ndarray:
    """``(n_groups, q, q)`` counts from group codes, ``q * assessor index`` and key index."""
    # intp product: small integer rater ids (int8/int16) must not wrap; in-place adds below keep it to
    # three passes over the rows instead of five.
    flat = np.multiply(codes, q * q, dtype=np.intp)
    flat += aq
    flat += k
    return np.bincount(flat, minlength=n_groups * q * q).reshape(n_groups, q, q)


def _kappa_arrays(
    confusion: np.ndarray, weights: Weights, *, with_se: bool, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted kappa (and its FCE standard error) per group; NaN where either side has one level."""
    g, q, _ = confusion.shape
    w = weight_matrix(q, weights)
    c = confusion.astype(float)
    n = c.sum(axis=(1, 2))
    row, col = c.sum(axis=2), c.sum(axis=1)
    # Kappa compares agreement with chance; when the assessor or the key uses one level there is no
    # variation to agree on (kappa would be 0/0 or a meaningless 0), so it is undefined.
    defined = ((row > 0).sum(axis=1) >= 2) & ((col > 0).sum(axis=1) >= 2)
    ns = np.where(n > 0, n, 1.0)
    v = 1.0 - w  # disagreement weights, as in sklearn's cohen_kappa_score
    observed = np.einsum("gij,ij->g", c, v) / ns
    expected = np.einsum("gi,ij,gj->g", row, v, col) / (ns * ns)
    safe = np.where(defined, expected, 1.0)
    kappa = np.where(defined, 1.0 - observed / safe, np.nan)
    se = np.full(g, np.nan)
    if with_se and defined.any():
        # Fleiss, Cohen & Everitt (1969), large-sample variance under the alternative.
        p = c / ns[:, None, None]
        r, s = row / ns[:, None], col / ns[:, None]
        pe = np.einsum("gi,ij,gj->g", r, w, s)
        k0 = np.where(defined, kappa, 0.0)
        wi = s @ w.T  # sum_j p_.j w_ij
        wj = r @ w  # sum_i p_i. w_ij
        dev = w[None] - (wi[:, :, None] + wj[:, None, :]) * (1.0 - k0)[:, None, None]
        num = (p * dev**2).sum(axis=(1, 2)) - (k0 - pe * (1.0 - k0)) ** 2
        den = np.where(defined, ns * (1.0 - pe) ** 2, 1.0)
        se = np.where(defined, np.sqrt(np.maximum(num, 0.0) / den), np.nan)
    return kappa, se


def accuracy_arrays(
    confusion: Any, *, earn_cut_index: int | None = None, weights: Weights = "quadratic"
) -> AccuracyArrays:
    """All accuracy statistics for every group, from its ``q x q`` confusion matrix.

    Parameters
    ----------
    confusion : array_like
        ``(G, q, q)`` counts, rows the assessor's level index, columns the key's (see
        :func:`confusion_by_group`).
    earn_cut_index : int, optional
        Index of the earn cut among the levels; decision statistics are None without it.
    weights : {"quadratic", "linear", None}
        Weights for kappa against the key.

    Returns
    -------
    AccuracyArrays
        Counts as int arrays; means, intervals and kappas as float arrays with NaN where undefined
        (no scores; fewer than two scores for the signed-deviation interval; no variation for kappa).

    References
    ----------
    Student's t interval for the mean signed deviation; Fleiss, J. L., Cohen, J. & Everitt, B. S.
    (1969). Large sample standard errors of kappa and weighted kappa. *Psychological Bulletin* 72,
    323-327.

    Examples
    --------
    >>> arr = accuracy_arrays([[[3, 1], [0, 4]]], earn_cut_index=1)
    >>> int(arr.exact[0]), int(arr.n[0]), round(float(arr.mean_signed[0]), 3), int(arr.false_earned[0])
    (7, 8, -0.125, 0)
    """
    c = np.asarray(confusion, dtype=np.int64)
    if c.ndim != 3 or c.shape[1] != c.shape[2] or c.shape[1] < 2:
        raise ValueError(f"confusion must have shape (groups, q, q) with q >= 2, got {c.shape}")
    q = c.shape[1]
    i = np.arange(q)
    d = i[:, None] - i[None, :]
    absd = np.abs(d)
    n = c.sum(axis=(1, 2))
    exact = np.trace(c, axis1=1, axis2=2)
    adjacent = (c * (absd <= 1)).sum(axis=(1, 2))
    has = n > 0
    ns = np.where(has, n, 1).astype(float)
    mean = np.where(has, (c * d).sum(axis=(1, 2)) / ns, np.nan)
    mad = np.where(has, (c * absd).sum(axis=(1, 2)) / ns, np.nan)
    two = n >= 2
    centred = d[None] - np.where(has, mean, 0.0)[:, None, None]
    ss = (c * centred**2).sum(axis=(1, 2))
    se = np.where(two, np.sqrt(ss / np.where(two, (n - 1) * ns, 1.0)), np.nan)
    tcrit = np.where(two, sps.t.ppf(0.975, np.where(two, n - 1, 1)), np.nan)
    kappa, kappa_se = _kappa_arrays(c, weights, with_se=True)
    agree = false_earned = false_not_yet = decision_ci = None
    if earn_cut_index is not None:
        if not 0 <= earn_cut_index < q:
            raise ValueError(f"earn_cut_index {earn_cut_index} is outside 0..{q - 1}")
        earned = i >= earn_cut_index
        agree = (c * (earned[:, None] == earned[None, :])).sum(axis=(1, 2))
        false_earned = (c * (earned[:, None] & ~earned[None, :])).sum(axis=(1, 2))
        false_not_yet = (c * (~earned[:, None] & earned[None, :])).sum(axis=(1, 2))
        decision_ci = np.stack(wilson_intervals(agree, n), axis=1)
    z = _z(0.95)
    return AccuracyArrays(
        n=n,
        exact=exact,
        adjacent=adjacent,
        discrepant=n - adjacent,
        exact_ci=np.stack(wilson_intervals(exact, n), axis=1),
        adjacent_ci=np.stack(wilson_intervals(adjacent, n), axis=1),
        discrepant_ci=np.stack(wilson_intervals(n - adjacent, n), axis=1),
        mean_signed=mean,
        se_signed=se,
        ci_low_signed=mean - tcrit * se,
        ci_high_signed=mean + tcrit * se,
        mean_absolute=mad,
        kappa=kappa,
        kappa_se=kappa_se,
        kappa_ci=np.stack(
            [np.maximum(kappa - z * kappa_se, -1.0), np.minimum(kappa + z * kappa_se, 1.0)], axis=1
        ),
        decision_agree=agree,
        decision_ci=decision_ci,
        false_earned=false_earned,
        false_not_yet=false_not_yet,
        confusion=c,
    )


# ------------------------------------------------------------------------------------ result building
def _kappa_reason(row: np.ndarray, col: np.ndarray, lv: np.ndarray) -> str:
    if row.sum() == 0:
        return "no scores"
    used_a, used_k = np.flatnonzero(row), np.flatnonzero(col)
    if used_k.size < 2 and used_a.size < 2:
        return (
            f"no variation: the assessor used only level {_py(lv[used_a[0]])!r} and the key has only "
            f"level {_py(lv[used_k[0]])!r}"
        )
    if used_k.size < 2:
        return f"no variation: the key has only level {_py(lv[used_k[0]])!r}"
    return f"no variation: the assessor used only level {_py(lv[used_a[0]])!r}"


class _ResultBuilder:
    """Turns :class:`AccuracyArrays` into result objects; arrays become lists once, not per group."""

    def __init__(self, arr: AccuracyArrays, lv: np.ndarray, earn_cut: Any) -> None:
        self.lv = lv
        self.levels = tuple(_py(x) for x in lv)
        self.earn_cut = earn_cut
        self.has_cut = arr.decision_agree is not None
        conf = arr.confusion
        self.conf = conf.tolist()
        self.row, self.col = conf.sum(axis=2).tolist(), conf.sum(axis=1).tolist()
        names = ["n", "exact", "adjacent", "discrepant", "mean_signed", "se_signed", "ci_low_signed"]
        names += ["ci_high_signed", "mean_absolute", "kappa", "kappa_se", "kappa_ci"]
        names += ["exact_ci", "adjacent_ci", "discrepant_ci"]
        if self.has_cut:
            names += ["decision_agree", "decision_ci", "false_earned", "false_not_yet"]
        self.a = {name: getattr(arr, name).tolist() for name in names}

    def build(self, g: int, *, rater: Any, criterion: Any, n_raters: int) -> AccuracyResult:
        a, levels = self.a, self.levels
        n = a["n"][g]
        row, col = self.row[g], self.col[g]
        if n >= 2:
            msd = Estimate(
                "mean_signed_deviation",
                a["mean_signed"][g],
                se=a["se_signed"][g],
                ci_low=a["ci_low_signed"][g],
                ci_high=a["ci_high_signed"][g],
                ci_method="t",
                n_units=n,
                n_raters=n_raters,
            )
        else:
            reason = "no scores" if n == 0 else "fewer than two scores"
            msd = Estimate("mean_signed_deviation", None, n_units=n, n_raters=n_raters, reason=reason)
        k = a["kappa"][g]
        if k != k:  # NaN: undefined
            reason = _kappa_reason(np.array(row), np.array(col), self.lv)
            kappa = Estimate("weighted_kappa_quadratic", None, n_units=n, n_raters=n_raters, reason=reason)
        else:
            kappa = Estimate(
                "weighted_kappa_quadratic",
                k,
                se=a["kappa_se"][g],
                ci_low=a["kappa_ci"][g][0],
                ci_high=a["kappa_ci"][g][1],
                ci_method="normal",
                n_units=n,
                n_raters=n_raters,
            )
        decision = None
        if self.has_cut:
            agreement = _proportion(a["decision_agree"][g], n, *a["decision_ci"][g])
            decision = DecisionAgreement(
                self.earn_cut, agreement, a["false_earned"][g], a["false_not_yet"][g]
            )
        excess = (sum(row[1:-1]) - sum(col[1:-1])) / n if n > 0 and len(levels) >= 3 else None
        use = CategoryUse(
            levels=levels,
            assessor_counts=tuple(row),
            key_counts=tuple(col),
            assessor_share=tuple(x / n for x in row) if n else None,
            key_share=tuple(x / n for x in col) if n else None,
            middle_excess=excess,
            central_tendency=bool(
                excess is not None
                and n >= CENTRAL_TENDENCY_MIN_SCORES
                and excess >= CENTRAL_TENDENCY_EXCESS - _EPS
            ),
            restricted_range=sum(x > 0 for x in row) < sum(x > 0 for x in col),
        )
        mad = a["mean_absolute"][g]
        return AccuracyResult(
            rater=rater,
            criterion=criterion,
            levels=levels,
            n=n,
            exact=_proportion(a["exact"][g], n, *a["exact_ci"][g]),
            adjacent=_proportion(a["adjacent"][g], n, *a["adjacent_ci"][g]),
            discrepant=_proportion(a["discrepant"][g], n, *a["discrepant_ci"][g]),
            mean_signed_deviation=msd,
            mean_absolute_deviation=None if mad != mad else mad,
            weighted_kappa=kappa,
            decision=decision,
            confusion=tuple(tuple(r) for r in self.conf[g]),
            category_use=use,
        )


class _LazyResults(Mapping[Any, "AccuracyResult"]):
    """Read-only mapping whose result objects are built on first access (and then kept).

    A round has hundreds of (rater, criterion) groups; building every object up front costs more than all
    the arithmetic, and a page usually shows a few of them.
    """

    __slots__ = ("_build", "_cache", "_index")

    def __init__(self, index: dict[Any, int], build: Callable[[Any, int], AccuracyResult]) -> None:
        self._index = index
        self._build = build
        self._cache: dict[Any, AccuracyResult] = {}

    def __getitem__(self, key: Any) -> AccuracyResult:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._build(key, self._index[key])
        return hit

    def __iter__(self) -> Iterator[Any]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"<{len(self)} accuracy results: {list(self._index)[:5]}{'...' if len(self) > 5 else ''}>"


def accuracy(values: Any, key: Any, *, levels: Any, earn_cut: Any = None) -> AccuracyResult:
    """Accuracy of one set of criterion-scores against the key.

    Parameters
    ----------
    values, key : array_like
        The assessor's level and the key level of each criterion-score.
    levels : sequence
        The rubric's ordered levels (all of them).
    earn_cut : level, optional
        The lowest level that counts as demonstrated; enables decision agreement.

    Returns
    -------
    AccuracyResult

    References
    ----------
    Wilson (1927) intervals for the shares; Cohen (1968) weighted kappa with the Fleiss, Cohen &
    Everitt (1969) standard error.

    Examples
    --------
    >>> r = accuracy([1, 2, 3, 4, 4], [1, 2, 3, 3, 2], levels=[1, 2, 3, 4], earn_cut=3)
    >>> r.exact.label(), r.discrepant.count, r.mean_signed_deviation.value
    ('60% (3 of 5)', 1, 0.6)
    >>> r.decision.false_earned, r.decision.false_not_yet
    (1, 0)
    """
    lv = _check_levels(levels)
    _check_lengths(values=values, key=key)
    groups = np.zeros(np.shape(values)[0], dtype=np.intp)
    table = accuracy_by_rater(groups, values, key, levels=lv, earn_cut=earn_cut)
    return table.overall


def accuracy_by_rater(
    raters: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    earn_cut: Any = None,
    criteria: Any = None,
) -> AccuracyTable:
    """Accuracy for everyone, per rater, and (with ``criteria``) per criterion and per rater x criterion.

    One ``np.bincount`` over the composite key ``((group * q) + assessor index) * q + key index`` gives
    the confusion matrix of every (rater, criterion); rater, criterion and overall matrices are sums of
    those, and every statistic is derived from the matrices (see :func:`accuracy_arrays`).

    Parameters
    ----------
    raters : array_like
        The assessor of each row.
    values, key : array_like
        The assessor's level and the key level of each row.
    levels : sequence
        The rubric's ordered levels (all of them).
    earn_cut : level, optional
        The lowest level that counts as demonstrated.
    criteria : array_like, optional
        The criterion of each row.

    Returns
    -------
    AccuracyTable
        ``overall``, ``by_rater[rater]``, ``by_criterion[criterion]`` and
        ``by_rater_criterion[(rater, criterion)]`` (only combinations that have scores).

    Raises
    ------
    ValueError
        If a value, key level or the earn cut is not one of ``levels``, or the arrays differ in length.

    References
    ----------
    See :func:`accuracy_arrays`.

    Examples
    --------
    >>> t = accuracy_by_rater([1, 1, 2, 2], [2, 1, 2, 2], [2, 2, 2, 1], levels=[1, 2], criteria=[0, 1, 0, 1])
    >>> t.by_rater[1].exact.count, t.by_rater[2].exact.count, t.by_criterion[1].exact.label()
    (1, 1, '0% (0 of 2)')
    """
    lv = _check_levels(levels)
    q = lv.size
    _check_lengths(raters=raters, values=values, key=key, criteria=criteria)
    cut = _earn_cut_index(earn_cut, lv)
    rater_ids, r_codes = _factorize(raters, what="raters")
    aq = _level_index(values, lv, what="value", scale=q)
    k = _level_index(key, lv, what="key level")
    if criteria is None:
        crit_ids, n_c = np.zeros(0, dtype=np.intp), 1
        fine_codes = r_codes
    else:
        crit_ids, c_codes = _factorize(criteria, what="criteria")
        n_c = max(crit_ids.size, 1)
        fine_codes = r_codes * n_c + c_codes
    n_r = rater_ids.size
    fine = _confusion(fine_codes, aq, k, n_r * n_c, q).reshape(n_r, n_c, q, q)
    by_r = fine.sum(axis=1)
    by_c = fine.sum(axis=0)
    total = by_r.sum(axis=0)[None]
    stacked = np.concatenate([total, by_r, by_c, fine.reshape(n_r * n_c, q, q)])
    arr = accuracy_arrays(stacked, earn_cut_index=cut)
    cut_level = _py(earn_cut)
    scored = fine.sum(axis=(2, 3)) > 0  # (rater, criterion) has scores
    n_raters = np.concatenate([[scored.any(axis=1).sum()], np.ones(n_r), scored.sum(axis=0), scored.ravel()])

    builder = _ResultBuilder(arr, lv, cut_level)
    r_list = [_py(x) for x in rater_ids]
    c_list = [_py(x) for x in crit_ids]
    by_rater = {r: 1 + ri for ri, r in enumerate(r_list)}
    by_crit: dict[Any, int] = {}
    by_rc: dict[tuple[Any, Any], int] = {}
    if criteria is not None:
        by_crit = {c: 1 + n_r + ci for ci, c in enumerate(c_list)}
        base = 1 + n_r + n_c
        has = arr.n[base:] > 0
        by_rc = {(r, c): base + ri * n_c + ci for ri, r in enumerate(r_list) for ci, c in enumerate(c_list)}
        by_rc = {key: g for key, g in by_rc.items() if has[g - base]}

    return AccuracyTable(
        levels=tuple(_py(x) for x in lv),
        earn_cut=cut_level,
        overall=builder.build(0, rater=None, criterion=None, n_raters=int(n_raters[0])),
        by_rater=_LazyResults(
            by_rater, lambda key, g: builder.build(g, rater=key, criterion=None, n_raters=1)
        ),
        by_criterion=_LazyResults(
            by_crit, lambda key, g: builder.build(g, rater=None, criterion=key, n_raters=int(n_raters[g]))
        ),
        by_rater_criterion=_LazyResults(
            by_rc, lambda key, g: builder.build(g, rater=key[0], criterion=key[1], n_raters=1)
        ),
    )


def weighted_kappa_by_rater(
    raters: Any, values: Any, key: Any, *, levels: Any, weights: Weights = "quadratic"
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Cohen's kappa of every rater against the key, all raters at once.

    One ``np.bincount`` of ``rater * q * q + i * q + j`` gives every rater's confusion matrix; kappa is
    ``1 - sum(v * O) / sum(v * E)`` with disagreement weights ``v = 1 - w`` on the level index over all
    levels, ``O`` the observed and ``E = outer(row, col) / n`` the chance-expected counts.

    Parameters
    ----------
    raters : array_like
        The assessor of each row.
    values, key : array_like
        The assessor's level and the key level of each row.
    levels : sequence
        The rubric's ordered levels (all of them).
    weights : {"quadratic", "linear", None}
        Agreement weights; None gives unweighted kappa.

    Returns
    -------
    rater_ids : numpy.ndarray
        Sorted distinct raters.
    kappas : numpy.ndarray
        float64; NaN where undefined: the rater or the key uses only one level for that rater's rows
        (there kappa is 0/0 or a degenerate 0; ``sklearn.metrics.cohen_kappa_score`` returns 0 or NaN).
        Elsewhere equal to ``cohen_kappa_score(a, b, weights=..., labels=range(q))`` on level indices.

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220.

    Examples
    --------
    >>> ids, k = weighted_kappa_by_rater([5, 5, 5, 6, 6], [1, 2, 3, 1, 1], [1, 2, 2, 1, 2], levels=[1, 2, 3])
    >>> ids.tolist(), [round(float(x), 4) for x in k]
    ([5, 6], [0.6667, nan])
    """
    lv = _check_levels(levels)
    _check_lengths(raters=raters, values=values, key=key)
    q = lv.size
    aq = _level_index(values, lv, what="value", scale=q)
    k = _level_index(key, lv, what="key level")
    ids, confusion = _group_confusion(raters, aq, k, q, what="raters")
    kappa, _ = _kappa_arrays(confusion, weights, with_se=False)
    return ids, kappa

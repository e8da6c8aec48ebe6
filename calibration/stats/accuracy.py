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

from typing import Any

import numpy as np
from scipy import stats as sps

from ._accuracy_results import (
    CENTRAL_TENDENCY_EXCESS,
    CENTRAL_TENDENCY_MIN_SCORES,
    AccuracyArrays,
    AccuracyResult,
    AccuracyTable,
    CategoryUse,
    DecisionAgreement,
    _GroupBuild,
    _LazyResults,
    _ResultBuilder,
)
from ._checks import _check_lengths, _check_levels, _factorize, _level_index, _py, _weight_matrix
from ._types import Weights
from .proportions import _z, wilson_interval, wilson_intervals
from .results import Proportion

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


# ------------------------------------------------------------------------------------ array internals


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
    codes, uniques = _factorize(a, what)
    return uniques, _confusion(codes, aq, k, uniques.size, q)


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
    weights : str, array_like or None
        ``"quadratic"`` ``1 - (i-j)^2/(q-1)^2``, ``"linear"`` ``1 - |i-j|/(q-1)`` (Cicchetti &
        Allison 1971), None (identity), one of Gwet's schemes ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"`` (defined in ``docs/statistics.md``), or a custom
        ``q x q`` matrix, which is validated and returned as floats.

    Returns
    -------
    numpy.ndarray
        ``q x q`` float matrix with ones on the diagonal.

    Raises
    ------
    ValueError
        For an unknown scheme or a custom matrix that is not ``q x q``, has entries outside [0, 1]
        or a diagonal other than 1.

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
    if isinstance(weights, str) and weights == "identity":  # the reliability coefficients' None
        raise ValueError(f"weights must be None for unweighted kappa against the key here, got {weights!r}")
    return _weight_matrix(q, weights)


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
    lv = _check_levels(levels, labels=True)
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
    lv = _check_levels(levels, labels=True)
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
    lv = _check_levels(levels, labels=True)
    q = lv.size
    _check_lengths(raters=raters, values=values, key=key, criteria=criteria)
    cut = _earn_cut_index(earn_cut, lv)
    r_codes, rater_ids = _factorize(raters, "raters")
    aq = _level_index(values, lv, what="value", scale=q)
    k = _level_index(key, lv, what="key level")
    if criteria is None:
        crit_ids, n_c = np.zeros(0, dtype=np.intp), 1
        fine_codes = r_codes
    else:
        c_codes, crit_ids = _factorize(criteria, "criteria")
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
        by_rater=_LazyResults(by_rater, _GroupBuild(builder, "rater")),
        by_criterion=_LazyResults(
            by_crit, _GroupBuild(builder, "criterion", tuple(int(x) for x in n_raters.tolist()))
        ),
        by_rater_criterion=_LazyResults(by_rc, _GroupBuild(builder, "rater_criterion")),
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
    lv = _check_levels(levels, labels=True)
    _check_lengths(raters=raters, values=values, key=key)
    q = lv.size
    fast = _blocked_confusion(raters, values, key, lv)
    if fast is not None:
        ids, confusion = fast
    else:
        aq = _level_index(values, lv, what="value", scale=q)
        k = _level_index(key, lv, what="key level")
        ids, confusion = _group_confusion(raters, aq, k, q, what="raters")
    kappa, _ = _kappa_arrays(confusion, weights, with_se=False)
    return ids, kappa


#: Rows per block of :func:`_blocked_confusion` (its intp temporaries stay in cache).
_CONFUSION_BLOCK = 1 << 16


def _blocked_confusion(
    raters: Any, values: Any, key: Any, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Every rater's confusion matrix for the common case, or None to take the general path.

    The common case: levels are consecutive integers, values and key are integers within them (so
    the level index is ``value - levels[0]`` and the range check is a min and a max), and rater ids
    are compact non-negative integers (their own slots). Rows go block by block through
    ``((rater * q + value) * q + key - offset)`` and one ``np.bincount`` per block, so no
    whole-length temporary is written. Anything else (including values outside the levels, whose
    error message the general path gives) returns None.
    """
    r, v, k = np.asarray(raters), np.asarray(values), np.asarray(key)
    if r.ndim != 1 or v.ndim != 1 or k.ndim != 1 or not r.size:
        return None
    if (
        r.dtype.kind not in "iu"
        or v.dtype.kind not in "iu"
        or k.dtype.kind not in "iu"
        or lv.dtype.kind not in "iu"
    ):
        return None
    q = lv.size
    lo_level = int(lv[0])
    if not np.array_equal(lv, np.arange(lo_level, lo_level + q)):
        return None
    top = lo_level + q - 1
    if int(v.min()) < lo_level or int(v.max()) > top or int(k.min()) < lo_level or int(k.max()) > top:
        return None
    lo, hi = int(r.min()), int(r.max())
    if lo < 0 or hi > max(4 * r.size, 1024):
        return None
    size = (hi + 1) * q * q
    offset = lo_level * q + lo_level
    counts = np.zeros(size, np.int64)
    for start in range(0, r.size, _CONFUSION_BLOCK):
        end = start + _CONFUSION_BLOCK
        flat = np.multiply(r[start:end], q, dtype=np.intp)
        flat += v[start:end]
        flat *= q
        flat += k[start:end]
        flat -= offset
        counts += np.bincount(flat, minlength=size)
    confusion = counts.reshape(hi + 1, q, q)
    present = np.flatnonzero(counts.reshape(hi + 1, q * q).any(axis=1))
    return present.astype(r.dtype), confusion[present]

"""Two-rater kappas: Cohen's (weighted) kappa with the Fleiss-Cohen-Everitt standard error, Light's mean
pairwise kappa, and the matrix of kappas between every pair of raters.

Weights are agreement weights on the level index over all levels: linear ``1 - |i-j|/(q-1)``
(Cicchetti & Allison), quadratic ``1 - (i-j)^2/(q-1)^2`` (Fleiss & Cohen). Intervals are normal-based
(``kappa +/- z * ASE``) by default, as SAS PROC FREQ and statsmodels print them, or Student t on
``n - 1`` df (``interval="t"``, as R irr and Gwet's irrCAC), clipped to [-1, 1]. Light's kappa carries
a unit bootstrap interval by default.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import special
from statsmodels.stats.inter_rater import cohens_kappa as _sm_cohens_kappa

from ._checks import (
    _check_choice,
    _check_confidence,
    _check_levels,
    _check_n_boot,
    _fmt,
    _is_unweighted,
    _method_name,
    _undefined_reason,
    _weight_matrix,
)
from ._data import _Long, _long_rows, contingency_table
from ._pair_boot import light_interval, pair_intervals
from ._types import BootInterval, Interval, Weights
from .bootstrap import boot_ci_method, kappa_interval
from .results import Estimate, PairwiseMatrix

__all__ = ["cohen_kappa", "cohen_kappa_from_table", "light_kappa", "pairwise_kappa_matrix"]

_TINY = 1e-12
#: Largest indicator matrix (units x raters*levels, and its square) for the all-pairs product.
_DENSE_LIMIT = 1 << 22


def _method(base: str, weights: Weights) -> str:
    return _method_name(base, weights)


def cohen_kappa_from_table(
    table: Any, *, weights: Weights = None, confidence: float = 0.95, interval: Interval = "normal"
) -> Estimate:
    """Cohen's kappa (weighted or not) from a two-rater contingency table.

    ``kappa = (po - pe) / (1 - pe)`` with ``po = sum w_ij p_ij`` and ``pe = sum w_ij p_i. p_.j``;
    computed by :func:`statsmodels.stats.inter_rater.cohens_kappa`, which gives the Fleiss, Cohen &
    Everitt (1969) large-sample standard error (``se``) and the standard error under ``kappa = 0``
    (``extra["se0"]``, used for ``z`` and the p-values).

    Parameters
    ----------
    table : array_like
        ``q x q`` counts, rater 1 in rows, rater 2 in columns, over all levels in order.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index.
    confidence : float
        Two-sided coverage of the interval.
    interval : {"normal", "t"}
        ``"normal"`` (default): ``kappa +/- z * se`` (SAS PROC FREQ, statsmodels); ``"t"``:
        ``kappa +/- t(n - 1) * se`` (R irr, Gwet's irrCAC). Either is clipped to [-1, 1], and then
        ``ci_note`` says so and gives the unclipped end.

    Returns
    -------
    Estimate
        ``ci_method`` is ``interval``; ``extra``: ``pa``, ``pe``, ``se0``, ``z``, ``p_one_sided``,
        ``p_two_sided`` (null: kappa = 0; and ``df`` for t). ``detail["category_kappas"]``: Agresti's
        category-specific kappas, one per level, the kappa of the 2 x 2 table "this level or not" (NaN
        for a level nobody used; Agresti 2013, sec. 11.5). Undefined when the table is empty or both raters used a
        single level.

    References
    ----------
    Cohen, J. (1960). *Educational and Psychological Measurement* 20, 37-46. Cohen, J. (1968).
    Weighted kappa. *Psychological Bulletin* 70(4), 213-220. Fleiss, J. L., Cohen, J., & Everitt,
    B. S. (1969). Large sample standard errors of kappa and weighted kappa. *Psychological Bulletin*
    72(5), 323-327. SAS Institute, PROC FREQ ``AGREE`` documentation.

    Examples
    --------
    The SAS PROC FREQ example (via statsmodels' tests):

    >>> k = cohen_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    >>> round(k.value, 4), round(k.se, 4), [round(x, 4) for x in k.interval]
    (0.4842, 0.138, [0.2137, 0.7547])
    """
    conf = _check_confidence(confidence)
    _check_choice("interval", interval, ("normal", "t"))
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError(f"table must be a square q x q table with q >= 2, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = t[~np.isfinite(t) | (t < 0)][0]
        raise ValueError(f"table counts must be non-negative numbers, got {_fmt(bad)}")
    q = t.shape[0]
    method = _method("cohen_kappa", weights)
    w = _weight_matrix(q, weights)
    n = float(t.sum())
    common: dict[str, Any] = {"method": method, "n_units": round(n), "n_raters": 2, "confidence": conf}
    if n == 0:
        return Estimate(value=None, reason="no unit was rated by both raters", **common)
    row = t.sum(axis=1) / n
    col = t.sum(axis=0) / n
    pa = float((w * t).sum() / n)
    pe = float(row @ w @ col)
    if 1.0 - pe <= _TINY:
        return Estimate(
            value=None,
            reason="no variation: both raters used the same single level, so kappa is 0/0",
            extra={"pa": pa, "pe": pe},
            **common,
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if _is_unweighted(weights):
            res = _sm_cohens_kappa(t)
        elif isinstance(weights, str) and weights in ("linear", "quadratic"):
            res = _sm_cohens_kappa(t, wt=weights)
        else:  # statsmodels takes a matrix of disagreement weights
            res = _sm_cohens_kappa(t, weights=1.0 - w)
    value = float(res.kappa)
    se = float(res.std_kappa) if np.isfinite(res.std_kappa) else None
    se0 = float(res.std_kappa0) if np.isfinite(res.std_kappa0) else None
    extra: dict[str, float] = {"pa": pa, "pe": pe}
    detail = {"category_kappas": _category_kappas(t)}
    low = high = None
    ci_method = note = None
    if interval == "t":
        extra["df"] = n - 1.0
    if se is not None and (interval == "normal" or n >= 2):
        low, high, note = kappa_interval(value, se, interval=interval, df=n - 1.0, confidence=conf)
        ci_method = interval
    if se0:
        z = value / se0
        extra.update(
            se0=se0, z=z, p_one_sided=float(special.ndtr(-z)), p_two_sided=float(2 * special.ndtr(-abs(z)))
        )
    return Estimate(
        value=value,
        se=se,
        ci_low=low,
        ci_high=high,
        ci_method=ci_method,
        extra=extra,
        detail=detail,
        ci_note=note,
        **common,
    )


def _category_kappas(t: np.ndarray) -> tuple[float, ...]:
    """Agresti's category-specific kappas: Cohen's kappa of the 2 x 2 table "level k or not".

    ``kappa_k = (p_kk - p_k. p_.k) / ((p_k. + p_.k)/2 - p_k. p_.k)``; NaN for a level neither rater
    used, or one both raters used for every unit.
    """
    p = t / t.sum()
    row, col, diag = p.sum(axis=1), p.sum(axis=0), np.diag(p)
    den = (row + col) / 2.0 - row * col
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > _TINY, (diag - row * col) / np.where(den > _TINY, den, 1.0), np.nan)
    return tuple(float(x) for x in out)


def cohen_kappa(
    a: Any,
    b: Any,
    *,
    levels: Any,
    weights: Weights = None,
    confidence: float = 0.95,
    interval: Interval = "normal",
) -> Estimate:
    """Cohen's kappa between two raters' paired ratings of the same units.

    Parameters
    ----------
    a, b : array_like
        Rater 1's and rater 2's level values, paired by position; a pair with a NaN is dropped.
    levels : sequence
        The rubric's ordered levels (all of them: the table is ``q x q``).
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index over all levels.
    confidence : float
        Two-sided coverage of the interval.
    interval : {"normal", "t"}
        Normal (default) or t on units - 1 df, clipped to [-1, 1]; see :func:`cohen_kappa_from_table`.

    Returns
    -------
    Estimate
        See :func:`cohen_kappa_from_table`.

    References
    ----------
    Cohen (1960, 1968); Fleiss, Cohen & Everitt (1969), see :func:`cohen_kappa_from_table`.

    Examples
    --------
    >>> a = [1, 2, 3, 4, 4, 2, 3, 1]
    >>> b = [1, 2, 3, 3, 4, 2, 4, 2]
    >>> round(cohen_kappa(a, b, levels=[1, 2, 3, 4], weights="quadratic").value, 4)
    0.8333
    """
    return cohen_kappa_from_table(
        contingency_table(a, b, levels=levels), weights=weights, confidence=confidence, interval=interval
    )


def _pair_rows(rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every within-unit pair of ratings, oriented so that the lower rater code comes first."""
    order = np.argsort(rows.unit, kind="stable")
    u, g, k = rows.unit[order], rows.rater[order], rows.code[order]
    max_m = int(np.bincount(u).max()) if u.size else 0
    parts = []
    for lag in range(1, max_m):
        first = np.flatnonzero(u[lag:] == u[:-lag])
        if first.size:
            parts.append((first, first + lag))
    if parts:
        ia = np.concatenate([p[0] for p in parts])
        ib = np.concatenate([p[1] for p in parts])
    else:
        ia = ib = np.zeros(0, np.intp)
    ga, gb, ka, kb = g[ia], g[ib], k[ia], k[ib]
    swap = ga > gb
    ga, gb = np.where(swap, gb, ga), np.where(swap, ga, gb)
    ka, kb = np.where(swap, kb, ka), np.where(swap, ka, kb)
    return ga, gb, ka, kb


def _pair_kappas(
    ga: np.ndarray, gb: np.ndarray, ka: np.ndarray, kb: np.ndarray, n_raters: int, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kappa for every rater pair that shares a unit, from bincounts (no q x q table per pair)."""
    q = w.shape[0]
    key = ga.astype(np.int64) * n_raters + gb
    pair_keys, pid = np.unique(key, return_inverse=True)
    p = pair_keys.size
    n = np.bincount(pid, minlength=p).astype(np.float64)
    po = np.bincount(pid, weights=w[ka, kb], minlength=p) / np.maximum(n, 1.0)
    row = np.bincount(pid * q + ka, minlength=p * q).reshape(p, q) / np.maximum(n, 1.0)[:, None]
    col = np.bincount(pid * q + kb, minlength=p * q).reshape(p, q) / np.maximum(n, 1.0)[:, None]
    pe = ((row @ w) * col).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(1.0 - pe > _TINY, (po - pe) / (1.0 - pe), np.nan)
    tables = np.bincount(pid * (q * q) + ka * q + kb, minlength=p * q * q).reshape(p, q, q).astype(np.float64)
    return pair_keys // n_raters, pair_keys % n_raters, n.astype(np.int64), kappa, tables


def _fce_se(tables: np.ndarray, kappa: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fleiss, Cohen & Everitt's (1969) large-sample standard error of each pair's (weighted) kappa.

    ``var = [sum p_ij (w_ij - (wbar_i + wbar_j)(1 - k))^2 - (k - pe (1 - k))^2] / (n (1 - pe)^2)`` with
    ``wbar_i = sum_j w_ij p_.j`` and ``wbar_j = sum_i w_ij p_i.``; NaN where kappa is undefined.
    """
    n = tables.sum(axis=(1, 2))
    p = tables / np.maximum(n, 1.0)[:, None, None]
    row, col = p.sum(axis=2), p.sum(axis=1)
    pe = ((row @ w) * col).sum(axis=1)
    wbar_i = col @ w.T  # sum_j w_ij p_.j
    wbar_j = row @ w  # sum_i w_ij p_i.
    k = np.where(np.isnan(kappa), 0.0, kappa)
    dev = w[None] - (wbar_i[:, :, None] + wbar_j[:, None, :]) * (1.0 - k)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = ((p * dev**2).sum(axis=(1, 2)) - (k - pe * (1.0 - k)) ** 2) / (n * (1.0 - pe) ** 2)
    return np.where(np.isnan(kappa) | (n < 2), np.nan, np.sqrt(np.maximum(var, 0.0)))


def _kappa_pairs(
    units: Any, raters: Any, values: Any, lv: np.ndarray, w: np.ndarray
) -> tuple[_Long, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows plus, for every rater pair ``a < b`` sharing a unit: ``a``, ``b``, common units, kappa.

    Small data: all pair tables at once from one product of a units x (raters * levels) indicator
    matrix with itself. Large data: within-unit pairs of rows and bincounts (never a raters x units
    matrix).
    """
    rows = _long_rows(units, raters, values, lv, check_duplicates=True)
    n_u, r, q = rows.unit_ids.size, rows.rater_ids.size, lv.size
    if n_u * r * q <= _DENSE_LIMIT and (r * q) ** 2 <= _DENSE_LIMIT:
        x = np.zeros((n_u, r * q))
        x[rows.unit, rows.rater * q + rows.code] = 1.0
        tables = (x.T @ x).reshape(r, q, r, q).transpose(0, 2, 1, 3)
        a, b = np.triu_indices(r, 1)
        tab = tables[a, b]
        n = tab.sum(axis=(1, 2))
        keep = n > 0
        a, b, tab, n = a[keep], b[keep], tab[keep], n[keep]
        po = (tab * w).sum(axis=(1, 2)) / n
        row = tab.sum(axis=2) / n[:, None]
        col = tab.sum(axis=1) / n[:, None]
        pe = ((row @ w) * col).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = np.where(1.0 - pe > _TINY, (po - pe) / (1.0 - pe), np.nan)
        return rows, a, b, np.rint(n).astype(np.int64), kappa, tab
    ga, gb, ka, kb = _pair_rows(rows)
    if not ga.size:
        empty = np.zeros(0, np.int64)
        return rows, empty, empty, empty, np.zeros(0), np.zeros((0, q, q))
    a, b, n, kappa, tab = _pair_kappas(ga, gb, ka, kb, r, w)
    return rows, a, b, n, kappa, tab


def pairwise_kappa_matrix(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    weights: Weights = "quadratic",
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    interval: Interval = "normal",
    boot_interval: BootInterval = "percentile",
) -> PairwiseMatrix:
    """Cohen's kappa between every pair of raters, on the units each pair rated in common, with a
    bootstrap interval over those units.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows, one per unit and rater (a repeated pair is a ``ValueError``).
    levels : sequence
        The rubric's ordered levels.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default "quadratic".
        Agreement weights on the level index (quadratic by default).
    n_boot : int
        0 (default): each pair's interval is the Fleiss-Cohen-Everitt large-sample normal interval, as
        for :func:`cohen_kappa`. Otherwise a percentile bootstrap with this many resamples: units are
        resampled with replacement, the same draws for every pair, and each pair's kappa is recomputed
        on the units it shares. Its cost grows with resamples x units x pairs.
    seed : int or numpy.random.Generator
        Seed of the bootstrap, so a report is reproducible.
    confidence : float
        Two-sided coverage of the intervals.
    interval : {"normal", "t"}
        Without a bootstrap: each pair's analytic interval as :func:`cohen_kappa` gives it (normal by
        default, or t on common units - 1 df), clipped to [-1, 1].
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: percentile (default) or BCa intervals (see
        :func:`~calibration.stats.bootstrap.bootstrap_interval`); a pair whose kappa is undefined on
        more than ``(1 - confidence) / 2`` of the resamples gets no interval.

    Returns
    -------
    PairwiseMatrix
        ``values`` (NaN on the diagonal, for pairs without common units, and where kappa is 0/0),
        ``n_common`` (diagonal: units the rater rated), and ``ci_low``/``ci_high`` with ``ci_method``
        (NaN where there is no interval: an undefined kappa, a single common unit, or no defined replicate).

    References
    ----------
    Cohen, J. (1968). Weighted kappa. *Psychological Bulletin* 70(4), 213-220. Fleiss, J. L., Cohen,
    J., & Everitt, B. S. (1969). Large sample standard errors of kappa and weighted kappa.
    *Psychological Bulletin* 72(5), 323-327. Efron, B., &
    Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13 (percentile interval).

    Examples
    --------
    >>> units = [1, 1, 1, 2, 2, 2, 3, 3, 3]
    >>> raters = [7, 8, 9] * 3
    >>> values = [1, 1, 2, 2, 2, 2, 3, 3, 3]
    >>> pm = pairwise_kappa_matrix(units, raters, values, levels=[1, 2, 3], weights=None)
    >>> pm.get(7, 8), round(pm.get(7, 9), 3), pm.n_common.tolist()[0]
    (1.0, 0.5, [3, 3, 3])
    """
    lv = _check_levels(levels)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("interval", interval, ("normal", "t"))
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    w = _weight_matrix(lv.size, weights, symmetric=True)
    rows, a, b, n, kappa, tables = _kappa_pairs(units, raters, values, lv, w)
    r = rows.rater_ids.size
    vals = np.full((r, r), np.nan)
    common = np.zeros((r, r), np.int64)
    low = np.full((r, r), np.nan)
    high = np.full((r, r), np.nan)
    vals[a, b] = vals[b, a] = kappa
    common[a, b] = common[b, a] = n
    if n_boot and a.size:
        pair_low, pair_high = pair_intervals(rows, a, b, kappa, w, n_boot, seed, confidence, boot_interval)
    else:
        se = _fce_se(tables, kappa, w)
        with np.errstate(invalid="ignore"):
            crit = (
                special.stdtrit(n - 1.0, 0.5 + confidence / 2.0)
                if interval == "t"
                else special.ndtri(0.5 + confidence / 2.0)
            )
        half = np.where(n >= 2, crit, np.nan) * se if interval == "t" else crit * se
        pair_low, pair_high = np.maximum(kappa - half, -1.0), np.minimum(kappa + half, 1.0)
    low[a, b] = low[b, a] = pair_low
    high[a, b] = high[b, a] = pair_high
    idx = np.arange(r)
    common[idx, idx] = np.bincount(rows.rater, minlength=r)
    return PairwiseMatrix(
        rows.rater_ids,
        vals,
        common,
        method=_method("cohen_kappa", weights),
        ci_low=low,
        ci_high=high,
        n_boot=n_boot,
        confidence=confidence,
        ci_method=boot_ci_method(boot_interval) if n_boot else interval,
    )


def light_kappa(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    weights: Weights = None,
    n_boot: int = 1000,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Light's kappa: the mean of Cohen's kappas over all pairs of raters, with a bootstrap interval.

    Each pair uses the units both raters rated (pairwise deletion; with complete data this is R irr's
    ``kappam.light``); pairs whose kappa is undefined are left out of the mean.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows, one per unit and rater.
    levels : sequence
        The rubric's ordered levels.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index.
    n_boot : int
        Resamples of the unit bootstrap interval (default 1,000; there is no analytic standard error
        for Light's kappa). Units are resampled with replacement, the same draws for every pair, and
        each resample's Light's kappa is the mean of its pairs' defined kappas; all resamples are one
        matrix product per block of pairs (cost grows with resamples x units x pairs). 0: no interval.
    seed, confidence
        Bootstrap seed and two-sided coverage.
    boot_interval : {"percentile", "bca"}
        Percentile (default) or BCa interval (Efron 1987; acceleration from the jackknife over units).

    Returns
    -------
    Estimate
        ``ci_method`` ``"bootstrap"`` (or ``"bca"``); ``extra``: ``n_pairs`` (rater pairs sharing a
        unit), ``n_pairs_defined`` and the bootstrap counts (``n_boot``, ``n_boot_defined``,
        ``n_boot_undefined``, ``boot_se``); with complete data (every rater rated every unit) also R
        irr's ``kappam.light`` test of kappa = 0: ``se0``, ``z`` and the two-sided normal ``p_value``
        (see :func:`_light_test`; irr's approximation, not a variance from Light 1971). No interval
        (``ci_note`` says why) when more than ``(1 - confidence) / 2`` of the resamples have no
        defined pair.

    References
    ----------
    Light, R. J. (1971). Measures of response agreement for qualitative data: some generalizations
    and alternatives. *Psychological Bulletin* 76(5), 365-377. Conger, A. J. (1980).
    *Psychological Bulletin* 88(2), 322-328.

    Examples
    --------
    >>> units = [1, 1, 1, 2, 2, 2, 3, 3, 3]
    >>> raters = [7, 8, 9] * 3
    >>> values = [1, 1, 2, 2, 2, 2, 3, 3, 3]
    >>> round(light_kappa(units, raters, values, levels=[1, 2, 3]).value, 4)
    0.6667
    """
    n_boot = _check_n_boot(n_boot)
    conf = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    lv = _check_levels(levels)
    w = _weight_matrix(lv.size, weights, symmetric=True)
    rows, a, b, n_common, kappa, _ = _kappa_pairs(units, raters, values, lv, w)
    n_units, n_r = rows.unit_ids.size, rows.rater_ids.size
    common: dict[str, Any] = {
        "method": _method("light_kappa", weights),
        "n_units": n_units,
        "n_raters": n_r,
        "confidence": conf,
    }
    reason = _undefined_reason(n_units, n_r, int(n_common.sum()))
    if reason is not None:
        return Estimate(value=None, reason=reason, **common)
    ok = np.isfinite(kappa)
    extra = {"n_pairs": float(kappa.size), "n_pairs_defined": float(ok.sum())}
    if not ok.any():
        reason = "no pair of raters has a defined kappa (each pair used a single level)"
        return Estimate(value=None, reason=reason, extra=extra, **common)
    value = float(kappa[ok].mean())
    if ok.all() and rows.unit.size == n_units * n_r:
        extra.update(_light_test(rows, lv.size, value))
    if not n_boot:
        return Estimate(value=value, extra=extra, **common)
    bi = light_interval(rows, a, b, value, w, n_boot, seed, conf, boot_interval)
    extra.update(bi.extra())
    return Estimate(
        value=value,
        ci_low=bi.low,
        ci_high=bi.high,
        ci_method=boot_ci_method(boot_interval),
        ci_note=bi.note,
        extra=extra,
        **common,
    )


def _light_test(rows: _Long, q: int, value: float) -> dict[str, float]:
    """R irr's ``kappam.light`` test of ``kappa = 0``, for complete data (every rater rated every unit).

    With ``n`` units, ``P`` rater pairs and ``D_ab = n^2 - sum_k c_ak c_bk`` the number of
    disagreeing (unit, unit) combinations of raters ``a`` and ``b`` (``c_ak``: rater ``a``'s count at
    level ``k``), irr takes ``P_c = 1 - P prod(D_ab) / n^(2P)``, ``var0 = P_c / (n (1 - P_c))``,
    ``z = kappa / sqrt(var0)`` and a two-sided normal p-value. Computed in logs (the product is huge).
    Empty when the chance term is degenerate.
    """
    n = float(rows.unit_ids.size)
    r = rows.rater_ids.size
    c = np.bincount(rows.rater * q + rows.code, minlength=r * q).reshape(r, q).astype(np.float64)
    a, b = np.triu_indices(r, 1)
    dis = n * n - (c[a] * c[b]).sum(axis=1)
    if np.any(dis <= 0):
        return {}
    log_ratio = np.log(a.size) + np.log(dis).sum() - 2.0 * a.size * np.log(n)
    ratio = float(np.exp(log_ratio))
    if not 0.0 < ratio < 1.0:
        return {}
    se0 = float(np.sqrt((1.0 - ratio) / (n * ratio)))
    z = value / se0
    return {"se0": se0, "z": z, "p_value": float(2.0 * special.ndtr(-abs(z)))}

"""Conger's kappa (each rater's own marginals) and Scott's pi among many raters.

Split from :mod:`calibration.stats.multirater`, which re-exports both; the shared Gwet (2014) machinery
is in :mod:`calibration.stats._gwet_core`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import (
    NO_VARIATION,
    ONE_RATER,
    _check_choice,
    _check_confidence,
    _check_levels,
    _check_n_boot,
    _method_name,
    _undefined_reason,
    _weight_matrix,
)
from ._data import _long_rows
from ._gwet_core import _TINY, Missing, _check_missing, _gwet, _z_p
from ._patterns import ValuePatterns, _patterns_from_counts
from ._types import BootInterval, Weights
from .bootstrap import bootstrap_units, t_interval
from .results import Estimate

__all__ = ["conger_kappa", "scotts_pi"]


def conger_kappa(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    weights: Weights = None,
    missing: Missing = "gwet",
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Conger's (1980) generalised kappa: chance agreement from each rater's own level shares.

    ``pe = sum_kl w_kl (pbar_k pbar_l - s_kl / r)`` where ``p_gk`` is the share of rater ``g``'s
    ratings at level ``k``, ``pbar_k`` its mean over the ``r`` raters and ``s_kl`` the covariance of
    ``p_gk`` and ``p_gl`` across raters. For complete data this is the "exact" kappa of R irr's
    ``kappam.fleiss(exact=TRUE)``. Needs rater identity: one row per unit and rater.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; a repeated (unit, rater) pair is a ``ValueError``.
    levels : sequence
        The rubric's ordered levels.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index.
    missing : {"gwet", "pairable"}
        Keep units rated once (Gwet 2014) or drop them.
    n_boot : int
        When positive, a bootstrap interval over units (loop; see
        :func:`~calibration.stats.bootstrap_units`); otherwise Gwet's t interval.
    seed, confidence
        Bootstrap seed and two-sided coverage.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval (one
        jackknife pass with each unit left out; see :func:`~calibration.stats.bootstrap_units`).

    Returns
    -------
    Estimate
        ``se`` from Gwet (2014, linearised, conditional on raters); ``extra`` has ``pa``, ``pe`` and
        ``z``, ``p_value``, ``p_one_sided`` (null: kappa = 0; Student t on units - 1 df).

    References
    ----------
    Conger, A. J. (1980). Integration and generalization of kappas for multiple raters.
    *Psychological Bulletin* 88(2), 322-328. Gwet, K. L. (2014). *Handbook of Inter-Rater
    Reliability* (4th ed.), ch. 2 and 5.

    Examples
    --------
    >>> units = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    >>> raters = [1, 2, 3] * 4
    >>> values = [1, 1, 1, 2, 2, 1, 3, 3, 3, 2, 2, 2]
    >>> round(conger_kappa(units, raters, values, levels=[1, 2, 3]).value, 4)
    0.75
    """
    _check_missing(missing)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    if n_boot:
        return bootstrap_units(
            conger_kappa, units, raters, values,
            n_boot=n_boot, seed=seed, confidence=confidence, method=boot_interval,
            levels=levels, weights=weights, missing=missing,
        )  # fmt: skip
    lv = _check_levels(levels)
    q = lv.size
    w = _weight_matrix(q, weights)
    name = _method_name("conger_kappa", weights)
    rows = _long_rows(units, raters, values, lv, check_duplicates=True)
    uc, rc, code = rows.unit, rows.rater, rows.code
    m_all = np.bincount(uc, minlength=rows.unit_ids.size)
    reason = _undefined_reason(rows.unit_ids.size, rows.rater_ids.size, int((m_all >= 2).sum()))
    if reason is not None:
        return Estimate(
            method=name, value=None, reason=reason, n_units=rows.unit_ids.size,
            n_raters=rows.rater_ids.size, confidence=confidence,
        )  # fmt: skip
    if missing == "pairable":
        keep = m_all[uc] >= 2
        _, uc = np.unique(uc[keep], return_inverse=True)
        _, rc = np.unique(rc[keep], return_inverse=True)
        code = code[keep]
    n = int(uc.max()) + 1
    r = int(rc.max()) + 1
    c = np.bincount(uc * q + code, minlength=n * q).reshape(n, q).astype(np.float64)
    m = c.sum(axis=1)
    two = m >= 2
    n2 = float(two.sum())
    common: dict[str, Any] = {"method": name, "n_units": n, "n_raters": r, "confidence": confidence}
    if r < 2:
        return Estimate(value=None, reason=ONE_RATER, **common)
    sumq = (c * (c @ w.T - 1.0)).sum(axis=1)
    pa_i = np.where(two, sumq / np.where(two, m * (m - 1.0), 1.0), 0.0)
    pa = float(pa_i.sum() / n2)
    classif = np.bincount(rc * q + code, minlength=r * q).reshape(r, q).astype(np.float64)
    n_g = classif.sum(axis=1)
    p = classif / n_g[:, None]
    pbar = p.mean(axis=0)
    s2 = (p.T @ p - r * np.outer(pbar, pbar)) / (r - 1.0)
    pe = float((w * (np.outer(pbar, pbar) - s2 / r)).sum())
    if 1.0 - pe <= _TINY:
        return Estimate(value=None, reason=NO_VARIATION, **common)
    value = (pa - pe) / (1.0 - pe)
    # Gwet's per-unit chance terms, summed from rows: lambda_ig reduces to a per-row term plus a constant.
    a = r * pbar[None, :] - p
    aw = a @ w
    c_g = (a * (p @ w.T)).sum(axis=1)
    row_term = (n / n_g[rc]) * (aw[rc, code] - c_g[rc])
    pe_i = (np.bincount(uc, weights=row_term, minlength=n) + c_g.sum()) / (r * (r - 1.0))
    x = (n / n2) * (pa_i - pe * two) / (1.0 - pe) - 2.0 * (1.0 - value) * (pe_i - pe) / (1.0 - pe)
    se = None
    low = high = None
    ci_method = None
    if n >= 2:
        se = float(np.sqrt(max(((x - value) ** 2).sum() / (n * (n - 1.0)), 0.0)))
        low, high = t_interval(value, se, n - 1.0, confidence=confidence)
        ci_method = "t"
    extra = {"pa": pa, "pe": pe, "df": n - 1.0, "n_pairable_units": n2}
    extra.update(_z_p(value, se, n - 1.0))
    return Estimate(value=value, se=se, ci_low=low, ci_high=high, ci_method=ci_method, extra=extra, **common)


def scotts_pi(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    weights: Weights = None,
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Scott's pi for two raters, on the units both rated.

    ``pe = sum_kl w_kl pi_k pi_l`` with ``pi`` the two raters' pooled level shares: Fleiss' kappa
    with two ratings per unit. Undefined (with a reason) unless the rows hold exactly two raters.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows of two raters; one row per unit and rater.
    levels : sequence
        The rubric's ordered levels.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index.
    n_boot, seed, confidence
        A bootstrap interval over units when ``n_boot`` is positive; otherwise Gwet's t interval.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``method`` ``"scotts_pi"``; ``extra`` has ``pa``, ``pe`` and ``z``, ``p_value``, ``p_one_sided``
        (null: pi = 0; Student t on units - 1 df).

    References
    ----------
    Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale coding. *Public
    Opinion Quarterly* 19(3), 321-325. Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*.

    Examples
    --------
    >>> round(scotts_pi([1, 1, 2, 2, 3, 3], [7, 8, 7, 8, 7, 8], [1, 1, 2, 2, 2, 1], levels=[1, 2]).value, 4)
    0.3333
    """
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    lv = _check_levels(levels)
    q = lv.size
    rows = _long_rows(units, raters, values, lv, check_duplicates=True)
    name = _method_name("scotts_pi", weights)
    n_r = rows.rater_ids.size
    if n_r > 2:
        reason = f"Scott's pi compares exactly two raters; these rows have {n_r} (use fleiss_kappa)"
        return Estimate(method=name, value=None, reason=reason, n_raters=n_r, confidence=confidence)
    m = np.bincount(rows.unit, minlength=rows.unit_ids.size)
    both = m[rows.unit] == 2
    n_both = int((m == 2).sum())
    if n_both == 0:
        reason = _undefined_reason(int(m.size), n_r, 0) or "no unit was rated by both raters"
        return Estimate(method=name, value=None, reason=reason, n_raters=n_r, confidence=confidence)
    _, uc = np.unique(rows.unit[both], return_inverse=True)
    counts = np.bincount(uc * q + rows.code[both], minlength=n_both * q).reshape(n_both, q)
    pats = _patterns_from_counts(counts)
    pats = ValuePatterns(pats.counts, pats.multiplicity, pats.n_units, n_r, lv)
    w = _weight_matrix(q, weights)
    est, _ = _gwet(
        pats,
        w,
        "fleiss",
        name,
        missing="pairable",
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        boot_interval=boot_interval,
    )
    return est

"""Chance-corrected agreement among many raters: Fleiss, Conger, Gwet's AC1/AC2, Brennan-Prediger,
Scott's pi and percent agreement, with Gwet's (2014) standard errors.

All share one form, ``(pa - pe) / (1 - pe)``, and differ in the chance agreement ``pe``. Observed
agreement is Gwet's: per unit ``i`` with ``m_i >= 2`` ratings, ``pa_i = sum_k n_ik (n*_ik - 1) /
(m_i (m_i - 1))`` with ``n*_ik = sum_l w_kl n_il`` (weights on the level index over all levels), and
``pa`` is the mean over those units. Missing ratings follow Gwet's (2014) convention by default
(``missing="gwet"``): every unit rated at least once is kept; ``pa`` averages units with two or more
ratings, while the level shares ``pi_k`` average ``n_ik / m_i`` over all kept units and the variance
uses all of them (``n`` units, Student t with ``n - 1`` df). ``missing="pairable"`` drops units with
fewer than two ratings first. With complete data both are the classic formulas.

Conger's kappa and Scott's pi live in :mod:`calibration.stats.conger` (re-exported here), the shared
Gwet machinery in :mod:`calibration.stats._gwet_core`. Except for Conger's kappa (which needs each
rater's own marginals), everything is computed from the value-count patterns of
:func:`~calibration.stats._patterns.value_count_patterns`, so cost does not grow with the number of
distinct units beyond one pass, and ``n_boot`` resamples are one matrix product.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
from scipy import special

from ._checks import (
    _check_choice,
    _check_confidence,
    _check_n_boot,
    _is_unweighted,
    _method_name,
    _undefined_reason,
    _weight_matrix,
    _weights_label,
)
from ._gwet_core import Missing, _check_missing, _gwet
from ._patterns import ValuePatterns, _patterns_from_counts, value_count_patterns
from ._types import BootInterval, Weights
from .bootstrap import boot_ci_method, bootstrap_interval, pattern_resamples, wilson_bounds
from .conger import conger_kappa, scotts_pi
from .results import Estimate

__all__ = [
    "brennan_prediger",
    "conger_kappa",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gwet_ac1",
    "percent_agreement",
    "scotts_pi",
]


def _fleiss_details(
    patterns: ValuePatterns, value: float
) -> tuple[dict[str, float], dict[str, tuple[float, ...]]]:
    """Per-level kappas (Fleiss 1971, eq. 9, generalised to unequal m) and, for equal m, the
    Fleiss-Nee-Landis (1979) null standard error with its z and two-sided p."""
    pp = patterns.select(patterns.m >= 2)
    c = pp.counts.astype(np.float64)
    f = pp.multiplicity.astype(np.float64)
    m = c.sum(axis=1)
    total = float((f * m).sum())
    p = (f[:, None] * c).sum(axis=0) / total
    pq = p * (1.0 - p)
    num = (f[:, None] * c * (m[:, None] - c) / (m[:, None] - 1.0)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_level = np.where(pq > 0, 1.0 - num / (total * np.where(pq > 0, pq, 1.0)), np.nan)
    extra: dict[str, float] = {}
    balanced = pp.n_units == patterns.n_units and np.unique(m).size == 1
    if balanced and pq.sum() > 0:
        mm = float(m[0])
        n = float(f.sum())
        s = pq.sum()
        inner = s**2 - (pq * (1.0 - 2.0 * p)).sum()
        se0 = np.sqrt(2.0) / (s * np.sqrt(n * mm * (mm - 1.0))) * np.sqrt(max(inner, 0.0))
        if se0 > 0:
            z = value / se0
            extra.update(se0=float(se0), z=float(z), p_value=float(2.0 * special.ndtr(-abs(z))))
    return extra, {"category_kappas": tuple(per_level)}


def _fleiss_core(
    patterns: ValuePatterns,
    *,
    method: str,
    weights: Weights,
    missing: str,
    n_boot: int,
    seed: Any,
    confidence: float,
    boot_interval: str = "percentile",
) -> Estimate:
    if method not in ("fleiss", "randolph"):
        raise ValueError(f"method must be 'fleiss' or 'randolph', got {method!r}")
    q = patterns.counts.shape[1]
    w = _weight_matrix(q, weights)
    if method == "randolph":
        name = _method_name("randolph_kappa", weights)
        est, _ = _gwet(
            patterns, w, "bp", name,
            missing=missing, n_boot=n_boot, seed=seed, confidence=confidence, boot_interval=boot_interval,
        )  # fmt: skip
        return est
    name = _method_name("fleiss_kappa", weights)
    est, parts = _gwet(
        patterns, w, "fleiss", name,
        missing=missing, n_boot=n_boot, seed=seed, confidence=confidence, boot_interval=boot_interval,
    )  # fmt: skip
    if est.value is None:
        return est
    extra = dict(est.extra)
    extra.update(p_bar=extra["pa"], pe_bar=extra["pe"])
    detail: dict[str, tuple[float, ...]] = {}
    for key in ("z", "p_value", "p_one_sided"):
        if key in extra:  # Gwet's test under its own name; z/p_value may become Fleiss-Nee-Landis below
            extra[f"{key}_gwet"] = extra.pop(key) if key == "p_one_sided" else extra[key]
    if _is_unweighted(weights):
        more, detail = _fleiss_details(parts["patterns"], est.value)
        extra.update(more)
    return replace(est, extra=extra, detail=detail)


def fleiss_kappa(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    method: Literal["fleiss", "randolph"] = "fleiss",
    weights: Weights = None,
    missing: Missing = "gwet",
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Fleiss' kappa (or Randolph's free-marginal kappa) for many raters.

    Fleiss: ``pe = sum_kl w_kl pi_k pi_l`` with ``pi_k`` the mean share of level ``k`` per unit.
    Randolph (``method="randolph"``): ``pe = sum_kl w_kl / q^2`` (``1/q`` unweighted), i.e. the
    Brennan-Prediger coefficient. Observed agreement and missing-data handling: see the module notes.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; NaN values are missing.
    levels : sequence
        The rubric's ordered levels (all of them).
    method : {"fleiss", "randolph"}
        Chance model.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index over all levels (Gwet's weighted generalisation).
    missing : {"gwet", "pairable"}
        Keep units rated once (Gwet 2014) or drop them.
    n_boot : int
        A bootstrap interval over units when positive; otherwise Gwet's t interval.
    seed : int or numpy.random.Generator
        Bootstrap seed.
    confidence : float
        Two-sided coverage.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``se`` is Gwet's (2014) standard error (conditional on raters). ``extra``: ``pa``/``p_bar``,
        ``pe``/``pe_bar`` and, when every unit has the same number of ratings, ``se0``, ``z`` and
        ``p_value`` (two-sided) from the Fleiss, Nee & Landis (1979) null variance; otherwise ``z`` and
        ``p_value`` are Gwet's (SE-based, Student t), which are always also in ``z_gwet``,
        ``p_value_gwet`` and ``p_one_sided_gwet``. ``detail``:
        ``category_kappas`` (unweighted Fleiss only; NaN for a level nobody used).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychological
    Bulletin* 76(5), 378-382. Fleiss, J. L., Nee, J. C. M., & Landis, J. R. (1979). Large sample
    variance of kappa in the case of different sets of raters. *Psychological Bulletin* 86(5),
    974-977. Randolph, J. J. (2005). Free-marginal multirater kappa. Gwet, K. L. (2014). *Handbook of
    Inter-Rater Reliability* (4th ed.), ch. 2 and 5.

    Examples
    --------
    >>> units = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    >>> raters = [1, 2, 3] * 4
    >>> values = [1, 1, 1, 2, 2, 1, 3, 3, 3, 2, 2, 2]
    >>> k = fleiss_kappa(units, raters, values, levels=[1, 2, 3])
    >>> round(k.value, 4), round(k.extra["pa"], 4), k.ci_method
    (0.7447, 0.8333, 't')
    """
    _check_missing(missing)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    patterns = value_count_patterns(units, values, levels=levels, raters=raters)
    return _fleiss_core(
        patterns,
        method=method,
        weights=weights,
        missing=missing,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        boot_interval=boot_interval,
    )


def fleiss_kappa_from_counts(
    counts: Any,
    *,
    method: Literal["fleiss", "randolph"] = "fleiss",
    weights: Weights = None,
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Fleiss' kappa from a units x levels table of counts (how many raters chose each level).

    Same statistic as :func:`fleiss_kappa`; the columns are the rubric's levels in order, used or not.

    Parameters
    ----------
    counts : array_like
        ``n_units x q`` non-negative integer counts.
    method, weights, n_boot, seed, confidence
        As in :func:`fleiss_kappa`.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        As :func:`fleiss_kappa`, plus ``detail["p_i"]``: each unit's agreement (NaN for units with
        fewer than two ratings), in input row order.

    References
    ----------
    Fleiss, J. L. (1971). *Psychological Bulletin* 76(5), 378-382.

    Examples
    --------
    >>> k = fleiss_kappa_from_counts([[3, 0, 0], [1, 2, 0], [0, 0, 3], [0, 3, 0]])
    >>> round(k.value, 4), [round(x, 3) for x in k.detail["p_i"]]
    (0.7447, [1.0, 0.333, 1.0, 1.0])
    """
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    table = np.asarray(counts)
    patterns = _patterns_from_counts(table)
    est = _fleiss_core(
        patterns,
        method=method,
        weights=weights,
        missing="gwet",
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        boot_interval=boot_interval,
    )
    c = table.astype(np.float64)
    m = c.sum(axis=1)
    w = _weight_matrix(c.shape[1], weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_i = np.where(m >= 2, (c * (c @ w.T - 1.0)).sum(axis=1) / (m * (m - 1.0)), np.nan)
    return replace(est, detail={**est.detail, "p_i": tuple(p_i)})


def gwet_ac1(
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
    """Gwet's AC1 (unweighted) or AC2 (weighted) agreement coefficient.

    ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)`` with ``T_w`` the sum of all weights. Unlike
    kappa it stays high when almost all ratings fall in one level and raters agree (the "kappa
    paradox"), so prefer it over Fleiss' kappa for skewed rubrics.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; NaN values are missing.
    levels : sequence
        The rubric's ordered levels (all of them).
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        None gives AC1; weights (on the level index over all levels) give AC2.
    missing : {"gwet", "pairable"}
        Keep units rated once (Gwet 2014) or drop them.
    n_boot : int
        A bootstrap interval over units when positive; otherwise Gwet's t interval (df = n - 1).
    seed : int or numpy.random.Generator
        Bootstrap seed.
    confidence : float
        Two-sided coverage.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``method`` ``"gwet_ac1"`` or ``"gwet_ac2_<weights>"``; ``se`` from Gwet (2008, 2014);
        ``extra`` has ``pa``, ``pe`` and ``z``, ``p_value``, ``p_one_sided`` (null: AC = 0; Student t on
        units - 1 df, as Gwet and irrCAC).

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high
    agreement. *British Journal of Mathematical and Statistical Psychology* 61, 29-48. Gwet, K. L.
    (2014). *Handbook of Inter-Rater Reliability* (4th ed.), ch. 4 and 5.

    Examples
    --------
    All but one rating at the top level: kappa collapses, AC1 does not.

    >>> units = [u for u in range(10) for _ in range(2)]
    >>> raters = [1, 2] * 10
    >>> values = [4] * 19 + [3]
    >>> round(gwet_ac1(units, raters, values, levels=[1, 2, 3, 4]).value, 3)
    0.897
    >>> round(fleiss_kappa(units, raters, values, levels=[1, 2, 3, 4]).value, 3)
    -0.053
    """
    _check_missing(missing)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    patterns = value_count_patterns(units, values, levels=levels, raters=raters)
    w = _weight_matrix(patterns.counts.shape[1], weights)
    name = "gwet_ac1" if _is_unweighted(weights) else f"gwet_ac2_{_weights_label(weights)}"
    est, _ = _gwet(
        patterns, w, "ac1", name,
        missing=missing, n_boot=n_boot, seed=seed, confidence=confidence, boot_interval=boot_interval,
    )  # fmt: skip
    return est


def brennan_prediger(
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
    """Brennan & Prediger's coefficient: chance agreement from uniform level use, ``pe = T_w / q^2``.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; NaN values are missing.
    levels : sequence
        The rubric's ordered levels; ``q`` counts all of them, so unused levels matter here.
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Agreement weights on the level index.
    missing, n_boot, seed, confidence
        As in :func:`gwet_ac1`.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``se`` from Gwet (2014); ``extra`` has ``pa``, ``pe`` and ``z``, ``p_value``, ``p_one_sided``
        (null: the coefficient is 0; Student t on units - 1 df).

    References
    ----------
    Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and
    alternatives. *Educational and Psychological Measurement* 41, 687-699. Gwet, K. L. (2014).
    *Handbook of Inter-Rater Reliability* (4th ed.).

    Examples
    --------
    >>> round(brennan_prediger([1, 1, 2, 2], [1, 2, 1, 2], [1, 1, 2, 3], levels=[1, 2, 3, 4]).value, 4)
    0.3333
    """
    _check_missing(missing)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    patterns = value_count_patterns(units, values, levels=levels, raters=raters)
    w = _weight_matrix(patterns.counts.shape[1], weights)
    name = _method_name("brennan_prediger", weights)
    est, _ = _gwet(
        patterns, w, "bp", name,
        missing=missing, n_boot=n_boot, seed=seed, confidence=confidence, boot_interval=boot_interval,
    )  # fmt: skip
    return est


def percent_agreement(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    definition: Literal["pairwise", "all"] = "pairwise",
    tolerance: int = 0,
    weights: Weights = None,
    missing: Missing = "gwet",
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Share of agreement among raters, as a proportion (0 to 1).

    Two definitions, over units with at least two ratings:

    * ``"pairwise"`` (default; Gwet): per unit, the share of agreeing rater pairs, averaged over
      units. It is the ``pa`` of the chance-corrected coefficients; ``weights`` give weighted
      agreement. Interval: Gwet's SE with Student t (df = units - 1).
    * ``"all"`` (R irr ``agree``): the share of units on which all raters agree. Interval: Wilson.

    ``tolerance=1`` counts levels within one index step as agreeing ("within one level"): pairs with
    ``|i - j| <= 1`` (pairwise) or units whose ratings span at most one level (all).

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; NaN values are missing.
    levels : sequence
        The rubric's ordered levels.
    definition : {"pairwise", "all"}
        See above.
    tolerance : int
        Largest index difference that still counts as agreement (0: exact).
    weights : str, array_like or None
        A weight scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) or a custom ``q x q`` matrix; see
        ``docs/statistics.md``. Default None.
        Weighted pairwise agreement (not with ``tolerance`` or ``definition="all"``).
    missing : {"gwet", "pairable"}
        For the pairwise SE: keep units rated once (Gwet 2014) or drop them.
    n_boot, seed, confidence
        A bootstrap interval over units when ``n_boot`` is positive.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``method`` ``"percent_agreement_<definition>"`` (with ``_within_<t>`` or ``_<weights>``);
        ``extra`` has ``n_agree`` for ``"all"``.

    References
    ----------
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), ch. 2 and 5 (``pa`` and its
    variance). Gamer, M., Lemon, J., Fellows, I., & Singh, P. (2019). irr: Various coefficients of
    interrater reliability and agreement, R package 0.84.1, function ``agree``. Wilson, E. B. (1927).
    *JASA* 22, 209-212.

    Examples
    --------
    >>> units = [1, 1, 1, 2, 2, 2]
    >>> raters = [1, 2, 3, 1, 2, 3]
    >>> values = [4, 4, 3, 2, 2, 2]
    >>> round(percent_agreement(units, raters, values, levels=[1, 2, 3, 4]).value, 4)
    0.6667
    >>> percent_agreement(units, raters, values, levels=[1, 2, 3, 4], definition="all").value
    0.5
    >>> percent_agreement(units, raters, values, levels=[1, 2, 3, 4], definition="all", tolerance=1).value
    1.0
    """
    if definition not in ("pairwise", "all"):
        raise ValueError(f"definition must be 'pairwise' or 'all', got {definition!r}")
    if isinstance(tolerance, bool) or int(tolerance) != tolerance or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative whole number of levels, got {tolerance!r}")
    tolerance = int(tolerance)
    if not _is_unweighted(weights) and (tolerance or definition == "all"):
        raise ValueError("weights apply to pairwise exact agreement only; drop weights or tolerance")
    _check_missing(missing)
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    patterns = value_count_patterns(units, values, levels=levels, raters=raters)
    q = patterns.counts.shape[1]
    suffix = f"_within_{tolerance}" if tolerance else _method_name("", weights)
    if definition == "pairwise":
        if tolerance:
            idx = np.arange(q)
            w = (np.abs(idx[:, None] - idx[None, :]) <= tolerance).astype(np.float64)
        else:
            w = _weight_matrix(q, weights)
        est, _ = _gwet(
            patterns, w, "pa", "percent_agreement_pairwise" + suffix,
            missing=missing, n_boot=n_boot, seed=seed, confidence=confidence, boot_interval=boot_interval,
        )  # fmt: skip
        return est
    return _all_agree(
        patterns, tolerance, "percent_agreement_all" + suffix, n_boot, seed, confidence, boot_interval
    )


def _all_agree(
    patterns: ValuePatterns,
    tolerance: int,
    method: str,
    n_boot: int,
    seed: Any,
    confidence: float,
    boot_interval: str = "percentile",
) -> Estimate:
    pp = patterns.select(patterns.m >= 2)
    n = pp.n_units
    common: dict[str, Any] = {
        "method": method,
        "n_units": n,
        "n_raters": patterns.n_raters,
        "confidence": confidence,
    }
    reason = _undefined_reason(patterns.n_units, patterns.n_raters, n)
    if reason is not None:
        return Estimate(value=None, reason=reason, **common)
    used = pp.counts > 0
    q = used.shape[1]
    first = used.argmax(axis=1)
    last = q - 1 - used[:, ::-1].argmax(axis=1)
    agree = (last - first) <= tolerance
    k = int(pp.multiplicity[agree].sum())
    value = k / n
    extra = {"n_agree": float(k)}
    if n_boot:
        f = pp.multiplicity.astype(np.float64)
        hit = agree.astype(np.float64)
        reps = (pattern_resamples(pp.multiplicity, n_boot, seed) @ hit) / n
        jack = None
        if boot_interval == "bca":  # leave one unit of each pattern out
            jack = (f @ hit - hit) / (n - 1.0) if n > 1 else None
        bi = bootstrap_interval(
            reps, value, method=boot_interval, jackknife=jack, jackknife_weights=f, confidence=confidence
        )
        low, high = bi.low, bi.high
        extra.update(bi.extra())
        ci_method = boot_ci_method(boot_interval)
    else:
        low, high = wilson_bounds(k, n, confidence=confidence)
        ci_method = "wilson"
    se = float(np.sqrt(value * (1.0 - value) / n))
    return Estimate(value=value, se=se, ci_low=low, ci_high=high, ci_method=ci_method, extra=extra, **common)

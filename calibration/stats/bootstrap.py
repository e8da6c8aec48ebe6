"""Intervals: bootstrap over units (seeded, percentile), Student t, normal and Wilson.

Resampling units with replacement is the same as drawing how many times each unit is picked from a
multinomial. Units with the same value-count pattern are interchangeable, so for the pattern-based
statistics (alpha, Fleiss, AC1/AC2, Brennan-Prediger, percent agreement) one multinomial draw over the
*pattern* frequencies is exactly one unit bootstrap resample, and 1,000 resamples are one
``(n_boot x n_patterns)`` matrix: no loop, no copy of the data. :func:`bootstrap_units` is the generic
(slower) version for any statistic taking long rows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import special

from ._checks import _as_1d, _check_confidence, _check_lengths, _check_n_boot, _factorize, _values_1d
from .results import Estimate

__all__ = ["bootstrap_units", "normal_interval", "percentile_interval", "t_interval", "wilson_bounds"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def pattern_resamples(multiplicity: np.ndarray, n_boot: int, seed: Any) -> np.ndarray:
    """``n_boot x P`` float matrix: how many units of each pattern each resample draws (rows sum to n).

    Few units: draw the units themselves (``n_boot x n`` indices, then one ``np.bincount``). Many units
    with few patterns: one multinomial over the pattern frequencies per resample. Both are exactly a
    unit bootstrap. With an integer seed the (read-only) result is memoised, so the statistics of one
    report, which resample the same units with the same seed, share one set of draws.
    """
    mult = np.ascontiguousarray(multiplicity, dtype=np.int64)
    small = n_boot * mult.size <= 1 << 20  # memoise at most ~8 MB per entry
    if small and isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return _cached_resamples(mult.tobytes(), int(n_boot), int(seed))
    return _draw(mult, n_boot, _rng(seed))


@functools.lru_cache(maxsize=16)
def _cached_resamples(mult_bytes: bytes, n_boot: int, seed: int) -> np.ndarray:
    draws = _draw(np.frombuffer(mult_bytes, dtype=np.int64), n_boot, np.random.default_rng(seed))
    draws.setflags(write=False)
    return draws


def _draw(mult: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = int(mult.sum())
    p = mult.size
    if n > 60 * p:
        return rng.multinomial(n, mult / n, size=n_boot).astype(np.float64)
    # Cheaper to draw the units: in chunks of resamples, so memory stays bounded (~32 MB).
    pattern_of_unit = np.repeat(np.arange(p, dtype=np.int64), mult)
    out = np.empty((n_boot, p), np.float64)  # small whole numbers: exact, and ready for matmul
    step = max(1, (1 << 22) // max(n, 1))
    for start in range(0, n_boot, step):
        rows = min(step, n_boot - start)
        flat = pattern_of_unit[rng.integers(0, n, size=(rows, n))]
        flat += (np.arange(rows, dtype=np.int64) * p)[:, None]
        out[start : start + rows] = np.bincount(flat.ravel(), minlength=rows * p).reshape(rows, p)
    return out


def _quantiles(sorted_s: np.ndarray, probs: tuple[float, float]) -> tuple[float, float]:
    """numpy's default ("linear") quantiles of an already sorted sample, without its overhead."""
    last = sorted_s.size - 1
    out = []
    for prob in probs:
        h = last * prob
        lo = int(np.floor(h))
        hi = min(lo + 1, last)
        out.append(float(sorted_s[lo] + (h - lo) * (sorted_s[hi] - sorted_s[lo])))
    return out[0], out[1]


def percentile_interval(
    samples: Any, value: float | None = None, *, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval, ignoring undefined (NaN) resamples.

    The interval is widened to include the point estimate in the rare small-sample case where the
    percentile interval misses it, so an interval never excludes its own estimate.

    Parameters
    ----------
    samples : array_like
        Bootstrap replicates; NaN marks a resample on which the statistic was undefined.
    value : float, optional
        The point estimate.
    confidence : float
        Two-sided coverage.

    Returns
    -------
    (low, high) : tuple of float or None
        None when no replicate is defined.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13 (percentile
    interval).

    Examples
    --------
    >>> [round(x, 3) for x in percentile_interval([0.1, 0.2, 0.3, 0.4, float("nan")], confidence=0.5)]
    [0.175, 0.325]
    """
    c = _check_confidence(confidence)
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return None, None
    lo, hi = _quantiles(np.sort(s), ((1.0 - c) / 2.0, (1.0 + c) / 2.0))
    if value is not None:
        lo, hi = min(lo, float(value)), max(hi, float(value))
    return lo, hi


def t_interval(
    value: float, se: float, df: float, *, confidence: float = 0.95, bounds: tuple[float, float] = (-1.0, 1.0)
) -> tuple[float, float]:
    """``value +/- t(df) * se``, truncated to ``bounds`` (Gwet's intervals for agreement coefficients).

    Parameters
    ----------
    value, se : float
        Estimate and standard error.
    df : float
        Degrees of freedom (Gwet: number of units minus one).
    confidence : float
        Two-sided coverage.
    bounds : (float, float)
        The coefficient's range; the interval is clipped to it.

    Returns
    -------
    (low, high) : tuple of float

    References
    ----------
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), sec. 5.3.

    Examples
    --------
    >>> [round(x, 3) for x in t_interval(0.77544, 0.14295, 11)]
    [0.461, 1.0]
    """
    c = _check_confidence(confidence)
    half = float(special.stdtrit(df, 0.5 + c / 2.0)) * se
    return max(bounds[0], value - half), min(bounds[1], value + half)


def normal_interval(value: float, se: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """``value +/- z * se``, not truncated: the SAS PROC FREQ and statsmodels interval for kappa.

    Parameters
    ----------
    value, se : float
        Estimate and standard error.
    confidence : float
        Two-sided coverage.

    Returns
    -------
    (low, high) : tuple of float

    References
    ----------
    Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa and
    weighted kappa. *Psychological Bulletin* 72(5), 323-327.

    Examples
    --------
    >>> [round(x, 4) for x in normal_interval(0.4842, 0.1380)]
    [0.2137, 0.7547]
    """
    c = _check_confidence(confidence)
    half = float(special.ndtri(0.5 + c / 2.0)) * se
    return value - half, value + half


def wilson_bounds(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion ``successes / n``.

    Parameters
    ----------
    successes, n : int
        Count and trials, ``0 <= successes <= n``.
    confidence : float
        Two-sided coverage.

    Returns
    -------
    (low, high) : tuple of float or None
        None when ``n == 0``.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22, 209-212; Newcombe, R. G. (1998). *Statistics in Medicine* 17, 857-872 (method 3:
    81/263 gives 0.2553 to 0.3662).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_bounds(81, 263)]
    [0.2553, 0.3662]
    """
    c = _check_confidence(confidence)
    if n <= 0:
        return None, None
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} is not between 0 and n={n}")
    z = float(special.ndtri(0.5 + c / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def bootstrap_units(
    statistic: Callable[..., Estimate],
    units: Any,
    raters: Any,
    values: Any,
    *,
    n_boot: int = 1000,
    seed: Any = 0,
    confidence: float = 0.95,
    **options: Any,
) -> Estimate:
    """Percentile bootstrap interval over units for any statistic that takes long rows.

    Units are drawn with replacement (each draw keeps all of that unit's rows, relabelled as a new
    unit) and ``statistic`` is recomputed on every resample. The point estimate, its analytic SE (if
    any) and everything else come from ``statistic`` on the original data; only the interval is
    replaced. This is a loop over resamples: fine for a calibration round, slow for a season (the
    pattern-based statistics have a vectorised ``n_boot`` option instead).

    Parameters
    ----------
    statistic : callable
        e.g. :func:`~calibration.stats.conger_kappa`; called as
        ``statistic(units, raters, values, **options)``.
    units, raters, values : array_like
        Long rows.
    n_boot : int
        Number of resamples (default 1,000).
    seed : int or numpy.random.Generator
        Seed, so that the interval is reproducible.
    confidence : float
        Two-sided coverage.
    **options
        Passed to ``statistic`` (e.g. ``levels=...``, ``weights=...``).

    Returns
    -------
    Estimate
        ``ci_method="bootstrap"``; ``extra["boot_se"]`` is the replicates' standard deviation and
        ``extra["n_boot_defined"]`` how many resamples gave a defined value.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 6 and 13.

    Examples
    --------
    >>> from calibration.stats import conger_kappa
    >>> units = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> raters = [1, 2] * 5
    >>> values = [1, 1, 2, 2, 3, 2, 1, 1, 3, 3]
    >>> e = bootstrap_units(conger_kappa, units, raters, values, levels=[1, 2, 3], n_boot=200)
    >>> e.ci_method, e.ci_low <= e.value <= e.ci_high
    ('bootstrap', True)
    """
    n_boot = _check_n_boot(n_boot)
    conf = _check_confidence(confidence)
    point = statistic(units, raters, values, confidence=conf, **options)
    if point.value is None or n_boot == 0:
        return point
    u = _as_1d(units, "units")
    r = _as_1d(raters, "raters")
    v = _values_1d(values)
    _check_lengths(units=u, raters=r, values=v)
    uc, _ = _factorize(u, "units")
    order = np.argsort(uc, kind="stable")
    sizes = np.bincount(uc)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_units = sizes.size
    rng = _rng(seed)
    reps = np.full(n_boot, np.nan)
    for b in range(n_boot):
        pick = rng.integers(0, n_units, n_units)
        lengths = sizes[pick]
        new_unit = np.repeat(np.arange(n_units), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = order[np.repeat(starts[pick], lengths) + offsets]
        rep = statistic(new_unit, r[rows], v[rows], confidence=conf, **options)
        if rep.value is not None:
            reps[b] = rep.value
    low, high = percentile_interval(reps, point.value, confidence=conf)
    defined = reps[np.isfinite(reps)]
    extra = dict(point.extra)
    extra["n_boot"] = float(n_boot)
    extra["n_boot_defined"] = float(defined.size)
    if defined.size > 1:
        extra["boot_se"] = float(np.std(defined, ddof=1))
    return replace(point, ci_low=low, ci_high=high, ci_method="bootstrap", confidence=conf, extra=extra)

"""Shares with their Wilson score intervals (accuracy, anchors and drift all report shares this way)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats as sps

from .results import Proportion

__all__ = ["wilson_interval", "wilson_intervals"]


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

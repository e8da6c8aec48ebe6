"""Analytic intervals: normal and Student t for kappa-type statistics (clipped to their range, with a
note), and Wilson's score interval for a proportion.

Private home of the functions; :mod:`calibration.stats.bootstrap` re-exports them (their public
names live there and in ``calibration.stats``).
"""

from __future__ import annotations

import math

from scipy import special

from ._checks import _check_choice, _check_confidence, _fmt

__all__ = ["kappa_interval", "normal_interval", "t_interval", "wilson_bounds"]

#: The confidence of every interval the package gives unless a caller asks for another.
DEFAULT_CONFIDENCE = 0.95


def kappa_interval(
    value: float,
    se: float,
    *,
    interval: str = "normal",
    df: float | None = None,
    confidence: float = 0.95,
    bounds: tuple[float, float] = (-1.0, 1.0),
) -> tuple[float, float, str | None]:
    """Analytic interval ``value +/- crit * se`` of a kappa-type statistic, clipped to its range.

    Parameters
    ----------
    value, se : float
        Estimate and standard error.
    interval : {"normal", "t"}
        ``"normal"``: ``crit = z`` (SAS PROC FREQ, statsmodels); ``"t"``: Student t on ``df`` degrees
        of freedom (R irr and Gwet's irrCAC use units - 1).
    df : float, optional
        Degrees of freedom, needed for ``"t"``.
    confidence : float
        Two-sided coverage.
    bounds : (float, float)
        The statistic's range (kappa: -1 to 1).

    Returns
    -------
    (low, high, note)
        ``note`` says that the interval was clipped, None when it was not.

    References
    ----------
    Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). *Psychological Bulletin* 72(5), 323-327
    (normal); Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), sec. 5.3 (t on
    n - 1 df, truncated to the coefficient's range).

    Examples
    --------
    >>> kappa_interval(0.9, 0.2)[1:]
    (1.0, 'clipped to the range of the statistic (-1 to 1); unclipped it reaches 1.292')
    >>> [round(x, 3) for x in kappa_interval(0.4, 0.1, interval="t", df=9)[:2]]
    [0.174, 0.626]
    """
    kind = _check_choice("interval", interval, ("normal", "t"))
    if kind == "t":
        if df is None or not df > 0:
            raise ValueError(f"df must be positive for a t interval, got {df!r}")
        c = _check_confidence(confidence)
        half = float(special.stdtrit(df, 0.5 + c / 2.0)) * se
        low, high = value - half, value + half
    else:
        low, high = normal_interval(value, se, confidence=confidence)
    return _clip(low, high, bounds)


def _clip(low: float, high: float, bounds: tuple[float, float]) -> tuple[float, float, str | None]:
    """``(low, high)`` clipped to ``bounds``, with a note saying so when it was."""
    if low >= bounds[0] and high <= bounds[1]:
        return low, high, None
    parts = []
    if low < bounds[0]:
        parts.append(f"{low:.3f}")
    if high > bounds[1]:
        parts.append(f"{high:.3f}")
    note = (
        f"clipped to the range of the statistic ({_fmt(bounds[0])} to {_fmt(bounds[1])}); "
        f"unclipped it reaches {' and '.join(parts)}"
    )
    return max(low, bounds[0]), min(high, bounds[1]), note


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

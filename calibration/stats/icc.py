"""Intraclass correlations: the six Shrout & Fleiss (1979) forms with F tests and confidence intervals.

From the two-way ANOVA of a complete units x raters table (``n`` units, ``k`` raters) with mean squares
for rows ``MSR``, columns ``MSC``, error ``MSE`` and within rows ``MSW``:

=========  =====================================================  ======================
form       value                                                  model
=========  =====================================================  ======================
ICC(1,1)   ``(MSR - MSW) / (MSR + (k-1) MSW)``                    one-way random
ICC(2,1)   ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE)/n)``  two-way random, agreement
ICC(3,1)   ``(MSR - MSE) / (MSR + (k-1) MSE)``                    two-way mixed, consistency
ICC(1,k)   ``(MSR - MSW) / MSR``                                  mean of k raters
ICC(2,k)   ``(MSR - MSE) / (MSR + (MSC - MSE)/n)``                mean of k raters
ICC(3,k)   ``(MSR - MSE) / MSR``                                  mean of k raters
=========  =====================================================  ======================

F tests: ``MSR/MSW`` on ``(n-1, n(k-1))`` df for ICC1, ``MSR/MSE`` on ``(n-1, (n-1)(k-1))`` for ICC2
and ICC3. Intervals: exact F-based for ICC1 and ICC3; for ICC2 the Satterthwaite approximation of
McGraw & Wong (1996) as implemented in R ``psych::ICC``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as sps

from ._checks import NO_RATINGS, ONE_RATER, _check_confidence
from ._data import units_by_raters_matrix
from .results import Estimate, ICCResult

__all__ = ["icc"]

_FORMS = ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k")


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _undefined(reason: str, n: int, k: int, dropped: int, conf: float) -> ICCResult:
    forms: dict[str, Any] = {
        f: Estimate(method=f, value=None, reason=reason, n_units=n, n_raters=k, confidence=conf)
        for f in _FORMS
    }
    return ICCResult(**forms, n_units=n, n_raters=k, n_dropped=dropped, reason=reason)


def icc(units: Any, raters: Any, values: Any, *, confidence: float = 0.95) -> ICCResult:
    """All six Shrout & Fleiss intraclass correlations, with F, df, p and confidence intervals.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows of numeric scores (e.g. total scores), one per unit and rater; NaN or None is
        missing; an infinite score is a ``ValueError``. Units not rated by every rater are dropped (listwise), and counted in ``n_dropped``.
    confidence : float
        Two-sided coverage of the intervals (default 0.95).

    Returns
    -------
    ICCResult
        ``icc1`` ... ``icc3k`` as :class:`~calibration.stats.Estimate` (``ci_method="F"``,
        ``extra``: ``df1``, ``df2`` and, unless the F ratio is 0/0, ``F`` and ``p_value``), the ANOVA mean squares (``anova``; in squared units of ``anova["unit"]``, 1.0
        meaning the scores' own units), and ``n_dropped``. Undefined (with a reason) for fewer than two
        complete units, fewer than two raters, or no variation at all; an undefined form carries no F
        test, and neither does a defined one whose F ratio is 0/0.

    Notes
    -----
    The analysis runs on the scores centred and divided by their largest deviation, which changes no
    ICC, F ratio or interval, so scores near 1e160 or 1e-170 give the same answers as scores near 1.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. *Psychological Bulletin* 86(2), 420-428. McGraw, K. O., & Wong, S. P. (1996).
    Forming inferences about some intraclass correlation coefficients. *Psychological Methods* 1(1),
    30-46. Revelle, W. R package ``psych``, function ``ICC``. Koo, T. K., & Li, M. Y. (2016).
    *Journal of Chiropractic Medicine* 15(2), 155-163 (labels).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.

    >>> table = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> rows = [(u, r, v) for u, row in enumerate(table) for r, v in enumerate(row)]
    >>> res = icc(*zip(*rows))
    >>> [round(e.value, 2) for e in res.forms]
    [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    >>> round(res.icc2.extra["F"], 2), res.icc2.label(), res.label("ICC(3,k)")
    (11.03, 'between poor and good', 'between moderate and excellent')
    """
    conf = _check_confidence(confidence)
    mat, _, _ = units_by_raters_matrix(units, raters, values)
    if np.isinf(mat).any():
        bad = mat[np.isinf(mat)][0]
        raise ValueError(f"scores must be finite numbers (NaN or None marks a missing score), got {bad}")
    n_all, k = mat.shape
    complete = ~np.isnan(mat).any(axis=1) if k else np.zeros(n_all, bool)
    y = mat[complete]
    n = y.shape[0]
    dropped = n_all - n
    if n_all == 0:
        return _undefined(NO_RATINGS, 0, 0, 0, conf)
    if k < 2:
        return _undefined(ONE_RATER, n, k, dropped, conf)
    if n < 2:
        return _undefined("fewer than two units were rated by every rater", n, k, dropped, conf)
    z, unit, factor = _standardise(y)
    df_r, df_c, df_w, df_e = n - 1, k - 1, n * (k - 1), (n - 1) * (k - 1)
    if z is None:
        anova = _anova(0.0, 0.0, 0.0, 0.0, df_r, df_c, df_w, df_e, 1.0)
        res = _undefined("no variation: every score is the same", n, k, dropped, conf)
        return ICCResult(**{f: getattr(res, f) for f in _FORMS}, n_units=n, n_raters=k, n_dropped=dropped,
                         reason=res.reason, anova=anova)  # fmt: skip
    # z is centred and scaled so that its largest deviation is 1 (ss_total >= 1): sums of squares that
    # are zero in exact arithmetic come out as rounding noise, far below this tolerance.
    ss_total = float((z**2).sum())
    tol = 1e-10 * ss_total
    ss_rows = _zero_below(k * float((z.mean(axis=1) ** 2).sum()), tol)
    ss_cols = _zero_below(n * float((z.mean(axis=0) ** 2).sum()), tol)
    ss_err = _zero_below(ss_total - ss_rows - ss_cols, tol)
    ss_within = _zero_below(ss_total - ss_rows, tol)
    msr, msc, mse, msw = ss_rows / df_r, ss_cols / df_c, ss_err / df_e, ss_within / df_w
    anova = _anova(msr * factor, msc * factor, mse * factor, msw * factor, df_r, df_c, df_w, df_e, unit)
    a = 1.0 - conf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f1 = msr / msw if msw > 0 else np.inf
        f3 = msr / mse if mse > 0 else np.inf
        f1_lo = f1 / sps.f.ppf(1 - a / 2, df_r, df_w)
        f1_hi = f1 * sps.f.ppf(1 - a / 2, df_w, df_r)
        f3_lo = f3 / sps.f.ppf(1 - a / 2, df_r, df_e)
        f3_hi = f3 * sps.f.ppf(1 - a / 2, df_e, df_r)
        # 1 - k/(F + k - 1) is (F - 1)/(F + k - 1) written to stay finite as F grows without bound.
        ci = {
            "icc1": (1 - k / (f1_lo + k - 1), 1 - k / (f1_hi + k - 1)),
            "icc3": (1 - k / (f3_lo + k - 1), 1 - k / (f3_hi + k - 1)),
            "icc1k": (1 - 1 / f1_lo, 1 - 1 / f1_hi),
            "icc3k": (1 - 1 / f3_lo, 1 - 1 / f3_hi),
        }
        values = {
            "icc1": _ratio(msr - msw, msr + (k - 1) * msw),
            "icc2": _ratio(msr - mse, msr + (k - 1) * mse + k * (msc - mse) / n),
            "icc3": _ratio(msr - mse, msr + (k - 1) * mse),
            "icc1k": _ratio(msr - msw, msr),
            "icc2k": _ratio(msr - mse, msr + (msc - mse) / n),
            "icc3k": _ratio(msr - mse, msr),
        }
        ci["icc2"], ci["icc2k"] = _icc2_interval(values["icc2"], msr, msc, mse, n, k, a)
    # 0/0 is not a test: no F, no p. A positive numerator over zero error is F = inf, p = 0 (perfect).
    test1 = _f_test(msr, msw, df_r, df_w)
    test3 = _f_test(msr, mse, df_r, df_e)
    tests = {"icc1": test1, "icc1k": test1, "icc2": test3, "icc2k": test3, "icc3": test3, "icc3k": test3}
    forms: dict[str, Any] = {}
    for name in _FORMS:
        value = values[name]
        lo, hi = ci[name]
        lo, hi = _finite(lo), _finite(hi)
        extra = (
            tests[name]
            if value is not None
            else {k_: v for k_, v in tests[name].items() if k_.startswith("df")}
        )
        forms[name] = Estimate(
            method=name,
            value=value,
            ci_low=lo if value is not None and hi is not None else None,
            ci_high=hi if value is not None and lo is not None else None,
            ci_method="F" if value is not None and lo is not None and hi is not None else None,
            n_units=n,
            n_raters=k,
            reason=None
            if value is not None
            else "the form's denominator is not positive, so it is undefined",
            confidence=conf,
            extra=extra,
        )
    return ICCResult(**forms, n_units=n, n_raters=k, n_dropped=dropped, anova=anova)


def _standardise(y: np.ndarray) -> tuple[np.ndarray | None, float, float]:
    """``z = (y - mean) / spread`` (``spread``: the largest absolute deviation), the unit of the reported
    mean squares, and the factor that turns mean squares of ``z`` into mean squares in that unit.

    ICCs and F ratios do not depend on the scale of the scores, so they are computed on ``z``: the
    squares of scores near 1e160 would overflow and those near 1e-170 underflow to zero. ``z`` is None
    when every score is the same. The unit is 1.0 (squared score units, factor ``spread**2``) when
    ``spread**2`` is a normal float, else ``spread`` itself (factor 1: mean squares of ``z``).
    """
    top = float(np.abs(y).max())
    if top == 0:
        return None, 1.0, 1.0
    x = y / top  # no overflow below: |x| <= 1
    c = x - x.mean()
    spread_x = float(np.abs(c).max())
    if spread_x == 0:
        return None, 1.0, 1.0
    z = c / spread_x
    spread = spread_x * top
    square = spread * spread
    if np.isfinite(square) and square >= np.finfo(np.float64).tiny * 1e16:
        return z, 1.0, square
    return z, spread, 1.0


def _zero_below(x: float, tol: float) -> float:
    return 0.0 if x <= tol else x


def _anova(
    msr: float, msc: float, mse: float, msw: float, df_r: int, df_c: int, df_w: int, df_e: int, unit: float
) -> dict[str, float]:
    """Mean squares in squared units of ``unit`` (1.0: the scores' own units) and their degrees of freedom."""
    return {
        "ms_rows": msr,
        "ms_cols": msc,
        "ms_error": mse,
        "ms_within": msw,
        "df_rows": df_r,
        "df_cols": df_c,
        "df_error": df_e,
        "df_within": df_w,
        "unit": unit,
    }


def _f_test(num: float, den: float, df1: int, df2: int) -> dict[str, float]:
    out = {"df1": float(df1), "df2": float(df2)}
    if den > 0 or num > 0:
        f_stat = num / den if den > 0 else math.inf
        out["F"] = float(f_stat)
        out["p_value"] = float(sps.f.sf(f_stat, df1, df2))
    return out


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def _icc2_interval(
    icc2: float | None, msr: float, msc: float, mse: float, n: int, k: int, a: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """McGraw & Wong (1996) / psych::ICC interval for ICC(2,1) and ICC(2,k) (Satterthwaite df)."""
    nan = (np.nan, np.nan)
    if icc2 is None or mse <= 0:
        return nan, nan
    fj = msc / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    if not vd > 0:
        return nan, nan
    v = vn / vd
    f_hi = sps.f.ppf(1 - a / 2, n - 1, v)
    f_lo = sps.f.ppf(1 - a / 2, v, n - 1)
    lo = n * (msr - f_hi * mse) / (f_hi * (k * msc + (k * n - k - n) * mse) + n * msr)
    hi = n * (f_lo * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_lo * msr)
    lo_k = lo * k / (1 + lo * (k - 1))
    hi_k = hi * k / (1 + hi * (k - 1))
    return (lo, hi), (lo_k, hi_k)

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

from typing import Any

import numpy as np
from scipy import stats as sps

from ._data import NO_RATINGS, ONE_RATER, _check_confidence, units_by_raters_matrix
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
        Long rows of numeric scores (e.g. total scores), one per unit and rater; NaN is missing.
        Units not rated by every rater are dropped (listwise), and counted in ``n_dropped``.
    confidence : float
        Two-sided coverage of the intervals (default 0.95).

    Returns
    -------
    ICCResult
        ``icc1`` ... ``icc3k`` as :class:`~calibration.stats.Estimate` (``ci_method="F"``,
        ``extra``: ``F``, ``df1``, ``df2``, ``p_value``), the ANOVA mean squares, and
        ``n_dropped``. Undefined (with a reason) for fewer than two complete units, fewer than two
        raters, or no variation at all.

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
    (11.03, 'poor', 'excellent')
    """
    conf = _check_confidence(confidence)
    mat, _, _ = units_by_raters_matrix(units, raters, values)
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
    grand = y.mean()
    ss_rows = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((y - grand) ** 2).sum()
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = max(ss_total - ss_rows, 0.0) / (n * (k - 1))
    anova = {
        "ms_rows": msr,
        "ms_cols": msc,
        "ms_error": mse,
        "ms_within": msw,
        "df_rows": n - 1,
        "df_cols": k - 1,
        "df_error": (n - 1) * (k - 1),
        "df_within": n * (k - 1),
    }
    if ss_total <= 0:
        res = _undefined("no variation: every score is the same", n, k, dropped, conf)
        return ICCResult(**{f: getattr(res, f) for f in _FORMS}, n_units=n, n_raters=k, n_dropped=dropped,
                         reason=res.reason, anova=anova)  # fmt: skip
    a = 1.0 - conf
    df_r, df_w, df_e = n - 1, n * (k - 1), (n - 1) * (k - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f1 = msr / msw if msw > 0 else np.inf
        f3 = msr / mse if mse > 0 else np.inf
        p1 = float(sps.f.sf(f1, df_r, df_w))
        p3 = float(sps.f.sf(f3, df_r, df_e))
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
    tests = {
        "icc1": (f1, df_r, df_w, p1),
        "icc1k": (f1, df_r, df_w, p1),
        "icc2": (f3, df_r, df_e, p3),
        "icc2k": (f3, df_r, df_e, p3),
        "icc3": (f3, df_r, df_e, p3),
        "icc3k": (f3, df_r, df_e, p3),
    }
    forms: dict[str, Any] = {}
    for name in _FORMS:
        value = values[name]
        f_stat, d1, d2, p = tests[name]
        lo, hi = ci[name]
        lo, hi = _finite(lo), _finite(hi)
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
            extra={"F": float(f_stat), "df1": float(d1), "df2": float(d2), "p_value": p},
        )
    return ICCResult(**forms, n_units=n, n_raters=k, n_dropped=dropped, anova=anova)


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

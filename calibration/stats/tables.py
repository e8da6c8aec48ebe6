"""Two-rater agreement from a contingency table: Gwet's AC1/AC2, Brennan-Prediger, Scott's pi,
Krippendorff's alpha and percent agreement, with Gwet's (2014) standard errors.

The table ``t`` is ``q x q`` counts over all levels in order, rater 1 in rows and rater 2 in columns;
``p = t / n``. Observed agreement is ``pa = sum_kl w_kl p_kl`` and each coefficient is
``(pa - pe) / (1 - pe)`` with its own chance agreement ``pe`` (see each function).

The standard error is Gwet's linearised one, ``var = (sum_kl p_kl u_kl^2 - ubar^2) / (n (1 - pe)^2)``
where ``u_kl`` is the coefficient's influence term for a unit in cell ``(k, l)`` and ``ubar`` their
mean: a sum of squared deviations over the ``n`` units divided by ``n^2``. Gwet's table functions (and
irrCAC's ``table`` module) print exactly this, ``variance="table"``. His raw-data functions, and every
raw-data function of this library, divide the same sum by ``n (n - 1)``; ``variance="raw"`` (the
default) does that, so the same ratings give the same standard error whether they arrive as long rows
or as a table. The two differ by the factor ``sqrt(n / (n - 1))`` (2.6% at n = 20, 0.5% at n = 100).
The interval is Student t with ``n - 1`` degrees of freedom; ``z`` and ``p_value`` test "no agreement
beyond chance" (the coefficient is 0) as in :mod:`calibration.stats._gwet_core`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ._checks import _check_confidence, _fmt, _method_name, _weight_matrix, _weights_label
from ._gwet_core import _z_p
from ._types import Weights
from .bootstrap import t_interval
from .results import Estimate

__all__ = [
    "brennan_prediger_from_table",
    "gwet_ac1_from_table",
    "krippendorff_alpha_from_table",
    "percent_agreement_from_table",
    "scotts_pi_from_table",
]

Variance = Literal["raw", "table"]
_TINY = 1e-12


def _check_table(table: Any) -> np.ndarray:
    """A ``q x q`` table of whole, non-negative counts (``q >= 2``) as floats."""
    try:
        t = np.asarray(table, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"table must be a square q x q table of counts, got {table!r}") from None
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError(f"table must be a square q x q table with q >= 2, got shape {t.shape}")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise ValueError(f"table counts must be non-negative numbers, got {_fmt(t[bad][0])}")
    frac = t != np.round(t)
    if frac.any():
        raise ValueError(
            f"table counts must be whole numbers (how many units fell in each cell), got {_fmt(t[frac][0])}"
        )
    return t


def _check_variance(variance: str) -> None:
    if variance not in ("raw", "table"):
        raise ValueError(f"variance must be 'raw' or 'table', got {variance!r}")


def _from_table(
    table: Any,
    coef: Literal["ac1", "bp", "scott", "alpha", "pa"],
    base: str,
    weights: Weights,
    variance: str,
    confidence: float,
) -> Estimate:
    _check_variance(variance)
    conf = _check_confidence(confidence)
    t = _check_table(table)
    q = t.shape[0]
    w = _weight_matrix(q, weights)
    if coef == "ac1":
        method = (
            "gwet_ac1" if _weights_label(weights) == "unweighted" else f"gwet_ac2_{_weights_label(weights)}"
        )
    else:
        method = _method_name(base, weights)
    n = float(t.sum())
    common: dict[str, Any] = {"method": method, "n_units": round(n), "n_raters": 2, "confidence": conf}
    if n == 0:
        return Estimate(value=None, reason="no unit was rated by both raters", **common)
    p = t / n
    pi = (p.sum(axis=1) + p.sum(axis=0)) / 2.0
    pa = float((w * p).sum())
    tw = float(w.sum())
    if coef == "pa":
        pe = 0.0
    elif coef == "bp":
        pe = tw / q**2
    elif coef == "ac1":
        pe = tw * float((pi * (1.0 - pi)).sum()) / (q * (q - 1.0))
    else:
        pe = float(pi @ w @ pi)
    if 1.0 - pe <= _TINY:
        reason = "no variation: both raters used the same single level, so the coefficient is 0/0"
        return Estimate(value=None, reason=reason, extra={"pa": pa, "pe": pe}, **common)
    # Gwet's linearised influence term of a unit in cell (k, l); its p-weighted mean is pa - 2(1-c)pe
    # for the chance-corrected coefficients (pa for percent and Brennan-Prediger, where pe is fixed).
    core = (pa - pe) / (1.0 - pe)
    if coef == "ac1":
        u = w - 2.0 * (1.0 - core) * tw * (1.0 - (pi[:, None] + pi[None, :]) / 2.0) / (q * (q - 1.0))
    elif coef in ("scott", "alpha"):
        wbar = ((w + w.T) / 2.0) @ pi
        u = w - (1.0 - core) * (wbar[:, None] + wbar[None, :])
    else:
        u = w
    ubar = float((p * u).sum())
    value = core
    extra: dict[str, float] = {"pa": pa, "pe": pe, "df": n - 1.0}
    if coef == "alpha":
        eps = 1.0 / (2.0 * n)
        pa_alpha = (1.0 - eps) * pa + eps
        value = (pa_alpha - pe) / (1.0 - pe)
        extra["pa"] = pa_alpha
    scale = 1.0 if coef == "pa" else (1.0 - pe) ** 2
    se = None
    low = high = None
    ci_method = None
    if n >= 2:
        divisor = n * n if variance == "table" else n * (n - 1.0)
        ss = n * float((p * u**2).sum() - ubar**2)
        se = float(np.sqrt(max(ss, 0.0) / (divisor * scale)))
        low, high = t_interval(value, se, n - 1.0, confidence=conf)
        ci_method = "t"
        extra.update(_z_p(value, se, n - 1.0))
    return Estimate(value=value, se=se, ci_low=low, ci_high=high, ci_method=ci_method, extra=extra, **common)


def gwet_ac1_from_table(
    table: Any, *, weights: Weights = None, variance: Variance = "raw", confidence: float = 0.95
) -> Estimate:
    """Gwet's AC1 (unweighted) or AC2 (weighted) for two raters, from their contingency table.

    ``pe = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)`` with ``pi_k`` the mean of the two raters' shares
    of level ``k`` and ``T_w`` the sum of all weights; ``u_kl = w_kl - 2 (1 - AC) T_w (1 - (pi_k +
    pi_l)/2) / (q (q - 1))``.

    Parameters
    ----------
    table : array_like
        ``q x q`` whole counts over all levels, rater 1 in rows, rater 2 in columns.
    weights : str, array_like or None
        A scheme (``"identity"``, ``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``,
        ``"ratio"``, ``"circular"``, ``"bipolar"``) on the level positions or a custom ``q x q`` matrix.
    variance : {"raw", "table"}
        Divide the sum of squares by ``n (n - 1)`` (default, as the raw-data functions) or by ``n^2``
        (Gwet's and irrCAC's table functions); see the module notes.
    confidence : float
        Two-sided coverage of the t interval (df = n - 1).

    Returns
    -------
    Estimate
        ``extra``: ``pa``, ``pe``, ``df`` and ``z``, ``p_value`` (null: AC = 0; Student t, n - 1 df).

    References
    ----------
    Gwet, K. L. (2008). *British Journal of Mathematical and Statistical Psychology* 61, 29-48. Gwet,
    K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), ch. 4 and 5.

    Examples
    --------
    Gwet's (2014) 3 x 3 abstractors table:

    >>> table = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]
    >>> ac1 = gwet_ac1_from_table(table, variance="table")
    >>> round(ac1.value, 3), round(ac1.se, 4), ac1.ci_method
    (0.849, 0.0432, 't')
    """
    return _from_table(table, "ac1", "gwet_ac1", weights, variance, confidence)


def brennan_prediger_from_table(
    table: Any, *, weights: Weights = None, variance: Variance = "raw", confidence: float = 0.95
) -> Estimate:
    """Brennan & Prediger's coefficient for two raters from their table: ``pe = T_w / q^2``.

    Parameters and result as :func:`gwet_ac1_from_table`; ``u_kl = w_kl``.

    References
    ----------
    Brennan, R. L., & Prediger, D. J. (1981). *Educational and Psychological Measurement* 41,
    687-699. Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.).

    Examples
    --------
    >>> round(brennan_prediger_from_table([[5, 1], [1, 3]]).value, 3)
    0.6
    """
    return _from_table(table, "bp", "brennan_prediger", weights, variance, confidence)


def scotts_pi_from_table(
    table: Any, *, weights: Weights = None, variance: Variance = "raw", confidence: float = 0.95
) -> Estimate:
    """Scott's pi for two raters from their table: ``pe = sum_kl w_kl pi_k pi_l``.

    ``u_kl = w_kl - (1 - pi) (wbar_k + wbar_l)`` with ``wbar = ((w + w')/2) pi``. Parameters and
    result as :func:`gwet_ac1_from_table`.

    References
    ----------
    Scott, W. A. (1955). *Public Opinion Quarterly* 19(3), 321-325. Gwet, K. L. (2014). *Handbook of
    Inter-Rater Reliability* (4th ed.), ch. 2 and 5.

    Examples
    --------
    >>> round(scotts_pi_from_table([[5, 1], [1, 3]]).value, 4)
    0.5833
    """
    return _from_table(table, "scott", "scotts_pi", weights, variance, confidence)


def krippendorff_alpha_from_table(
    table: Any, *, weights: Weights = None, variance: Variance = "raw", confidence: float = 0.95
) -> Estimate:
    """Krippendorff's alpha for two raters from their table, in Gwet's form.

    ``alpha = (pa' - pe) / (1 - pe)`` with ``pa' = (1 - 1/(2n)) pa + 1/(2n)`` and Scott's ``pe``;
    the distance is ``1 - w`` (identity: nominal, quadratic: interval). The standard error is Scott's
    pi's (Gwet 2014 treats the small-sample correction as fixed). Parameters and result as
    :func:`gwet_ac1_from_table`; ``extra["pa"]`` is ``pa'``.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Gwet, K. L. (2014).
    *Handbook of Inter-Rater Reliability* (4th ed.), ch. 2 and 5.

    Examples
    --------
    >>> round(krippendorff_alpha_from_table([[5, 1], [1, 3]]).value, 4)
    0.6042
    """
    return _from_table(table, "alpha", "krippendorff_alpha", weights, variance, confidence)


def percent_agreement_from_table(
    table: Any, *, weights: Weights = None, variance: Variance = "raw", confidence: float = 0.95
) -> Estimate:
    """Percent agreement ``pa = sum_kl w_kl p_kl`` of two raters from their table (a share, 0 to 1).

    ``var = (sum_kl p_kl w_kl^2 - pa^2) / n`` (``variance="table"``) or ``/ (n - 1)`` (``"raw"``).
    ``z`` and ``p_value`` test ``pa = 0``, as Gwet and irrCAC print them (rarely a useful null).

    References
    ----------
    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.), ch. 2.

    Examples
    --------
    >>> percent_agreement_from_table([[5, 1], [1, 3]]).value
    0.8
    """
    return _from_table(table, "pa", "percent_agreement_pairwise", weights, variance, confidence)

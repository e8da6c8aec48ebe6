"""Gwet's (2014) general form of chance-corrected agreement, shared by the many-rater coefficients.

Private: :mod:`calibration.stats.multirater` and :mod:`calibration.stats.conger` build Fleiss' kappa,
Gwet's AC1/AC2, Brennan-Prediger, Scott's pi, percent agreement and Conger's kappa on :func:`_gwet`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import special

from ._checks import (
    NO_VARIATION,
    _undefined_reason,
)
from ._patterns import ValuePatterns
from .bootstrap import boot_ci_method, bootstrap_interval, pattern_resamples, t_interval
from .results import Estimate

Missing = Literal["gwet", "pairable"]
_Coef = Literal["fleiss", "ac1", "bp", "pa"]
_TINY = 1e-12


def _z_p(value: float, se: float | None, df: float) -> dict[str, float]:
    """Gwet's test of "no agreement beyond chance": ``z = value / se`` and its two-sided p-value.

    Null hypothesis: the coefficient is 0. ``se`` is the coefficient's own (Gwet 2014) standard error,
    not a variance under the null, and the p-value is ``2 P(T > |z|)`` with Student's ``T`` on ``df``
    degrees of freedom (units - 1), as irrCAC and Gwet's *Handbook* print them; ``p_one_sided`` is
    ``P(T > z)`` against "agreement beyond chance" (irrCAC prints this one for raw Brennan-Prediger).
    Empty when there is no positive standard error.
    """
    if se is None or not se > 0 or not df > 0:
        return {}
    z = value / se
    return {
        "z": float(z),
        # P(T > t) = stdtr(df, -t): the t survival function without scipy.stats' per-call overhead.
        "p_value": float(2.0 * special.stdtr(df, -abs(z))),
        "p_one_sided": float(special.stdtr(df, -z)),
    }


def _check_missing(missing: str) -> None:
    if missing not in ("gwet", "pairable"):
        raise ValueError(f"missing must be 'gwet' or 'pairable', got {missing!r}")


def _chance(coef: _Coef, pi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Chance agreement from level shares ``pi`` (``(..., q)``), vectorised over leading axes."""
    q = w.shape[0]
    if coef == "fleiss":
        return np.asarray(((pi @ w) * pi).sum(axis=-1))
    if coef == "ac1":
        return np.asarray(w.sum() / (q * (q - 1)) * (pi * (1.0 - pi)).sum(axis=-1))
    if coef == "bp":
        return np.full(pi.shape[:-1], w.sum() / q**2)
    return np.zeros(pi.shape[:-1])


def _gwet(
    patterns: ValuePatterns,
    w: np.ndarray,
    coef: _Coef,
    method: str,
    *,
    missing: str,
    n_boot: int,
    seed: Any,
    confidence: float,
    boot_interval: str = "percentile",
) -> tuple[Estimate, dict[str, Any]]:
    """Estimate, SE (Gwet 2014) and interval of one coefficient; also returns the pieces for extras."""
    if missing == "pairable":
        patterns = patterns.select(patterns.m >= 2)
    c = patterns.counts.astype(np.float64)
    f = patterns.multiplicity.astype(np.float64)
    m = c.sum(axis=1)
    two = m >= 2
    n = float(f.sum())
    n2 = float(f[two].sum())
    common: dict[str, Any] = {
        "method": method,
        "n_units": int(n),
        "n_raters": patterns.n_raters,
        "confidence": confidence,
    }
    reason = _undefined_reason(int(n), patterns.n_raters, int(n2))
    if reason is not None:
        return Estimate(value=None, reason=reason, **common), {}
    sumq = (c * (c @ w.T - 1.0)).sum(axis=1)
    pa_i = np.where(two, sumq / np.where(two, m * (m - 1.0), 1.0), 0.0)
    pa = float((f * pa_i).sum() / n2)
    share = c / m[:, None]
    pi = (f[:, None] * share).sum(axis=0) / n
    pe = float(_chance(coef, pi, w))
    if 1.0 - pe <= _TINY:
        return Estimate(value=None, reason=NO_VARIATION, **common), {}
    value = (pa - pe) / (1.0 - pe)
    se = None
    if n >= 2:
        x = (n / n2) * (pa_i - pe * two) / (1.0 - pe)
        q = w.shape[0]
        if coef == "fleiss":
            pe_i = share @ (((w + w.T) / 2.0) @ pi)
        elif coef == "ac1":
            pe_i = w.sum() / (q * (q - 1)) * (share @ (1.0 - pi))
        else:
            pe_i = None
        if pe_i is not None:
            x = x - 2.0 * (1.0 - value) * (pe_i - pe) / (1.0 - pe)
        se = float(np.sqrt(max((f * (x - value) ** 2).sum() / (n * (n - 1.0)), 0.0)))
    extra: dict[str, float] = {"pa": pa, "pe": pe, "df": n - 1.0, "n_pairable_units": n2}
    extra.update(_z_p(value, se, n - 1.0))
    low = high = None
    ci_method = note = None
    if n_boot:

        def on_draws(draws: np.ndarray) -> np.ndarray:
            """The coefficient on each row of pattern weights (a resample, or a unit left out)."""
            n2_b = draws @ two.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                pa_b = (draws @ pa_i) / n2_b
                pe_b = _chance(coef, (draws @ share) / draws.sum(axis=1)[:, None], w)
                reps = (pa_b - pe_b) / (1.0 - pe_b)
            reps[(n2_b == 0) | (1.0 - pe_b <= _TINY)] = np.nan
            return np.asarray(reps)

        jack = None
        if boot_interval == "bca":  # leave one unit of each pattern out: one jackknife value per pattern
            jack = on_draws(f[None, :] - np.eye(f.size))
        bi = bootstrap_interval(
            on_draws(pattern_resamples(f, n_boot, seed)), value,
            method=boot_interval, jackknife=jack, jackknife_weights=f, confidence=confidence,
        )  # fmt: skip
        low, high, note = bi.low, bi.high, bi.note
        extra.update(bi.extra())
        ci_method = boot_ci_method(boot_interval)
    elif se is not None:
        low, high = t_interval(value, se, n - 1.0, confidence=confidence)
        ci_method = "t"
    est = Estimate(
        value=value, se=se, ci_low=low, ci_high=high, ci_method=ci_method, extra=extra, ci_note=note, **common
    )
    return est, {"patterns": patterns, "pi": pi}

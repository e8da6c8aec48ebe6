"""Krippendorff's alpha from value-count patterns, with Gwet's standard error and a fast unit bootstrap.

Alpha is ``1 - D_o / D_e`` computed from the coincidence matrix ``o`` (Krippendorff 2011): every unit
with ``m >= 2`` ratings adds ``(n_uc * n_uk - [c == k] * n_uc) / (m - 1)`` to ``o[c, k]``. That is a
sum over units of a function of the unit's value-count pattern, so it is a weighted sum over the few
distinct patterns. The result equals ``krippendorff.alpha(value_counts=..., value_domain=levels)``
(the ``krippendorff`` package) to rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ._checks import (
    NO_VARIATION,
    _check_choice,
    _check_confidence,
    _check_n_boot,
    _is_unweighted,
    _undefined_reason,
    _weight_matrix,
)
from ._gwet_core import _z_p
from ._patterns import ValuePatterns, value_count_patterns
from ._types import BootInterval, LevelOfMeasurement, Weights
from .bootstrap import boot_ci_method, bootstrap_interval, pattern_resamples, t_interval
from .results import Estimate

__all__ = ["krippendorff_alpha"]

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _ordinal_sums(n_v: np.ndarray) -> np.ndarray:
    """``sum(n_v[min(c,k) : max(c,k) + 1])`` for every pair, added left to right like ``reduceat``."""
    q = n_v.size
    s = np.zeros((q, q))
    for c in range(q):
        acc = 0.0
        for k in range(c, q):
            acc += n_v[k]
            s[c, k] = s[k, c] = acc
    return s


def _metric(level: str, lv: np.ndarray, n_v: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference function ``delta^2`` over all levels."""
    q = lv.size
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        return np.asarray((_ordinal_sums(n_v) - (n_v[:, None] + n_v[None, :]) / 2.0) ** 2)
    # Differences and sums are taken exactly on Python integers (or floats) before becoming floats, so
    # levels such as 2**62 and 2**62 + 1 stay one apart instead of both rounding to 2**62.
    exact = [int(x) for x in lv.tolist()] if lv.dtype.kind in "iu" else [float(x) for x in lv.tolist()]
    diff = np.array([[float(a - b) for b in exact] for a in exact])
    if level == "interval":
        return diff**2
    total = np.array([[float(a + b) for b in exact] for a in exact])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total != 0, diff / np.where(total != 0, total, 1.0), 0.0)
    return ratio**2


def _custom_distance(distance: Any, lv: np.ndarray) -> tuple[np.ndarray, str]:
    """``delta^2`` over all levels from a scheme name, a matrix or a function, and its method label."""
    q = lv.size
    if isinstance(distance, str) or distance is None:
        scheme = cast(Weights, distance)
        return 1.0 - _weight_matrix(q, scheme), "nominal" if _is_unweighted(scheme) else f"{distance}_weights"
    if callable(distance):
        vals = lv.tolist()
        try:
            d = np.array([[float(distance(a, b)) for b in vals] for a in vals])
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"distance must return a number for two level values: {exc!r}") from None
    else:
        try:
            d = np.asarray(distance, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"distance must be a scheme name, a {q} x {q} matrix or a function") from None
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ValueError(f"distance must be a square {q} x {q} matrix, got shape {d.shape}")
        if d.shape[0] != q:
            raise ValueError(
                f"distance must be a {q} x {q} matrix (one row and column per level), got {d.shape}"
            )
    if not np.all(np.isfinite(d)):
        raise ValueError("distance must be finite numbers, got NaN or infinity")
    if d.min() < 0.0:
        raise ValueError(f"distance must not be negative, got {d.min()!r}")
    if not np.all(np.diag(d) == 0.0):
        raise ValueError("distance must be zero on the diagonal (a level is at distance 0 from itself)")
    if not np.allclose(d, d.T, rtol=0.0, atol=1e-12):
        raise ValueError("distance must be symmetric (d[k, l] == d[l, k])")
    if not d.max() > 0.0:
        raise ValueError("distance must be positive somewhere: an all-zero distance makes alpha 0/0")
    return d, "custom"


@functools.lru_cache(maxsize=32)
def _pair_index(q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row, column, min and max level index of every cell of a flattened ``q x q`` matrix."""
    c, k = (x.ravel() for x in np.meshgrid(np.arange(q), np.arange(q), indexing="ij"))
    return c, k, np.minimum(c, k), np.maximum(c, k)


def _batched_ordinal_metric(n_v: np.ndarray) -> np.ndarray:
    """Ordinal ``delta^2`` for a batch of marginals ``(B, q)``, flattened to ``(B, q * q)``."""
    c, k, lo, hi = _pair_index(n_v.shape[1])
    cs = np.cumsum(n_v, axis=1)
    between = cs[:, hi] - (cs - n_v)[:, lo]
    return np.asarray((between - (n_v[:, c] + n_v[:, k]) / 2.0) ** 2)


def _coincidence_per_pattern(counts: np.ndarray) -> np.ndarray:
    """``P x q x q``: each pattern's contribution to the coincidence matrix."""
    c = counts.astype(np.float64)
    m = c.sum(axis=1)
    outer = c[:, :, None] * c[:, None, :]
    idx = np.arange(c.shape[1])
    outer[:, idx, idx] -= c
    return np.asarray(outer / (m - 1.0)[:, None, None])


def _gwet_alpha_se(
    counts: np.ndarray, mult: np.ndarray, weights: np.ndarray
) -> tuple[float, float, float | None]:
    """Gwet's (2014) ``pa``, ``pe`` and standard error of alpha, for pairable units only.

    Follows Gwet's alpha formulation (pa = (1 - eps) pa' + eps) and the linearised variance of his
    Handbook (4th ed., ch. 2 and 5) as printed by irrCAC 1.0 (``krippen.alpha.raw``), weights
    ``1 - delta^2 / max(delta^2)``; the metric is treated as fixed.
    """
    c = counts.astype(np.float64)
    f = mult.astype(np.float64)
    w = weights
    m = c.sum(axis=1)
    n = f.sum()
    rbar = (f * m).sum() / n
    eps = 1.0 / (f * m).sum()
    sumq = (c * (c @ w.T - 1.0)).sum(axis=1)
    pa_prime = (f * sumq / (rbar * (m - 1.0))).sum() / n
    pa = (1.0 - eps) * pa_prime + eps
    pi = (f[:, None] * c).sum(axis=0) / (rbar * n)
    pe = float(pi @ w @ pi)
    if n < 2 or 1.0 - pe <= 1e-12:
        return float(pa), pe, None
    alpha_prime = (pa_prime - pe) / (1.0 - pe)
    pa_i = sumq / (rbar * (m - 1.0)) - pa * (m - rbar) / rbar
    alpha_i = (pa_i - pe) / (1.0 - pe)
    pi_w = ((w + w.T) / 2.0) @ pi
    pe_i = (c @ pi_w) / rbar - pe * (m - rbar) / rbar
    x = alpha_i - 2.0 * (1.0 - alpha_prime) * (pe_i - pe) / (1.0 - pe)
    var = (f * (x - alpha_prime) ** 2).sum() / (n * (n - 1.0))
    return float(pa), pe, float(np.sqrt(max(var, 0.0)))


def _alpha_boot(
    per_pattern: np.ndarray,
    mult: np.ndarray,
    level: str,
    lv: np.ndarray,
    n_boot: int,
    seed: Any,
    dist: np.ndarray | None = None,
) -> np.ndarray:
    """Alpha on ``n_boot`` unit resamples at once (NaN where a resample has no variation)."""
    return _alpha_on_draws(per_pattern, pattern_resamples(mult, n_boot, seed), level, lv, dist)


def _alpha_on_draws(
    per_pattern: np.ndarray, draws: np.ndarray, level: str, lv: np.ndarray, dist: np.ndarray | None = None
) -> np.ndarray:
    """Alpha on many resamples at once (NaN where a resample has no variation).

    ``draws`` is ``B x P``: how many units of each pattern each resample holds (bootstrap draws, or
    the jackknife's ``multiplicity - 1`` for one pattern at a time).

    Works on flattened ``q * q`` matrices so that every step is one matrix product or one
    elementwise pass over ``n_boot`` rows. ``delta^2`` is zero on the diagonal for every metric, so
    ``sum(e * delta^2) = n_v' D n_v / (n - 1)``.
    """
    q = lv.size
    flat = per_pattern.reshape(per_pattern.shape[0], q * q)
    o = draws @ flat
    n_v = draws @ per_pattern.sum(axis=1)
    total = n_v.sum(axis=1)
    if level == "ordinal" and dist is None:
        d = _batched_ordinal_metric(n_v)
        d_o = (o * d).sum(axis=1)
        c, k, _, _ = _pair_index(q)
        d_e = (n_v[:, c] * n_v[:, k] * d).sum(axis=1)
    else:
        dm = dist if dist is not None else _metric(level, lv, n_v[0])
        d_o = o @ dm.ravel()
        d_e = ((n_v @ dm) * n_v).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - d_o * (total - 1.0) / d_e
    out[~(d_e > 0)] = np.nan
    return np.asarray(out)


def _alpha_from_patterns(
    patterns: ValuePatterns,
    *,
    level: str,
    n_boot: int,
    seed: Any,
    confidence: float,
    dist: np.ndarray | None = None,
    boot_interval: str = "percentile",
) -> Estimate:
    lv = patterns.levels
    method = f"krippendorff_alpha_{level}"
    pairable = patterns.m >= 2
    pp = patterns.select(pairable)
    n_pairable = pp.n_units
    common: dict[str, Any] = {
        "method": method,
        "n_units": n_pairable,
        "n_raters": patterns.n_raters,
        "confidence": confidence,
    }
    reason = _undefined_reason(patterns.n_units, patterns.n_raters, n_pairable)
    if reason is not None:
        return Estimate(value=None, reason=reason, **common)
    per_pattern = _coincidence_per_pattern(pp.counts)
    o = np.tensordot(pp.multiplicity.astype(np.float64), per_pattern, axes=1)
    n_v = o.sum(axis=0)
    if np.count_nonzero(n_v) < 2:
        return Estimate(value=None, reason=NO_VARIATION, **common)
    d = dist if dist is not None else _metric(level, lv, n_v)
    e = np.divide(np.outer(n_v, n_v) - np.diagflat(n_v), n_v.sum() - 1.0)
    d_o = float((o * d).sum())
    d_e = float((e * d).sum())
    if not d_e > 0:
        return Estimate(value=None, reason="expected disagreement is zero, so alpha is 0/0", **common)
    value = 1.0 - d_o / d_e
    pa, pe, se = _gwet_alpha_se(pp.counts, pp.multiplicity, 1.0 - d / d.max())
    extra = {
        "pa": pa,
        "pe": pe,
        "d_o": d_o / n_v.sum(),
        "d_e": d_e / n_v.sum(),
        "n_values": float(n_v.sum()),
        "n_units_rated": float(patterns.n_units),
        "df": float(n_pairable - 1),
    }
    extra.update(_z_p(value, se, n_pairable - 1.0))
    low = high = None
    ci_method = note = None
    if n_boot:
        mult = pp.multiplicity
        reps = _alpha_boot(per_pattern, mult, level, lv, n_boot, seed, dist)
        jack = None
        if boot_interval == "bca":  # leave one unit of each pattern out: one jackknife value per pattern
            jack = _alpha_on_draws(per_pattern, mult[None, :] - np.eye(mult.size), level, lv, dist)
        bi = bootstrap_interval(
            reps, value, method=boot_interval, jackknife=jack, jackknife_weights=mult, confidence=confidence
        )
        low, high, note = bi.low, bi.high, bi.note
        extra.update(bi.extra())
        ci_method = boot_ci_method(boot_interval)
    elif se is not None:
        low, high = t_interval(value, se, n_pairable - 1, confidence=confidence)
        ci_method = "t"
    return Estimate(
        value=value, se=se, ci_low=low, ci_high=high, ci_method=ci_method, extra=extra, ci_note=note, **common
    )


def krippendorff_alpha(
    units: Any,
    raters: Any,
    values: Any,
    *,
    levels: Any,
    level_of_measurement: LevelOfMeasurement | None = None,
    distance: Weights | Callable[[Any, Any], float] = None,
    n_boot: int = 0,
    seed: Any = 0,
    confidence: float = 0.95,
    boot_interval: BootInterval = "percentile",
) -> Estimate:
    """Krippendorff's alpha for any number of raters and missing ratings.

    ``alpha = 1 - D_o / D_e`` with observed disagreement ``D_o = sum(o * delta^2) / n`` from the
    coincidence matrix ``o`` of the pairable values (units with at least two ratings) and expected
    disagreement ``D_e = sum(n_c n_k delta^2) / (n (n - 1))``. ``delta^2`` is Krippendorff's metric:
    nominal ``[c != k]``; ordinal ``(sum_{g=c..k} n_g - (n_c + n_k)/2)^2`` (ranks from the pooled
    level counts, so unused levels add nothing); interval ``(v_c - v_k)^2`` and ratio
    ``((v_c - v_k)/(v_c + v_k))^2`` on the level *values*. Equal to
    ``krippendorff.alpha(reliability_data, value_domain=levels, level_of_measurement=...)``.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows; a NaN value is a missing rating. Rater identity is only counted: alpha does not
        depend on which rater gave which value.
    levels : sequence
        The rubric's ordered levels (all of them).
    level_of_measurement : {"ordinal", "nominal", "interval", "ratio"} or None
        From the rubric; ordinal when neither this nor ``distance`` is given.
    distance : str, array_like or callable, optional
        A custom ``delta^2`` instead of a level of measurement (not both): a weight scheme name
        (``"linear"``, ``"quadratic"``, ``"ordinal"``, ``"radical"``, ``"ratio"``, ``"circular"``,
        ``"bipolar"``, ``"identity"``; see ``docs/statistics.md``), giving ``delta^2 = 1 - w`` on the
        level positions as in Gwet's weighted alpha (irrCAC); a ``q x q`` matrix of distances (finite,
        non-negative, symmetric, zero on the diagonal); or a function ``f(a, b)`` of two level values
        returning their distance (checked the same way). Alpha does not change when the distance is
        multiplied by a constant.
    n_boot : int
        When positive, a bootstrap interval over pairable units from ``n_boot`` resamples (one
        multinomial draw over value-count patterns per resample); undefined (``ci_note`` says why)
        when more than ``(1 - confidence) / 2`` of the resamples have no variation. When 0
        (default), Gwet's t interval (df = pairable units - 1), truncated to [-1, 1].
    seed : int or numpy.random.Generator
        Bootstrap seed (reproducible intervals).
    confidence : float
        Two-sided coverage, default 0.95.
    boot_interval : {"percentile", "bca"}
        With ``n_boot``: the percentile interval (default) or Efron's (1987) BCa interval, whose
        acceleration comes from the jackknife over units (one value per value-count pattern).

    Returns
    -------
    Estimate
        ``method`` ``"krippendorff_alpha_<level>"`` (``_<scheme>_weights`` or ``_custom`` for a distance); ``se`` is Gwet's (2014) standard error (also with
        a bootstrap interval); ``n_units`` counts pairable units; ``extra`` has ``pa`` and ``pe``
        (Gwet's form of alpha, ``alpha = (pa - pe)/(1 - pe)``), ``z``, ``p_value`` and ``p_one_sided``
        (null: alpha = 0; Gwet's SE, Student t on pairable units - 1 df), ``d_o``, ``d_e``, ``n_values`` and, with
        a bootstrap, ``boot_se``, ``n_boot_defined`` and ``n_boot_undefined``. ``label()`` gives Krippendorff's reading.
        Undefined (value None, with a reason) for no ratings, a single rater, no pairable values or
        no variation.

    Raises
    ------
    ValueError
        If a value is not one of ``levels``, ``levels`` are not in ascending order, ratio alpha is asked
        for negative levels, or an option is invalid.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
    Communication, University of Pennsylvania, paper 43. Krippendorff, K. (2004). *Content Analysis*
    (2nd ed.), pp. 221-243. Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.),
    Advanced Analytics (alpha as ``(pa - pe)/(1 - pe)`` and its variance).

    Examples
    --------
    Krippendorff's (2011) example, 4 observers x 12 units with missing values:

    >>> table = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    ...          [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    ...          [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    ...          [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    >>> rows = [(u, r, v) for r, row in enumerate(table) for u, v in enumerate(row) if v is not None]
    >>> units, raters, values = zip(*rows)
    >>> a = krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4, 5])
    >>> round(a.value, 3), a.interval is not None, a.label()
    (0.815, True, 'between unacceptable and good')
    >>> round(krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4, 5],
    ...                          level_of_measurement="nominal").value, 3)
    0.743
    >>> krippendorff_alpha([1, 1], [1, 2], [3, 3], levels=[1, 2, 3]).reason[:12]
    'no variation'
    """
    if distance is not None and level_of_measurement is not None:
        raise ValueError(
            "give either level_of_measurement or distance, not both: a distance replaces the level's"
        )
    if distance is None and level_of_measurement is None:
        level_of_measurement = "ordinal"
    if level_of_measurement is not None and level_of_measurement not in _LEVELS:
        raise ValueError(f"level_of_measurement must be one of {_LEVELS}, got {level_of_measurement!r}")
    n_boot = _check_n_boot(n_boot)
    confidence = _check_confidence(confidence)
    _check_choice("boot_interval", boot_interval, ("percentile", "bca"))
    patterns = value_count_patterns(units, values, levels=levels, raters=raters)
    if distance is not None:
        dist, label = _custom_distance(distance, patterns.levels)
        return _alpha_from_patterns(
            patterns,
            level=label,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
            dist=dist,
            boot_interval=boot_interval,
        )
    assert level_of_measurement is not None
    if level_of_measurement == "ratio" and patterns.levels.min() < 0:
        raise ValueError(
            f"ratio alpha needs levels of zero or more: a ratio scale has a true zero and no negative "
            f"levels, got {patterns.levels.tolist()!r}; use level_of_measurement='interval' for these levels"
        )
    return _alpha_from_patterns(
        patterns,
        level=level_of_measurement,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        boot_interval=boot_interval,
    )

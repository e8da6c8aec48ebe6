"""Intervals: bootstrap over units (seeded; percentile or BCa), Student t, normal and Wilson.

Resampling units with replacement is the same as drawing how many times each unit is picked from a
multinomial. Units with the same value-count pattern are interchangeable, so for the pattern-based
statistics (alpha, Fleiss, AC1/AC2, Brennan-Prediger, percent agreement) one multinomial draw over the
*pattern* frequencies is exactly one unit bootstrap resample, and 1,000 resamples are one
``(n_boot x n_patterns)`` matrix: no loop, no copy of the data. :func:`bootstrap_units` is the generic
(slower) version for any statistic taking long rows.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import special

from ._checks import (
    _as_1d,
    _check_choice,
    _check_confidence,
    _check_lengths,
    _check_n_boot,
    _factorize,
    _values_1d,
)
from ._intervals import kappa_interval, normal_interval, t_interval, wilson_bounds
from .results import Estimate

__all__ = [
    "BootstrapInterval",
    "bootstrap_interval",
    "bootstrap_units",
    "kappa_interval",
    "max_undefined_share",
    "normal_interval",
    "percentile_interval",
    "t_interval",
    "wilson_bounds",
]


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


def max_undefined_share(confidence: float) -> float:
    """Largest share of undefined resamples a bootstrap interval tolerates: ``(1 - confidence) / 2``.

    A percentile interval at 95% cuts 2.5% of the resamples off each end. Undefined resamples (e.g. a
    resample where every unit got the same level, so kappa is 0/0) are dropped, which conditions the
    interval on the statistic existing; if they are more than one tail's share, they could all have
    belonged to one tail and the end they would have moved is not known. Above this share the interval
    is undefined (``ci_low``/``ci_high`` None, with ``ci_note`` saying why).

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13 (the percentile
    interval's tails); Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their
    Application*, sec. 2.7 (resamples on which a statistic is undefined).

    Examples
    --------
    >>> max_undefined_share(0.95)
    0.025
    """
    return round((1.0 - _check_confidence(confidence)) / 2.0, 12)


@dataclass(frozen=True)
class BootstrapInterval:
    """A bootstrap interval with its bookkeeping.

    Attributes
    ----------
    low, high : float or None
        The interval; None when fewer than two resamples are defined, when more than
        :func:`max_undefined_share` of them are undefined, or (BCa) when the bias correction is infinite.
    method : str
        ``"percentile"`` or ``"bca"``.
    n_boot, n_defined : int
        Resamples drawn and resamples on which the statistic was defined.
    se : float or None
        Standard deviation of the defined resamples.
    z0, acceleration : float or None
        BCa's bias correction and acceleration (None for the percentile interval).
    note : str or None
        Why the interval is undefined, when it is.
    """

    low: float | None
    high: float | None
    method: str
    n_boot: int
    n_defined: int
    se: float | None = None
    z0: float | None = None
    acceleration: float | None = None
    note: str | None = None

    @property
    def n_undefined(self) -> int:
        """Resamples on which the statistic was undefined (dropped from the interval)."""
        return self.n_boot - self.n_defined

    def extra(self) -> dict[str, float]:
        """The ``Estimate.extra`` entries: ``n_boot``, ``n_boot_defined``, ``n_boot_undefined``,
        ``boot_se`` and, for BCa, ``bca_z0`` and ``bca_acceleration``."""
        out = {
            "n_boot": float(self.n_boot),
            "n_boot_defined": float(self.n_defined),
            "n_boot_undefined": float(self.n_undefined),
        }
        for key, x in (("boot_se", self.se), ("bca_z0", self.z0), ("bca_acceleration", self.acceleration)):
            if x is not None:
                out[key] = float(x)
        return out


def _acceleration(jackknife: Any, weights: Any) -> float | None:
    """BCa acceleration ``sum d^3 / (6 (sum d^2)^1.5)``, ``d = mean - theta_(i)``, over defined values."""
    jk = np.asarray(jackknife, dtype=np.float64).ravel()
    wt = np.ones(jk.size) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if wt.shape != jk.shape:
        raise ValueError(
            f"jackknife_weights must have one weight per jackknife value, got {wt.size} for {jk.size}"
        )
    ok = np.isfinite(jk) & (wt > 0)
    if not ok.any():
        return None
    jk, wt = jk[ok], wt[ok]
    d = (wt * jk).sum() / wt.sum() - jk
    ss = float((wt * d**2).sum())
    return 0.0 if ss <= 0.0 else float((wt * d**3).sum() / (6.0 * ss**1.5))


def bootstrap_interval(
    samples: Any,
    value: float,
    *,
    method: str = "percentile",
    jackknife: Any = None,
    jackknife_weights: Any = None,
    confidence: float = 0.95,
) -> BootstrapInterval:
    """Percentile or BCa interval from bootstrap replicates, with the undefined resamples counted.

    Percentile: the ``(1 - c)/2`` and ``(1 + c)/2`` quantiles of the defined replicates (numpy's
    linear rule). BCa (Efron 1987): the quantiles at ``Phi(z0 + (z0 + z_a) / (1 - a (z0 + z_a)))``
    with bias correction ``z0 = Phi^-1(share of replicates below the estimate, ties counted half)``
    and acceleration ``a = sum d^3 / (6 (sum d^2)^1.5)`` from the jackknife values (``d`` their
    deviations from their mean). The interval is undefined when more than
    :func:`max_undefined_share` of the replicates are undefined (NaN).

    Parameters
    ----------
    samples : array_like
        Bootstrap replicates; NaN marks a resample on which the statistic was undefined.
    value : float
        The point estimate (BCa's bias correction; not used by the percentile interval).
    method : {"percentile", "bca"}
        Which interval.
    jackknife : array_like, optional
        BCa only: the statistic with each unit left out in turn (or each distinct unit pattern, with
        ``jackknife_weights`` its number of units). Without it the acceleration is 0 (the
        bias-corrected interval).
    jackknife_weights : array_like, optional
        How many units each jackknife value stands for.
    confidence : float
        Two-sided coverage.

    Returns
    -------
    BootstrapInterval

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82(397), 171-185. Efron, B., &
    Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13-14.

    Examples
    --------
    >>> reps = [0.1, 0.2, 0.3, 0.4, float("nan")] * 10
    >>> bootstrap_interval(reps, 0.25, confidence=0.9).note
    'undefined: 10 of 50 resamples (20%) gave no value, more than the 5% allowed at 90% confidence'
    >>> b = bootstrap_interval([0.1, 0.2, 0.3, 0.4], 0.25, confidence=0.5)
    >>> [round(x, 3) for x in (b.low, b.high)], b.n_undefined
    ([0.175, 0.325], 0)
    """
    c = _check_confidence(confidence)
    method = _check_choice("method", method, ("percentile", "bca"))
    s = np.asarray(samples, dtype=np.float64).ravel()
    n_boot = int(s.size)
    s = np.sort(s[np.isfinite(s)])
    n_def = int(s.size)
    se = float(np.std(s, ddof=1)) if n_def > 1 else None
    common: dict[str, Any] = {"method": method, "n_boot": n_boot, "n_defined": n_def, "se": se}
    bad = n_boot - n_def
    limit = max_undefined_share(c)
    if n_def < 2:
        return BootstrapInterval(
            None, None, note="undefined: fewer than two resamples gave a value", **common
        )
    if bad > limit * n_boot:
        note = (
            f"undefined: {bad} of {n_boot} resamples ({_pct(bad / n_boot)}) gave no value, more than the "
            f"{_pct(limit)} allowed at {_pct(c)} confidence"
        )
        return BootstrapInterval(None, None, note=note, **common)
    probs = ((1.0 - c) / 2.0, (1.0 + c) / 2.0)
    if method == "percentile":
        lo, hi = _quantiles(s, probs)
        return BootstrapInterval(lo, hi, **common)
    below = (np.searchsorted(s, value, "left") + np.searchsorted(s, value, "right")) / (2.0 * n_def)
    z0 = float(special.ndtri(below))
    accel = 0.0 if jackknife is None else _acceleration(jackknife, jackknife_weights)
    if not np.isfinite(z0) or accel is None:
        why = (
            "every resample fell on one side of the estimate" if not np.isfinite(z0) else "no jackknife value"
        )
        return BootstrapInterval(
            None, None, note=f"undefined: BCa needs a bias correction, but {why}", **common
        )
    adj = []
    for prob in probs:
        zq = z0 + float(special.ndtri(prob))
        adj.append(float(special.ndtr(z0 + zq / (1.0 - accel * zq))))
    lo, hi = _quantiles(s, (adj[0], adj[1]))
    return BootstrapInterval(lo, hi, z0=z0, acceleration=accel, **common)


def _pct(share: float) -> str:
    text = f"{100 * share:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def percentile_interval(
    samples: Any, value: float | None = None, *, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of the defined (non-NaN) replicates.

    The plain percentile interval: it is no longer widened to include the estimate (that was not a
    standard method). ``value`` is accepted so that existing calls keep working and is not used; use
    :func:`bootstrap_interval` for BCa, the undefined-resample rule and the counts.

    Parameters
    ----------
    samples : array_like
        Bootstrap replicates; NaN marks a resample on which the statistic was undefined.
    value : float, optional
        The point estimate (not used).
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
    return _quantiles(np.sort(s), ((1.0 - c) / 2.0, (1.0 + c) / 2.0))


def bootstrap_units(
    statistic: Callable[..., Estimate],
    units: Any,
    raters: Any,
    values: Any,
    *,
    n_boot: int = 1000,
    seed: Any = 0,
    confidence: float = 0.95,
    method: str = "percentile",
    **options: Any,
) -> Estimate:
    """Bootstrap interval over units (percentile or BCa) for any statistic that takes long rows.

    Units are drawn with replacement (each draw keeps all of that unit's rows, relabelled as a new
    unit) and ``statistic`` is recomputed on every resample. The point estimate, its analytic SE (if
    any) and everything else come from ``statistic`` on the original data; only the interval is
    replaced. This is a loop over resamples: fine for a calibration round, slow for a season (the
    pattern-based statistics have a vectorised ``n_boot`` option instead). BCa adds one jackknife
    pass (the statistic with each unit left out).

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
    method : {"percentile", "bca"}
        See :func:`bootstrap_interval`.
    **options
        Passed to ``statistic`` (e.g. ``levels=...``, ``weights=...``). A statistic that takes
        ``n_boot`` itself gets ``n_boot=0`` unless given: its own interval is replaced anyway.

    Returns
    -------
    Estimate
        ``ci_method="bootstrap"`` or ``"bca"``; ``extra`` as in :meth:`BootstrapInterval.extra`;
        no interval (and ``ci_note`` saying why) when more than :func:`max_undefined_share` of the
        resamples are undefined.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 6, 13 and 14.
    Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82(397), 171-185.

    Examples
    --------
    >>> from calibration.stats import conger_kappa
    >>> units = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> raters = [1, 2] * 5
    >>> values = [1, 1, 2, 2, 3, 2, 1, 1, 3, 3]
    >>> e = bootstrap_units(conger_kappa, units, raters, values, levels=[1, 2, 3], n_boot=200)
    >>> e.ci_method, e.extra["n_boot_undefined"], e.ci_low <= e.value <= e.ci_high
    ('bootstrap', 2.0, True)
    """
    n_boot = _check_n_boot(n_boot)
    conf = _check_confidence(confidence)
    method = _check_choice("method", method, ("percentile", "bca"))
    # A statistic with its own bootstrap (e.g. light_kappa) is recomputed without it on every resample.
    if "n_boot" not in options and "n_boot" in inspect.signature(statistic).parameters:
        options = {**options, "n_boot": 0}
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
    jack = None
    if method == "bca":
        jack = np.full(n_units, np.nan)
        for i in range(n_units):
            keep = uc != i
            rep = statistic(uc[keep], r[keep], v[keep], confidence=conf, **options)
            if rep.value is not None:
                jack[i] = rep.value
    bi = bootstrap_interval(reps, point.value, method=method, jackknife=jack, confidence=conf)
    extra = dict(point.extra)
    extra.update(bi.extra())
    return replace(
        point,
        ci_low=bi.low,
        ci_high=bi.high,
        ci_method=boot_ci_method(method),
        confidence=conf,
        extra=extra,
        ci_note=bi.note,
    )


def boot_ci_method(method: str) -> str:
    """``Estimate.ci_method`` of a bootstrap interval: ``"bootstrap"`` (percentile) or ``"bca"``."""
    return "bca" if method == "bca" else "bootstrap"

"""Bootstrap of every rater pair's kappa at once, and of Light's kappa (the mean over pairs).

Private: :mod:`calibration.stats.kappa` builds :func:`~calibration.stats.pairwise_kappa_matrix`'s and
:func:`~calibration.stats.light_kappa`'s intervals on it.

Each resample is a vector of unit multiplicities (one multinomial draw). A pair's kappa needs only its
weighted agreement and its two marginals over the units both raters scored, and each of those is a sum
over units, so one matrix product of the multiplicities with per-unit indicators gives them for every
pair and resample at once; a unit a pair did not share contributes nothing to that pair. The jackknife
(each unit left out in turn, for BCa) is the total minus each unit's own indicators.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .bootstrap import BootstrapInterval, bootstrap_interval

#: Largest float32 block (units x pair features, or resamples x pair features) per step.
_BLOCK = 1 << 22
_TINY = 1e-12


def _kappas(sums: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Kappa from summed features ``(..., pairs, 2q + 1)``: weighted agreement, row and column counts."""
    q = w.shape[0]
    n = sums[..., 1 : q + 1].sum(axis=-1)
    safe = np.maximum(n, 1.0)
    po = sums[..., 0] / safe
    pr = sums[..., 1 : q + 1] / safe[..., None]
    pc = sums[..., q + 1 :] / safe[..., None]
    pe = ((pr @ w) * pc).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where((1.0 - pe > _TINY) & (n > 0), (po - pe) / (1.0 - pe), np.nan))


def pair_replicates(
    rows: Any, a: np.ndarray, b: np.ndarray, w: np.ndarray, n_boot: int, seed: Any, *, jackknife: bool
) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """``(first pair, B x p replicates, units x p jackknife values or None)`` for blocks of pairs.

    The same draws serve every pair (seeded), so the pairs' intervals come from one set of resamples.
    """
    rng = np.random.default_rng(seed)
    n_u, n_r, q = rows.unit_ids.size, rows.rater_ids.size, w.shape[0]
    # float32 is exact for the counts (sums of whole numbers below 2**24) and plenty for the weighted
    # agreement of a resample; it halves the cost of the one large matrix product.
    mult = rng.multinomial(n_u, np.full(n_u, 1.0 / n_u), size=n_boot).astype(np.float32)
    level = np.full((n_u, n_r), -1, dtype=np.intp)
    level[rows.unit, rows.rater] = rows.code
    eye = np.eye(q)
    step = max(1, _BLOCK // max(n_boot * (2 * q + 1), n_u * (2 * q + 1), 1))
    for start in range(0, a.size, step):
        la, lb = level[:, a[start : start + step]], level[:, b[start : start + step]]
        both = (la >= 0) & (lb >= 0)
        ia, ib = np.where(both, la, 0), np.where(both, lb, 0)
        agree = w[ia, ib] * both  # units x pairs
        row = eye[ia] * both[..., None]  # units x pairs x q
        col = eye[ib] * both[..., None]
        p = agree.shape[1]
        feats = np.concatenate([agree[..., None], row, col], axis=2)
        flat = feats.reshape(n_u, -1).astype(np.float32)
        reps = _kappas((mult @ flat).astype(np.float64).reshape(n_boot, p, 2 * q + 1), w)
        jack = _kappas(feats.sum(axis=0)[None] - feats, w) if jackknife else None
        yield start, reps, jack


def pair_intervals(
    rows: Any,
    a: np.ndarray,
    b: np.ndarray,
    kappa: np.ndarray,
    w: np.ndarray,
    n_boot: int,
    seed: Any,
    confidence: float,
    method: str = "percentile",
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval of every pair's kappa (NaN where kappa or its interval is undefined)."""
    low = np.full(kappa.size, np.nan)
    high = np.full(kappa.size, np.nan)
    for start, reps, jack in pair_replicates(rows, a, b, w, n_boot, seed, jackknife=method == "bca"):
        for j in range(reps.shape[1]):
            i = start + j
            if np.isnan(kappa[i]):
                continue
            bi = bootstrap_interval(
                reps[:, j],
                float(kappa[i]),
                method=method,
                jackknife=None if jack is None else jack[:, j],
                confidence=confidence,
            )
            if bi.low is not None and bi.high is not None:
                low[i], high[i] = bi.low, bi.high
    return low, high


def light_interval(
    rows: Any,
    a: np.ndarray,
    b: np.ndarray,
    value: float,
    w: np.ndarray,
    n_boot: int,
    seed: Any,
    confidence: float,
    method: str = "percentile",
) -> BootstrapInterval:
    """Bootstrap interval of Light's kappa: on each resample, the mean of the pairs' defined kappas."""
    n_u = rows.unit_ids.size
    total = np.zeros(n_boot)
    count = np.zeros(n_boot)
    jack_total = np.zeros(n_u) if method == "bca" else None
    jack_count = np.zeros(n_u)
    for _, reps, jack in pair_replicates(rows, a, b, w, n_boot, seed, jackknife=method == "bca"):
        ok = np.isfinite(reps)
        total += np.where(ok, reps, 0.0).sum(axis=1)
        count += ok.sum(axis=1)
        if jack is not None and jack_total is not None:
            jok = np.isfinite(jack)
            jack_total += np.where(jok, jack, 0.0).sum(axis=1)
            jack_count += jok.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = np.where(count > 0, total / count, np.nan)
        jk = None if jack_total is None else np.where(jack_count > 0, jack_total / jack_count, np.nan)
    return bootstrap_interval(boot, value, method=method, jackknife=jk, confidence=confidence)

"""Lean: a stable severity or leniency against the key, large enough to matter (DESIGN §6, issue 15).

A lean is not drift. It is a finding about an assessor's *level* (feedback, certification), decided on
the interval of the mean signed deviation over recent rounds against a material size, never on a point
estimate. :func:`lean` evaluates it after every round, as the service would.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _check_confidence, _py
from calibration.stats._drift_common import _check_count, _evidence_text, _frozen_map, _Rows, _rows, _ToDict
from calibration.stats.labels import MIN_ANCHORS, MIN_SCORES

__all__ = ["LEAN_MATERIAL", "LEAN_WINDOW", "Lean", "lean"]

#: Smallest lean that matters, in levels: a quarter level (the size ``drift_sentence`` calls "close").
LEAN_MATERIAL = 0.25
#: Rounds (the assessor's latest) the lean is judged over.
LEAN_WINDOW = 5

Verdict = Literal["lenient", "severe", "within", "unclear", "too_few"]


@dataclass(frozen=True)
class Lean(_ToDict):
    """The lean of one assessor (overall, or on one ``criterion``) over their latest rounds.

    ``verdict``: ``"lenient"``/``"severe"`` (the whole interval of the mean signed deviation is beyond
    ``+material``/``-material``: a material lean), ``"within"`` (the whole interval inside
    ``(-material, +material)``: no material lean), ``"unclear"`` (the interval crosses a boundary) or
    ``"too_few"`` (below the minimum evidence). The reported evaluation is after the assessor's latest
    round, over ``window_rounds``; ``mean``/``ci_low``/``ci_high`` in levels (positive = above the
    key), with score sheets as clusters. ``lean_rounds`` lists every round after which the verdict was
    lenient or severe (the first is when the finding arose).
    """

    rater: Hashable
    criterion: Hashable | None
    verdict: Verdict
    round: Hashable | None
    window_rounds: tuple[Hashable, ...]
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n_scores: int
    n_anchors: int
    lean_rounds: tuple[Hashable, ...]
    reason: str | None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        """True for a material lean (lenient or severe) after the latest round."""
        return self.verdict in ("lenient", "severe")

    def sentence(self) -> str:
        """The assessor's plain line: says "lean", never "drift"."""
        what = f" on {self.criterion}" if self.criterion is not None else ""
        if self.verdict in ("lenient", "severe") and self.mean is not None:
            way = "higher" if self.verdict == "lenient" else "lower"
            return (
                f"Over your last {len(self.window_rounds)} rounds you scored{what} {way} than the key by "
                f"{abs(self.mean):.2f} levels on average (95% interval {self.ci_low:+.2f} to "
                f"{self.ci_high:+.2f}): a steady lean worth discussing."
            )
        if self.verdict == "within":
            return f"Over your last {len(self.window_rounds)} rounds your scores{what} showed no lean that matters."
        if self.verdict == "unclear":
            return f"Over your last {len(self.window_rounds)} rounds it is not yet clear whether your scores{what} lean."
        return self.reason or "Too few to judge."


def _group_moments(p: _Rows, group: np.ndarray, G: int) -> np.ndarray:
    """Per (group, round): scores, sum d, sheets, sum of sheet sums^2, sheet sums x sizes, sizes^2."""
    T = p.T
    cell = group.astype(np.int64) * T + p.t
    n_u = int(p.u.max()) + 1 if p.u.size else 1
    keys, inv = np.unique(cell * n_u + p.u, return_inverse=True)
    inv = inv.reshape(-1)
    n_s, d_s = np.bincount(inv), np.bincount(inv, weights=p.d)
    sc = keys // n_u
    size = G * T
    out = [
        np.bincount(cell, minlength=size),
        np.bincount(cell, weights=p.d, minlength=size),
        np.bincount(sc, minlength=size),
        np.bincount(sc, weights=d_s * d_s, minlength=size),
        np.bincount(sc, weights=d_s * n_s, minlength=size),
        np.bincount(sc, weights=n_s * n_s, minlength=size),
    ]
    return np.stack([o.astype(float).reshape(G, T) for o in out])


def _lean_results(
    p: _Rows, group: np.ndarray, G: int, names: list[tuple[Hashable, Hashable | None]], params: dict[str, Any]
) -> list[Lean]:
    mom = _group_moments(p, group, G)
    obs = mom[0] > 0
    k_g = obs.sum(axis=1)
    K = int(k_g.max()) if G else 0
    gi, ti = np.nonzero(obs)
    ki = np.cumsum(obs, axis=1)[gi, ti] - 1
    comp = np.zeros((6, G, K))
    comp[:, gi, ki] = mom[:, gi, ti]
    round_of = np.full((G, K), -1)
    round_of[gi, ki] = ti
    cum = np.concatenate([np.zeros((6, G, 1)), np.cumsum(comp, axis=2)], axis=2)
    end = np.arange(1, K + 1)
    start = np.maximum(end - params["window"], 0)
    w = cum[:, :, end] - cum[:, :, start]
    n, s, m = w[0], w[1], w[2]
    enough = (n >= params["min_scores"]) & (m >= params["min_anchors"]) & (end[None, :] <= k_g[:, None])
    mat = params["material"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        var = m / (m - 1) * np.maximum(w[3] - 2 * mean * w[4] + mean**2 * w[5], 0.0) / n**2
        half = sps.t.ppf(0.5 + params["confidence"] / 2, np.maximum(m - 1, 1)) * np.sqrt(var)
    lo, hi = mean - half, mean + half
    verdict = np.where(
        ~enough, 4, np.where(lo > mat, 0, np.where(hi < -mat, 1, np.where((lo > -mat) & (hi < mat), 2, 3)))
    )
    names_v: tuple[Verdict, ...] = ("lenient", "severe", "within", "unclear", "too_few")
    rid = [_py(v) for v in p.round_ids]
    out = []
    for g in np.flatnonzero(k_g > 0).tolist():
        j = int(k_g[g]) - 1
        v = names_v[int(verdict[g, j])]
        ok = v != "too_few"
        out.append(
            Lean(
                rater=names[g][0],
                criterion=names[g][1],
                verdict=v,
                round=rid[round_of[g, j]],
                window_rounds=tuple(rid[round_of[g, i]] for i in range(int(start[j]), j + 1)),
                mean=float(mean[g, j]) if ok else None,
                ci_low=float(lo[g, j]) if ok and math.isfinite(lo[g, j]) else None,
                ci_high=float(hi[g, j]) if ok and math.isfinite(hi[g, j]) else None,
                n_scores=int(n[g, j]),
                n_anchors=int(m[g, j]),
                lean_rounds=tuple(rid[round_of[g, i]] for i in np.flatnonzero(verdict[g, : j + 1] <= 1)),
                reason=None
                if ok
                else _evidence_text(int(m[g, j]), int(n[g, j]), params["min_anchors"], params["min_scores"]),
                parameters=params,
            )
        )
    return out


def lean(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    criteria: Any = None,
    window: int = LEAN_WINDOW,
    material: float = LEAN_MATERIAL,
    confidence: float = 0.95,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
) -> Mapping[Hashable | tuple[Hashable, Hashable], Lean]:
    """Material lean of each assessor against the key, decided on an interval (never a point estimate).

    After each round of an assessor's series, over their last ``window`` rounds: the mean signed
    deviation ``mean = sum d / n`` of their criterion-scores with a Student t interval whose variance
    treats score sheets as clusters (ratio estimator, ``m`` sheets, ``m - 1`` df; criterion-scores on
    one sheet are correlated by halo): ``var = m/(m-1) * sum_s (D_s - mean n_s)^2 / n^2``. The verdict is
    lenient (``ci_low > material``), severe (``ci_high < -material``), within (the interval inside
    ``(-material, material)``), unclear, or too few to judge (fewer than ``min_anchors`` sheets or
    ``min_scores`` criterion-scores in the window).

    Parameters
    ----------
    rounds, raters, units : array_like
        Round (ids sort in time order), assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels (all of them).
    criteria : array_like, optional
        The criterion of each row; adds a lean per ``(rater, criterion)`` (needs the same evidence).
    window : int
        Latest rounds judged (default 5).
    material : float
        Smallest lean that matters, in levels (default 0.25).
    confidence : float
        Coverage of the two-sided interval (DESIGN §5: 95%).
    min_anchors, min_scores : int
        Minimum evidence in the window (DESIGN §6: 5 and 20).

    Returns
    -------
    Mapping
        Read-only ``{rater: Lean}``, plus ``{(rater, criterion): Lean}`` with ``criteria``.

    References
    ----------
    DESIGN §6 ("Lean and drift are different findings"). Cochran, W. G. (1977). *Sampling Techniques*
    (3rd ed.), §6.9 (variance of a ratio estimate). Schuirmann, D. J. (1987). A comparison of the two
    one-sided tests procedure... *J. Pharmacokinetics and Biopharmaceutics* 15, 657-680 (deciding on an
    interval against a margin).

    Examples
    --------
    One assessor half a level lenient on every anchor, another exact, over five rounds of six anchors:

    >>> t = np.repeat(np.arange(1, 6), 24)
    >>> u = np.tile(np.repeat(np.arange(6), 4), 5)
    >>> key = np.tile([1, 2, 2, 3], 30)
    >>> given = key + np.tile([1, 0], 60)
    >>> both = lean(np.tile(t, 2), np.repeat([7, 8], 120), np.tile(u, 2),
    ...             np.concatenate([given, key]), np.tile(key, 2), levels=[1, 2, 3, 4])
    >>> both[7].verdict, round(both[7].mean, 2), both[7].lean_rounds[:2], both[8].verdict
    ('lenient', 0.5, (1, 2), 'within')
    """
    _check_count(window=window, min_anchors=min_anchors, min_scores=min_scores)
    if window < 1:
        raise ValueError(f"window must be at least 1 round, got {window!r}")
    if not (isinstance(material, int | float) and math.isfinite(material) and material >= 0):
        raise ValueError(f"material must be a non-negative number of levels, got {material!r}")
    conf = _check_confidence(confidence)
    p = _rows(rounds, raters, units, values, key, levels, criteria)
    params: dict[str, Any] = {
        "rule": "lean",
        "window": int(window),
        "material": float(material),
        "confidence": conf,
        "min_anchors": int(min_anchors),
        "min_scores": int(min_scores),
        "interval": "Student t, score sheets as clusters",
    }
    A = p.A
    out: dict[Hashable | tuple[Hashable, Hashable], Lean] = {
        r.rater: r for r in _lean_results(p, p.r, A, [(_py(a), None) for a in p.rater_ids], params)
    }
    if p.c is not None:
        C = p.C
        cids = [_py(c) for c in p.crit_ids]
        for r in _lean_results(
            p, p.r.astype(np.int64) * C + p.c, A * C, [(_py(a), c) for a in p.rater_ids for c in cids], params
        ):
            out[(r.rater, r.criterion)] = r
    return MappingProxyType(out)

"""Frozen result objects returned by the reliability statistics.

Every statistic returns an :class:`Estimate` (or an :class:`ICCResult` / :class:`PairwiseMatrix`). An
undefined statistic is still an answer: ``value`` is None (never NaN) and ``reason`` says why in plain
English, so callers can show "undefined: <reason>" instead of a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .labels import MIN_ANCHORS, MIN_SCORES, Scale, alpha_band, icc_band, interpret

__all__ = ["Estimate", "ICCResult", "PairwiseMatrix", "Proportion", "alpha_label", "icc_label"]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


def _clean(x: Any) -> float | None:
    """A plain Python float, or None for None/NaN (never a numpy scalar, never NaN)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def alpha_label(value: float | None) -> str | None:
    """Krippendorff's (2004, p. 241) band of an alpha value alone: good, tentative or unacceptable.

    Pages do not use this directly: :func:`calibration.stats.labels.interpret` also weighs the interval,
    the minimum evidence and the printed rounding (and :meth:`Estimate.label` calls it).

    Parameters
    ----------
    value : float or None
        An alpha value.

    Returns
    -------
    str or None
        ``"good"`` for alpha >= .800, ``"tentative"`` for .667 <= alpha < .800, ``"unacceptable"`` below
        .667, None when alpha is undefined.

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis: An Introduction to Its Methodology* (2nd ed.), p. 241.

    Examples
    --------
    >>> alpha_label(0.81), alpha_label(0.7), alpha_label(0.5), alpha_label(None)
    ('good', 'tentative', 'unacceptable', None)
    """
    return None if value is None else alpha_band(value)


def icc_label(value: float | None) -> str | None:
    """Koo & Li's (2016) band of an ICC value alone: poor, moderate, good or excellent.

    Pages do not use this directly: see :func:`calibration.stats.labels.interpret`.

    Parameters
    ----------
    value : float or None
        An intraclass correlation.

    Returns
    -------
    str or None
        ``"poor"`` below .50, ``"moderate"`` for .50 to below .75, ``"good"`` for .75 to .90,
        ``"excellent"`` above .90; None when undefined.

    References
    ----------
    Koo, T. K., & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation
    coefficients for reliability research. *Journal of Chiropractic Medicine* 15(2), 155-163.

    Examples
    --------
    >>> [icc_label(v) for v in (0.3, 0.6, 0.8, 0.95, None)]
    ['poor', 'moderate', 'good', 'excellent', None]
    """
    return None if value is None else icc_band(value)


@dataclass(frozen=True)
class Estimate:
    """One agreement statistic with its uncertainty, sample sizes and, when undefined, the reason.

    Attributes
    ----------
    method : str
        What was computed, e.g. ``"krippendorff_alpha_ordinal"``, ``"fleiss_kappa"``, ``"gwet_ac2"``.
    value : float or None
        The statistic; None when undefined (see ``reason``).
    se : float or None
        Standard error (analytic; see the function's docstring for which formula).
    ci_low, ci_high : float or None
        Confidence interval at ``confidence``.
    ci_method : str or None
        ``"bootstrap"`` (percentile, over units), ``"normal"``, ``"t"``, ``"wilson"`` or ``"F"``.
    n_units, n_raters : int
        Units and raters that entered the computation.
    reason : str or None
        Plain-English reason when ``value`` is None.
    confidence : float
        Two-sided coverage of the interval.
    extra : Mapping[str, float]
        Read-only named by-products (``pa``, ``pe``, ``z``, ``p_value``, ...).
    detail : Mapping[str, tuple[float, ...]]
        Read-only named vectors (e.g. Fleiss' per-category kappas); NaN marks an undefined entry.
    ci_note : str or None
        Plain-English note on the interval: that it was clipped to the statistic's range, or why a
        bootstrap interval is undefined (too many undefined resamples); None when there is nothing to say.
    """

    method: str
    value: float | None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    n_units: int = 0
    n_raters: int = 0
    reason: str | None = None
    confidence: float = 0.95
    extra: Mapping[str, float] = field(default_factory=_empty, hash=False)
    detail: Mapping[str, tuple[float, ...]] = field(default_factory=_empty, hash=False)
    ci_note: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        value = _clean(self.value)
        set_(self, "value", value)
        for name in ("se", "ci_low", "ci_high"):
            set_(self, name, _clean(getattr(self, name)))
        set_(self, "n_units", int(self.n_units))
        set_(self, "n_raters", int(self.n_raters))
        if value is None and self.reason is None:
            set_(self, "reason", "undefined")
        extra = {str(k): float(v) for k, v in dict(self.extra).items() if v is not None}
        set_(self, "extra", MappingProxyType(extra))
        detail = {str(k): tuple(float(x) for x in v) for k, v in dict(self.detail).items()}
        set_(self, "detail", MappingProxyType(detail))

    @property
    def defined(self) -> bool:
        """True when the statistic has a value."""
        return self.value is not None

    @property
    def interval(self) -> tuple[float, float] | None:
        """``(ci_low, ci_high)``, or None when there is no interval."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_low, self.ci_high)

    def label(
        self,
        *,
        n_anchors: int | None = None,
        n_scores: int | None = None,
        min_anchors: int = MIN_ANCHORS,
        min_scores: int = MIN_SCORES,
    ) -> str | None:
        """Interpretation label from :func:`~calibration.stats.labels.interpret`: Krippendorff's bands for
        alpha, Koo & Li's for an ICC (with "between ..." where the interval crosses a boundary and "too
        few to judge" below the minimum evidence), else None.

        ``n_anchors`` defaults to ``extra["n_anchors"]`` if recorded, else ``n_units``; ``n_scores`` to
        ``extra["n_scores"]``, else the pairable values (alpha), else ``n_units * n_raters``. Pass them
        when a unit is not an anchor (e.g. anchor x criterion units).
        """
        scale: Scale
        if self.method.startswith("krippendorff_alpha"):
            scale = "alpha"
        elif self.method.startswith("icc"):
            scale = "icc"
        else:
            return None
        anchors = int(self.extra.get("n_anchors", self.n_units)) if n_anchors is None else n_anchors
        scores = n_scores
        if scores is None:
            fallback = self.extra.get("n_values", self.n_units * self.n_raters)
            scores = int(self.extra.get("n_scores", fallback))
        return interpret(
            self.value,
            self.interval,
            scale=scale,
            n_anchors=anchors,
            n_scores=scores,
            min_anchors=min_anchors,
            min_scores=min_scores,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (floats, ints, strings and None only)."""
        return {
            "method": self.method,
            "value": self.value,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_method": self.ci_method,
            "confidence": self.confidence,
            "n_units": self.n_units,
            "n_raters": self.n_raters,
            "reason": self.reason,
            "ci_note": self.ci_note,
            "label": self.label(),
            "extra": {k: (None if math.isnan(v) else v) for k, v in self.extra.items()},
            "detail": {k: [None if math.isnan(x) else x for x in v] for k, v in self.detail.items()},
        }


def _percent(p: float) -> str:
    """A share as a percentage with at most one decimal: ``0.65`` -> ``"65%"``, ``0.125`` -> ``"12.5%"``."""
    text = f"{100 * p:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


@dataclass(frozen=True)
class Proportion:
    """A share ``count / n`` with its Wilson score interval; ``p`` is None when ``n == 0``.

    ``value`` is the same share under the name :class:`Estimate` uses, so code that reads any
    statistic's ``value``, ``defined``, ``ci_low`` and ``ci_high`` works on a Proportion as well;
    ``p`` stays the stored field (and the name in ``to_dict``-style dumps of its fields).
    """

    count: int
    n: int
    p: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    reason: str | None = None

    @property
    def value(self) -> float | None:
        """The share, None when undefined: the same number as ``p``, named as in :class:`Estimate`."""
        return self.p

    @property
    def defined(self) -> bool:
        return self.p is not None

    def label(self) -> str:
        """Plain text such as ``"65% (13 of 20)"``, or the reason when undefined."""
        if self.p is None:
            return f"undefined ({self.reason})"
        return f"{_percent(self.p)} ({self.count} of {self.n})"


_ICC_ALIASES = {
    "ICC1": "icc1",
    "ICC(1,1)": "icc1",
    "ICC2": "icc2",
    "ICC(2,1)": "icc2",
    "ICC3": "icc3",
    "ICC(3,1)": "icc3",
    "ICC1K": "icc1k",
    "ICC(1,K)": "icc1k",
    "ICC2K": "icc2k",
    "ICC(2,K)": "icc2k",
    "ICC3K": "icc3k",
    "ICC(3,K)": "icc3k",
}


@dataclass(frozen=True)
class ICCResult:
    """The six Shrout & Fleiss (1979) intraclass correlations of one units x raters table.

    Each form is an :class:`Estimate` (``method`` ``"icc1"`` ... ``"icc3k"``, ``ci_method="F"``) whose
    ``extra`` holds ``F``, ``df1``, ``df2`` and ``p_value``; ``label()`` gives Koo & Li's (2016) reading.

    Attributes
    ----------
    icc1, icc2, icc3 : Estimate
        Single-rater forms ICC(1,1), ICC(2,1), ICC(3,1).
    icc1k, icc2k, icc3k : Estimate
        Mean-of-k-raters forms ICC(1,k), ICC(2,k), ICC(3,k).
    n_units, n_raters : int
        Units and raters in the complete table that was analysed.
    n_dropped : int
        Units dropped because not every rater rated them.
    reason : str or None
        Why the forms are undefined, when they are.
    anova : Mapping[str, float]
        Mean squares and degrees of freedom (``ms_rows``, ``ms_cols``, ``ms_error``, ``ms_within``, ...).
    """

    icc1: Estimate
    icc2: Estimate
    icc3: Estimate
    icc1k: Estimate
    icc2k: Estimate
    icc3k: Estimate
    n_units: int = 0
    n_raters: int = 0
    n_dropped: int = 0
    reason: str | None = None
    anova: Mapping[str, float] = field(default_factory=_empty, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "anova", MappingProxyType({str(k): float(v) for k, v in self.anova.items()}))

    @property
    def forms(self) -> tuple[Estimate, ...]:
        """All six forms in Shrout & Fleiss order."""
        return (self.icc1, self.icc2, self.icc3, self.icc1k, self.icc2k, self.icc3k)

    def __getitem__(self, name: str) -> Estimate:
        """A form by name: ``"ICC2"``, ``"ICC(2,1)"``, ``"icc2k"``, ``"ICC(2,k)"`` ..."""
        key = _ICC_ALIASES.get(str(name).upper().replace(" ", ""))
        if key is None:
            raise KeyError(f"unknown ICC form {name!r}; use one of ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k")
        form: Estimate = getattr(self, key)
        return form

    def label(self, form: str = "ICC2", **evidence: int) -> str | None:
        """Koo & Li (2016) reading of one form (default ICC(2,1)) through :meth:`Estimate.label`
        (``evidence``: ``n_anchors``, ``n_scores``, ``min_anchors``, ``min_scores``)."""
        return self[form].label(**evidence)


@dataclass(frozen=True, eq=False)
class PairwiseMatrix:
    """Kappa between every pair of raters (symmetric; read-only arrays).

    Attributes
    ----------
    rater_ids : numpy.ndarray
        Sorted distinct raters; row/column ``i`` is ``rater_ids[i]``.
    values : numpy.ndarray
        ``R x R`` float kappas; NaN where undefined (fewer than one common unit, no variation) and on
        the diagonal.
    n_common : numpy.ndarray
        ``R x R`` int counts of units rated by both raters (diagonal: units rated by the rater).
    method : str
        e.g. ``"cohen_kappa_quadratic"``.
    ci_low, ci_high : numpy.ndarray
        ``R x R`` interval bounds for each pair's kappa; NaN where there is none.
    n_boot : int
        Resamples behind bootstrap intervals (0: analytic intervals, or none).
    confidence : float
        Two-sided coverage of the intervals.
    """

    rater_ids: np.ndarray
    values: np.ndarray
    n_common: np.ndarray
    method: str = "cohen_kappa"
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    n_boot: int = 0
    confidence: float = 0.95
    ci_method: str | None = None  # "normal" (Fleiss-Cohen-Everitt) or "bootstrap"

    def __post_init__(self) -> None:
        shape = np.shape(self.values)
        for name in ("ci_low", "ci_high"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(shape, np.nan))
        for name in ("rater_ids", "values", "n_common", "ci_low", "ci_high"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def get(self, a: Any, b: Any) -> float | None:
        """Kappa between raters ``a`` and ``b`` (their ids), None when undefined."""
        ids = self.rater_ids
        i = np.searchsorted(ids, a)
        j = np.searchsorted(ids, b)
        if i >= ids.size or j >= ids.size or ids[i] != a or ids[j] != b:
            raise KeyError(f"rater {a!r} or {b!r} is not in this matrix")
        return _clean(self.values[i, j])

    def interval(self, a: Any, b: Any) -> tuple[float, float] | None:
        """Interval of the kappa between raters ``a`` and ``b`` (see ``ci_method``), None when there is none."""
        self.get(a, b)  # raises KeyError for an unknown rater
        i, j = np.searchsorted(self.rater_ids, a), np.searchsorted(self.rater_ids, b)
        assert self.ci_low is not None and self.ci_high is not None  # filled in by __post_init__
        lo, hi = _clean(self.ci_low[i, j]), _clean(self.ci_high[i, j])
        return None if lo is None or hi is None else (lo, hi)

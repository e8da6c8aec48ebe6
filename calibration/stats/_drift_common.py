"""Shared pieces of the drift rules: long rows turned into per-round codes, result helpers."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import numpy as np

from calibration.stats._checks import _check_lengths, _check_levels, _factorize, _level_index, _py
from calibration.stats.results import Proportion

__all__ = ["drift_sentence"]

Status = Literal["flagged", "in_control", "too_few", "undefined"]


def _frozen_map(d: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(d or {}))


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return [_jsonable(v) for v in x]
    if isinstance(x, Proportion):
        return {f.name: getattr(x, f.name) for f in fields(x)}
    if isinstance(x, float) and math.isnan(x):
        return None
    return _py(x)


class _ToDict:
    # Only dataclasses mix this in; declaring the field table lets the type checker see that.
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (to store with a flag)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _evidence_text(n_anchors: int, n_scores: int, min_anchors: int, min_scores: int) -> str:
    return (
        f"Too few to judge: {n_anchors} anchor{'' if n_anchors == 1 else 's'} and {n_scores} "
        f"criterion-score{'' if n_scores == 1 else 's'} ({min_anchors} anchors and {min_scores} "
        "criterion-scores needed)"
    )


def _check_positive(**named: float) -> None:
    for name, v in named.items():
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")


def _check_count(**named: int) -> None:
    for name, v in named.items():
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"{name} must be a non-negative whole number, got {v!r}")


# ------------------------------------------------------------------------------------------- rows
@dataclass(frozen=True, eq=False)
class _Rows:
    d: np.ndarray  # signed deviation of each row
    t: np.ndarray  # round code (0..T-1, time order)
    r: np.ndarray  # rater code
    u: np.ndarray  # anchor code
    c: np.ndarray | None  # criterion code
    round_ids: np.ndarray
    rater_ids: np.ndarray
    crit_ids: np.ndarray

    @property
    def T(self) -> int:
        return self.round_ids.size

    @property
    def A(self) -> int:
        return self.rater_ids.size

    @property
    def C(self) -> int:
        return max(self.crit_ids.size, 1)

    def counts(self, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (group, round): scores, sum of d and score sheets (distinct anchors), each ``(G, T)``."""
        T = self.T
        cell = group.astype(np.int64) * T + self.t
        size = n_groups * T
        n = np.bincount(cell, minlength=size).reshape(n_groups, T)
        s = np.bincount(cell, weights=self.d, minlength=size).reshape(n_groups, T)
        n_u = int(self.u.max()) + 1 if self.u.size else 1
        sheets = np.unique(cell * n_u + self.u) // n_u
        ns = np.bincount(sheets, minlength=size).reshape(n_groups, T)
        return n, s, ns


def _rows(rounds: Any, raters: Any, units: Any, values: Any, key: Any, levels: Any, criteria: Any) -> _Rows:
    lv = _check_levels(levels, labels=True)
    _check_lengths(rounds=rounds, raters=raters, units=units, values=values, key=key, criteria=criteria)
    d = _level_index(values, lv, what="value") - _level_index(key, lv, what="key level")
    t, round_ids = _factorize(rounds, "rounds")
    r, rater_ids = _factorize(raters, "raters")
    u, _ = _factorize(units, "units")
    crit_ids: np.ndarray = np.zeros(0, np.intp)
    c: np.ndarray | None = None
    if criteria is not None:
        c, crit_ids = _factorize(criteria, "criteria")
    return _Rows(d.astype(np.int64), t, r, u, c, round_ids, rater_ids, crit_ids)


# ----------------------------------------------------------------------------------------- words
_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def drift_sentence(mean_deviation: float, *, n_rounds: int, criterion: Hashable | None = None) -> str:
    """One plain sentence saying which way, and by about how much, an assessor's scores sit off the key.

    The size is rounded to the nearest half level: under a quarter level is "close to the key", then
    "about half a level", "about one level", "about one and a half levels", "about two levels" ...

    Parameters
    ----------
    mean_deviation : float
        Mean signed deviation in levels (positive: above the key).
    n_rounds : int
        How many recent rounds it covers.
    criterion : str, optional
        The criterion's name; the whole rubric when omitted.

    Returns
    -------
    str

    References
    ----------
    Issue 6: assessors see their own flags in plain language.

    Examples
    --------
    >>> drift_sentence(0.93, n_rounds=3, criterion="Criterion 2")
    'Over the last 3 rounds you scored Criterion 2 higher than the key by about one level.'
    >>> drift_sentence(-0.55, n_rounds=1)
    'In the last round you scored lower than the key by about half a level on average.'
    >>> drift_sentence(0.1, n_rounds=2, criterion="Equity practice")
    'Over the last 2 rounds your scores on Equity practice were close to the key.'
    """
    if not math.isfinite(mean_deviation):
        raise ValueError(f"mean_deviation must be a finite number, got {mean_deviation!r}")
    _check_count(n_rounds=n_rounds)
    when = "In the last round" if n_rounds == 1 else f"Over the last {n_rounds} rounds"
    halves = round(abs(mean_deviation) * 2)
    if halves == 0:
        what = f"your scores on {criterion}" if criterion is not None else "your scores"
        return f"{when} {what} were close to the key."
    whole, half = divmod(halves, 2)
    if whole == 0:
        size = "half a level"
    elif whole == 1:
        size = "one and a half levels" if half else "one level"
    else:
        size = f"{_WORDS.get(whole, str(whole))}{' and a half' if half else ''} levels"
    way = "higher" if mean_deviation > 0 else "lower"
    target = f" {criterion}" if criterion is not None else ""
    tail = "" if criterion is not None else " on average"
    return f"{when} you scored{target} {way} than the key by about {size}{tail}."

"""Canonical input for the reliability statistics, and the helpers that reshape it cheaply.

The canonical input is *long rows*: ``units`` (what was rated: an anchor x criterion, a submission x
criterion), ``raters`` and ``values`` (the level given), one row per rating, plus ``levels``: the
rubric's ordered levels, always passed explicitly so that unused levels still count. Values are turned
into the level *index* ``0..q-1`` (the position in ``levels``); a NaN value is a missing rating and its
row is ignored. A value that is not NaN and not one of the levels is an error (``ValueError`` naming it).

Most statistics need only each unit's *value-count pattern* (how many ratings at each level); those
are found in :mod:`._patterns` (re-exported here).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._checks import (
    _as_1d,
    _check_lengths,
    _check_levels,
    _codes,
    _factorize,
    _fmt,
    _lookup,
    _values_1d,
)
from ._patterns import ValuePatterns, value_count_patterns

__all__ = [
    "RatingMatrix",
    "ValuePatterns",
    "category_counts",
    "contingency_table",
    "to_index",
    "units_by_raters_matrix",
    "value_count_patterns",
]


# ------------------------------------------------------------------------------------------- levels
def to_index(values: Any, levels: Any) -> np.ndarray:
    """Turn level values into level indices ``0..q-1`` (the position in ``levels``).

    Parameters
    ----------
    values : array_like
        Level values, any numeric dtype; NaN marks a missing rating.
    levels : sequence
        The rubric's ordered levels (all of them).

    Returns
    -------
    numpy.ndarray
        ``intp`` indices, ``-1`` where the value is missing.

    Raises
    ------
    ValueError
        If a value is neither NaN nor one of ``levels`` (the message names the value).

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
    Communication, University of Pennsylvania, paper 43 (values are looked up in the value domain).

    Examples
    --------
    >>> to_index([4, 1, float("nan"), 3], [1, 2, 3, 4]).tolist()
    [3, 0, -1, 2]
    >>> to_index([0, 1, 1], [0, 1]).tolist()
    [0, 1, 1]
    >>> to_index([5], [1, 2, 3, 4])
    Traceback (most recent call last):
    ...
    ValueError: value 5 is not one of the rubric levels [1, 2, 3, 4]
    """
    lv = _check_levels(levels)
    return _codes(_values_1d(values), lv).astype(np.intp)


# ------------------------------------------------------------------------------------------- tables
def category_counts(units: Any, values: Any, *, levels: Any) -> np.ndarray:
    """Units x levels table: how many ratings each unit received at each level.

    Parameters
    ----------
    units, values : array_like
        Long rows; NaN values are missing and ignored.
    levels : sequence
        The rubric's ordered levels; one column per level, used or not.

    Returns
    -------
    numpy.ndarray
        ``n_units x q`` int64, rows in sorted unit-id order (units with at least one rating).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. *Psychological
    Bulletin* 76(5), 378-382 (the ``n_ij`` table).

    Examples
    --------
    >>> category_counts([7, 7, 3, 3, 3], [1, 2, 2, 2, 4], levels=[1, 2, 3, 4]).tolist()
    [[0, 2, 0, 1], [1, 1, 0, 0]]
    """
    lv = _check_levels(levels)
    u = _as_1d(units, "units")
    v = _values_1d(values)
    _check_lengths(units=u, values=v)
    code = _codes(v, lv).astype(np.intp)
    ok = code >= 0
    codes, uniq = _factorize(u[ok], "units")
    q = lv.size
    flat = np.bincount(codes * q + code[ok], minlength=uniq.size * q)
    return flat.reshape(uniq.size, q).astype(np.int64)


class RatingMatrix(NamedTuple):
    """A units x raters table built from long rows (for small data only)."""

    values: np.ndarray
    unit_ids: np.ndarray
    rater_ids: np.ndarray


class _Long(NamedTuple):
    unit: np.ndarray  # dense unit codes (intp)
    rater: np.ndarray  # dense rater codes (intp)
    code: np.ndarray  # level index (intp)
    unit_ids: np.ndarray
    rater_ids: np.ndarray


def _long_rows(units: Any, raters: Any, values: Any, lv: np.ndarray, *, check_duplicates: bool) -> _Long:
    """Validated long rows with dense unit and rater codes; missing values dropped."""
    u = _as_1d(units, "units")
    r = _as_1d(raters, "raters")
    v = _values_1d(values)
    _check_lengths(units=u, raters=r, values=v)
    code = _codes(v, lv).astype(np.intp)
    ok = code >= 0
    if not ok.all():
        u, r, code = u[ok], r[ok], code[ok]
    uc, uid = _factorize(u, "units")
    rc, rid = _factorize(r, "raters")
    if check_duplicates and uc.size:
        _check_no_duplicates(uc, rc, uid, rid)
    return _Long(uc, rc, code, uid, rid)


def _check_no_duplicates(uc: np.ndarray, rc: np.ndarray, uid: np.ndarray, rid: np.ndarray) -> None:
    n_r = rid.size
    pair = uc * n_r + rc
    tally = np.bincount(pair) if uid.size * n_r <= 1 << 26 else None
    if tally is not None:
        dup = np.flatnonzero(tally > 1)
    else:
        s = np.sort(pair)
        dup = s[1:][s[1:] == s[:-1]]
    if dup.size:
        p = int(dup[0])
        raise ValueError(
            f"unit {_fmt(uid[p // n_r])} is rated more than once by rater {_fmt(rid[p % n_r])}; "
            "give one row per unit and rater"
        )


def units_by_raters_matrix(units: Any, raters: Any, values: Any, *, levels: Any = None) -> RatingMatrix:
    """A units x raters matrix of values with NaN where a rater did not rate a unit.

    Meant for small data (a calibration round): at scale use :func:`value_count_patterns`.

    Parameters
    ----------
    units, raters, values : array_like
        Long rows, one per unit and rater (a repeated pair is a ``ValueError``).
    levels : sequence, optional
        When given, values are checked against the rubric's levels.

    Returns
    -------
    RatingMatrix
        ``values`` (float ``n_units x n_raters``), ``unit_ids`` and ``rater_ids`` (sorted).

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability (the reliability data matrix).

    Examples
    --------
    >>> m = units_by_raters_matrix([1, 1, 2], [10, 11, 11], [3, 4, 2])
    >>> m.values.tolist(), m.unit_ids.tolist(), m.rater_ids.tolist()
    ([[3.0, 4.0], [nan, 2.0]], [1, 2], [10, 11])
    """
    u = _as_1d(units, "units")
    r = _as_1d(raters, "raters")
    v = _values_1d(values)
    _check_lengths(units=u, raters=r, values=v)
    if levels is not None:
        _lookup(v, _check_levels(levels))
    if v.dtype.kind not in "iufb":
        raise ValueError(
            f"values must be numbers, with NaN (or None) for a missing rating; got dtype {v.dtype}"
        )
    vf = v.astype(np.float64)
    ok = ~np.isnan(vf)
    u, r, vf = u[ok], r[ok], vf[ok]
    uc, uid = _factorize(u, "units")
    rc, rid = _factorize(r, "raters")
    _check_no_duplicates(uc, rc, uid, rid)
    mat = np.full((uid.size, rid.size), np.nan)
    mat[uc, rc] = vf
    return RatingMatrix(mat, uid, rid)


def contingency_table(a: Any, b: Any, *, levels: Any) -> np.ndarray:
    """Two raters' paired ratings cross-tabulated over all levels (rater ``a`` in rows).

    Parameters
    ----------
    a, b : array_like
        Paired ratings of the same units; a pair with a NaN on either side is dropped.
    levels : sequence
        The rubric's ordered levels.

    Returns
    -------
    numpy.ndarray
        ``q x q`` int64 counts.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and Psychological
    Measurement* 20(1), 37-46.

    Examples
    --------
    >>> contingency_table([1, 2, 2], [1, 2, 3], levels=[1, 2, 3]).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    """
    lv = _check_levels(levels)
    x = _values_1d(a, "a")
    y = _values_1d(b, "b")
    _check_lengths(a=x, b=y)
    ca = _codes(x, lv).astype(np.intp)
    cb = _codes(y, lv).astype(np.intp)
    ok = (ca >= 0) & (cb >= 0)
    q = lv.size
    return np.bincount(ca[ok] * q + cb[ok], minlength=q * q).reshape(q, q).astype(np.int64)

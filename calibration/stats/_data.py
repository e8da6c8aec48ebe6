"""Canonical input for the reliability statistics, and the helpers that reshape it cheaply.

The canonical input is *long rows*: ``units`` (what was rated: an anchor x criterion, a submission x
criterion), ``raters`` and ``values`` (the level given), one row per rating, plus ``levels``: the
rubric's ordered levels, always passed explicitly so that unused levels still count. Values are turned
into the level *index* ``0..q-1`` (the position in ``levels``); a NaN value is a missing rating and its
row is ignored. A value that is not NaN and not one of the levels is an error (``ValueError`` naming it).

Most statistics need only each unit's *value-count pattern* (how many ratings at each level): units
with the same pattern contribute identically, and there are rarely more than a few dozen patterns
however many units there are. :func:`value_count_patterns` finds them in a couple of passes (no sort,
no units x raters matrix): each row adds ``2**(s * level)`` to its unit's key in a small unsigned
accumulator, so a unit's key spells its counts in base ``2**s``, and one ``np.bincount`` of the keys
gives the multiplicities. A count that overflows its digit (or the accumulator) lowers the sum of the
decoded digits, so a total that differs from the number of rows triggers a wider retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ._checks import (
    _as_1d,
    _bincount_ready,
    _check_lengths,
    _check_levels,
    _codes,
    _count_distinct,
    _factorize,
    _fmt,
    _lookup,
    _nonnegative_max,
    _values_1d,
)

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


# ----------------------------------------------------------------------------------------- patterns
@dataclass(frozen=True, eq=False)
class ValuePatterns:
    """Units collapsed to their value-count patterns.

    Attributes
    ----------
    counts : numpy.ndarray
        ``P x q`` int64: ratings at each level index, one row per distinct pattern.
    multiplicity : numpy.ndarray
        ``P`` int64: how many units show each pattern.
    n_units : int
        Units with at least one (non-missing) rating.
    n_raters : int
        Distinct raters with at least one rating (0 when raters were not given).
    levels : numpy.ndarray
        The rubric's levels.
    """

    counts: np.ndarray
    multiplicity: np.ndarray
    n_units: int
    n_raters: int
    levels: np.ndarray

    @property
    def m(self) -> np.ndarray:
        """Number of ratings of each pattern."""
        return np.asarray(self.counts.sum(axis=1))

    def select(self, mask: np.ndarray) -> ValuePatterns:
        """Only the patterns where ``mask`` is true (e.g. pairable ones)."""
        mult = self.multiplicity[mask]
        return ValuePatterns(self.counts[mask], mult, int(mult.sum()), self.n_raters, self.levels)


def _count_keys(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    if keys.dtype == np.uint64:
        keys = keys.astype(np.int64)  # keys < 2**63 by construction; bincount takes no uint64
    if keys.dtype == np.uint8 and keys.flags.c_contiguous:
        # One-byte keys two at a time: a 65,536-bin tally of byte pairs over half as many elements,
        # then each byte's count is a row sum plus a column sum (the order of the two bytes is moot).
        even = keys.size - keys.size % 2
        halves = keys[:even].view(np.uint16)
        pairs = np.bincount(halves[:_PAIR_BLOCK], minlength=1 << 16)
        for lo in range(_PAIR_BLOCK, halves.size, _PAIR_BLOCK):
            pairs += np.bincount(halves[lo : lo + _PAIR_BLOCK], minlength=1 << 16)
        grid = pairs.reshape(256, 256)
        tally = grid.sum(axis=0) + grid.sum(axis=1)
        if even < keys.size:
            tally[int(keys[-1])] += 1
        uniq = np.flatnonzero(tally)
        return uniq.astype(np.int64), tally[uniq].astype(np.int64)
    if space <= 1 << 16:  # small key space: a tally per cached block (no whole-length intp copy)
        tally = np.zeros(space, np.int64)
        for lo in range(0, keys.size, _TALLY_BLOCK):
            tally += np.bincount(keys[lo : lo + _TALLY_BLOCK], minlength=space)
        uniq = np.flatnonzero(tally)
        return uniq.astype(np.int64), tally[uniq].astype(np.int64)
    if space <= keys.size:
        tally = np.bincount(keys, minlength=1)
        uniq = np.flatnonzero(tally)
        return uniq.astype(np.int64), tally[uniq].astype(np.int64)
    uniq, mult = np.unique(keys, return_counts=True)
    return uniq.astype(np.int64), mult.astype(np.int64)


def _key_dtype(bits: int) -> type[np.unsignedinteger] | None:
    """Smallest unsigned accumulator with room for ``bits`` of key (keys stay below 2**63)."""
    if bits <= 8:
        return np.uint8
    if bits <= 16:
        return np.uint16
    if bits <= 32:
        return np.uint32
    if bits <= 63:
        return np.uint64
    return None


def _consecutive_start(v: np.ndarray, lv: np.ndarray) -> int | None:
    """``lv[0]`` when levels are consecutive ascending integers and integer values lie within them."""
    if v.dtype.kind not in "iu" or lv.dtype.kind not in "iu":
        return None
    lo = int(lv[0])
    if not np.array_equal(lv, np.arange(lo, lo + lv.size)):
        return None
    if v.size and (int(v.min()) < lo or int(v.max()) > lo + lv.size - 1):
        return None  # out of the domain: the general lookup raises the ValueError
    return lo


#: Rows per block of the key accumulation: large enough that ``np.add.at``'s fixed cost per call is
#: small, small enough that a block's ``intp`` unit indices and digits stay in cache.
_KEY_BLOCK = 1 << 18
#: Stride of the sample of unit ids that sizes the key digits before the ids are checked.
_SAMPLE_STRIDE = 1024
#: Keys per block of a small key space's tally (a block's ``intp`` copy stays in cache).
_TALLY_BLOCK = 1 << 16
#: Byte pairs per block of the one-byte key tally: larger than a block of the small key space, since
#: each block adds a 65,536-bin tally; small enough that its ``intp`` copy stays in the second-level cache.
_PAIR_BLOCK = 1 << 17


def _accumulate_keys(
    ux: np.ndarray,
    v: np.ndarray,
    ix: Any,
    start: int | None,
    wtab: np.ndarray | None,
    bits: int,
    dtype: type[np.unsignedinteger],
    n_bins: int,
    *,
    unchecked: bool = False,
) -> tuple[np.ndarray, int] | None:
    """Per-unit keys (``np.add.at`` of each row's digit), block by block, and the largest unit id when
    ``unchecked`` (else 0).

    Blocks keep the row digits and the ``intp`` unit indices (``np.add.at``'s fast path needs them) in
    buffers that are allocated once and stay in cache, instead of whole-length temporaries, which
    would be most of the memory traffic. Unit ids that already are ``intp`` are used as they are.

    ``unchecked``: the integer ids were not checked yet. Each block's largest id is then read while the
    block is in cache, before it is added (instead of a pass over all ids first); ``None`` comes back as
    soon as a block has a negative id (``np.add.at`` would count it from the end) or one past ``n_bins``.
    """
    acc = np.zeros(n_bins, dtype)
    bound = 0
    # The ids read as unsigned: a negative id is then larger than any bound (one maximum per block
    # checks both ends, and a maximum is a faster reduction than a bitwise OR).
    ids = ux.view(np.dtype(f"{ux.dtype.byteorder}u{ux.dtype.itemsize}")) if unchecked else ux
    block = max(1, min(_KEY_BLOCK, ux.size))
    idx = np.empty(block, np.intp) if ux.dtype != np.intp else None
    w = np.empty(block, dtype)
    shift = np.empty(block, np.uint8) if wtab is None else None
    # One-byte values subtract the first level modulo 256 in place of a casting subtraction (the
    # difference is a level index, so it is exact); 0-d operands avoid a scalar conversion per call.
    narrow = v.dtype.itemsize == 1
    vs = v.view(np.uint8) if narrow else v
    first = np.array((start or 0) % 256, np.uint8) if narrow else (start or 0)
    width, one = np.array(bits, np.uint8), np.array(1, dtype)
    for lo in range(0, ux.size, block):
        hi = min(lo + block, ux.size)
        n = hi - lo
        if shift is not None:
            # The digit position (a shift below 64, so one byte), then the digit itself.
            np.subtract(vs[lo:hi], first, out=shift[:n], casting="same_kind" if narrow else "unsafe")
            np.multiply(shift[:n], width, out=shift[:n])
            np.left_shift(one, shift[:n], out=w[:n])
        else:
            assert wtab is not None
            np.take(wtab, ix[lo:hi], out=w[:n])
        if unchecked:
            bound = max(bound, int(ids[lo:hi].max()))
            if bound >= n_bins:
                return None
        if idx is not None:
            np.copyto(idx[:n], ux[lo:hi], casting="unsafe")
            np.add.at(acc, idx[:n], w[:n])
        else:
            np.add.at(acc, ux[lo:hi], w[:n])
    return acc, bound


def value_count_patterns(units: Any, values: Any, *, levels: Any, raters: Any = None) -> ValuePatterns:
    """Collapse long rows to the distinct per-unit value-count patterns and their multiplicities.

    Parameters
    ----------
    units : array_like
        Unit of each row (integers; other hashable ids are factorised, more slowly).
    values : array_like
        Level value of each row; NaN is a missing rating.
    levels : sequence
        The rubric's ordered levels.
    raters : array_like, optional
        Rater of each row, only to count distinct raters.

    Returns
    -------
    ValuePatterns
        ``counts`` (patterns x levels) and ``multiplicity``; units without ratings do not appear.

    Notes
    -----
    Each row adds ``2**(s * level_index)`` to its unit's key (``np.add.at`` into a small unsigned
    array, block by block, cache-friendly); the key then spells the unit's counts in base ``2**s``, and
    one ``np.bincount`` of the keys gives the multiplicities. A count too large for its digit carries
    into the next digit (or out of the accumulator), and every carry lowers the sum of the decoded
    digits, so the decoded counts are exact if and only if they add up to the number of rows;
    otherwise the keys are rebuilt with wider digits in a wider accumulator.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability (the units x values table
    ``n_uc`` is all that alpha needs); Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th
    ed., ch. 2 (the same table for Fleiss' kappa and AC1).

    Examples
    --------
    >>> p = value_count_patterns([1, 1, 2, 2, 3, 3, 3], [1, 2, 1, 2, 2, 2, 2], levels=[1, 2, 3])
    >>> p.counts.tolist(), p.multiplicity.tolist(), p.n_units
    ([[1, 1, 0], [0, 3, 0]], [2, 1], 3)
    """
    lv = _check_levels(levels)
    q = lv.size
    u = _as_1d(units, "units")
    v = _values_1d(values)
    if raters is not None:
        r = _as_1d(raters, "raters")
        _check_lengths(units=u, raters=r, values=v)
    else:
        r = None
        _check_lengths(units=u, values=v)
    if v.dtype.kind == "b":
        v = v.view(np.uint8)
    start = _consecutive_start(v, lv)
    ix: Any = None
    if start is None:
        # General levels: a per-row lookup table (and NaN = missing rows dropped).
        ix, table = _lookup(v, lv)
        if v.dtype.kind == "f" and u.size:
            valid = table[ix] >= 0
            if not valid.all():
                u, ix = u[valid], ix[valid]
                r = r[valid] if r is not None else None
        codes = table.astype(np.int64)
    n_raters = _count_distinct(r) if r is not None else 0
    if u.size == 0:
        return ValuePatterns(np.zeros((0, q), np.int64), np.zeros(0, np.int64), 0, n_raters, lv)
    # Integer ids are tried as they are, checked block by block while accumulating (a bound on them
    # costs no pass of its own); other ids, or ids out of range, get dense codes first.
    unchecked = u.dtype.kind in "iu" and u.size > _KEY_BLOCK
    if unchecked:
        ux, n_bins = u, 4 * u.size + (1 << 16)
        # The units' count from a sample of the ids (every 1024th; read as unsigned, a negative id
        # is huge, so the guess stays small, and the loop below finds it).
        sample = u[::_SAMPLE_STRIDE]
        units_seen = max(1, int(sample.view(np.dtype(f"{u.dtype.byteorder}u{u.dtype.itemsize}")).max()) + 1)
    else:
        ux, n_bins = _key_bins(u)
        units_seen = n_bins
    # Digit width guess: room for the mean number of ratings per unit at one level (at least 3), capped
    # by the rater count; double scoring on four levels fits one byte per unit.
    guess = max(3, -(-u.size // units_seen))
    if n_raters:
        guess = min(guess, max(n_raters, 3))
    bits = guess.bit_length()
    for _ in range(4):
        dtype = _key_dtype(bits * q)
        if dtype is None:
            break
        wtab = None
        if start is None:
            wtab = np.where(codes >= 0, np.left_shift(1, np.maximum(codes, 0) * bits), 0).astype(dtype)
        done = _accumulate_keys(ux, v, ix, start, wtab, bits, dtype, n_bins, unchecked=unchecked)
        if done is None:  # an id out of range: dense codes, and accumulate again
            ux, n_bins = _key_bins(u)
            unchecked = False
            done = _accumulate_keys(ux, v, ix, start, wtab, bits, dtype, n_bins)
            assert done is not None
        acc, bound = done
        if unchecked:  # the ids are proven in range: only the keys up to the largest id can be set
            acc, n_bins, unchecked = acc[: bound + 1], bound + 1, False
        width = np.dtype(dtype).itemsize * 8
        if bits * q < width:  # drop anything carried past the last digit (it fails the check below)
            np.bitwise_and(acc, dtype((1 << (bits * q)) - 1), out=acc)
        uniq, mult = _count_keys(acc, 1 << (bits * q))
        del acc
        keep = uniq > 0
        uniq, mult = uniq[keep], mult[keep]
        counts = (uniq[:, None] >> (bits * np.arange(q, dtype=np.int64))[None, :]) & ((1 << bits) - 1)
        if int(counts.sum(axis=1) @ mult) == u.size:
            return ValuePatterns(counts, mult, int(mult.sum()), n_raters, lv)
        # A digit carried: widen the digits to fill the next accumulator size.
        bits = max(bits + 1, min(2 * width, 63) // q)
    if unchecked:
        ux, n_bins = _key_bins(u)
    if start is not None:
        ix, table = _lookup(v, lv)
    return _patterns_by_matrix(ux, ix, table, n_bins, q, n_raters, lv)


def _key_bins(u: np.ndarray) -> tuple[np.ndarray, int]:
    """Unit ids ready for the key accumulator, and its length (the largest id + 1).

    Integer ids are used as they are when none is negative and none is far beyond the number of rows;
    one maximum of the ids read as unsigned proves both (:func:`._checks._nonnegative_max`), where a
    minimum and a maximum would take two passes.
    """
    if u.dtype.kind in "iu" and u.size:
        top = _nonnegative_max(u)
        if top is not None and top < 4 * u.size + (1 << 16):
            return u, top + 1
    return _bincount_ready(u, "units")


def _patterns_by_matrix(
    ux: np.ndarray, ix: np.ndarray, table: np.ndarray, n_bins: int, q: int, n_raters: int, lv: np.ndarray
) -> ValuePatterns:
    """Fallback for very many ratings per unit or many levels: units x q counts, then unique rows."""
    code = table.astype(np.intp)[ix]
    ok = code >= 0
    flat = np.bincount(np.asarray(ux, np.intp)[ok] * q + code[ok], minlength=n_bins * q).reshape(n_bins, q)
    flat = flat[flat.sum(axis=1) > 0]
    counts, mult = np.unique(flat, axis=0, return_counts=True)
    return ValuePatterns(counts.astype(np.int64), mult.astype(np.int64), int(mult.sum()), n_raters, lv)


def _patterns_from_counts(counts: Any) -> ValuePatterns:
    """Patterns from a units x levels count table (``units_x_category_counts`` layout)."""
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] < 2:
        raise ValueError(f"counts must be a units x levels table with at least two levels, got {c.shape}")
    if c.dtype.kind == "f" and not np.all(np.isfinite(c)):
        raise ValueError("counts must be finite")
    if np.any(c < 0) or np.any(c != np.round(c)):
        bad = c[(c < 0) | (c != np.round(c))][0]
        raise ValueError(f"counts must be non-negative integers, got {_fmt(bad)}")
    c = c.astype(np.int64)
    c = c[c.sum(axis=1) > 0]
    if c.shape[0] == 0:
        return ValuePatterns(
            np.zeros((0, c.shape[1]), np.int64), np.zeros(0, np.int64), 0, 0, np.arange(c.shape[1])
        )
    uniq, mult = np.unique(c, axis=0, return_counts=True)
    return ValuePatterns(uniq, mult.astype(np.int64), int(mult.sum()), 0, np.arange(c.shape[1]))


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

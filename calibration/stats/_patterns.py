"""Value-count patterns: units collapsed to how many ratings they got at each level.

Most statistics need only each unit's *value-count pattern* (how many ratings at each level): units
with the same pattern contribute identically, and there are rarely more than a few dozen patterns
however many units there are. :func:`value_count_patterns` finds them in a couple of passes (no sort,
no units x raters matrix): each row adds ``2**(s * level)`` to its unit's key in a small unsigned
accumulator, so a unit's key spells its counts in base ``2**s``, and one ``np.bincount`` of the keys
gives the multiplicities. A count that overflows its digit (or the accumulator) lowers the sum of the
decoded digits, so a total that differs from the number of rows triggers a wider retry.

The canonical input (long rows and ``levels``) is described in :mod:`._data`, which re-exports these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import (
    _as_1d,
    _bincount_ready,
    _check_lengths,
    _check_levels,
    _count_distinct,
    _fmt,
    _lookup,
    _nonnegative_max,
    _values_1d,
)

__all__ = ["ValuePatterns", "value_count_patterns"]


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
    """``lv[0]`` when levels are consecutive ascending integers and integer values lie within them.

    One-byte values are not read here: the key loop checks each block's level indices while the block
    is in cache (:class:`_ValuesOutOfRange`), where a minimum and a maximum would be two passes.
    """
    if v.dtype.kind not in "iu" or lv.dtype.kind not in "iu":
        return None
    lo = int(lv[0])
    if not np.array_equal(lv, np.arange(lo, lo + lv.size)):
        return None
    if v.dtype.itemsize == 1:
        return lo
    if v.size and (int(v.min()) < lo or int(v.max()) > lo + lv.size - 1):
        return None  # out of the domain: the general lookup raises the ValueError
    return lo


class _ValuesOutOfRange(Exception):
    """A one-byte value outside consecutive levels (the general lookup then names it)."""


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
    n_levels: int = 256,
    unchecked: bool = False,
) -> tuple[np.ndarray, int] | None:
    """Per-unit keys (``np.add.at`` of each row's digit), block by block, and the largest unit id when
    it was read (else ``n_bins - 1``).

    Blocks keep the row digits and the ``intp`` unit indices (``np.add.at``'s fast path needs them) in
    buffers that are allocated once and stay in cache, instead of whole-length temporaries, which
    would be most of the memory traffic. Unit ids that already are ``intp`` are used as they are.

    ``unchecked``: the integer ids were not checked yet; ``None`` comes back when one is negative or
    not below ``n_bins``. Narrower ids are copied into the ``intp`` buffer read as unsigned, so a
    negative id becomes a large index, and ``np.add.at``'s own bounds check (it checks every index
    before it adds any) refuses it: no pass of ours. ``intp`` ids, added without a copy, have each
    block's largest id (read as unsigned) checked first.

    One-byte values with consecutive levels (``start`` given) raise :class:`_ValuesOutOfRange` when
    a block's level index is not below ``n_levels`` (a value below the first level wraps to a large
    index): one maximum per block, in cache.
    """
    acc = np.zeros(n_bins, dtype)
    bound = n_bins - 1
    copy = ux.dtype != np.intp
    # The ids read as unsigned: a negative id is then larger than any bound.
    ids = ux.view(np.dtype(f"{ux.dtype.byteorder}u{ux.dtype.itemsize}")) if unchecked else ux
    track = unchecked and not copy
    if track:
        bound = 0
    block = max(1, min(_KEY_BLOCK, ux.size))
    idx = np.empty(block, np.intp) if copy else None
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
            if narrow and int(shift[:n].max()) >= n_levels:
                raise _ValuesOutOfRange
            np.multiply(shift[:n], width, out=shift[:n])
            np.left_shift(one, shift[:n], out=w[:n])
        else:
            assert wtab is not None
            np.take(wtab, ix[lo:hi], out=w[:n])
        if idx is not None:
            np.copyto(idx[:n], ids[lo:hi], casting="unsafe")
            try:
                np.add.at(acc, idx[:n], w[:n])
            except IndexError:
                if unchecked:
                    return None
                raise
        else:
            if track:
                bound = max(bound, int(ids[lo:hi].max()))
                if bound >= n_bins:
                    return None
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
        # The units' count from a sample of the ids (every 1024th; read as unsigned, a negative id
        # is huge, so the guess stays small, and the loop below finds it).
        top = int(u[::_SAMPLE_STRIDE].view(np.dtype(f"{u.dtype.byteorder}u{u.dtype.itemsize}")).max())
        units_seen = top + 1
        ux, n_bins = u, 4 * u.size + (1 << 16)
        if u.dtype != np.intp:
            # Copied ids are checked by np.add.at against the keys' length, so the keys can end just
            # past the sample's largest id: a sorted column's last unsampled rows add at most one id
            # each (at most _SAMPLE_STRIDE - 1 of them), a shuffled one's largest id is rarely further
            # than a few hundredths beyond its sample's. An id past that is found, and costs a retry.
            n_bins = min(n_bins, top + 1 + (top >> 5) + _SAMPLE_STRIDE)
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
        try:
            done = _accumulate_keys(
                ux, v, ix, start, wtab, bits, dtype, n_bins, n_levels=q, unchecked=unchecked
            )
        except _ValuesOutOfRange:
            _lookup(v, lv)  # raises the ValueError that names the value
            raise
        if done is None:  # an id out of range: dense codes, and accumulate again
            ux, n_bins = _key_bins(u)
            unchecked = False
            done = _accumulate_keys(ux, v, ix, start, wtab, bits, dtype, n_bins, n_levels=q)
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

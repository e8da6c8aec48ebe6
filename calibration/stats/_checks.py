"""The one validation kernel of ``calibration.stats``: input checks, level look-ups, factorizing, weights.

Private to the package. Every statistic checks its input through these helpers, so a given mistake gets
the same message whichever function it reaches first:

* ``_check_levels``: the rubric's levels (one set of rules; ``labels=True`` also takes named levels).
* ``_values_1d`` / ``_as_1d`` / ``_check_lengths``: long rows (``None`` in values is a missing rating).
* ``_codes`` / ``_lookup``: ratings to level indices, NaN a missing rating; ``_level_index``: level
  values to indices where every row must hold a level (assessor scores and the key).
* ``_factorize`` / ``_bincount_ready`` / ``_count_distinct``: dense codes for unit, rater and group ids.
* ``_weight_matrix``: agreement weights on the level index.
* ``_check_confidence`` / ``_check_n_boot``, the shared reasons for an undefined coefficient, and
  ``_py`` / ``_fmt`` for messages and results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._types import Weights

_LUT_SPAN = 1 << 20
_EPS = 1e-12  # absorbs float rounding when a statistic sits exactly on a threshold


def _py(x: Any) -> Any:
    """A numpy scalar as the plain Python value (other values unchanged)."""
    return x.item() if isinstance(x, np.generic) else x


# ------------------------------------------------------------------------------------------ checking
def _check_levels(levels: Any, *, labels: bool = False) -> np.ndarray:
    """The rubric's levels as a 1-D array of at least two distinct values, in the rubric's order.

    One set of rules for every statistic: ``None`` is refused (levels are always explicit), the levels
    form a flat sequence of at least two distinct values, numbers are finite and ascending (the order
    of the levels is the scale's order: a shuffled list would quietly compute a different statistic).
    ``labels=True`` also accepts non-numeric levels (e.g. ``["Emerging", "Proficient"]``), taken in
    the order given: accuracy against the key compares level positions only, while the reliability
    coefficients need numbers.
    """
    if levels is None:
        raise ValueError("levels is required: pass the rubric's ordered levels, e.g. levels=[1, 2, 3, 4]")
    lv = np.asarray(levels)
    if lv.ndim != 1:
        raise ValueError(f"levels must be a flat sequence, got an array of shape {lv.shape}")
    if lv.dtype.kind == "b" and not labels:
        lv = lv.astype(np.int64)
    numeric = lv.dtype.kind in "iuf"
    if not numeric and not labels:
        raise ValueError(f"levels must be numbers, got {list(lv)!r}")
    if lv.size < 2:
        raise ValueError(f"levels must list at least two levels, got {lv.tolist()!r}")
    if lv.dtype.kind == "f" and not np.all(np.isfinite(lv)):
        raise ValueError(f"levels must be finite numbers, got {lv.tolist()!r}")
    if np.unique(lv).size != lv.size:
        raise ValueError(f"levels must be distinct, got {lv.tolist()!r}")
    if numeric and not np.all(lv[1:] > lv[:-1]):
        raise ValueError(
            f"levels must be in ascending order (the rubric's order from lowest to highest), got "
            f"{lv.tolist()!r}; pass {sorted(lv.tolist())!r}"
        )
    return lv


def _values_1d(x: Any, what: str = "values") -> np.ndarray:
    """A 1-D numeric array of values; ``None`` is a missing value, like NaN."""
    arr = _as_1d(x, what)
    if arr.dtype.kind != "O":
        return arr
    missing = np.fromiter((v is None for v in arr), bool, arr.size)
    try:
        out = np.where(missing, np.nan, arr).astype(np.float64)
    except (TypeError, ValueError):
        first = next(v for v in arr if v is not None and not isinstance(v, (int, float, np.number)))
        raise ValueError(
            f"{what} must be numbers, with NaN (or None) for a missing rating; got {first!r}"
        ) from None
    return out


def _as_1d(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"{what} must be a sequence, got the scalar {arr.item()!r}")
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    return arr


def _check_lengths(**arrays: Any) -> int:
    """The common number of rows; ValueError naming an array that is not 1-D or differs in length.

    ``None`` (an optional column that was not given) is skipped.
    """
    sizes: dict[str, int] = {}
    for name, a in arrays.items():
        if a is None:
            continue
        if np.ndim(a) != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {np.shape(a)}")
        sizes[name] = int(np.shape(a)[0])
    first_name, first = next(iter(sizes.items()))
    for name, size in sizes.items():
        if size != first:
            raise ValueError(
                f"long rows must have equal lengths: {name} has {size} rows but {first_name} has {first}"
            )
    return first


def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return c


def _check_n_boot(n_boot: int) -> int:
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    return int(n_boot)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError naming the argument ``name``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _fmt(x: Any) -> str:
    """A value for an error message: 7 not 7.0, numpy scalars as plain numbers."""
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x)


def _bad_value(value: Any, lv: np.ndarray) -> ValueError:
    shown = ", ".join(_fmt(x) for x in lv)
    return ValueError(f"value {_fmt(value)} is not one of the rubric levels [{shown}]")


# ------------------------------------------------------------------------------------------- levels
def _lookup(values: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row positions into a small table, and the table of level indices (-1: missing).

    ``table[ix]`` is each row's level index. Keeping the two apart lets callers gather any per-level
    quantity (e.g. a weight) in one pass, without first materialising the index array. Raises
    ``ValueError`` naming the first value that is neither NaN nor one of ``lv``.
    """
    v = values
    if v.dtype.kind == "b":
        v = v.view(np.uint8)
    if v.dtype.kind not in "iuf":
        raise ValueError(
            f"values must be numbers, with NaN (or None) for a missing rating; got dtype {v.dtype}"
        )
    if v.size == 0:
        return np.zeros(0, np.intp), np.full(1, -1, np.int32)
    integral_levels = lv.dtype.kind in "iu" or bool(np.all(lv == np.round(lv)))
    if v.dtype.kind in "iu" and integral_levels:
        vmin, vmax = int(v.min()), int(v.max())
        lvi = lv.astype(np.int64)
        if v.dtype.itemsize <= 2:
            # Index a table covering the whole dtype directly with the values: no per-row arithmetic.
            # Negative values wrap to the end of the table, exactly as numpy indexing does.
            span = 1 << (8 * v.dtype.itemsize)
            table = np.full(span, -1, np.int32)
            inside = (lvi >= np.iinfo(v.dtype).min) & (lvi <= np.iinfo(v.dtype).max)
            table[lvi[inside] % span] = np.flatnonzero(inside)
            ix = v
            lo, hi = vmin % span, vmax % span
            wraps = vmin < 0 <= vmax
            window = np.concatenate([table[lo:], table[: hi + 1]]) if wraps else table[lo : hi + 1]
        elif vmax - vmin < _LUT_SPAN:
            span = vmax - vmin + 1
            table = np.full(span + 1, -1, np.int32)
            inside = (lvi >= vmin) & (lvi <= vmax)
            table[lvi[inside] - vmin] = np.flatnonzero(inside)
            ix = (v - vmin).astype(np.intp) if v.dtype.kind == "i" else (v - np.uint64(vmin)).astype(np.intp)
            window = table[:span]
        else:
            return _lookup_sorted(v, lv)
        if (window < 0).any():
            # Some value in [vmin, vmax] is not a level: check the rows (one more pass).
            bad = table[ix] < 0
            if bad.any():
                raise _bad_value(v[np.flatnonzero(bad)[0]], lv)
        return ix, table
    return _lookup_sorted(v, lv)


def _lookup_sorted(v: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = lv.size
    order = np.argsort(lv, kind="stable")
    if v.dtype.kind == lv.dtype.kind and v.dtype.kind in "iu":
        # Integers against integers of the same signedness: compare exactly, never through floats.
        sorted_int = lv[order].astype(np.int64 if v.dtype.kind == "i" else np.uint64)
        pos_c = np.minimum(np.searchsorted(sorted_int, v), q - 1)
        ok = sorted_int[pos_c] == v
        if not ok.all():
            raise _bad_value(v[np.flatnonzero(~ok)[0]], lv)
        return pos_c.astype(np.intp), np.append(order, -1).astype(np.int32)
    sorted_lv = lv[order].astype(np.float64)
    if np.unique(sorted_lv).size != q:
        # Integer levels beyond 2**53 can coincide as floats, and float values (NaN for a missing
        # rating) are compared as floats: matching them would merge levels without a word.
        raise ValueError(
            f"levels {lv.tolist()!r} cannot be told apart as floating-point numbers; pass integer "
            "values without missing ones, or smaller level numbers"
        )
    vf = v.astype(np.float64, copy=False)
    missing = np.isnan(vf)
    pos = np.searchsorted(sorted_lv, vf)
    pos_c = np.minimum(pos, q - 1)
    ok = (sorted_lv[pos_c] == vf) | missing
    if not ok.all():
        raise _bad_value(v[np.flatnonzero(~ok)[0]], lv)
    ix = np.where(missing, q, pos_c).astype(np.intp)
    table = np.append(order, -1).astype(np.int32)
    return ix, table


def _codes(values: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Level index per row (int8/int16), -1 for a missing (NaN) value."""
    ix, table = _lookup(values, lv)
    dtype = np.int8 if lv.size < 127 else np.int32
    return np.asarray(table.astype(dtype)[ix])


def _level_index(values: Any, lv: np.ndarray, *, what: str, scale: int = 1) -> np.ndarray:
    """Map level values to ``scale *`` their index in ``lv``; ValueError naming the first value outside it."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise ValueError(f"{what}s must be one-dimensional, got shape {v.shape}")
    if v.size == 0:
        return np.zeros(0, dtype=np.intp)

    def fail(bad: Any) -> ValueError:
        return ValueError(f"{what} {_py(bad)!r} is not one of the rubric levels {lv.tolist()!r}")

    if v.dtype.kind in "iu" and lv.dtype.kind in "iu" and int(lv.max()) - int(lv.min()) <= 4096:
        # Small integer scale: a lookup table is several times faster than a search; non-negative levels
        # index it directly, which saves a pass over the rows.
        lo, hi = int(lv.min()), int(lv.max())
        base = min(lo, 0)
        vmin, vmax = int(v.min()), int(v.max())
        if vmin < lo or vmax > hi:
            raise fail(v[(v < lo) | (v > hi)][0])
        lut = np.full(hi - base + 1, -1, dtype=np.intp)
        lut[lv.astype(np.int64) - base] = np.arange(lv.size) * scale
        idx = lut[v] if base == 0 else lut[v.astype(np.int64) - base]
        if (idx < 0).any():
            raise fail(v[idx < 0][0])
        return idx
    order = np.argsort(lv, kind="stable")
    ordered = lv[order]
    try:
        pos = np.minimum(np.searchsorted(ordered, v), lv.size - 1)
        ok = ordered[pos] == v
    except TypeError:  # e.g. strings against numbers
        raise fail(v[0]) from None
    if not np.all(ok):
        raise fail(v[~ok][0])
    return order[pos] * scale if scale != 1 else order[pos]


# ---------------------------------------------------------------------------------------------- ids
def _factorize(ids: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes ``0..k-1`` for ``ids`` and the sorted distinct ids, in O(n) for small integer ranges.

    ``ids`` must be one-dimensional and not missing (NaN).
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {ids.shape}")
    if ids.size == 0:
        return np.zeros(0, np.intp), ids[:0]
    if ids.dtype.kind == "f" and np.isnan(ids).any():
        raise ValueError(f"{what} must not be missing (NaN)")
    if ids.dtype.kind in "iu":
        lo, hi = int(ids.min()), int(ids.max())
        if hi - lo < max(4 * ids.size, 1 << 16):
            off = (ids - lo).astype(np.intp) if lo != 0 else ids.astype(np.intp, copy=False)
            present = np.bincount(off, minlength=hi - lo + 1) > 0
            remap = np.cumsum(present, dtype=np.intp) - 1
            uniq = (np.flatnonzero(present) + lo).astype(ids.dtype)
            return remap[off], uniq
    uniq, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.intp).reshape(-1), uniq


def _bincount_ready(ids: np.ndarray, what: str) -> tuple[np.ndarray, int]:
    """``ids`` as something ``np.bincount`` takes directly (no remapping when already small and >= 0)."""
    if ids.dtype.kind in "iu" and ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo >= 0 and hi < 4 * ids.size + (1 << 16):
            return ids, hi + 1
        if hi - lo < 4 * ids.size + (1 << 16):
            return (ids - lo).astype(np.intp), hi - lo + 1
    codes, uniq = _factorize(ids, what)
    return codes, int(uniq.size)


#: Rows per block when counting distinct integer ids (small enough to stop early, large enough to be cheap).
_DISTINCT_BLOCK = 1 << 16


def _nonnegative_max(ids: np.ndarray) -> int | None:
    """The largest integer id in one pass, or ``None`` when some id is negative.

    A signed id read as unsigned is at least ``2**(bits - 1)`` exactly when it is negative, so the
    maximum of the unsigned view both bounds every id and proves none is negative.
    """
    if ids.dtype.kind == "u":
        return int(ids.max())
    order = ids.dtype.byteorder
    top = int(ids.view(np.dtype(f"{order}u{ids.dtype.itemsize}")).max())
    return top if top < 1 << (8 * ids.dtype.itemsize - 1) else None


def _count_distinct(ids: np.ndarray) -> int:
    """Number of distinct ids.

    Integer ids in a compact range are tallied block by block, stopping as soon as every id of the
    range ``min..max`` has been seen (no more can appear): with many rows per id, as in a season of
    ratings, that is after the first block or two instead of a pass over all rows. Small
    non-negative ids need one pass (their maximum) before the tally, which starts at 0; their minimum
    is read only when the ids seen cover a range that does not start at 0.
    """
    if ids.size == 0:
        return 0
    if ids.dtype.kind in "iu":
        hi = _nonnegative_max(ids)
        known_lo: int | None = None
        if hi is not None and hi < _DISTINCT_BLOCK:
            base = 0  # a lower bound of every id, so the tally's index 0 stands for id 0
        else:
            base = known_lo = int(ids.min())
            hi = int(ids.max()) if hi is None else hi
        top = hi - base
        if top < 4 * ids.size + (1 << 16):
            if top + 1 > ids.size // 4:
                return int(np.count_nonzero(np.bincount(ids - base if base else ids, minlength=top + 1)))
            seen = np.zeros(top + 1, np.int64)
            for start in range(0, ids.size, _DISTINCT_BLOCK):
                block = ids[start : start + _DISTINCT_BLOCK]
                seen += np.bincount(block - base if base else block, minlength=top + 1)
                first = int(np.argmax(seen > 0))
                if np.count_nonzero(seen) < top + 1 - first:
                    continue  # an id between the first seen and the largest is still missing
                if first and known_lo is None:
                    known_lo = int(ids.min())
                if first == 0 or first + base == known_lo:
                    break
            return int(np.count_nonzero(seen))
    if ids.dtype.kind == "f" and np.isnan(ids).any():
        raise ValueError("raters must not be missing (NaN)")
    return int(np.unique(ids).size)


# ------------------------------------------------------------------------------------------ weights
WEIGHT_SCHEMES = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")


def _scheme_matrix(q: int, scheme: str) -> np.ndarray:
    """The named scheme over the level positions ``k, l = 1..q`` (see :func:`_weight_matrix`)."""
    k = np.arange(1, q + 1, dtype=np.float64)
    a, b = k[:, None], k[None, :]
    span = float(q - 1)
    if scheme == "identity":
        return np.eye(q)
    if scheme == "linear":
        return np.asarray(1.0 - np.abs(a - b) / span)
    if scheme == "quadratic":
        return np.asarray(1.0 - ((a - b) / span) ** 2)
    if scheme == "radical":
        return np.asarray(1.0 - np.sqrt(np.abs(a - b)) / np.sqrt(span))
    if scheme == "ratio":
        return np.asarray(1.0 - ((a - b) / (a + b)) ** 2 / ((q - 1.0) / (q + 1.0)) ** 2)
    if scheme == "ordinal":
        d = np.abs(a - b) + 1.0
        raw = d * (d - 1.0) / 2.0
    elif scheme == "circular":
        raw = np.sin(np.pi * (a - b) / q) ** 2
    else:  # bipolar
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(a == b, 0.0, (a - b) ** 2 / ((a + b - 2.0) * (2.0 * q - a - b)))
    top = raw.max()
    return np.asarray(1.0 - raw / top) if top > 0 else np.ones((q, q))


def _weight_matrix(q: int, weights: Weights, *, symmetric: bool = False) -> np.ndarray:
    """Agreement weights ``w_kl`` over all ``q`` levels: a named scheme or a custom matrix.

    The schemes are those of Gwet's *Handbook of Inter-Rater Reliability* (4th ed., 2014, ch. 3) and
    his R package irrCAC, on the level positions ``k, l = 1..q`` (so unequally spaced level values are
    treated as equally spaced, as for the existing linear and quadratic weights):

    * ``"identity"`` (or None): ``w_kl = [k == l]``, unweighted agreement.
    * ``"linear"``: ``1 - |k - l| / (q - 1)`` (Cicchetti & Allison 1971).
    * ``"quadratic"``: ``1 - (k - l)^2 / (q - 1)^2`` (Fleiss & Cohen 1973).
    * ``"ordinal"``: ``1 - M_kl / max M`` with ``M_kl = C(|k - l| + 1, 2)``, the number of pairs of
      positions between ``k`` and ``l`` (Gwet 2014).
    * ``"radical"``: ``1 - sqrt(|k - l|) / sqrt(q - 1)`` (Gwet 2014).
    * ``"ratio"``: ``1 - ((k - l)/(k + l))^2 / ((q - 1)/(q + 1))^2`` (Gwet 2014; Krippendorff's ratio metric).
    * ``"circular"``: ``1 - sin^2(pi (k - l) / q) / max`` (Gwet 2014; Krippendorff's circular metric
      with ``U = q``).
    * ``"bipolar"``: ``1 - B_kl / max B`` with ``B_kl = (k - l)^2 / ((k + l - 2)(2q - k - l))`` for
      ``k != l`` and 0 on the diagonal (Gwet 2014; Krippendorff's bipolar metric).

    A custom matrix must be ``q x q``, finite, with entries in [0, 1] and ones on the diagonal; rows
    are the first rating (rater 1), columns the second. ``symmetric=True`` also requires ``w == w.T``,
    for statistics where the order of the two ratings of a pair carries no meaning.
    """
    if weights is None:
        return np.eye(q)
    if isinstance(weights, str):
        if weights not in WEIGHT_SCHEMES:
            raise ValueError(
                f"weights must be None, one of {', '.join(repr(x) for x in WEIGHT_SCHEMES)} or a "
                f"{q} x {q} matrix; got the unknown scheme {weights!r}"
            )
        return _scheme_matrix(q, weights)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"weights must be a scheme name or a {q} x {q} matrix of numbers, got {weights!r}"
        ) from None
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"weights must be a square {q} x {q} matrix, got shape {w.shape}")
    if w.shape[0] != q:
        raise ValueError(f"weights must be a {q} x {q} matrix (one row and column per level), got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite numbers, got NaN or infinity")
    if w.min() < 0.0 or w.max() > 1.0:
        bad = w[(w < 0.0) | (w > 1.0)][0]
        raise ValueError(f"weights must lie between 0 and 1, got {_fmt(bad)}")
    if not np.all(np.diag(w) == 1.0):
        bad = np.diag(w)[np.diag(w) != 1.0][0]
        raise ValueError(
            f"weights must have ones on the diagonal (a level agrees with itself), got {_fmt(bad)}"
        )
    if symmetric and not np.allclose(w, w.T, rtol=0.0, atol=1e-12):
        raise ValueError(
            "weights must be symmetric here (w[k, l] == w[l, k]): the two ratings of a pair are unordered"
        )
    return w


def _is_unweighted(weights: Weights) -> bool:
    """True for the unweighted spellings (None, ``"identity"``); a custom matrix is never unweighted."""
    return weights is None or (isinstance(weights, str) and weights == "identity")


def _weights_label(weights: Weights) -> str:
    """The name used in method names: the scheme, ``"custom"`` for a matrix, or ``"unweighted"``."""
    if _is_unweighted(weights):
        return "unweighted"
    return str(weights) if isinstance(weights, str) else "custom"


def _method_name(base: str, weights: Weights) -> str:
    """``base`` for unweighted statistics, ``base_<scheme>`` (or ``base_custom``) for weighted ones."""
    return base if _is_unweighted(weights) else f"{base}_{_weights_label(weights)}"


# ------------------------------------------------------------------------------------------ reasons
NO_RATINGS = "no ratings were given"
ONE_RATER = "only one rater: agreement among raters needs at least two"
NO_PAIRS = "no unit was rated by two or more raters, so there are no pairable values"
NO_VARIATION = (
    "no variation: every rating is at the same level, so chance agreement is total and the coefficient is 0/0"
)


def _undefined_reason(n_units: int, n_raters: int, n_pairable: int) -> str | None:
    if n_units == 0:
        return NO_RATINGS
    if n_raters == 1:
        return ONE_RATER
    if n_pairable == 0:
        return NO_PAIRS
    return None

"""Issue 20, item 7: the blocked hot loops give exactly what the general paths give."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from calibration.stats import _checks, _patterns, krippendorff_alpha, value_count_patterns
from calibration.stats.accuracy import weighted_kappa_by_rater

accuracy = importlib.import_module(
    "calibration.stats.accuracy"
)  # the package exports a function of that name


def _season(seed: int, n_units: int = 3000, n_raters: int = 40) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    units = np.concatenate(
        [np.repeat(np.arange(n_units), 2), rng.choice(n_units, n_units // 10, replace=False)]
    )
    units = units[rng.permutation(units.size)].astype(np.int32)
    raters = rng.integers(0, n_raters, units.size).astype(np.int32)
    key = rng.integers(1, 5, n_units).astype(np.int8)[units]
    values = np.clip(key + rng.integers(-1, 2, units.size), 1, 4).astype(np.int8)
    return units, raters, values, key


@pytest.mark.parametrize("weights", ["quadratic", "linear", None])
def test_blocked_rater_confusion_equals_the_general_path(monkeypatch: pytest.MonkeyPatch, weights) -> None:
    _, raters, values, key = _season(1)
    monkeypatch.setattr(accuracy, "_CONFUSION_BLOCK", 1000)  # several blocks
    ids, fast = weighted_kappa_by_rater(raters, values, key, levels=[1, 2, 3, 4], weights=weights)
    assert accuracy._blocked_confusion(raters, values, key, np.array([1, 2, 3, 4])) is not None
    # float levels take the general path (level lookup, one bincount)
    ids2, slow = weighted_kappa_by_rater(
        raters, values.astype(float), key.astype(float), levels=[1.0, 2.0, 3.0, 4.0], weights=weights
    )
    assert accuracy._blocked_confusion(raters, values.astype(float), key, np.array([1.0, 2, 3, 4])) is None
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12, equal_nan=True)


def test_blocked_rater_confusion_leaves_bad_input_to_the_general_path() -> None:
    lv = np.array([1, 2, 3])
    assert accuracy._blocked_confusion([0, 1], [1, 4], [1, 2], lv) is None  # a value outside the levels
    assert accuracy._blocked_confusion([-1, 1], [1, 2], [1, 2], lv) is None  # a negative rater id
    assert accuracy._blocked_confusion([0, 1], [1, 3], [1, 2], np.array([1, 3, 5])) is None  # not consecutive
    with pytest.raises(ValueError, match="value 4 is not one of the rubric levels"):
        weighted_kappa_by_rater([0, 1], [1, 4], [1, 2], levels=[1, 2, 3])


def test_blocked_unit_keys_equal_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    units, raters, values, _ = _season(2)
    whole = value_count_patterns(units, values, levels=[1, 2, 3, 4], raters=raters)
    monkeypatch.setattr(_patterns, "_KEY_BLOCK", 777)
    blocked = value_count_patterns(units, values, levels=[1, 2, 3, 4], raters=raters)
    general = value_count_patterns(units, values.astype(float), levels=[1.0, 2.0, 3.0, 4.0], raters=raters)
    for p in (blocked, general):
        np.testing.assert_array_equal(p.counts, whole.counts)
        np.testing.assert_array_equal(p.multiplicity, whole.multiplicity)
        assert p.n_raters == whole.n_raters == 40
    a = krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4])
    assert a.value == pytest.approx(
        krippendorff_alpha(units, raters, values.astype(float), levels=[1.0, 2.0, 3.0, 4.0]).value, abs=1e-12
    )


def test_blocked_keys_still_detect_a_wrapped_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 ratings of one unit overflow the first digit guess; the retry must still give the right counts.
    monkeypatch.setattr(_patterns, "_KEY_BLOCK", 7)
    units = [0] * 40 + [1, 1]
    values = [1] * 25 + [2] * 15 + [3, 4]
    p = value_count_patterns(units, values, levels=[1, 2, 3, 4], raters=list(range(42)))
    assert sorted(map(tuple, p.counts.tolist())) == [(0, 0, 1, 1), (25, 15, 0, 0)]


_ID_SHAPES = [
    np.tile(np.arange(50), 5000),  # every id of the range early: stops after the first block
    np.r_[np.tile([0, 2], 100_000), [1]],  # the last id of the range appears only at the very end
    np.r_[np.tile([0, 3], 100_000)],  # an id of the range never appears
    np.array([5, 5, 9]),
    np.r_[np.tile([-3, 4], 70_000)],
    np.tile(np.arange(1, 60), 5000),  # ids from 1: the minimum proves the first block saw them all
    np.r_[np.tile(np.arange(1, 60), 5000), [0]],  # id 0 appears only in the last block
    np.r_[np.tile(np.arange(700, 760), 5000), [5]],  # a small id far below the rest, at the end
    np.tile(np.arange(70_000, 70_050), 5000),  # ids beyond one block's range: tallied from the minimum
    np.r_[np.tile(np.arange(70_000, 70_050), 5000), [69_000]],
    np.array([10**9, 10**9 + 1, 10**9]),  # far from 0: no tally with a billion bins
]


@pytest.mark.parametrize(
    ("ids", "dtype"),
    [
        (ids, dtype)
        for ids in _ID_SHAPES
        for dtype in (np.int32, np.int64, np.uint32, ">i4")
        if ids.min() >= 0 or np.dtype(dtype).kind == "i"  # negative ids have no unsigned form
    ],
)
def test_count_distinct_with_early_stop(monkeypatch: pytest.MonkeyPatch, ids: np.ndarray, dtype) -> None:
    monkeypatch.setattr(_checks, "_DISTINCT_BLOCK", 1000)
    assert _checks._count_distinct(ids.astype(dtype)) == np.unique(ids).size


def test_nonnegative_max_reads_the_sign_from_the_unsigned_view() -> None:
    assert _checks._nonnegative_max(np.array([3, 0, 7], np.int32)) == 7
    assert _checks._nonnegative_max(np.array([3, -1, 7], np.int32)) is None
    assert _checks._nonnegative_max(np.array([3, -(2**31)], np.int32)) is None
    assert _checks._nonnegative_max(np.array([2**31 - 1], np.int32)) == 2**31 - 1
    assert _checks._nonnegative_max(np.array([5, -2], ">i8")) is None
    assert _checks._nonnegative_max(np.array([5, 2], ">i8")) == 5
    assert _checks._nonnegative_max(np.array([250, 3], np.uint8)) == 250
    assert _checks._nonnegative_max(np.array([-128, 3], np.int8)) is None


@pytest.mark.parametrize("levels", [[1, 2, 3], [1, 2, 3, 4, 5], [1.0, 2.0, 3.0]])
def test_a_carry_past_the_last_digit_is_caught(levels) -> None:
    # Mostly double scoring (one-byte keys), plus one unit with nine ratings at the top level: its digit
    # carries past the last one and is dropped by the mask, so the digit sum falls short and the keys are
    # rebuilt wider.
    rng = np.random.default_rng(5)
    units = np.r_[np.repeat(np.arange(200), 2), np.full(9, 200)]
    values = np.r_[rng.choice(levels, 400), np.full(9, levels[-1])]
    p = value_count_patterns(units, values, levels=levels)
    table = np.zeros((201, len(levels)), np.int64)
    np.add.at(table, (units, np.searchsorted(levels, values)), 1)
    expected, mult = np.unique(table, axis=0, return_counts=True)
    order = np.lexsort(p.counts.T[::-1])
    np.testing.assert_array_equal(p.counts[order], expected)
    np.testing.assert_array_equal(p.multiplicity[order], mult)


@pytest.mark.parametrize("levels", [[-2, -1, 0, 1], [0, 1, 2], [3, 4, 5, 6, 7]])
def test_unit_keys_for_consecutive_levels_anywhere_on_the_line(
    monkeypatch: pytest.MonkeyPatch, levels
) -> None:
    monkeypatch.setattr(_patterns, "_KEY_BLOCK", 100)
    rng = np.random.default_rng(7)
    units = np.repeat(np.arange(300), 3)
    values = rng.choice(levels, units.size).astype(np.int8)
    fast = value_count_patterns(units, values, levels=levels)
    general = value_count_patterns(units, values.astype(float), levels=[float(x) for x in levels])
    np.testing.assert_array_equal(fast.counts, general.counts)
    np.testing.assert_array_equal(fast.multiplicity, general.multiplicity)


@pytest.mark.parametrize("size", [0, 1, 2, 999, 1000, 4001])
@pytest.mark.parametrize("block", [7, 1 << 19])
def test_one_byte_key_tally_in_pairs_equals_a_plain_count(
    monkeypatch: pytest.MonkeyPatch, size: int, block: int
) -> None:
    # Byte pairs, one block or several, and an odd last key counted on its own.
    monkeypatch.setattr(_patterns, "_PAIR_BLOCK", block)
    keys = np.random.default_rng(size).choice(np.array([0, 1, 5, 17, 200, 255], np.uint8), size)
    uniq, mult = _patterns._count_keys(keys, 256)
    expected, counts = np.unique(keys, return_counts=True)
    np.testing.assert_array_equal(uniq, expected)
    np.testing.assert_array_equal(mult, counts)


def _reference_patterns(
    units: np.ndarray, values: np.ndarray, levels: list[int]
) -> list[tuple[tuple[int, ...], int]]:
    """Per-unit counts by a plain dictionary: the patterns and how many units show each."""
    per_unit: dict[int, list[int]] = {}
    for unit, value in zip(units.tolist(), values.tolist(), strict=True):
        per_unit.setdefault(unit, [0] * len(levels))[levels.index(value)] += 1
    seen: dict[tuple[int, ...], int] = {}
    for counts in per_unit.values():
        seen[tuple(counts)] = seen.get(tuple(counts), 0) + 1
    return sorted(seen.items())


def _as_pairs(p: _patterns.ValuePatterns) -> list[tuple[tuple[int, ...], int]]:
    return sorted(zip(map(tuple, p.counts.tolist()), p.multiplicity.tolist(), strict=True))


@pytest.mark.parametrize(
    "shape",
    [
        "negative id in a late block",
        "id far beyond the rows in a late block",
        "sorted by unit, many ratings per unit",
        "int64 ids",
        "int64 ids, a negative one in a late block",
        "last id past the sample's largest by more than the margin",
        "sorted dense ids, the largest unsampled",
    ],
)
def test_ids_checked_while_accumulating_give_the_plain_counts(monkeypatch: pytest.MonkeyPatch, shape) -> None:
    # Large inputs check the unit ids block by block while the keys accumulate (no pass of their own
    # first): an id that is negative or out of range, in any block, must still give exact patterns.
    monkeypatch.setattr(_patterns, "_KEY_BLOCK", 500)
    monkeypatch.setattr(_patterns, "_SAMPLE_STRIDE", 7)
    units, raters, values, _ = _season(3, n_units=1500)
    if shape == "negative id in a late block":
        units[-3:] = -5
    elif shape == "id far beyond the rows in a late block":
        units[-2] = 10**9
    elif shape == "sorted by unit, many ratings per unit":
        units = np.repeat(np.arange(40, dtype=np.int32), 90)
        rng = np.random.default_rng(4)
        values = rng.integers(1, 5, units.size).astype(np.int8)
        raters = np.tile(np.arange(90, dtype=np.int32), 40)
    elif shape == "int64 ids":
        units = units.astype(np.int64)
    elif shape == "int64 ids, a negative one in a late block":
        units = units.astype(np.int64)
        units[-4] = -1
    elif shape == "last id past the sample's largest by more than the margin":
        units[-1] = 4 * units.size  # still a plain id (below four per row), but past the keys' first length
    else:  # every unit in order, so the rows after the sample's last one hold the largest ids
        units = np.sort(units)
    assert units.size > 500
    p = value_count_patterns(units, values, levels=[1, 2, 3, 4], raters=raters)
    assert _as_pairs(p) == _reference_patterns(units, values, [1, 2, 3, 4])
    assert p.n_units == np.unique(units).size


@pytest.mark.parametrize("bad", [0, 5, -3, 127])
@pytest.mark.parametrize("late", [True, False])
def test_one_byte_values_out_of_the_levels_are_named_while_accumulating(
    monkeypatch: pytest.MonkeyPatch, bad: int, late: bool
) -> None:
    # One-byte values are checked block by block in the key loop (no pass of their own): a value
    # below the first level, past the last, or negative must still be refused with its name.
    monkeypatch.setattr(_patterns, "_KEY_BLOCK", 500)
    units, raters, values, _ = _season(5, n_units=1500)
    values[-2 if late else 3] = bad
    with pytest.raises(ValueError, match=f"value {bad} is not one of the rubric levels"):
        value_count_patterns(units, values, levels=[1, 2, 3, 4], raters=raters)
    with pytest.raises(ValueError, match=f"value {bad} is not one of the rubric levels"):
        krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4])

"""Canonical input: level lookup, value-count patterns and the small-data tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.stats import (
    category_counts,
    contingency_table,
    to_index,
    units_by_raters_matrix,
    value_count_patterns,
)
from calibration.stats._patterns import _patterns_from_counts
from tests.stats._ratings import Ratings, ratings


def _brute_patterns(units, values, levels):
    """Patterns the slow obvious way: a dict of per-unit count tuples."""
    lv = list(levels)
    per_unit: dict = {}
    for u, v in zip(units, values, strict=True):
        if isinstance(v, float) and np.isnan(v):
            continue
        row = per_unit.setdefault(u, [0] * len(lv))
        row[lv.index(v)] += 1
    tally: dict = {}
    for row in per_unit.values():
        tally[tuple(row)] = tally.get(tuple(row), 0) + 1
    return tally


def _as_dict(p) -> dict:
    return {tuple(int(x) for x in row): int(m) for row, m in zip(p.counts, p.multiplicity, strict=True)}


@settings(max_examples=100, deadline=None)
@given(r=ratings(max_units=20, max_raters=8))
def test_patterns_match_brute_force(r: Ratings) -> None:
    p = value_count_patterns(r.units, r.values, levels=r.levels, raters=r.raters)
    assert _as_dict(p) == _brute_patterns(r.units.tolist(), r.values.tolist(), r.levels)
    assert p.n_units == len(set(r.units.tolist()))
    assert p.n_raters == len(set(r.raters.tolist()))


@pytest.mark.parametrize("per_unit", [1, 2, 3, 7, 8, 30, 70, 300])
def test_patterns_with_many_ratings_per_unit(per_unit: int) -> None:
    """Digit overflow and accumulator wrap are detected and retried."""
    rng = np.random.default_rng(per_unit)
    n_units = 50
    units = np.repeat(np.arange(n_units), per_unit)
    values = rng.choice([1, 2, 3, 4], units.size, p=[0.05, 0.05, 0.1, 0.8]).astype(np.int8)
    values[:per_unit] = 4  # one unit entirely at one level
    p = value_count_patterns(units, values, levels=[1, 2, 3, 4])
    assert _as_dict(p) == _brute_patterns(units.tolist(), values.tolist(), [1, 2, 3, 4])


@pytest.mark.parametrize(
    "ids",
    [
        [0, 1, 2, 3],  # compact, from zero
        [4, 3, 4, 3],  # OR bound 7 above the largest id 4
        [-3, -1, 2, 5],  # a negative id: the remapped path
        [1 << 40, 7, 1 << 40, 7],  # far beyond the rows: factorised
        np.array([65_535, 1, 65_535, 2], dtype=np.uint16),  # unsigned
        np.array([2**31 - 1, 0, 5, 5], dtype=np.int32),  # OR bound beyond the rows' range
    ],
)
def test_patterns_for_every_shape_of_unit_ids(ids) -> None:
    units = np.repeat(np.asarray(ids), 3)
    values = np.tile([1, 2, 2], len(ids))
    values[:3] = 3
    p = value_count_patterns(units, values, levels=[1, 2, 3], raters=np.tile([1, 2, 3], len(ids)))
    assert _as_dict(p) == _brute_patterns(units.tolist(), values.tolist(), [1, 2, 3])
    assert p.n_units == len(set(np.asarray(ids).tolist()))


def test_duplicate_rows_counted_without_rater_cap() -> None:
    # 12 ratings from 2 raters on one unit (duplicates): the rater count must not cap the digits.
    p = value_count_patterns([5] * 12, [1] * 12, levels=[1, 2], raters=[1, 2] * 6)
    assert _as_dict(p) == {(12, 0): 1}


def test_many_levels_fall_back_to_the_matrix_path() -> None:
    levels = list(range(40))
    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(30), 5)
    values = rng.integers(0, 40, units.size)
    p = value_count_patterns(units, values, levels=levels)
    assert _as_dict(p) == _brute_patterns(units.tolist(), values.tolist(), levels)


@pytest.mark.parametrize(
    "units",
    [
        np.array([3, 3, -7, -7, 9]),
        np.array([10**12, 10**12, 5, 5, 7]),
        np.array(["a", "a", "b", "b", "c"]),
        np.array([2.0, 2.0, 4.0, 4.0, 6.0]),
    ],
)
def test_any_unit_ids(units: np.ndarray) -> None:
    p = value_count_patterns(units, [1, 2, 2, 2, 1], levels=[1, 2])
    assert _as_dict(p) == {(1, 1): 1, (0, 2): 1, (1, 0): 1}


@pytest.mark.parametrize(
    ("values", "levels"),
    [
        (np.array([4, 3, 2, 1], np.int8), [1, 2, 3, 4]),
        (np.array([-3, 0, 2, 5], np.int16), [-3, 0, 2, 5]),
        (np.array([0.5, 1.0, 1.5, 2.0]), [0.5, 1.0, 1.5, 2.0]),
        (np.array([True, False, True, False]), [0, 1]),
        (np.array([200, 100, 200, 100], np.uint8), [100, 200]),
        (np.array([-100, 27, -100, 27], np.int8), [-100, 27]),
    ],
)
def test_level_lookup_for_any_numeric_levels(values: np.ndarray, levels: list) -> None:
    idx = to_index(values, levels)
    assert [levels[i] for i in idx] == values.tolist()
    p = value_count_patterns([1, 1, 2, 2], values, levels=levels)
    assert int((p.counts.sum(axis=1) * p.multiplicity).sum()) == 4


def test_to_index_missing_and_errors() -> None:
    assert to_index([np.nan, 2.0], [1, 2]).tolist() == [-1, 1]
    with pytest.raises(ValueError, match=r"value 0 is not one of the rubric levels \[1, 2, 3\]"):
        to_index(np.array([1, 0], np.int8), [1, 2, 3])
    with pytest.raises(ValueError, match="value 4"):
        to_index(np.array([1, 4], np.int64), [1, 3, 5])
    with pytest.raises(ValueError, match="value 1000000"):
        to_index(np.array([1, 10**6]), [1, 2])
    with pytest.raises(ValueError, match="value inf"):
        to_index([1.0, np.inf], [1, 2])


@pytest.mark.parametrize("levels", [[1], [], [1, 1, 2], ["a", "b"], [1.0, np.nan], None, [[1, 2]]])
def test_bad_levels(levels) -> None:
    with pytest.raises(ValueError, match="levels"):
        to_index([1], levels)


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        value_count_patterns([1, 2], [1], levels=[1, 2])


def test_category_counts_and_matrix_and_table() -> None:
    units, raters, values = [7, 7, 3, 3, 3], [1, 2, 1, 2, 3], [1, 2, 2, 2, 4]
    assert category_counts(units, values, levels=[1, 2, 3, 4]).tolist() == [[0, 2, 0, 1], [1, 1, 0, 0]]
    m = units_by_raters_matrix(units, raters, values, levels=[1, 2, 3, 4])
    assert m.unit_ids.tolist() == [3, 7] and m.rater_ids.tolist() == [1, 2, 3]
    assert np.array_equal(m.values, [[2, 2, 4], [1, 2, np.nan]], equal_nan=True)
    assert contingency_table([1, 2, np.nan], [2, 2, 1], levels=[1, 2]).tolist() == [[0, 1], [0, 1]]


def test_duplicate_unit_rater_pair_is_an_error() -> None:
    with pytest.raises(ValueError, match="unit 4 is rated more than once by rater 9"):
        units_by_raters_matrix([4, 4], [9, 9], [1, 2])


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.lists(st.integers(0, 5), min_size=3, max_size=3), max_size=10))
def test_patterns_from_counts(counts: list[list[int]]) -> None:
    p = _patterns_from_counts(np.array(counts, dtype=np.int64).reshape(-1, 3))
    nonempty = [tuple(c) for c in counts if sum(c)]
    assert p.n_units == len(nonempty)
    assert _as_dict(p) == {k: nonempty.count(k) for k in set(nonempty)}

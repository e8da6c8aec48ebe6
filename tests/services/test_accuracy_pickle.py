"""An accuracy table stored by the report store (:mod:`calibration.services.report_store`, which
keeps computed reports on disk) loads with the same results, and stays lazy: its per-assessor and per-criterion results are built when read, not all
of them when it is stored (which cost more than computing the report at 300 assessors)."""

from __future__ import annotations

import pickle

import numpy as np

from calibration.services.report_store import _dumps
from calibration.stats._accuracy_results import _LazyResults
from calibration.stats.accuracy import accuracy_by_rater

LEVELS = [1, 2, 3, 4]


def _table():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    n_raters, n_units, n_crit = 12, 6, 3
    raters = np.repeat(np.arange(n_raters), n_units * n_crit)
    criteria = np.tile(np.arange(n_crit), n_raters * n_units)
    key = rng.integers(1, 5, size=raters.size)
    values = np.clip(key + rng.integers(-1, 2, size=raters.size), 1, 4)
    values[raters == 3] = 2  # one assessor without variation: some results are undefined
    return accuracy_by_rater(raters, values, key, levels=LEVELS, criteria=criteria, earn_cut=3)


def _mappings(table):  # type: ignore[no-untyped-def]
    return {
        "by_rater": table.by_rater,
        "by_criterion": table.by_criterion,
        "by_rater_criterion": table.by_rater_criterion,
    }


def test_a_pickled_table_loads_lazy_with_the_same_results():
    table = _table()
    data = _dumps(table)
    for name, mapping in _mappings(table).items():
        assert isinstance(mapping, _LazyResults), name
        assert mapping._cache == {}, f"{name}: storing the table built its results"
    loaded = pickle.loads(data)
    assert loaded.overall == table.overall
    for name, mapping in _mappings(loaded).items():
        assert isinstance(mapping, _LazyResults), name
        assert mapping._cache == {}, name
        original = _mappings(table)[name]
        assert list(mapping) == list(original), name
        for key in original:
            assert repr(mapping[key]) == repr(original[key]), (name, key)
        assert len(mapping._cache) == len(original), name
    # A table stored after some results were read stores no built results either.
    again = pickle.loads(_dumps(loaded))
    assert again.by_rater_criterion._cache == {}
    assert repr(again.by_rater[3]) == repr(table.by_rater[3])

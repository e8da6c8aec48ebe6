"""Pairing first and second reads, the adjudication rule and agreement with co-readers, against
hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.stats.coreaders import (
    _cluster_ids,
    _dense,
    adjudication_needed,
    coreader_agreement,
    pair_reads,
)


def test_pairs_first_with_second_read_whatever_the_row_order():
    # unit 5: reads 3, 1, 2 (adjudicated); unit 2: read 1 only; unit 9: reads 2, 1
    units = [5, 2, 9, 5, 5, 9]
    reads = [3, 1, 2, 1, 2, 1]
    p = pair_reads(units, reads)
    pairs = sorted((units[i], reads[i], reads[j]) for i, j in zip(p.first, p.second, strict=True))
    assert pairs == [(5, 1, 2), (9, 1, 2)]
    assert p.unit_ids.tolist() == [2, 5, 9] and p.later.tolist() == [False, True, False]
    empty = pair_reads([], [])
    assert len(empty) == 0 and empty.unit_ids.size == 0


def test_bad_reads_are_refused_in_plain_words():
    with pytest.raises(ValueError, match="same read number twice"):
        pair_reads([1, 1], [1, 1])
    with pytest.raises(ValueError, match="start at 1"):
        pair_reads([1], [0])


def test_adjudication_is_beyond_the_adjacent_rule():
    assert adjudication_needed([0, 1, 3, 0], [1, 3, 3, 3], n_levels=4).tolist() == [False, True, False, True]
    assert adjudication_needed([0, 1], [1, 1], n_levels=2).tolist() == [True, False]


def test_agreement_with_co_readers_by_hand():
    # reader 1 on two submissions (two criteria each): differences +1, +1 (sub 10) and 0, -1 (sub 11)
    # reader 2 on one pair: 0
    g = [1, 1, 1, 1, 2]
    c = [10, 10, 11, 11, 12]
    own = [2, 3, 1, 1, 0]
    other = [1, 2, 1, 2, 0]
    t = coreader_agreement(g, c, own, other)
    assert t.groups.tolist() == [1, 2] and t.n.tolist() == [4, 1] and t.m.tolist() == [2, 1]
    assert t.exact.tolist() == [1, 1] and t.adjacent.tolist() == [4, 1]
    assert t.mean[0] == pytest.approx(0.25)
    # clusters: D = 2 (n 2), -1 (n 2); resid = 2 - .5, -1 - .5; var = 2/1 * (2.25 + 2.25) / 16
    se = np.sqrt(2 * 4.5 / 16)
    assert t.se[0] == pytest.approx(se)
    assert t.mean_high[0] - t.mean[0] == pytest.approx(12.706204736174694 * se)
    assert np.isnan(t.mean_low[1]) and np.isnan(t.se[1])  # one submission: no interval
    assert t.exact_low[0] < 0.25 < t.exact_high[0]


def test_dense_numbering_matches_numpy_unique_on_both_paths():
    rng = np.random.default_rng(0)
    for x in (rng.integers(0, 50, 1000), rng.integers(0, 10**12, 1000)):
        ids, inverse = _dense(x)
        ref_ids, ref_inverse = np.unique(x, return_inverse=True)
        assert ids.tolist() == ref_ids.tolist() and inverse.tolist() == ref_inverse.ravel().tolist()


def test_cluster_numbering_keeps_each_groups_clusters_in_order():
    rng = np.random.default_rng(1)
    gi = rng.integers(0, 7, 3000)
    cluster = rng.integers(0, 400, 3000)
    ids = _cluster_ids(gi, cluster, 7)
    pairs = sorted(set(zip(cluster.tolist(), gi.tolist(), strict=True)))
    number = {p: i for i, p in enumerate(pairs)}
    assert ids.tolist() == [number[p] for p in zip(cluster.tolist(), gi.tolist(), strict=True)]


def test_co_reader_table_does_not_depend_on_row_order():
    rng = np.random.default_rng(2)
    n = 4000
    g, c = rng.integers(0, 12, n), rng.integers(0, 300, n)
    own, other = rng.integers(0, 4, n), rng.integers(0, 4, n)
    order = np.lexsort((g, c))
    a, b = (
        coreader_agreement(g, c, own, other),
        coreader_agreement(g[order], c[order], own[order], other[order]),
    )
    for name in ("groups", "n", "m", "exact", "adjacent"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist()
    for name in ("mean", "se", "mean_low", "mean_high"):
        assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-12, equal_nan=True)
    # the clustered variance by hand for one group
    sel = g == 3
    d = (own - other)[sel].astype(float)
    sums = {k: d[c[sel] == k].sum() for k in np.unique(c[sel])}
    counts = {k: int((c[sel] == k).sum()) for k in sums}
    m, mean = len(sums), d.mean()
    ss = sum((sums[k] - mean * counts[k]) ** 2 for k in sums)
    assert a.se[3] == pytest.approx(np.sqrt(m / (m - 1) * ss / d.size**2))

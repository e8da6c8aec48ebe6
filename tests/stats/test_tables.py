"""Two-rater coefficients from a contingency table (issue 20, item 2): the same ratings give the same
answer as long rows with ``variance="raw"``, Gwet's table form is smaller by ``sqrt((n - 1) / n)``,
and bad tables or options are a ``ValueError`` naming the problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration import stats

TABLE = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]
LEVELS = [1, 2, 3]


def _rows(table: list[list[int]]) -> tuple[list[int], list[int], list[int]]:
    units, raters, values = [], [], []
    u = 0
    for k, row in enumerate(table):
        for j, count in enumerate(row):
            for _ in range(count):
                units += [u, u]
                raters += [1, 2]
                values += [LEVELS[k], LEVELS[j]]
                u += 1
    return units, raters, values


PAIRS = [
    (stats.gwet_ac1_from_table, lambda *r, **kw: stats.gwet_ac1(*r, **kw)),
    (stats.brennan_prediger_from_table, lambda *r, **kw: stats.brennan_prediger(*r, **kw)),
    (stats.scotts_pi_from_table, lambda *r, **kw: stats.scotts_pi(*r, **kw)),
    (stats.percent_agreement_from_table, lambda *r, **kw: stats.percent_agreement(*r, **kw)),
]


@pytest.mark.parametrize("weights", [None, "linear", "quadratic", "ordinal", "radical", "ratio", "bipolar"])
@pytest.mark.parametrize(("from_table", "from_rows"), PAIRS)
def test_raw_variance_matches_the_long_rows(from_table, from_rows, weights) -> None:
    rows = _rows(TABLE)
    a = from_table(TABLE, weights=weights)
    b = from_rows(*rows, levels=LEVELS, weights=weights)
    assert a.method == b.method
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.se == pytest.approx(b.se, rel=1e-9)
    assert a.extra["pe"] == pytest.approx(b.extra["pe"], abs=1e-12)
    assert a.extra["z"] == pytest.approx(b.extra["z"], rel=1e-9)
    assert a.extra["p_value"] == pytest.approx(b.extra["p_value"], rel=1e-6)


def test_alpha_from_table_matches_alpha_from_rows() -> None:
    rows = _rows(TABLE)
    a = stats.krippendorff_alpha_from_table(TABLE)
    b = stats.krippendorff_alpha(*rows, levels=LEVELS, level_of_measurement="nominal")
    assert a.value == pytest.approx(b.value, abs=1e-12)
    q = stats.krippendorff_alpha_from_table(TABLE, weights="quadratic")
    i = stats.krippendorff_alpha(*rows, levels=LEVELS, level_of_measurement="interval")
    assert q.value == pytest.approx(i.value, abs=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        stats.gwet_ac1_from_table,
        stats.brennan_prediger_from_table,
        stats.scotts_pi_from_table,
        stats.krippendorff_alpha_from_table,
        stats.percent_agreement_from_table,
    ],
)
def test_table_variance_is_smaller_by_sqrt_n_minus_1_over_n(fn) -> None:
    n = float(np.sum(TABLE))
    raw, table = fn(TABLE), fn(TABLE, variance="table")
    assert raw.value == table.value
    assert table.se == pytest.approx(raw.se * math.sqrt((n - 1.0) / n), rel=1e-12)
    assert table.ci_high - table.ci_low < raw.ci_high - raw.ci_low


@pytest.mark.parametrize(
    ("table", "kwargs", "message"),
    [
        ([[1, 2, 3], [4, 5, 6]], {}, "square"),
        ([[1, -2], [3, 4]], {}, "non-negative"),
        ([[1, 2.5], [3, 4]], {}, "whole numbers"),
        ([[1, float("nan")], [3, 4]], {}, "non-negative"),
        ([[1]], {}, "q >= 2"),
        ([[1, 2], [3, 4]], {"variance": "exact"}, "variance must be 'raw' or 'table'"),
        ([[1, 2], [3, 4]], {"weights": "cubic"}, "unknown scheme 'cubic'"),
        ([[1, 2], [3, 4]], {"weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "2 x 2"),
        ([[1, 2], [3, 4]], {"confidence": 1.5}, "confidence"),
    ],
)
def test_bad_table_input_names_the_problem(table, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        stats.gwet_ac1_from_table(table, **kwargs)


def test_empty_and_constant_tables_are_undefined_with_a_reason() -> None:
    empty = stats.scotts_pi_from_table([[0, 0], [0, 0]])
    assert empty.value is None and "no unit" in empty.reason
    constant = stats.scotts_pi_from_table([[5, 0], [0, 0]])
    assert constant.value is None and constant.reason.startswith("no variation")

"""The examples of the ``krippendorff`` package (pln-fing-udelar/fast-krippendorff): the doctests of
``krippendorff/krippendorff.py::alpha`` (8 printed values) and ``sample.py``'s value-count example,
run through ``stats.krippendorff_alpha``.

The package takes a raters x units table (NaN: missing) or units x values counts; here both become
long rows. Alpha does not depend on which rater gave a value, so a count of ``c`` at a level becomes
``c`` ratings by distinct raters. Text levels are coded 1..q in the order of the package's
``value_domain``; nominal and ordinal alpha depend only on that order.
"""

from __future__ import annotations

import math

import pytest

from calibration import stats

NAN = math.nan

# Wikipedia's example, as in the doctest (3 coders x 15 units).
WIKI = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]
WIKI_COUNTS = [
    [1, 0, 0, 0], [0, 0, 0, 0], [0, 2, 0, 0], [2, 0, 0, 0], [0, 0, 2, 0], [0, 0, 2, 1], [0, 0, 0, 3],
    [1, 0, 1, 0], [0, 2, 0, 0], [2, 0, 0, 0], [2, 0, 0, 0], [0, 0, 2, 0], [0, 0, 2, 0], [0, 0, 0, 0],
    [0, 0, 1, 1],
]  # fmt: skip
# Krippendorff's (2011) 4 coders x 12 units ("fulltext.pdf, page 8" in the doctest).
KRIPP = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
DOMAIN = ["very low", "low", "mid", "high", "very high"]
KRIPP_TEXT = [
    [NAN if isinstance(v, float) and math.isnan(v) else DOMAIN[int(v) - 1] for v in row] for row in KRIPP
]


def _from_coders(table: list[list], code: dict | None = None) -> tuple[list, list, list]:
    units, raters, values = [], [], []
    for r, row in enumerate(table):
        for u, v in enumerate(row):
            if isinstance(v, float) and math.isnan(v):
                continue
            units.append(u)
            raters.append(r)
            values.append(code[v] if code else v)
    return units, raters, values


def _from_counts(counts: list[list[int]], domain: list[int]) -> tuple[list, list, list]:
    units, raters, values = [], [], []
    for u, row in enumerate(counts):
        r = 0
        for level, c in zip(domain, row, strict=True):
            for _ in range(c):
                units.append(u)
                raters.append(r)
                values.append(level)
                r += 1
    return units, raters, values


def alpha(rows: tuple[list, list, list], levels: list, level: str) -> float:
    est = stats.krippendorff_alpha(*rows, levels=levels, level_of_measurement=level)
    assert est.value is not None
    return est.value


CASES = [
    # (doctest line, rows, levels, level of measurement, expected, decimals)
    ("wikipedia nominal", _from_coders(WIKI), [1, 2, 3, 4], "nominal", 0.691358, 6),
    ("wikipedia interval", _from_coders(WIKI), [1, 2, 3, 4], "interval", 0.810845, 6),
    (
        "wikipedia value_counts nominal",
        _from_counts(WIKI_COUNTS, [1, 2, 3, 4]),
        [1, 2, 3, 4],
        "nominal",
        0.691358,
        6,
    ),
    ("fulltext ordinal", _from_coders(KRIPP), [1, 2, 3, 4, 5], "ordinal", 0.815, 3),
    ("fulltext ordinal value_domain", _from_coders(KRIPP), [1, 2, 3, 4, 5], "ordinal", 0.815, 3),
    ("fulltext ratio", _from_coders(KRIPP), [1, 2, 3, 4, 5], "ratio", 0.797, 3),
    (
        "fulltext strings ordinal value_domain",
        _from_coders(KRIPP_TEXT, {d: i + 1 for i, d in enumerate(DOMAIN)}),
        [1, 2, 3, 4, 5],
        "ordinal",
        0.815,
        3,
    ),
    (
        "fulltext strings nominal",
        _from_coders(KRIPP_TEXT, {d: i + 1 for i, d in enumerate(sorted(DOMAIN))}),
        [1, 2, 3, 4, 5],
        "nominal",
        0.743,
        3,
    ),
]


@pytest.mark.parametrize(
    ("name", "rows", "levels", "level", "expected", "decimals"), CASES, ids=[c[0] for c in CASES]
)
def test_krippendorff_doctest(name, rows, levels, level, expected, decimals) -> None:
    assert round(alpha(rows, levels, level), decimals) == expected


def test_sample_value_counts_interval_equals_reliability_data() -> None:
    """sample.py prints interval alpha from the value counts next to the one from the coders' table
    (0.810845 in the doctest): the two inputs describe the same data."""
    by_counts = alpha(_from_counts(WIKI_COUNTS, [1, 2, 3, 4]), [1, 2, 3, 4], "interval")
    assert round(by_counts, 6) == 0.810845

"""Undefined is an answer: any small input gives a value or None with a reason, never a crash or a NaN;
the only exception is the documented ValueError for a value outside the rubric's levels."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration import stats
from tests.stats._ratings import Ratings, ratings

LONG_ROW_STATS = [
    ("krippendorff_alpha", {}),
    ("krippendorff_alpha", {"level_of_measurement": "ratio", "n_boot": 20}),
    ("fleiss_kappa", {"n_boot": 20}),
    ("fleiss_kappa", {"method": "randolph", "weights": "quadratic"}),
    ("conger_kappa", {"weights": "linear"}),
    ("gwet_ac1", {"weights": "quadratic", "n_boot": 20}),
    ("brennan_prediger", {"missing": "pairable"}),
    ("scotts_pi", {}),
    ("percent_agreement", {"definition": "all", "tolerance": 1, "n_boot": 20}),
    ("percent_agreement", {"weights": "linear"}),
    ("light_kappa", {}),
]


def _check(est: stats.Estimate) -> None:
    assert isinstance(est, stats.Estimate)
    if est.value is None:
        assert isinstance(est.reason, str) and est.reason
    else:
        assert math.isfinite(est.value)
    for x in (est.se, est.ci_low, est.ci_high):
        assert x is None or math.isfinite(x)
    assert est.to_dict()["value"] == est.value


@settings(max_examples=120, deadline=None)
@given(r=ratings(max_units=6, max_raters=4))
def test_never_crashes_on_small_inputs(r: Ratings) -> None:
    u, g, v = r.long
    for name, options in LONG_ROW_STATS:
        if options.get("level_of_measurement") == "ratio" and min(r.levels) < 0:
            continue  # refused: a ratio scale has no negative values (tests/stats/test_edge_cases.py)
        _check(getattr(stats, name)(u, g, v, levels=r.levels, **options))
    pm = stats.pairwise_kappa_matrix(u, g, v, levels=r.levels)
    assert pm.values.shape == (len(set(g.tolist())),) * 2
    res = stats.icc(u, g, v)
    for form in res.forms:
        _check(form)


@settings(max_examples=60, deadline=None)
@given(r=ratings(min_units=1, max_units=5, min_raters=1, max_raters=3), bad=st.sampled_from([-1, 99, 2.5]))
def test_out_of_domain_values_raise_value_error_naming_the_value(r: Ratings, bad: float) -> None:
    u, g, v = r.long
    u = np.append(u, 0)
    g = np.append(g, 0)
    v = np.append(v, bad)
    for name, options in LONG_ROW_STATS:
        with pytest.raises(ValueError, match=re.escape(f"value {bad:g}")):
            getattr(stats, name)(u, g, v, levels=r.levels, **options)


def test_all_nan_values_are_undefined_not_errors() -> None:
    for name, options in LONG_ROW_STATS:
        est = getattr(stats, name)([1, 1], [1, 2], [np.nan, np.nan], levels=[1, 2], **options)
        assert est.value is None


def test_icc2k_with_nonpositive_denominator_is_undefined() -> None:
    # Raters agree on columns far less than the error suggests: MSR + (MSC - MSE)/n < 0.
    res = stats.icc([1, 1, 1, 2, 2, 2], [1, 2, 3, 1, 2, 3], [0.0, 5.0, 1.0, 5.0, 0.0, 1.1])
    for form in res.forms:
        _check(form)

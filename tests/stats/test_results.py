"""Result objects: frozen, NaN-free, JSON-ready."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from calibration.stats import Estimate, alpha_label, icc_label


def test_estimate_is_frozen_and_extra_read_only() -> None:
    e = Estimate("fleiss_kappa", np.float64(0.5), se=np.float64(0.1), extra={"pa": np.float64(0.8)})
    assert type(e.value) is float and type(e.se) is float and type(e.extra["pa"]) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.value = 0.7  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.extra["pa"] = 0.1  # type: ignore[index]
    assert hash(e) == hash(Estimate("fleiss_kappa", 0.5, se=0.1, extra={"pa": 0.8}))


def test_nan_becomes_none_with_a_reason() -> None:
    e = Estimate("x", float("nan"))
    assert e.value is None and e.reason == "undefined" and not e.defined


def test_to_dict_is_json_serialisable() -> None:
    e = Estimate(
        "cohen_kappa", 0.4, ci_low=0.1, ci_high=0.7, ci_method="normal", detail={"k": [0.1, math.nan]}
    )
    d = json.loads(json.dumps(e.to_dict()))
    assert d["value"] == 0.4 and d["detail"]["k"] == [0.1, None] and d["label"] is None
    assert e.interval == (0.1, 0.7)


@pytest.mark.parametrize(
    ("value", "alpha", "icc"),
    [(0.95, "good", "excellent"), (0.9, "good", "good"), (0.8, "good", "good"), (0.75, "tentative", "good"),
     (0.667, "tentative", "moderate"), (0.5, "unacceptable", "moderate"), (0.49, "unacceptable", "poor"),
     (None, None, None)],
)  # fmt: skip
def test_labels(value, alpha, icc) -> None:
    assert alpha_label(value) == alpha
    assert icc_label(value) == icc
    assert Estimate("icc2", value).label(n_anchors=10, n_scores=40) == icc
    assert Estimate("icc2", value, n_units=4, n_raters=6).label() == (
        None if value is None else "too few to judge"
    )

"""Every Examples section in the reliability modules runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "calibration.stats",
    "calibration.stats._data",
    "calibration.stats._patterns",
    "calibration.stats.results",
    "calibration.stats.proportions",
    "calibration.stats.bootstrap",
    "calibration.stats.alpha",
    "calibration.stats.multirater",
    "calibration.stats.conger",
    "calibration.stats.kappa",
    "calibration.stats.tables",
    "calibration.stats.icc",
    "calibration.stats.labels",
    "calibration.stats.reliability",
    "calibration.stats.passrule",
    "calibration.stats.ewma",
    "calibration.stats._drift_common",
    "calibration.stats.anchors",
    "calibration.stats.drift",
    "calibration.stats.budget",
    "calibration.stats.cusum",
    "calibration.stats.selfstart",
    "calibration.stats.lean",
    "calibration.stats.passcheck",
    "calibration.stats.cohort",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_every_public_function_has_examples_and_references() -> None:
    lacking = []
    for name in MODULES[1:]:
        module = importlib.import_module(name)  # not attribute access: stats.icc is also a function
        for public in module.__all__:
            obj = getattr(module, public)
            if not callable(obj) or isinstance(obj, type):
                continue
            doc = obj.__doc__ or ""
            if "Examples" not in doc or "References" not in doc or ">>>" not in doc:
                lacking.append(f"{name}.{public}")
    assert not lacking

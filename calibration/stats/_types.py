"""Type names shared by the statistics modules (one definition each).

Private: the public functions spell these out in their docstrings; import them from here inside
``calibration.stats`` instead of redefining them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["BootInterval", "Interval", "LevelOfMeasurement", "WeightScheme", "Weights"]

#: Names of the agreement-weight schemes on the level positions ``1..q`` (defined, with sources, in
#: ``_checks._weight_matrix``); ``"identity"`` is unweighted.
WeightScheme = Literal[
    "identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar"
]

#: Agreement weights: a scheme name, ``None`` (unweighted) or a custom ``q x q`` matrix (array_like)
#: with entries in [0, 1] and ones on the diagonal.
Weights = WeightScheme | None | np.ndarray | Sequence[Sequence[float]]

#: Krippendorff's levels of measurement (the distance used between values).
LevelOfMeasurement = Literal["nominal", "ordinal", "interval", "ratio"]

#: Analytic interval of a kappa-type statistic: ``"normal"`` (``value +/- z * se``; SAS PROC FREQ,
#: statsmodels) or ``"t"`` (``value +/- t(n - 1) * se``; R irr and Gwet's irrCAC).
Interval = Literal["normal", "t"]

#: Bootstrap interval: ``"percentile"`` (Efron & Tibshirani 1993, ch. 13) or ``"bca"`` (bias-corrected
#: and accelerated; Efron 1987).
BootInterval = Literal["percentile", "bca"]

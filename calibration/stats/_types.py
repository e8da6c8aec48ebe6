"""Type names shared by the statistics modules (one definition each).

Private: the public functions spell these out in their docstrings; import them from here inside
``calibration.stats`` instead of redefining them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BootInterval", "Interval", "LevelOfMeasurement", "Weights"]

#: Agreement weights on the level index: ``"linear"`` ``1 - |i-j|/(q-1)``, ``"quadratic"``
#: ``1 - (i-j)^2/(q-1)^2``; ``None`` (or ``"identity"`` for the reliability coefficients) is unweighted.
Weights = Literal["linear", "quadratic", "identity"] | None

#: Krippendorff's levels of measurement (the distance used between values).
LevelOfMeasurement = Literal["nominal", "ordinal", "interval", "ratio"]

#: Analytic interval of a kappa-type statistic: ``"normal"`` (``value +/- z * se``; SAS PROC FREQ,
#: statsmodels) or ``"t"`` (``value +/- t(n - 1) * se``; R irr and Gwet's irrCAC).
Interval = Literal["normal", "t"]

#: Bootstrap interval: ``"percentile"`` (Efron & Tibshirani 1993, ch. 13) or ``"bca"`` (bias-corrected
#: and accelerated; Efron 1987).
BootInterval = Literal["percentile", "bca"]

"""Type names shared by the statistics modules (one definition each).

Private: the public functions spell these out in their docstrings; import them from here inside
``calibration.stats`` instead of redefining them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LevelOfMeasurement", "Weights"]

#: Agreement weights on the level index: ``"linear"`` ``1 - |i-j|/(q-1)``, ``"quadratic"``
#: ``1 - (i-j)^2/(q-1)^2``; ``None`` (or ``"identity"`` for the reliability coefficients) is unweighted.
Weights = Literal["linear", "quadratic", "identity"] | None

#: Krippendorff's levels of measurement (the distance used between values).
LevelOfMeasurement = Literal["nominal", "ordinal", "interval", "ratio"]

"""The one place that turns a number into words: interpretation labels that never contradict the number.

Every page and export that puts a word beside a statistic ("good", "moderate", "lenient", ...) asks
:func:`interpret`. The rules (DESIGN §5 and §6):

* **Minimum evidence first.** Below ``min_anchors`` anchors or ``min_scores`` criterion-scores there is no
  label, only :data:`TOO_FEW` ("too few to judge"); the number is still shown beside it.
* **The label agrees with the number as printed.** The estimate and its interval are rounded to the
  digits the page prints (``digits``) *before* they are compared with a boundary: alpha 0.79962 printed
  "0.800" is "good", never "tentative". Pages print alpha with 3 decimals and everything else with 2.
* **An interval that straddles a boundary says so**: "between tentative and good". Without an interval,
  the band of the estimate alone.
* **A lean needs its interval to exclude zero**: "lenient" when the whole interval of the signed
  deviation is above 0, "severe" when below, otherwise "no clear lean".

Bands: Krippendorff's alpha (2004, p. 241) >= .800 good, .667 to below .800 tentative, below .667
unacceptable; an ICC (Koo & Li 2016) below .50 poor, .50 to below .75 moderate, .75 to .90 good, above .90
excellent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

__all__ = [
    "ALPHA_GOOD",
    "ALPHA_TENTATIVE",
    "DIGITS",
    "MIN_ANCHORS",
    "MIN_SCORES",
    "NO_CLEAR_LEAN",
    "TOO_FEW",
    "alpha_band",
    "icc_band",
    "interpret",
]

#: Fewest anchors (units) behind a label (DESIGN §6, minimum evidence).
MIN_ANCHORS = 5
#: Fewest criterion-scores behind a label (DESIGN §6, minimum evidence).
MIN_SCORES = 20
#: Krippendorff's lowest alpha for tentative conclusions (and the cohort drift minimum, DESIGN §6).
ALPHA_TENTATIVE = 0.667
#: Krippendorff's alpha for good reliability.
ALPHA_GOOD = 0.800
TOO_FEW = "too few to judge"
NO_CLEAR_LEAN = "no clear lean"

Scale = Literal["alpha", "icc", "lean"]

#: Decimals each scale is printed with; the label is decided on the values rounded to these.
DIGITS: dict[str, int] = {"alpha": 3, "icc": 2, "lean": 2}


def alpha_band(value: float) -> str:
    """Krippendorff's (2004) band of an alpha: ``"good"``, ``"tentative"`` or ``"unacceptable"``.

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis: An Introduction to Its Methodology* (2nd ed.), p. 241.

    Examples
    --------
    >>> alpha_band(0.8), alpha_band(0.667), alpha_band(0.5)
    ('good', 'tentative', 'unacceptable')
    """
    if value >= ALPHA_GOOD:
        return "good"
    if value >= ALPHA_TENTATIVE:
        return "tentative"
    return "unacceptable"


def icc_band(value: float) -> str:
    """Koo & Li's (2016) band of an ICC: ``"poor"``, ``"moderate"``, ``"good"`` or ``"excellent"``.

    References
    ----------
    Koo, T. K., & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation
    coefficients for reliability research. *Journal of Chiropractic Medicine* 15(2), 155-163.

    Examples
    --------
    >>> [icc_band(v) for v in (0.3, 0.5, 0.75, 0.9, 0.95)]
    ['poor', 'moderate', 'good', 'good', 'excellent']
    """
    if value < 0.50:
        return "poor"
    if value < 0.75:
        return "moderate"
    if value <= 0.90:
        return "good"
    return "excellent"


_BANDS: dict[str, Callable[[float], str]] = {"alpha": alpha_band, "icc": icc_band}


def interpret(
    value: float | None,
    interval: tuple[float | None, float | None] | None = None,
    *,
    scale: Scale,
    n_anchors: int,
    n_scores: int,
    min_anchors: int = MIN_ANCHORS,
    min_scores: int = MIN_SCORES,
    digits: int | None = None,
) -> str | None:
    """The label for one statistic, decided from its estimate, interval and evidence.

    Parameters
    ----------
    value : float or None
        The estimate; None when the statistic is undefined (then there is no label: the page shows
        "undefined" and the reason).
    interval : (low, high), optional
        Its confidence interval; a missing bound counts as no interval.
    scale : {"alpha", "icc", "lean"}
        Krippendorff's alpha bands, Koo & Li's ICC bands, or the lean of a signed deviation.
    n_anchors, n_scores : int
        Anchors (units) and criterion-scores behind the statistic.
    min_anchors, min_scores : int
        The minimum evidence for a label (default 5 anchors and 20 criterion-scores).
    digits : int, optional
        Decimals the number is printed with (default :data:`DIGITS` of the scale); the estimate and
        interval are rounded to them before any comparison, so the label matches the printed number.

    Returns
    -------
    str or None
        None when ``value`` is None; :data:`TOO_FEW` below the minimum evidence; for alpha and ICC the
        band, or ``"between <lower band> and <upper band>"`` when the interval crosses a boundary; for a
        lean ``"lenient"``, ``"severe"`` or :data:`NO_CLEAR_LEAN`.

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), p. 241. Koo, T. K., & Li, M. Y. (2016).
    *Journal of Chiropractic Medicine* 15(2), 155-163.

    Examples
    --------
    >>> interpret(0.79962, (0.81, 0.85), scale="alpha", n_anchors=8, n_scores=96)
    'good'
    >>> interpret(0.75, (0.70, 0.82), scale="alpha", n_anchors=8, n_scores=96)
    'between tentative and good'
    >>> interpret(0.804, (0.131, 0.846), scale="alpha", n_anchors=5, n_scores=15)
    'too few to judge'
    >>> interpret(-0.08, (-0.25, 0.09), scale="lean", n_anchors=6, n_scores=24)
    'no clear lean'
    >>> interpret(-0.4, (-0.6, -0.2), scale="lean", n_anchors=6, n_scores=24)
    'severe'
    """
    if value is None:
        return None
    if n_anchors < min_anchors or n_scores < min_scores:
        return TOO_FEW
    places = DIGITS[scale] if digits is None else digits
    v = round(float(value), places)
    lo = hi = None
    if interval is not None and interval[0] is not None and interval[1] is not None:
        lo, hi = round(float(interval[0]), places), round(float(interval[1]), places)
    if scale == "lean":
        if lo is None or hi is None:
            return NO_CLEAR_LEAN
        if lo > 0:
            return "lenient"
        if hi < 0:
            return "severe"
        return NO_CLEAR_LEAN
    band = _BANDS[scale]
    if lo is None or hi is None:
        return band(v)
    low_band, high_band = band(min(lo, v)), band(max(hi, v))
    if low_band == high_band:
        return low_band
    return f"between {low_band} and {high_band}"

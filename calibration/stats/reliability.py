"""Reliability among raters: one import point for every coefficient.

The implementations live in :mod:`.alpha` (Krippendorff's alpha), :mod:`.multirater` (Fleiss,
Gwet's AC1/AC2, Brennan-Prediger, percent agreement), :mod:`.conger` (Conger's kappa, Scott's pi)
and :mod:`.kappa` (Cohen's kappa, Light's kappa, the pairwise kappa matrix), :mod:`.tables` (the
two-rater Gwet family from a contingency table); see
``docs/statistics.md`` for conventions and which to use.
"""

from __future__ import annotations

from .alpha import krippendorff_alpha
from .kappa import cohen_kappa, cohen_kappa_from_table, light_kappa, pairwise_kappa_matrix
from .multirater import (
    brennan_prediger,
    conger_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    gwet_ac1,
    percent_agreement,
    scotts_pi,
)
from .results import Estimate, PairwiseMatrix
from .tables import (
    brennan_prediger_from_table,
    gwet_ac1_from_table,
    krippendorff_alpha_from_table,
    percent_agreement_from_table,
    scotts_pi_from_table,
)

__all__ = [
    "Estimate",
    "PairwiseMatrix",
    "brennan_prediger",
    "brennan_prediger_from_table",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "conger_kappa",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gwet_ac1",
    "gwet_ac1_from_table",
    "krippendorff_alpha",
    "krippendorff_alpha_from_table",
    "light_kappa",
    "pairwise_kappa_matrix",
    "percent_agreement",
    "percent_agreement_from_table",
    "scotts_pi",
    "scotts_pi_from_table",
]

"""Agreement statistics for assessor calibration: a small, pure scientific library.

Plain arrays in (long rows ``units, raters, values`` plus the rubric's ``levels``), frozen result
objects out. Imports only numpy, scipy, statsmodels, krippendorff and the standard library; never
Flask or SQLAlchemy. Conventions and guidance: ``docs/statistics.md``.
"""

from __future__ import annotations

from ._data import (
    RatingMatrix,
    ValuePatterns,
    category_counts,
    contingency_table,
    to_index,
    units_by_raters_matrix,
    value_count_patterns,
)
from .accuracy import (
    CENTRAL_TENDENCY_EXCESS,
    CENTRAL_TENDENCY_MIN_SCORES,
    AccuracyArrays,
    AccuracyResult,
    AccuracyTable,
    CategoryUse,
    DecisionAgreement,
    Proportion,
    accuracy,
    accuracy_arrays,
    accuracy_by_rater,
    confusion_by_group,
    weight_matrix,
    weighted_kappa_by_rater,
    wilson_interval,
    wilson_intervals,
)
from .anchors import AnchorRow, AnchorSummary, anchor_summary
from .bootstrap import bootstrap_units, normal_interval, percentile_interval, t_interval, wilson_bounds
from .icc import icc
from .passrule import PassDecision, PassRule, RuleCheck, evaluate_pass_rule
from .reliability import (
    brennan_prediger,
    cohen_kappa,
    cohen_kappa_from_table,
    conger_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    gwet_ac1,
    krippendorff_alpha,
    light_kappa,
    pairwise_kappa_matrix,
    percent_agreement,
    scotts_pi,
)
from .report import CohortReliability, RoundReport, cohort_reliability, round_report
from .results import Estimate, ICCResult, PairwiseMatrix, alpha_label, icc_label

__all__ = [
    "CENTRAL_TENDENCY_EXCESS",
    "CENTRAL_TENDENCY_MIN_SCORES",
    "AccuracyArrays",
    "AccuracyResult",
    "AccuracyTable",
    "AnchorRow",
    "AnchorSummary",
    "CategoryUse",
    "CohortReliability",
    "DecisionAgreement",
    "Estimate",
    "ICCResult",
    "PairwiseMatrix",
    "PassDecision",
    "PassRule",
    "Proportion",
    "RatingMatrix",
    "RoundReport",
    "RuleCheck",
    "ValuePatterns",
    "accuracy",
    "accuracy_arrays",
    "accuracy_by_rater",
    "alpha_label",
    "anchor_summary",
    "bootstrap_units",
    "brennan_prediger",
    "category_counts",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "cohort_reliability",
    "confusion_by_group",
    "conger_kappa",
    "contingency_table",
    "evaluate_pass_rule",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gwet_ac1",
    "icc",
    "icc_label",
    "krippendorff_alpha",
    "light_kappa",
    "normal_interval",
    "pairwise_kappa_matrix",
    "percent_agreement",
    "percentile_interval",
    "round_report",
    "scotts_pi",
    "t_interval",
    "to_index",
    "units_by_raters_matrix",
    "value_count_patterns",
    "weight_matrix",
    "weighted_kappa_by_rater",
    "wilson_bounds",
    "wilson_interval",
    "wilson_intervals",
]

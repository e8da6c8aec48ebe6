"""Agreement statistics for assessor calibration: a small, pure scientific library.

Plain arrays in (long rows ``units, raters, values`` plus the rubric's ``levels``), frozen result
objects out. Imports only numpy, scipy, statsmodels, krippendorff and the standard library; never
Flask or SQLAlchemy. Conventions and guidance: ``docs/statistics.md``.

Layout: ``_checks`` is the one private validation kernel (levels, long rows, ids, weights) and
``_types`` holds the shared type names (``Weights``, ``LevelOfMeasurement``); ``results`` has the
result objects every module returns (``Estimate``, ``Proportion``: a share, whose ``value`` is the
same number as its ``p``). ``accuracy`` holds accuracy against the key only; shares with Wilson
intervals are in ``proportions``.
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
from .budget import ASSESSOR_BUDGET, BUDGET_ROUNDS, COHORT_BUDGET, FALSE_ALARM_BUDGET, FalseAlarmBudget
from .cohort import (
    CohortAlphaDrift,
    CohortLevelDrift,
    RoundAlpha,
    cohort_alpha_drift,
    cohort_level_drift,
    round_alpha,
)
from .cusum import CUSUM_K, SelfStartPath, cusum_arl, cusum_false_alarm, cusum_limit, self_starting_cusum
from .drift import (
    AccuracyDrop,
    CohortDrift,
    EwmaDrift,
    EwmaDriftTable,
    EwmaPath,
    PassRuleDrift,
    PoolSigma,
    accuracy_drop,
    cohort_drift,
    drift_sentence,
    ewma_chart,
    ewma_drift,
    pass_rule_drift,
    pool_sigma,
)
from .icc import icc
from .labels import MIN_ANCHORS, MIN_SCORES, NO_CLEAR_LEAN, TOO_FEW, interpret
from .lean import LEAN_MATERIAL, LEAN_WINDOW, Lean, lean
from .passcheck import BelowPassRule, below_pass_rule
from .passrule import PassDecision, PassRule, RuleCheck, clearly_below, evaluate_pass_rule
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
from .selfstart import PRIOR_DF, OwnDrift, OwnDriftTable, change_sentence, self_starting_drift

__all__ = [
    "ASSESSOR_BUDGET",
    "BUDGET_ROUNDS",
    "CENTRAL_TENDENCY_EXCESS",
    "CENTRAL_TENDENCY_MIN_SCORES",
    "COHORT_BUDGET",
    "CUSUM_K",
    "FALSE_ALARM_BUDGET",
    "LEAN_MATERIAL",
    "LEAN_WINDOW",
    "MIN_ANCHORS",
    "MIN_SCORES",
    "NO_CLEAR_LEAN",
    "PRIOR_DF",
    "TOO_FEW",
    "AccuracyArrays",
    "AccuracyDrop",
    "AccuracyResult",
    "AccuracyTable",
    "AnchorRow",
    "AnchorSummary",
    "BelowPassRule",
    "CategoryUse",
    "CohortAlphaDrift",
    "CohortDrift",
    "CohortLevelDrift",
    "CohortReliability",
    "DecisionAgreement",
    "Estimate",
    "EwmaDrift",
    "EwmaDriftTable",
    "EwmaPath",
    "FalseAlarmBudget",
    "ICCResult",
    "Lean",
    "OwnDrift",
    "OwnDriftTable",
    "PairwiseMatrix",
    "PassDecision",
    "PassRule",
    "PassRuleDrift",
    "PoolSigma",
    "Proportion",
    "RatingMatrix",
    "RoundAlpha",
    "RoundReport",
    "RuleCheck",
    "SelfStartPath",
    "ValuePatterns",
    "accuracy",
    "accuracy_arrays",
    "accuracy_by_rater",
    "accuracy_drop",
    "alpha_label",
    "anchor_summary",
    "below_pass_rule",
    "bootstrap_units",
    "brennan_prediger",
    "category_counts",
    "change_sentence",
    "clearly_below",
    "cohen_kappa",
    "cohen_kappa_from_table",
    "cohort_alpha_drift",
    "cohort_drift",
    "cohort_level_drift",
    "cohort_reliability",
    "confusion_by_group",
    "conger_kappa",
    "contingency_table",
    "cusum_arl",
    "cusum_false_alarm",
    "cusum_limit",
    "drift_sentence",
    "evaluate_pass_rule",
    "ewma_chart",
    "ewma_drift",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gwet_ac1",
    "icc",
    "icc_label",
    "interpret",
    "krippendorff_alpha",
    "lean",
    "light_kappa",
    "normal_interval",
    "pairwise_kappa_matrix",
    "pass_rule_drift",
    "percent_agreement",
    "percentile_interval",
    "pool_sigma",
    "round_alpha",
    "round_report",
    "scotts_pi",
    "self_starting_cusum",
    "self_starting_drift",
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

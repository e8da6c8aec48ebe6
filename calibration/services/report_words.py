"""Reports a trainer can read (issue 17, item 3): what each statistic measures in a few words (and in
a sentence for the "how to read this report" section), the earn cut named by its level, and each
failed check of the pass rule with its figures ("decision agreement 60% < 90%").

Pure wording over the rubric's levels and a :class:`~calibration.stats.passrule.PassDecision`;
nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..stats.passrule import PassDecision, PassRule, RuleCheck

__all__ = ["Measure", "ReportGuide", "check_text", "failed_checks", "report_guide"]

_SHARE_NAMES = {
    "exact": "exact agreement",
    "adjacent": "exact-or-adjacent agreement",
    "decision": "decision agreement",
}


@dataclass(frozen=True)
class Measure:
    """A statistic's name, a few words beside it, and a sentence for the reading guide."""

    name: str
    short: str
    long: str


@dataclass(frozen=True)
class ReportGuide:
    """The wording of one report: per-statistic notes, the earn cut by name, and whether the scale
    has an "adjacent" (a two-level scale has none)."""

    measures: Mapping[str, Measure]
    earn_cut: str
    two_levels: bool
    level_of_measurement: str

    def __getitem__(self, key: str) -> Measure:
        return self.measures[key]

    def failed(self, decision: PassDecision | None) -> list[str]:
        return failed_checks(decision)


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def check_text(check: RuleCheck) -> str:
    """One check with its figures, short: "decision agreement 60% < 90%", "2 scores two or more
    levels off > 1 allowed". A share just under its minimum keeps two decimals, so it never reads
    "70% < 70%"."""
    if check.name in _SHARE_NAMES and isinstance(check.observed, float | int):
        seen, need = _percent(float(check.observed)), _percent(float(check.threshold))
        if seen == need and check.passed is False:
            seen = f"{100 * float(check.observed):.2f}%"
        sign = "≥" if check.passed else "<"
        return f"{_SHARE_NAMES[check.name]} {seen} {sign} {need}"
    if check.name == "discrepant" and check.observed is not None:
        n = int(check.observed)
        return (
            f"{n} score{'s' if n != 1 else ''} two or more levels off "
            f"{'≤' if check.passed else '>'} {int(check.threshold)} allowed"
        )
    return check.message


def failed_checks(decision: PassDecision | None) -> list[str]:
    """The checks that failed, each with its figures (empty unless the outcome is "fail")."""
    if decision is None or decision.outcome != "fail":
        return []
    return [check_text(c) for c in decision.checks if c.passed is False and c.applicable]


def report_guide(
    *,
    level_labels: Mapping[int, str],
    earn_cut: int | None,
    level_of_measurement: str,
    rule: PassRule,
) -> ReportGuide:
    """The notes beside each statistic for a rubric with these levels and earn cut."""
    levels = list(level_labels)
    two = len(levels) <= 2
    if earn_cut is None:
        cut = "this rubric has no earn cut, so there is no decision agreement"
        cut_short = "no earn cut"
    else:
        label = level_labels.get(earn_cut, "")
        higher = [lv for lv in levels if lv >= earn_cut]
        named = f"level {earn_cut} “{label}”" if label else f"level {earn_cut}"
        cut = (
            f"the earn cut is {named}: a score of {named}"
            + (" or higher" if len(higher) > 1 else "")
            + " counts as demonstrated (earned)"
        )
        cut_short = f"same side of the earn cut, {named}"
    lom = level_of_measurement
    ordinal = lom == "ordinal"
    m = {
        "exact": Measure(
            "Exact",
            "same level as the key",
            "Exact agreement: the share of criterion-scores at exactly the key's level. Only exact matches "
            "count; a score one level off is a miss. No correction for chance.",
        ),
        "adjacent": Measure(
            "Exact or adjacent",
            "at most one level off the key",
            "Exact-or-adjacent agreement: the share of criterion-scores at most one level from the key.",
        ),
        "discrepant": Measure(
            "2+ levels off",
            "scores two or more levels off",
            "Scores two or more levels off: criterion-scores far from the key (the pass rule allows "
            f"{rule.max_discrepant}).",
        ),
        "msd": Measure(
            "Mean signed deviation",
            "levels above (+, lenient) or below (−, severe) the key",
            "Mean signed deviation: the average of the assessor's level minus the key's, in levels. "
            "Positive means more lenient than the key, negative more severe. Lenient or severe is said "
            "only when the whole interval is on one side of 0.",
        ),
        "wkappa": Measure(
            "Weighted κ vs key",
            "ordinal, corrected for chance",
            "Quadratic-weighted kappa against the key: ordinal (a near miss costs less than a far one) and "
            "corrected for the agreement chance alone would give; 1 is perfect, 0 is chance level.",
        ),
        "decision": Measure(
            "Decision agreement",
            cut_short,
            f"Decision agreement at the earn cut: the share of criterion-scores on the same side of the "
            f"earn cut as the key, where {cut}.",
        ),
        "outcome": Measure(
            "Under the pass rule",
            "every check of the rule in force",
            "Under the pass rule: ✓ pass when every check is met; ✗ below the rule names each check that "
            "failed with its figures; “too few to judge” below the minimum evidence (no verdict).",
        ),
        "alpha": Measure(
            f"Krippendorff's α ({lom})",
            f"among assessors, {'ordinal: near misses count in part' if ordinal else lom}, chance-corrected",
            f"Krippendorff's alpha: agreement among the assessors (not with the key), on the rubric's "
            f"{lom} scale"
            + (" (a disagreement of one level counts less than one of three)" if ordinal else "")
            + ", corrected for chance; 1 is perfect, 0 is chance level. .800 or more is good, .667 to .800 "
            "tentative, below .667 unacceptable (Krippendorff).",
        ),
        "fleiss": Measure(
            "Fleiss' κ",
            "among assessors, exact matches only, chance-corrected",
            "Fleiss' kappa: agreement among the assessors counting exact matches only (any difference is "
            "a full disagreement), corrected for chance. On an ordinal rubric it is lower than alpha when "
            "the disagreements are near misses: a high alpha beside a low Fleiss' kappa means assessors "
            "are usually within a level of each other but often not on the same level.",
        ),
        "ac1": Measure(
            "Gwet's AC1",
            "among assessors, exact matches only, chance-corrected (stable when one level dominates)",
            "Gwet's AC1: like Fleiss' kappa it counts exact matches only, with a chance correction that "
            "stays stable when most scores fall on one level (where kappa can be low despite high "
            "agreement).",
        ),
        "pairwise": Measure(
            "Pairwise agreement",
            "share of assessor pairs giving the same level, no chance correction",
            "Pairwise agreement: the share of pairs of assessors who gave the same level to the same "
            "anchor and criterion, without a correction for chance.",
        ),
        "icc21": Measure(
            "ICC(2,1)",
            "one assessor's total scores, absolute agreement",
            "ICC(2,1): how well one assessor's total score per anchor agrees with the others' in absolute "
            "terms, relative to the spread between anchors (two-way random effects, single assessor). "
            "Below .50 poor, .50–.75 moderate, .75–.90 good, above .90 excellent (Koo & Li 2016).",
        ),
        "icc2k": Measure(
            "ICC(2,k)",
            "the mean of all k assessors' totals",
            "ICC(2,k): the same for the average of all k assessors' totals, the reliability of the "
            "panel's mean score; it is higher than ICC(2,1) when that is positive, and says nothing about one assessor alone.",
        ),
        "interval": Measure(
            "Interval",
            "95% interval",
            "Brackets after a number give its 95% interval: the range of values these scores are "
            "consistent with; with few scores it is wide. Percentages show (count/n; low–high%), a Wilson "
            "interval; alpha, kappas and AC1 a bootstrap interval over units; deviations and weighted κ their own 95% intervals.",
        ),
        "labels": Measure(
            "Labels",
            "decided on the interval",
            "A label is decided on the number and its interval, never on the number alone: where the "
            "interval crosses a boundary the label names both sides (e.g. “between tentative and good”), "
            "and below the minimum evidence there is no label, only “too few to judge”.",
        ),
    }
    if two:
        m["adjacent"] = Measure(
            "Exact or adjacent",
            "not applicable on two levels",
            "On a two-level scale there is no adjacent level: every score either matches the key or "
            "misses it, so exact-or-adjacent and two-or-more-levels-off are not shown.",
        )
    return ReportGuide(m, cut, two, lom)

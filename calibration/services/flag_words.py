"""Drift flags in plain words for trainers: what kind of finding a flag is (drift, lean, cohort), the
rule's stored parameters with their meaning, and its nominal false-alarm rate. Flags recorded before
issue 15 (EWMA, accuracy drop) keep their stored parameters and are explained the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..models import DriftFlag, EvidenceStream, FlagRule

#: What each rule finds, in one sentence.
RULE_MEANING = {
    FlagRule.OWN_DRIFT: (
        "Drift: the assessor's scores changed from their own earlier level over time (a self-starting "
        "CUSUM compares each round with the assessor's own earlier rounds, so a steady lean never "
        "triggers it)."
    ),
    FlagRule.PASS_RULE: (
        "A calibration round clearly below the pass rule: a share's whole interval lies below its minimum."
    ),
    FlagRule.LEAN: (
        "Lean, not drift: a steady severity or leniency against the key, decided on its interval "
        "against a material size. It is feedback and a certification matter; confirming it records "
        "that it was discussed and starts no recalibration."
    ),
    FlagRule.COHORT: (
        "Cohort agreement: the round's alpha is low, judged on its interval against the minimum and "
        "against the program's own earlier rounds."
    ),
    FlagRule.COHORT_LEVEL: (
        "Cohort drift: the whole cohort's scores moved against the key from its own earlier level."
    ),
    FlagRule.EWMA: (
        "Leniency or severity against the key by the EWMA rule used before issue 15. That rule does "
        "not tell a steady lean from a change over time."
    ),
    FlagRule.ACCURACY_DROP: (
        "Exact agreement far below the assessor's own baseline, by the rule used before issue 15."
    ),
    FlagRule.EXPIRY: "Certification expired: annual recalibration is due.",
}

#: Where a flag's evidence came from, in plain words ("Evidence: ...").
STREAM_WORDS = {
    EvidenceStream.CALIBRATION: "calibration rounds",
    EvidenceStream.OPERATIONAL: "second reads in live scoring",
    EvidenceStream.VALIDITY: "validity items in live scoring",
}
#: What the rule reads on a stream other than calibration rounds, added to its meaning.
STREAM_MEANING = {
    EvidenceStream.OPERATIONAL: (
        "In live scoring there is no key: the other reader of the same submission and criterion takes "
        "its place, and each calendar month takes the place of a round."
    ),
}


def stream_words(stream: EvidenceStream | None) -> str:
    """ "Evidence: second reads in live scoring" and the like."""
    return f"Evidence: {STREAM_WORDS[stream or EvidenceStream.CALIBRATION]}"


#: Plain labels of the stored parameters (issue 15's rules and issue 6's).
PARAMETER_WORDS = {
    "method": "Method",
    "k": "Reference value k (standard deviations a change must exceed per round)",
    "h": "Decision limit h (the CUSUM flags above it)",
    "prior_df": "Weight of the pool's spread, in degrees of freedom",
    "nominal_false_alarm": "Nominal false-alarm rate of this rule",
    "horizon_rounds": "Rounds the false-alarm rate is counted over",
    "budget_total": "False-alarm budget of all rules together",
    "criteria_sharing_budget": "Criteria sharing the per-criterion share of the budget",
    "min_anchors": "Fewest anchors in a round to judge it",
    "min_scores": "Fewest criterion-scores in a round to judge it",
    "sigma_per_sheet": "Spread of one score sheet's mean deviation in the pool (levels)",
    "sigma_by_criterion": "Spread per criterion in the pool (levels)",
    "sigma": "Spread in the certified pool",
    "window": "Latest rounds judged",
    "material": "Smallest lean that matters (levels)",
    "confidence": "Interval coverage",
    "interval": "Interval",
    "min_exact": "Minimum exact agreement",
    "min_adjacent": "Minimum exact-or-adjacent agreement",
    "min_decision": "Minimum decision agreement at the earn cut",
    "max_discrepant_criteria": "Most criterion-scores two or more levels off",
    "one_sided_level": "One-sided test level per round",
    "z": "Normal quantile of that level",
    "scale": "Scale of the test",
    "min_alpha": "Lowest acceptable alpha",
    "min_baseline_rounds": "Earlier rounds needed for a baseline",
    "lam": "EWMA weight of the latest round (lambda)",
    "L": "Control limit width L (standard deviations)",
    "min_shift": "Smallest shift flagged (levels)",
    "baseline": "Baseline rounds",
    "min_drop": "Smallest drop flagged",
    "alpha": "Test level",
    "max_drop": "Largest drop below the baseline allowed",
    "lowest": "Anchors and criteria named",
    "clear": "Only clear failures (interval wholly below)",
}
_PERCENT = {"nominal_false_alarm", "budget_total", "min_exact", "min_adjacent", "min_decision", "confidence"}
_HIDDEN = {"rule", "criterion"}


class _Line(Protocol):
    @property
    def flag(self) -> DriftFlag: ...


L = TypeVar("L", bound=_Line)


@dataclass(frozen=True)
class RuleWords:
    """A flag's rule explained: its kind, meaning, parameters as (label, value) and false-alarm rate."""

    kind: str  # "drift", "lean", "cohort", "expiry"
    meaning: str
    parameters: list[tuple[str, str]]
    false_alarm: str


def _value(name: str, v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Mapping):
        return "; ".join(
            f"{PARAMETER_WORDS.get(str(k), str(k)).lower()}: {_value(name, x)}" for k, x in v.items()
        )
    if isinstance(v, float):
        return f"{100 * v:.2f}%" if name in _PERCENT else f"{v:.4g}"
    if v is None:
        return "not used"
    return str(v)


def kind_of(rule: FlagRule) -> str:
    if rule == FlagRule.LEAN:
        return "lean"
    if rule in (FlagRule.COHORT, FlagRule.COHORT_LEVEL):
        return "cohort"
    if rule == FlagRule.EXPIRY:
        return "expiry"
    return "drift"


def false_alarm_sentence(rule: FlagRule, parameters: Mapping[str, Any]) -> str:
    rate = parameters.get("nominal_false_alarm")
    rounds = parameters.get("horizon_rounds")
    total = parameters.get("budget_total")
    who = "an all-stable cohort" if kind_of(rule) == "cohort" else "a stable assessor"
    if isinstance(rate, Mapping):
        rate = sum(float(x) for x in rate.values())
    if isinstance(rate, int | float) and rounds:
        out = (
            f"Nominal false-alarm rate: {who} is flagged by this rule at most {100 * float(rate):.1f}% of "
            f"the time over {int(rounds)} rounds"
        )
        return out + (
            f", within a budget of {100 * float(total):.0f}% for all rules together." if total else "."
        )
    if rule == FlagRule.LEAN:
        return "A lean is not in the false-alarm budget: it is decided on its interval, as feedback."
    if rule == FlagRule.EXPIRY:
        return "No false-alarm rate: the certification's expiry date decides."
    return (
        "No nominal false-alarm rate was stored: this flag was raised by a rule in use before the "
        "false-alarm budget (issue 15). Its parameters below are the ones it used."
    )


def rule_words(flag: DriftFlag) -> RuleWords:
    parameters: dict[str, Any] = json.loads(flag.parameters_json or "{}")
    rows = [
        (PARAMETER_WORDS.get(k, k), _value(k, v)) for k, v in sorted(parameters.items()) if k not in _HIDDEN
    ]
    meaning = RULE_MEANING[flag.rule]
    extra = STREAM_MEANING.get(flag.stream)
    if extra:
        meaning = f"{meaning} {extra}"
    return RuleWords(kind_of(flag.rule), meaning, rows, false_alarm_sentence(flag.rule, parameters))


def group_under_cohort(lines: Sequence[L]) -> list[tuple[L, list[L]]]:
    """Flags in list order, each with the individual drift flags raised in the same round as it when
    it is a cohort-level flag: those are shown under the cohort finding, not on their own."""
    cohort_rounds = {line.flag.round_id: line for line in lines if line.flag.rule == FlagRule.COHORT_LEVEL}
    nested: dict[int, list[L]] = {}
    for line in lines:
        f = line.flag
        if f.user_id is not None and kind_of(f.rule) == "drift" and f.rule != FlagRule.EXPIRY:
            owner = cohort_rounds.get(f.round_id)
            if owner is not None:
                nested.setdefault(owner.flag.id, []).append(line)
    inside = {id(x) for group in nested.values() for x in group}
    return [(line, nested.get(line.flag.id, [])) for line in lines if id(line) not in inside]

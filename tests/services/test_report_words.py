"""Issue 17, item 3: the words beside the report's statistics and the failed checks with figures."""

from __future__ import annotations

from calibration.services.report_words import check_text, failed_checks, report_guide
from calibration.stats.accuracy import accuracy
from calibration.stats.passrule import PassRule, RuleCheck, evaluate_pass_rule

LEVELS = {1: "Not yet evident", 2: "Emerging", 3: "Proficient", 4: "Exemplary"}


def test_failed_checks_name_each_check_with_its_figures() -> None:
    # 14 of 20 exact (70%), all within one level, 12 of 20 on the key's side of the earn cut (60%).
    given = [3] * 14 + [2] * 6
    key = [3] * 14 + [3] * 6
    result = accuracy(given, key, levels=list(LEVELS), earn_cut=3)
    decision = evaluate_pass_rule(result, PassRule(min_decision=0.8), n_anchors=5)
    assert decision.outcome == "fail"
    assert failed_checks(decision) == ["decision agreement 70% < 80%"]  # 70% exact meets the 70% rule


def test_a_share_just_under_its_minimum_never_reads_as_equal() -> None:
    check = RuleCheck("exact", 0.6996, 0.70, False, "")
    assert check_text(check) == "exact agreement 69.96% < 70%"
    assert (
        check_text(RuleCheck("discrepant", 2, 1, False, "")) == "2 scores two or more levels off > 1 allowed"
    )


def test_no_failed_checks_unless_the_outcome_is_a_fail() -> None:
    result = accuracy([3] * 3, [2] * 3, levels=list(LEVELS), earn_cut=3)
    decision = evaluate_pass_rule(result, PassRule(), n_anchors=3)
    assert decision.outcome == "too_few" and failed_checks(decision) == [] and failed_checks(None) == []


def test_the_guide_names_the_earn_cut_and_drops_adjacent_on_two_levels() -> None:
    guide = report_guide(level_labels=LEVELS, earn_cut=3, level_of_measurement="ordinal", rule=PassRule())
    assert guide["decision"].short == "same side of the earn cut, level 3 “Proficient”"
    assert "level 3 “Proficient” or higher counts as demonstrated" in guide.earn_cut
    assert "exact matches only" in guide["fleiss"].short and "ordinal" in guide["alpha"].short
    assert not guide.two_levels
    two = report_guide(
        level_labels={0: "Not yet", 1: "Demonstrated"},
        earn_cut=1,
        level_of_measurement="nominal",
        rule=PassRule(),
    )
    assert two.two_levels and "not applicable" in two["adjacent"].short
    assert "level 1 “Demonstrated” counts as demonstrated" in two.earn_cut  # no "or higher" at the top level
    none = report_guide(level_labels=LEVELS, earn_cut=None, level_of_measurement="ordinal", rule=PassRule())
    assert "no earn cut" in none.earn_cut

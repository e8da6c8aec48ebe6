"""The pass rule on scales of every length: exact agreement follows the scale, and checks that cannot
fail on a two-level scale are "not applicable", never met (DESIGN §6)."""

from __future__ import annotations

import pytest

from calibration.stats.accuracy import accuracy
from calibration.stats.passrule import (
    MIN_EXACT,
    MIN_EXACT_2_LEVELS,
    MIN_EXACT_3_LEVELS,
    evaluate_pass_rule,
    min_exact_for_scale,
)


@pytest.mark.parametrize("n_levels, expected", [(2, 0.90), (3, 0.80), (4, 0.70), (5, 0.70), (6, 0.70)])
def test_exact_minimum_follows_the_number_of_levels(n_levels, expected):
    assert min_exact_for_scale(n_levels) == pytest.approx(expected)
    assert (MIN_EXACT, MIN_EXACT_3_LEVELS, MIN_EXACT_2_LEVELS) == (0.70, 0.80, 0.90)


def test_a_scale_needs_two_levels():
    with pytest.raises(ValueError, match="at least 2 levels"):
        min_exact_for_scale(1)


def test_on_two_levels_adjacent_and_discrepant_are_not_applicable_even_when_every_score_misses():
    result = accuracy([0] * 20, [1] * 20, levels=[0, 1], earn_cut=1)  # every score a miss
    decision = evaluate_pass_rule(result, n_anchors=5)
    checks = {c.name: c for c in decision.checks}
    for name in ("adjacent", "discrepant"):
        assert checks[name].applicable is False and checks[name].passed is None
        assert "two-level scale" in checks[name].message
        assert "adjacent" not in checks[name].message.lower()
    assert checks["exact"].passed is False and checks["exact"].applicable
    assert checks["decision"].passed is False
    assert decision.outcome == "fail"
    assert "adjacent" not in decision.message.lower()


def test_on_three_levels_every_check_can_fail_and_applies():
    result = accuracy([1] * 18 + [3] * 2, [1] * 18 + [1] * 2, levels=[1, 2, 3], earn_cut=2)
    checks = {c.name: c for c in evaluate_pass_rule(result, n_anchors=5).checks}
    assert all(c.applicable for c in checks.values())
    assert checks["discrepant"].passed is False  # two scores two levels off, one allowed
    assert checks["adjacent"].passed is False  # 90% within one level, 95% asked

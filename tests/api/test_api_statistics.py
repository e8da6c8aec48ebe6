"""The one converter of statistics results to the API's shape: an Estimate, a share (Proportion)
and the live scoring report's labelled Statistic each keep what is theirs; an assessor's accuracy
is its five statistics (all null before any score) and a pass decision keeps its checks."""

from __future__ import annotations

from calibration.services.operational_stats import Statistic
from calibration.stats.accuracy import accuracy as accuracy_of
from calibration.stats.passrule import PassDecision, RuleCheck
from calibration.stats.results import Estimate, Proportion
from calibration.web.api.statistics import accuracy, decision_out, statistic


def test_an_estimate_keeps_its_method_and_sample_sizes() -> None:
    est = Estimate(
        "krippendorff_alpha_ordinal",
        0.8,
        ci_low=0.7,
        ci_high=0.9,
        ci_method="bootstrap",
        n_units=12,
        n_raters=3,
    )
    out = statistic(est, "good")
    assert (out.method, out.value, out.ci_low, out.ci_high, out.ci_method) == (
        "krippendorff_alpha_ordinal",
        0.8,
        0.7,
        0.9,
        "bootstrap",
    )
    assert (out.n_units, out.n_raters, out.count, out.label, out.confidence) == (12, 3, None, "good", 0.95)


def test_a_share_is_a_proportion_with_its_count_and_a_wilson_interval() -> None:
    out = statistic(Proportion(count=13, n=20, p=0.65, ci_low=0.43, ci_high=0.82))
    assert (out.method, out.ci_method, out.n_units, out.n_raters, out.count) == (
        "proportion",
        "wilson",
        20,
        None,
        13,
    )
    assert out.value == 0.65 and out.label is None


def test_a_labelled_statistic_keeps_its_own_method_count_and_label() -> None:
    # It has a `count` like a share, but it is not turned into a "proportion".
    s = Statistic("exact_agreement", 0.5, 0.4, 0.6, "wilson", n=40, count=20, label="moderate", reason=None)
    out = statistic(s)
    assert (out.method, out.ci_method, out.n_units, out.n_raters, out.count) == (
        "exact_agreement",
        "wilson",
        40,
        None,
        20,
    )
    assert out.label == "moderate" and out.value == 0.5
    kappa = statistic(Statistic("weighted_kappa", None, None, None, None, n=3, reason="too few pairs"))
    assert (kappa.value, kappa.count, kappa.label, kappa.reason) == (None, None, None, "too few pairs")


def test_numbers_that_are_not_finite_become_null() -> None:
    s = Statistic("mean_signed_difference", float("nan"), float("-inf"), float("inf"), "t", n=5)
    out = statistic(s)
    assert (out.value, out.ci_low, out.ci_high) == (None, None, None)
    assert '"value":null,"ci_low":null,"ci_high":null' in out.model_dump_json()


def test_a_decision_keeps_each_check_and_none_stays_none() -> None:
    assert decision_out(None) is None
    decision = PassDecision(
        "too_few",
        (
            RuleCheck("exact", 0.65, 0.7, False, "65% exact is below 70%"),
            RuleCheck("discrepant", float("nan"), 0, None, "not applicable", applicable=False),
        ),
        "Too few scores to judge.",
    )
    out = decision_out(decision)
    assert out is not None and (out.outcome, out.message) == ("too_few", "Too few scores to judge.")
    assert [(c.name, c.observed, c.threshold, c.passed, c.applicable) for c in out.checks] == [
        ("exact", 0.65, 0.7, False, True),
        ("discrepant", None, 0.0, None, False),
    ]


def test_accuracy_is_five_statistics_with_the_lean_on_the_signed_deviation() -> None:
    assert accuracy(None, "lenient") == {
        "exact": None,
        "adjacent": None,
        "discrepant": None,
        "mean_signed_deviation": None,
        "weighted_kappa": None,
    }
    result = accuracy_of([1, 2, 3, 4, 4, 2], [1, 2, 3, 3, 2, 3], levels=[1, 2, 3, 4])
    out = accuracy(result, "lenient")
    assert out["exact"] == statistic(result.exact) and out["exact"] is not None
    assert out["exact"].count == 3 and out["exact"].n_units == 6
    assert out["discrepant"] == statistic(result.discrepant)
    assert out["adjacent"] == statistic(result.adjacent)
    assert out["weighted_kappa"] == statistic(result.weighted_kappa)
    assert out["mean_signed_deviation"] == statistic(result.mean_signed_deviation, "lenient")
    assert out["mean_signed_deviation"] is not None and out["mean_signed_deviation"].label == "lenient"

"""The pass rule: pass, fail or "too few to judge" for one assessor's accuracy in a round (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from calibration.stats._accuracy_results import AccuracyResult
from calibration.stats._checks import _EPS
from calibration.stats.labels import MIN_ANCHORS, MIN_SCORES
from calibration.stats.results import Proportion, _percent

__all__ = [
    "MAX_DISCREPANT",
    "MIN_ADJACENT",
    "MIN_DECISION",
    "MIN_EXACT",
    "MIN_EXACT_2_LEVELS",
    "MIN_EXACT_3_LEVELS",
    "PassDecision",
    "PassRule",
    "RuleCheck",
    "clearly_below",
    "evaluate_pass_rule",
    "min_exact_for_scale",
]

#: Qualification pass rule defaults (DESIGN §6); the only place these numbers are written.
#: Exact agreement with the key, as a fraction.
MIN_EXACT = 0.70
#: Exact agreement on a three-level scale (80%) and on a two-level scale (90%): a shorter scale
#: matches by chance more often, so it asks for more (NAEP's bars by number of score points).
MIN_EXACT_3_LEVELS = 0.80
MIN_EXACT_2_LEVELS = 0.90
#: Exact-or-adjacent agreement with the key, as a fraction.
MIN_ADJACENT = 0.95
#: Most criterion-scores allowed two or more levels off the key.
MAX_DISCREPANT = 1
#: Decision agreement at the earn cut, as a fraction.
MIN_DECISION = 0.90


@dataclass(frozen=True)
class PassRule:
    """The qualification pass rule (DESIGN §6 defaults); shares are fractions, limits are inclusive."""

    min_exact: float = MIN_EXACT
    min_adjacent: float = MIN_ADJACENT
    max_discrepant: int = MAX_DISCREPANT
    min_decision: float = MIN_DECISION
    min_anchors: int = MIN_ANCHORS
    min_scores: int = MIN_SCORES


def min_exact_for_scale(
    n_levels: int,
    *,
    four_or_more: float = MIN_EXACT,
    three: float = MIN_EXACT_3_LEVELS,
    two: float = MIN_EXACT_2_LEVELS,
) -> float:
    """The exact-agreement minimum for a scale of ``n_levels`` levels (DESIGN §6).

    Parameters
    ----------
    n_levels : int
        Number of levels of the rubric's scale (at least 2).
    four_or_more, three, two : float
        The minimum for scales of four or more levels, of three levels and of two levels.

    Returns
    -------
    float

    References
    ----------
    NAEP scoring practice: exact >= 70% for 4-6 point items, 80% for 3-point and 90% for 2-point items.

    Examples
    --------
    >>> min_exact_for_scale(4), min_exact_for_scale(3), min_exact_for_scale(2)
    (0.7, 0.8, 0.9)
    """
    if n_levels < 2:
        raise ValueError(f"a scale needs at least 2 levels, got {n_levels}")
    return two if n_levels == 2 else three if n_levels == 3 else four_or_more


@dataclass(frozen=True)
class RuleCheck:
    """One line of a pass decision; ``passed`` is None when the check could not be made.

    ``applicable`` is False for a check that cannot fail on the rubric's scale (on two levels no
    score is one level off without being a full miss, and none is two levels off): ``passed`` is
    None then, and the check is shown "not applicable", never "met".
    """

    name: str
    observed: float | int | None
    threshold: float | int
    passed: bool | None
    message: str
    applicable: bool = True


@dataclass(frozen=True)
class PassDecision:
    """``outcome`` is "pass", "fail" or "too_few" (too few to judge), with every check behind it."""

    outcome: Literal["pass", "fail", "too_few"]
    checks: tuple[RuleCheck, ...]
    message: str


def _share_check(name: str, label: str, share: Proportion, minimum: float) -> RuleCheck:
    if share.p is None:
        return RuleCheck(name, None, minimum, None, f"{label} not checked: no scores")
    # Compare counts, not rounded shares, so a share exactly at the threshold passes.
    passed = share.count - minimum * share.n >= -_EPS * max(share.n, 1)
    seen, need = _percent(share.p), _percent(minimum)
    if not passed and seen == need:  # e.g. 69.96% must not print as "70% is below 70%"
        seen = f"{100 * share.p:.2f}%"
    verb = "meets" if passed else "is below"
    return RuleCheck(
        name,
        share.p,
        minimum,
        passed,
        f"{label} {seen} ({share.count} of {share.n}) {verb} the {need} required",
    )


def evaluate_pass_rule(
    result: AccuracyResult, rule: PassRule | None = None, *, n_anchors: int
) -> PassDecision:
    """Decide pass, fail or "too few to judge" for one assessor's accuracy in a round.

    Checks, each inclusive: exact agreement ``>= rule.min_exact``; adjacent-or-better
    ``>= rule.min_adjacent``; at most ``rule.max_discrepant`` criterion-scores two or more levels off;
    decision agreement at the earn cut ``>= rule.min_decision`` (not checked when the rubric has no earn
    cut). Minimum evidence comes first: fewer than ``rule.min_anchors`` anchors or fewer than
    ``rule.min_scores`` criterion-scores gives "too_few", never pass or fail (the other checks are still
    listed for information).

    Parameters
    ----------
    result : AccuracyResult
        The assessor's overall accuracy for the round.
    rule : PassRule, optional
        Thresholds; DESIGN §6 defaults when omitted.
    n_anchors : int
        Number of distinct anchors the assessor scored.

    Returns
    -------
    PassDecision

    References
    ----------
    NAEP scoring practice (exact >= 70% for 4-6 point items); DESIGN §6.

    Examples
    --------
    >>> from calibration.stats.accuracy import accuracy
    >>> r = accuracy([1] * 14 + [2] * 6, [1] * 20, levels=[1, 2, 3, 4])
    >>> d = evaluate_pass_rule(r, PassRule(min_adjacent=0.9), n_anchors=5)
    >>> d.outcome, d.checks[1].message
    ('pass', 'Exact agreement 70% (14 of 20) meets the 70% required')
    """
    rule = PassRule() if rule is None else rule
    n = result.n
    enough = n_anchors >= rule.min_anchors and n >= rule.min_scores
    if enough:
        text = (
            f"{n_anchors} anchors and {n} criterion-scores meet the minimum of {rule.min_anchors} anchors "
            f"and {rule.min_scores} criterion-scores"
        )
    else:
        short = []
        if n_anchors < rule.min_anchors:
            short.append(f"{n_anchors} anchor{'' if n_anchors == 1 else 's'} ({rule.min_anchors} needed)")
        if n < rule.min_scores:
            short.append(f"{n} criterion-score{'' if n == 1 else 's'} ({rule.min_scores} needed)")
        text = " and ".join(short)
    evidence = RuleCheck("evidence", n, rule.min_scores, enough, text)
    checks = [evidence, _share_check("exact", "Exact agreement", result.exact, rule.min_exact)]
    d = result.discrepant.count
    if len(result.levels) <= 2:
        # On two levels a miss is a full miss: "within one level" always holds and nothing is two off.
        why = "on a two-level scale every score either matches the key or misses it"
        checks += [
            RuleCheck(
                "adjacent", result.adjacent.p, rule.min_adjacent, None, f"Within one level: {why}", False
            ),
            RuleCheck("discrepant", d, rule.max_discrepant, None, f"Two or more levels off: {why}", False),
        ]
    else:
        checks.append(
            _share_check("adjacent", "Exact-or-adjacent agreement", result.adjacent, rule.min_adjacent)
        )
        checks.append(
            RuleCheck(
                "discrepant",
                d,
                rule.max_discrepant,
                d <= rule.max_discrepant if n else None,
                f"{d} criterion-score{' is' if d == 1 else 's are'} two or more levels off the key "
                f"({rule.max_discrepant} allowed)",
            )
        )
    if result.decision is None:
        checks.append(
            RuleCheck(
                "decision",
                None,
                rule.min_decision,
                None,
                "Decision agreement not checked: the rubric has no earn cut",
            )
        )
    else:
        checks.append(
            _share_check(
                "decision", "Decision agreement at the earn cut", result.decision.agreement, rule.min_decision
            )
        )
    if not enough:
        return PassDecision("too_few", tuple(checks), "Too few to judge: " + evidence.message)
    failed = [c for c in checks[1:] if c.passed is False]
    if failed:
        return PassDecision("fail", tuple(checks), "; ".join(c.message for c in failed))
    return PassDecision("pass", tuple(checks), "Meets every part of the pass rule")


def clearly_below(result: AccuracyResult, rule: PassRule | None = None) -> bool:
    """Whether a failed pass rule is beyond sampling noise: a share's whole 95% interval below its minimum.

    One calibration round is a small sample: an assessor whose long-run exact agreement is 82%
    scores under 70% in some 32-score round by chance alone, so "below the pass rule in a round" on
    its own flags nearly every stable assessor over a career (``bench/drift_sim.py``). Requiring the
    Wilson interval of exact, exact-or-adjacent or decision agreement to lie wholly below its
    threshold keeps the rule for failures the evidence actually shows.

    Parameters
    ----------
    result : AccuracyResult
        The assessor's overall accuracy in the round.
    rule : PassRule, optional
        Thresholds; DESIGN §6 defaults when omitted.

    Returns
    -------
    bool

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22(158), 209-212. DESIGN §6 (pass rule).

    Examples
    --------
    >>> from calibration.stats.accuracy import accuracy
    >>> near = accuracy([1] * 21 + [2] * 11, [1] * 32, levels=[1, 2, 3, 4])  # 66% exact: fails the rule
    >>> far = accuracy([1] * 10 + [2] * 22, [1] * 32, levels=[1, 2, 3, 4])  # 31% exact
    >>> clearly_below(near), clearly_below(far)
    (False, True)
    """
    rule = PassRule() if rule is None else rule
    shares = [(result.exact, rule.min_exact), (result.adjacent, rule.min_adjacent)]
    if result.decision is not None:
        shares.append((result.decision.agreement, rule.min_decision))
    return any(p.ci_high is not None and p.ci_high < minimum for p, minimum in shares)

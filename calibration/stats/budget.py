"""One false-alarm budget for every drift rule (DESIGN §6, issue 15).

An in-control assessor (stable, whatever their constant lean) is exposed to several rules; a trainer
sees all their flags together. The budget is the nominal probability that *any* of them flags such an
assessor at least once in ``BUDGET_ROUNDS`` calibration rounds, split among the rules below
(Bonferroni: the rates add up to at most the total, whatever the dependence between the rules). Each
rule turns its share into its limit (a CUSUM's ``h`` from its run-length distribution, an interval's
confidence from the number of rounds it is tested in) and stores the share with every flag.

The cohort rules have their own budget of the same size, for an all-stable program over the same rounds.
The lean rule is not in the budget: a lean is not a drift flag but a finding about a stable level
(feedback and certification), decided on an interval against a material size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "ASSESSOR_BUDGET",
    "BUDGET_ROUNDS",
    "COHORT_BUDGET",
    "FALSE_ALARM_BUDGET",
    "FalseAlarmBudget",
]

#: Most stable assessors (or all-stable programs) any rule may flag over ``BUDGET_ROUNDS`` rounds.
FALSE_ALARM_BUDGET = 0.05
#: The horizon of the budget: about a year of calibration rounds (DESIGN §6).
BUDGET_ROUNDS = 20


@dataclass(frozen=True)
class FalseAlarmBudget:
    """A false-alarm budget and its split: ``shares[rule]`` is the nominal probability that ``rule``
    flags an in-control assessor (or program) at least once in ``rounds`` rounds.

    ``total`` is the target; ``sum(shares) <= total`` leaves the remainder as a margin for what the
    nominal rates do not model (sigma estimated from a pool, discrete scores, approximate intervals).
    ``bench/drift_sim.py`` measures the combined rate in every simulated scenario.

    References
    ----------
    Issue 15; DESIGN §6 ("One false-alarm budget"). Bonferroni's inequality: P(any flag) <= the sum of
    the rules' rates.
    """

    total: float
    rounds: int
    shares: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", MappingProxyType(dict(self.shares)))
        if sum(self.shares.values()) > self.total + 1e-12:
            raise ValueError(
                f"the rules' shares add up to {sum(self.shares.values()):.4f}, more than the budget {self.total}"
            )

    def share(self, rule: str) -> float:
        """The nominal false-alarm rate of ``rule`` over the budget's rounds."""
        try:
            return self.shares[rule]
        except KeyError:
            raise ValueError(f"no budget share for rule {rule!r}; rules: {sorted(self.shares)}") from None

    def per_round(self, rule: str, tests_per_round: int = 1) -> float:
        """The rule's share spread over its rounds and tests per round (a one-sided test level)."""
        return self.share(rule) / (self.rounds * tests_per_round)

    def confidence(self, rule: str, tests_per_round: int = 1) -> float:
        """Two-sided confidence whose one-sided tail is :meth:`per_round` (for an interval rule)."""
        return 1.0 - 2.0 * self.per_round(rule, tests_per_round)


#: The assessor shares add up to 3.5% of the 5%, the cohort shares to 2.5%: the rest absorbs what the
#: nominal rates do not model (sigma estimated from a pool and from few rounds, discrete scores,
#: assessors whose level sits right at the pass rule, anchor means that are not quite normal).
#: ``bench/drift_sim.py`` (seed 20261206, 150 programs per scenario) measured the assessor rules at
#: 2.5-3.9% with this split, and the cohort rules at up to 6% with a 3.5% split (the cohort-level
#: CUSUM ran at about 1.6 times its nominal rate), hence the smaller cohort shares; every detection
#: target still holds (docs/statistics.md, "Drift, lean and one false-alarm budget").
#: Per assessor: drift of the overall signed deviation (self-starting CUSUM), drift on any one
#: criterion (one CUSUM per criterion, this share split equally among them) and a round clearly below
#: the pass rule (each of its checked shares tested at this share / (rounds x shares)).
ASSESSOR_BUDGET = FalseAlarmBudget(
    FALSE_ALARM_BUDGET,
    BUDGET_ROUNDS,
    {"drift_overall": 0.018, "drift_criterion": 0.012, "below_pass_rule": 0.005},
)
#: Per program: a change in the cohort's signed deviation (self-starting CUSUM), a round's alpha
#: clearly below .667, and a round's alpha clearly below the program's baseline.
COHORT_BUDGET = FalseAlarmBudget(
    FALSE_ALARM_BUDGET,
    BUDGET_ROUNDS,
    {"cohort_level": 0.01, "alpha_minimum": 0.005, "alpha_baseline": 0.01},
)

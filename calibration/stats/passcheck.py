"""A calibration round clearly below the pass rule, within the false-alarm budget (DESIGN §6, issue 15).

:func:`below_pass_rule` is rule (a) as the budget needs it: every (assessor, round) at once, each checked
share's interval at the budget's confidence, and criterion-scores on one score sheet treated as a cluster
(halo makes them agree with each other, so a plain Wilson interval is too narrow and flags too often).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats as sps

from calibration.stats._checks import _level_index, _py
from calibration.stats._drift_common import _check_count, _frozen_map, _rows, _ToDict
from calibration.stats.budget import ASSESSOR_BUDGET, FalseAlarmBudget
from calibration.stats.passrule import PassRule

__all__ = ["BelowPassRule", "below_pass_rule"]


@dataclass(frozen=True)
class BelowPassRule(_ToDict):
    """Rule (a) for one assessor: the rounds whose agreement is clearly below the pass rule.

    ``flagged_rounds`` maps each such round to the shares that were clearly below (``"exact"``,
    ``"adjacent"``, ``"decision"``); ``upper`` maps every judged round to each share's upper bound at
    the rule's confidence; ``too_few_rounds`` were below the minimum evidence. ``parameters`` carry the
    thresholds, the confidence and the nominal false-alarm rate.
    """

    rater: Hashable
    flagged_rounds: Mapping[Hashable, tuple[str, ...]]
    upper: Mapping[Hashable, Mapping[str, float]]
    too_few_rounds: tuple[Hashable, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flagged_rounds", _frozen_map(self.flagged_rounds))
        object.__setattr__(self, "upper", _frozen_map({k: _frozen_map(v) for k, v in self.upper.items()}))
        object.__setattr__(self, "parameters", _frozen_map(self.parameters))

    @property
    def flagged(self) -> bool:
        return bool(self.flagged_rounds)

    @property
    def first_round(self) -> Hashable | None:
        return next(iter(self.flagged_rounds), None)


def _wilson_upper(p: np.ndarray, n_eff: np.ndarray, z: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = p + z * z / (2 * n_eff)
        half = z * np.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
        return np.asarray((centre + half) / (1 + z * z / n_eff))


def below_pass_rule(
    rounds: Any,
    raters: Any,
    units: Any,
    values: Any,
    key: Any,
    *,
    levels: Any,
    earn_cut: Any = None,
    rule: PassRule | None = None,
    budget: FalseAlarmBudget = ASSESSOR_BUDGET,
) -> Mapping[Hashable, BelowPassRule]:
    """Rounds in which an assessor's agreement is clearly below the pass rule, at the budget's confidence.

    Per (assessor, round) and per checked share (exact ``>= rule.min_exact``, exact-or-adjacent
    ``>= rule.min_adjacent``, decision agreement at the earn cut ``>= rule.min_decision`` when there is
    one), the share's one-sided upper bound at level ``budget.per_round("below_pass_rule", shares)`` is
    a Wilson bound on the *effective* number of scores ``n / deff``, where the design effect
    ``deff = max(1, var_cluster / var_binomial)`` treats the round's score sheets as clusters (Kish
    1965; Korn & Graubard 1998). The round is clearly below when any share's bound is under its minimum.
    Rounds below the minimum evidence (``rule.min_anchors`` sheets, ``rule.min_scores`` criterion-scores)
    are never judged.

    Parameters
    ----------
    rounds, raters, units : array_like
        Round (ids sort in time order), assessor and anchor of each criterion-score.
    values, key : array_like
        The level given and the key level.
    levels : sequence
        The rubric's ordered levels.
    earn_cut : level, optional
        The lowest level that counts as demonstrated; without it decision agreement is not checked.
    rule : PassRule, optional
        Thresholds (DESIGN §6 defaults).
    budget : FalseAlarmBudget
        Uses the share ``"below_pass_rule"``.

    Returns
    -------
    Mapping
        Read-only ``{rater: BelowPassRule}``.

    References
    ----------
    Wilson (1927); Kish, L. (1965). *Survey Sampling*, Wiley, §8.2 (design effect). Korn, E. L., &
    Graubard, B. I. (1998). Confidence intervals for proportions with small expected number of positive
    counts estimated from survey data. *Survey Methodology* 24, 193-201.

    Examples
    --------
    Two assessors, one round of eight anchors x four criteria; assessor 2 is two levels off on half:

    >>> key = np.tile([1, 2, 3, 4], 16)
    >>> given = np.concatenate([key[:32], np.where(np.arange(32) % 2 == 0, np.clip(key[32:] - 2, 1, 4), key[32:])])
    >>> r = below_pass_rule(np.ones(64), np.repeat([1, 2], 32), np.tile(np.repeat(range(8), 4), 2),
    ...                     given, key, levels=[1, 2, 3, 4], earn_cut=3)
    >>> r[1].flagged, r[2].flagged_rounds[1.0]
    (False, ('adjacent',))
    """
    rule = PassRule() if rule is None else rule
    if not isinstance(budget, FalseAlarmBudget):
        raise ValueError(f"budget must be a FalseAlarmBudget, got {budget!r}")
    _check_count(min_anchors=rule.min_anchors, min_scores=rule.min_scores)
    p = _rows(rounds, raters, units, values, key, levels, None)
    lv = np.asarray(levels)
    cut = None if earn_cut is None else int(_level_index(np.array([earn_cut]), lv, what="earn cut")[0])
    names = ["exact", "adjacent"] + ([] if cut is None else ["decision"])
    minima = [rule.min_exact, rule.min_adjacent] + ([] if cut is None else [rule.min_decision])
    level = budget.per_round("below_pass_rule", len(names))
    z = float(sps.norm.isf(level))
    hits = [p.d == 0, np.abs(p.d) <= 1]
    if cut is not None:
        ki = _level_index(key, lv, what="key level").astype(np.int64)
        hits.append((ki + p.d >= cut) == (ki >= cut))
    A, T = p.A, p.T
    cell = p.r.astype(np.int64) * T + p.t
    n_u = int(p.u.max()) + 1 if p.u.size else 1
    sheet_keys, inv = np.unique(cell * n_u + p.u, return_inverse=True)
    inv = inv.reshape(-1)
    sheet_cell = sheet_keys // n_u
    n_s = np.bincount(inv).astype(float)
    n = np.bincount(sheet_cell, weights=n_s, minlength=A * T)
    m = np.bincount(sheet_cell, minlength=A * T).astype(float)
    judged = (n >= rule.min_scores) & (m >= rule.min_anchors)
    uppers = []
    for hit in hits:
        e_s = np.bincount(inv, weights=hit.astype(float))
        e = np.bincount(sheet_cell, weights=e_s, minlength=A * T)
        with np.errstate(divide="ignore", invalid="ignore"):
            ph = e / n
            ss = np.bincount(sheet_cell, weights=(e_s - ph[sheet_cell] * n_s) ** 2, minlength=A * T)
            var_c = m / (m - 1) * ss / n**2
            var_b = ph * (1 - ph) / n
            deff = np.where(var_b > 0, np.maximum(1.0, var_c / var_b), 1.0)
        uppers.append(_wilson_upper(ph, n / deff, z))
    up = np.stack(uppers).reshape(len(names), A, T)
    below = judged.reshape(A, T)[None] & (up < np.array(minima)[:, None, None])
    obs = (n > 0).reshape(A, T)
    jd = judged.reshape(A, T)
    rid = [_py(v) for v in p.round_ids]
    params = {
        "rule": "below_pass_rule",
        "min_exact": rule.min_exact,
        "min_adjacent": rule.min_adjacent,
        "min_decision": rule.min_decision if cut is not None else None,
        "one_sided_level": level,
        "z": z,
        "nominal_false_alarm": budget.share("below_pass_rule"),
        "horizon_rounds": budget.rounds,
        "min_anchors": rule.min_anchors,
        "min_scores": rule.min_scores,
        "interval": "Wilson on the effective sample size (score sheets as clusters)",
    }
    out: dict[Hashable, BelowPassRule] = {}
    for a in range(A):
        flagged = {
            rid[t]: tuple(nm for i, nm in enumerate(names) if below[i, a, t])
            for t in np.flatnonzero(below[:, a].any(axis=0))
        }
        upper = {
            rid[t]: {nm: float(up[i, a, t]) for i, nm in enumerate(names)} for t in np.flatnonzero(jd[a])
        }
        out[_py(p.rater_ids[a])] = BelowPassRule(
            rater=_py(p.rater_ids[a]),
            flagged_rounds=flagged,
            upper=upper,
            too_few_rounds=tuple(rid[t] for t in np.flatnonzero(obs[a] & ~jd[a])),
            parameters=params,
        )
    return MappingProxyType(out)

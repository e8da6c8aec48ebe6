"""The cohort rules of issue 15, computed from stored scores into findings (nothing is written):

* ``cohort`` (alpha): a round's Krippendorff alpha decided on its interval against the minimum (.667)
  and against the program's baseline (:func:`calibration.stats.cohort.cohort_alpha_drift`, with
  each round's jackknife SE over anchors from :func:`~calibration.stats.cohort.round_alpha`);
* ``cohort_level``: the whole cohort's signed deviation moving from its own earlier level
  (:func:`calibration.stats.cohort.cohort_level_drift`).

Both share the program's cohort false-alarm budget, judge only rounds every assigned assessor has
finished (or closed), and name the anchors and criteria with the lowest agreement in the round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Anchor, Assignment, FlagRule, Round, RoundStatus
from ..stats.cohort import cohort_alpha_drift, cohort_level_drift, round_alpha
from ..stats.reliability import krippendorff_alpha
from .drift_own import false_alarm_words
from .drift_rules import finished_sheets
from .drift_series import Finding, Series
from .policy import DriftPolicy
from .rules import level_of_measurement
from .score_rows import label_id


def complete_rounds(session: Session, series: Series) -> list[int]:
    """Positions of the rounds that every assigned assessor finished, or that are closed."""
    assigned = dict(
        session.execute(
            select(Assignment.round_id, func.count())
            .where(Assignment.round_id.in_(series.round_ids))
            .group_by(Assignment.round_id)
        ).all()
    )
    done: dict[int, int] = {}
    for _, rid in finished_sheets(session, series.round_ids):
        done[rid] = done.get(rid, 0) + 1
    closed = set(
        session.scalars(
            select(Round.id).where(Round.id.in_(series.round_ids), Round.status == RoundStatus.CLOSED)
        )
    )
    present = set(np.unique(series.pos).tolist())
    return [
        p
        for p, rid in enumerate(series.round_ids)
        if p in present
        and (rid in closed or (assigned.get(rid, 0) > 0 and done.get(rid, 0) >= assigned.get(rid, 0)))
    ]


@dataclass(frozen=True)
class _WeakSpots:
    anchors: list[tuple[int, float]]
    criteria: list[tuple[int, float]]
    anchor_words: list[str]
    criterion_words: list[str]

    @property
    def prompt(self) -> str:
        return (
            "Review the anchors with the lowest agreement: "
            + (", ".join(self.anchor_words) or "none")
            + "; and the criteria: "
            + (", ".join(self.criterion_words) or "none")
            + "."
        )


def _weak_spots(
    series: Series,
    in_round: np.ndarray,
    lowest: int,
    anchor_titles: Mapping[int, str],
    titles: Mapping[int, str],
) -> _WeakSpots:
    levels = series.rubric.level_values
    lom = level_of_measurement(series.rubric.level_of_measurement)
    crit: list[tuple[int, float]] = []
    for c in sorted(set(series.criterion[in_round].tolist())):
        m = in_round & (series.criterion == c)
        a = krippendorff_alpha(
            series.anchor[m], series.assessor[m], series.level[m], levels=levels, level_of_measurement=lom
        ).value
        if a is not None:
            crit.append((int(c), float(a)))
    anchors = [
        (int(x), float(np.mean(series.level[m] == series.key[m])))
        for x in sorted(set(series.anchor[in_round].tolist()))
        for m in [in_round & (series.anchor == x)]
    ]
    weak_a = sorted(anchors, key=lambda t: (t[1], t[0]))[:lowest]
    weak_c = sorted(crit, key=lambda t: (t[1], t[0]))[:lowest]
    return _WeakSpots(
        weak_a,
        weak_c,
        [f"“{anchor_titles.get(i, i)}” ({v:.0%} exact)" for i, v in weak_a],
        [f"“{titles.get(i, i)}” (alpha {v:.2f})" for i, v in weak_c],
    )


def cohort_findings(
    session: Session,
    series: Series,
    cfg: DriftPolicy,
    titles: Mapping[int, str],
    only_round: int | None,
    *,
    set_apart: frozenset[int] = frozenset(),
) -> list[Finding]:
    """Both cohort rules over the complete rounds; a finding for each flagged round (or ``only_round``).

    ``set_apart``: assessors flagged on their own in the same evaluation, a minority of the cohort;
    the cohort-level rule judges the cohort's level without them (their own flags say it already)."""
    positions = complete_rounds(session, series)
    if not positions:
        return []
    if only_round is not None and (
        only_round not in series.round_ids or series.round_ids.index(only_round) not in positions
    ):
        return []  # a sheet of a round not yet complete: nothing to judge (and no jackknife to run)
    budget = cfg.cohort_budget
    levels = series.rubric.level_values
    lom = level_of_measurement(series.rubric.level_of_measurement)
    rows = np.isin(series.pos, np.asarray(positions, dtype=np.int64))
    per_round = []
    for p in positions:
        m = series.pos == p
        per_round.append(
            round_alpha(
                series.anchor[m] * 1_000_003 + series.criterion[m],
                series.assessor[m],
                series.level[m],
                series.anchor[m],
                levels=levels,
                level_of_measurement=lom,
            )
        )
    alpha = cohort_alpha_drift(
        [r.value for r in per_round],
        [r.se for r in per_round],
        dfs=[r.df for r in per_round],
        n_anchors=[r.n_anchors for r in per_round],
        n_scores=[r.n_scores for r in per_round],
        rounds=positions,
        min_alpha=float(cfg.cohort_min_alpha),
        budget=budget,
        min_baseline_rounds=int(cfg.cohort_min_baseline_rounds),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    level = None  # a share of 0 turns the rule off (its limit would be infinite)
    if budget.share("cohort_level") > 0:
        if set_apart:
            rows = rows & ~np.isin(series.assessor, np.fromiter(set_apart, dtype=np.int64))
        level = cohort_level_drift(
            series.pos[rows],
            series.assessor[rows],
            series.anchor[rows],
            series.level[rows],
            series.key[rows],
            levels=levels,
            k=float(cfg.drift_k),
            budget=budget,
            min_anchors=int(cfg.min_anchors),
            min_scores=int(cfg.min_scores),
        )
    anchor_titles = dict(
        session.execute(
            select(Anchor.id, Anchor.title).where(Anchor.program_id == series.rubric.program_id)
        ).all()
    )
    out: list[Finding] = []
    lowest = int(cfg.cohort_lowest)
    index = {p: i for i, p in enumerate(positions)}
    for pos, triggers in alpha.flagged_rounds.items():
        p = label_id(pos)
        rid = series.round_ids[p]
        if only_round is not None and rid != only_round:
            continue
        i = index[p]
        weak = _weak_spots(series, series.pos == p, lowest, anchor_titles, titles)
        out.append(_alpha_finding(series, cfg, alpha, i, p, list(triggers), weak))
    if level is not None and level.flagged and level.first_round is not None:
        p = label_id(level.first_round)
        rid = series.round_ids[p]
        if only_round is None or rid == only_round:
            weak = _weak_spots(series, series.pos == p, lowest, anchor_titles, titles)
            out.append(_level_finding(series, level, p, weak))
    return out


def _alpha_finding(
    series: Series, cfg: DriftPolicy, alpha: Any, i: int, p: int, triggers: list[str], weak: _WeakSpots
) -> Finding:
    rid = series.round_ids[p]
    value, upper, baseline, floor = alpha.alphas[i], alpha.upper[i], alpha.baselines[i], alpha.floors[i]
    why = []
    if "below_minimum" in triggers and upper is not None:
        why.append(
            f"its whole interval is below the minimum of {float(cfg.cohort_min_alpha):.3f} "
            f"(upper bound {upper:.3f})"
        )
    if "below_baseline" in triggers and baseline is not None and floor is not None:
        why.append(
            f"it is below the lowest alpha the program's earlier rounds make plausible ({floor:.3f}; "
            f"baseline {baseline:.3f})"
        )
    parameters = dict(alpha.parameters)
    return Finding(
        rule=FlagRule.COHORT,
        user_id=None,
        criterion_id=None,
        round_id=rid,
        statistic="Krippendorff's alpha of the cohort in the round, judged on its interval",
        value=value,
        threshold=float(cfg.cohort_min_alpha) if "below_minimum" in triggers else floor,
        direction=None,
        window=[series.round_ids[label_id(r)] for r in alpha.rounds[: i + 1]],
        evidence={
            "round": rid,
            "alphas": list(alpha.alphas[: i + 1]),
            "ses": list(alpha.ses[: i + 1]),
            "upper": upper,
            "baseline": baseline,
            "floor": floor,
            "triggers": triggers,
            "too_few_rounds": [series.round_ids[label_id(r)] for r in alpha.too_few_rounds],
            "lowest_anchors": [[a, v] for a, v in weak.anchors],
            "lowest_criteria": [[c, v] for c, v in weak.criteria],
            "lowest_anchor_titles": weak.anchor_words,
            "lowest_criterion_titles": weak.criterion_words,
        },
        parameters=parameters,
        summary=(
            f"Cohort alpha {value:.3f} in “{series.round_names[rid]}”: "
            + " and ".join(why)
            + f" ({false_alarm_words(parameters, 'a stable cohort')}). "
            + weak.prompt
        ),
        assessor_text="",
        key_evidence={"round": rid},
    )


def _level_finding(series: Series, level: Any, p: int, weak: _WeakSpots) -> Finding:
    rid = series.round_ids[p]
    t = list(level.rounds).index(p)
    way = "higher" if level.direction == "lenient" else "lower"
    value = max(level.upper[t], level.lower[t])
    parameters = dict(level.parameters)
    return Finding(
        rule=FlagRule.COHORT_LEVEL,
        user_id=None,
        criterion_id=None,
        round_id=rid,
        statistic="Self-starting CUSUM of the cohort's mean signed deviation from the key",
        value=float(value),
        threshold=float(parameters["h"]),
        direction=level.direction,
        window=[series.round_ids[label_id(r)] for r in level.rounds[: t + 1]],
        evidence={
            "round": rid,
            "rounds": [series.round_ids[label_id(r)] for r in level.rounds],
            "means": list(level.means),
            "n_anchors": list(level.n_anchors),
            "n_scores": list(level.n_scores),
            "upper": list(level.upper),
            "lower": list(level.lower),
            "too_few_rounds": [series.round_ids[label_id(r)] for r in level.too_few_rounds],
            "lowest_anchors": [[a, v] for a, v in weak.anchors],
            "lowest_criteria": [[c, v] for c, v in weak.criteria],
            "lowest_anchor_titles": weak.anchor_words,
            "lowest_criterion_titles": weak.criterion_words,
        },
        parameters=parameters,
        summary=(
            f"Cohort drift: the whole cohort's scores moved {way} against the key than in its earlier "
            f"rounds; the CUSUM reached {value:.2f} against its limit {float(parameters['h']):.2f} in "
            f"“{series.round_names[rid]}” ({false_alarm_words(parameters, 'a stable cohort')}). "
            + weak.prompt
        ),
        assessor_text="",
        key_evidence={"round": rid, "rule": "cohort_level"},
    )

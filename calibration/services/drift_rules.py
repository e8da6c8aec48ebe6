"""The drift rules of DESIGN §6 shared by the assessor and cohort rules, computed from the stored
scores into findings (nothing is written): a calibration round clearly below the pass rule (within
the false-alarm budget), an expired certification, and what the rules read (finished sheets, the
restart after a reviewed flag).

The assessor's own drift and lean are in :mod:`.drift_own`, the cohort rules in :mod:`.drift_cohort`;
recording the findings as flags, and evaluating a program, in :mod:`calibration.services.drift`.
The issue-6 rules (EWMA, accuracy drop) no longer raise flags; their stored flags keep their
parameters and still render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    CertificationStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Membership,
    Role,
    Round,
    RoundAnchor,
    RoundStatus,
    ScoreSheet,
)
from ..stats.passcheck import below_pass_rule
from .drift_series import (
    Finding,
    Series,
)
from .policy import DriftPolicy
from .rules import pass_rule_from_json
from .score_rows import label_id

#: Rules whose reviewed flags restart the assessor's drift series after the flagged round.
ASSESSOR_RULES = (FlagRule.PASS_RULE, FlagRule.EWMA, FlagRule.ACCURACY_DROP, FlagRule.OWN_DRIFT)


# ------------------------------------------------------------------------------- assessor rules
def restart_positions(
    session: Session, program_id: int, series: Series, rules: Iterable[FlagRule] = ASSESSOR_RULES
) -> dict[int, int]:
    """Per assessor, the position of the last round covered by a reviewed flag of ``rules``."""
    position = {rid: i for i, rid in enumerate(series.round_ids)}
    out: dict[int, int] = {}
    for uid, rid in session.execute(
        select(DriftFlag.user_id, DriftFlag.round_id).where(
            DriftFlag.program_id == program_id,
            DriftFlag.rule.in_(list(rules)),
            DriftFlag.status != FlagStatus.OPEN,
            DriftFlag.round_id.in_(series.round_ids),
        )
    ).all():
        if uid is not None and rid in position:
            out[uid] = max(out.get(uid, -1), position[rid])
    return out


def _sheets(series: Series, rows: Iterable[int] | np.ndarray) -> list[int]:
    idx = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
    return sorted({int(s) for s in series.sheet[idx].tolist()}) if idx.size else []


def _rid(series: Series, positions: Iterable[Any]) -> list[int]:
    return [series.round_ids[int(p)] for p in positions]


def pass_rule_findings(
    session: Session,
    series: Series,
    current: Series,
    finished: set[tuple[int, int]],
    cfg: DriftPolicy,
) -> list[Finding]:
    """Rule (a) for each (assessor, round) finished: a share clearly below the round's stored pass
    rule at the false-alarm budget's confidence (:func:`calibration.stats.passcheck.below_pass_rule`)."""
    budget = cfg.assessor_budget
    if budget.share("below_pass_rule") <= 0:
        return []
    out = []
    rules = dict(
        session.execute(select(Round.id, Round.pass_rule_json).where(Round.id.in_(series.round_ids))).all()
    )
    for p in np.unique(current.pos).tolist():
        rid = series.round_ids[p]
        in_round = current.pos == p
        rule = pass_rule_from_json(rules[rid])
        results = below_pass_rule(
            current.pos[in_round],
            current.assessor[in_round],
            current.sheet[in_round],
            current.level[in_round],
            current.key[in_round],
            levels=series.rubric.level_values,
            earn_cut=series.rubric.earn_cut,
            rule=rule,
            budget=budget,
        )
        for rater, result in results.items():
            uid = label_id(rater)
            if (uid, rid) not in finished or not result.flagged:
                continue
            mine = in_round & (current.assessor == uid)
            sheets = _sheets(current, np.flatnonzero(mine))
            below = result.flagged_rounds[p]
            upper = dict(result.upper[p])
            observed = _shares(current, mine, series.rubric.level_values, series.rubric.earn_cut)
            failed = [
                f"{_SHARE_WORDS[s]} {observed[s]:.0%}, at most {upper[s]:.0%} at the rule's confidence, "
                f"below the minimum {float(getattr(rule, _SHARE_MIN[s])):.0%}"
                for s in below
            ]
            parameters = {
                **dict(result.parameters),
                **{k: getattr(rule, k) for k in rule.__dataclass_fields__},
            }
            out.append(
                Finding(
                    rule=FlagRule.PASS_RULE,
                    user_id=uid,
                    criterion_id=None,
                    round_id=rid,
                    statistic="Pass rule of a calibration round, judged on each share's upper bound",
                    value=observed["exact"],
                    threshold=rule.min_exact,
                    direction=None,
                    window=[rid],
                    evidence={
                        "round": rid,
                        "checks": failed,
                        "below": list(below),
                        "upper": upper,
                        "observed": observed,
                        "sheet_ids": sheets,
                    },
                    parameters=parameters,
                    summary=(
                        f"“{series.round_names[rid]}” clearly below the pass rule: " + "; ".join(failed) + "."
                    ),
                    assessor_text=(
                        f"In the calibration round “{series.round_names[rid]}” your scores were clearly "
                        "below the pass rule: " + "; ".join(failed) + "."
                    ),
                    key_evidence=sheets,
                )
            )
    return out


_SHARE_WORDS = {
    "exact": "exact agreement",
    "adjacent": "exact-or-adjacent agreement",
    "decision": "decision agreement at the earn cut",
}
_SHARE_MIN = {"exact": "min_exact", "adjacent": "min_adjacent", "decision": "min_decision"}


def _shares(current: Series, rows: np.ndarray, levels: list[int], earn_cut: int | None) -> dict[str, float]:
    """The observed shares the pass rule checks, on the assessor's criterion-scores in the round."""
    index = {v: i for i, v in enumerate(levels)}
    given = np.array([index[int(v)] for v in current.level[rows].tolist()])
    key = np.array([index[int(v)] for v in current.key[rows].tolist()])
    out = {"exact": float(np.mean(given == key)), "adjacent": float(np.mean(np.abs(given - key) <= 1))}
    if earn_cut is not None:
        cut = index[int(earn_cut)]
        out["decision"] = float(np.mean((given >= cut) == (key >= cut)))
    return out


def finished_sheets(session: Session, round_ids: list[int]) -> set[tuple[int, int]]:
    """(assessor, round) pairs with a sheet for every anchor of the round (or the round closed)."""
    n_anchors = dict(
        session.execute(
            select(RoundAnchor.round_id, func.count())
            .where(RoundAnchor.round_id.in_(round_ids))
            .group_by(RoundAnchor.round_id)
        ).all()
    )
    closed = set(
        session.scalars(select(Round.id).where(Round.id.in_(round_ids), Round.status == RoundStatus.CLOSED))
    )
    out = set()
    for uid, rid, n in session.execute(
        select(ScoreSheet.assessor_id, ScoreSheet.round_id, func.count())
        .where(ScoreSheet.round_id.in_(round_ids))
        .group_by(ScoreSheet.assessor_id, ScoreSheet.round_id)
    ).all():
        if rid in closed or n >= n_anchors.get(rid, 0):
            out.add((uid, rid))
    return out


def expiry_findings(
    session: Session, program_id: int, now: dt.datetime, *, judged_all: bool, user_ids: Iterable[int] | None
) -> list[Finding]:
    stmt = select(Membership.user_id, Membership.certification_expires_at).where(
        Membership.program_id == program_id,
        Membership.role == Role.ASSESSOR,
        Membership.certification_status.in_(
            [CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE]
        ),
        Membership.certification_expires_at <= now,
    )
    if not judged_all:
        stmt = stmt.where(Membership.user_id.in_(list(user_ids or [])))
    out = []
    for uid, expires in session.execute(stmt).all():
        if expires is None:
            continue
        day = f"{expires:%Y-%m-%d}"
        out.append(
            Finding(
                rule=FlagRule.EXPIRY,
                user_id=uid,
                criterion_id=None,
                round_id=None,
                statistic="Days since certification expired",
                value=float((now - expires).days),
                threshold=0.0,
                direction=None,
                window=[],
                evidence={"expires_at": expires.isoformat()},
                parameters={},
                summary=f"Certification expired on {day}: annual recalibration is due.",
                assessor_text=f"Your certification expired on {expires:%-d %B %Y}: a recalibration round renews it.",
                key_evidence={"expires": day},
            )
        )
    return out

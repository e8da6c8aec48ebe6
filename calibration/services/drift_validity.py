"""The validity stream of the drift rules (issue 18, item 6): answered validity items seeded into live
work, scored against the key, judged by the same rules as calibration rounds (a lean against the key,
and drift from the assessor's own level), and recorded with ``stream=validity``.

Validity items come one at a time, so an assessor's answered items are grouped, in the order they
were scored, into *periods* of as many items as one round needs to be judged (``min_anchors``
items, more when the rubric has so few criteria that ``min_scores`` needs more); the periods play
the part of rounds. Each item is a unit (its own "sheet"). Findings name no round; their window is
the assignment ids and their hash rests on them (plus the stream), so the same items never flag
twice. After a validity flag of an assessor is reviewed, their series restarts with the items
scored after it was raised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    Criterion,
    DriftFlag,
    EvidenceStream,
    FlagRule,
    FlagStatus,
    RubricVersion,
    ValidityAssignment,
    ValidityStatus,
)
from ..stats import drift as stats_drift
from ..stats.lean import lean
from ..stats.selfstart import self_starting_drift
from . import flag_words
from .drift_own import false_alarm_words
from .drift_series import Finding
from .policy import DriftPolicy
from .score_rows import label_id

STREAM = EvidenceStream.VALIDITY
#: Plain words for the stream on flag pages and lists.
STREAM_WORDS = flag_words.STREAM_WORDS[STREAM]


def period_size(cfg: DriftPolicy, n_criteria: int) -> int:
    """Items per period: enough for one period to meet the minimum evidence on its own."""
    return max(int(cfg.min_anchors), math.ceil(int(cfg.min_scores) / max(n_criteria, 1)), 1)


def _restarts(session: Session, program_id: int) -> dict[int, Any]:
    """assessor -> when their latest reviewed validity flag was raised (their series starts after)."""
    return {
        label_id(uid): at
        for uid, at in session.execute(
            select(DriftFlag.user_id, func.max(DriftFlag.created_at))
            .where(
                DriftFlag.program_id == program_id,
                DriftFlag.stream == STREAM,
                DriftFlag.status != FlagStatus.OPEN,
                DriftFlag.user_id.is_not(None),
            )
            .group_by(DriftFlag.user_id)
        ).all()
    }


def validity_columns(
    session: Session, program_id: int, pool: Iterable[int]
) -> dict[int, dict[str, np.ndarray]]:
    """Per rubric version: numpy columns (period, assessor, item, criterion, level, key) of the pool's
    answered items, each assessor's items in the order they were scored."""
    wanted = set(pool)
    restart = _restarts(session, program_id)
    rows = session.execute(
        select(
            ValidityAssignment.id,
            ValidityAssignment.assessor_id,
            ValidityAssignment.rubric_version_id,
            ValidityAssignment.scored_at,
            ValidityAssignment.result_json,
        )
        .where(
            ValidityAssignment.program_id == program_id,
            ValidityAssignment.status == ValidityStatus.ANSWERED,
        )
        .order_by(ValidityAssignment.scored_at, ValidityAssignment.id)
    ).all()
    by_rubric: dict[int, dict[int, list[tuple[int, dict[str, Any]]]]] = {}
    for item_id, uid, rubric_id, scored_at, result_json in rows:
        if uid not in wanted or (uid in restart and scored_at <= restart[uid]):
            continue
        by_rubric.setdefault(rubric_id, {}).setdefault(uid, []).append(
            (item_id, json.loads(result_json or "{}"))
        )
    out: dict[int, dict[str, np.ndarray]] = {}
    for rubric_id, people in by_rubric.items():
        ids = dict(
            session.execute(
                select(Criterion.key, Criterion.id).where(Criterion.rubric_version_id == rubric_id)
            ).all()
        )
        cols: dict[str, list[int]] = {k: [] for k in ("item", "assessor", "criterion", "level", "key", "n")}
        for uid, items in people.items():
            for n, (item_id, result) in enumerate(items):
                for c in result.get("criteria", []):
                    cols["item"].append(item_id)
                    cols["assessor"].append(uid)
                    cols["criterion"].append(int(ids[c["criterion"]]))
                    cols["level"].append(int(c["level"]))
                    cols["key"].append(int(c["key"]))
                    cols["n"].append(n)
        out[rubric_id] = {k: np.asarray(v, dtype=np.int64) for k, v in cols.items()}
    return out


def validity_findings(
    session: Session, program_id: int, pool_ids: Iterable[int], judged: Iterable[int], cfg: DriftPolicy
) -> list[Finding]:
    """Lean and own-drift findings on the validity stream for the ``judged`` assessors (the pool's
    spread steadies the drift charts)."""
    judged_set = np.asarray(sorted(set(judged)), dtype=np.int64)
    out: list[Finding] = []
    for rubric_id, cols in validity_columns(session, program_id, pool_ids).items():
        if not cols["item"].size:
            continue
        rubric = session.get(RubricVersion, rubric_id)
        assert rubric is not None
        titles = {c.id: c.title for c in rubric.criteria}
        period = cols["n"] // period_size(cfg, len(titles))
        levels = rubric.level_values
        mine = np.isin(cols["assessor"], judged_set)
        if not mine.any():
            continue
        sub = {k: v[mine] for k, v in cols.items()}
        sub_period = period[mine]
        out += _leans(sub, sub_period, levels, cfg, titles)
        out += _drifts(cols, period, sub, sub_period, levels, cfg, titles)
    return out


def _items(sub: Mapping[str, np.ndarray], rows: np.ndarray) -> list[int]:
    return sorted({int(i) for i in sub["item"][rows].tolist()})


def _leans(
    sub: Mapping[str, np.ndarray],
    period: np.ndarray,
    levels: list[int],
    cfg: DriftPolicy,
    titles: Mapping[int, str],
) -> list[Finding]:
    leans = lean(
        period,
        sub["assessor"],
        sub["item"],
        sub["level"],
        sub["key"],
        levels=levels,
        criteria=sub["criterion"],
        window=int(cfg.lean_window_rounds),
        material=float(cfg.lean_material),
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    overall = {label_id(r.rater) for k, r in leans.items() if not isinstance(k, tuple) and r.flagged}
    out = []
    for key, r in leans.items():
        uid = label_id(r.rater)
        if not r.flagged or (isinstance(key, tuple) and uid in overall):
            continue
        crit = None if r.criterion is None else label_id(r.criterion)
        where = "overall" if crit is None else f"on “{titles.get(crit, str(crit))}”"
        rows = (sub["assessor"] == uid) & np.isin(period, np.asarray(r.window_rounds, dtype=np.int64))
        items = _items(sub, rows)
        way = "above the key (lenient)" if r.verdict == "lenient" else "below the key (severe)"
        material = float(r.parameters["material"])
        out.append(
            Finding(
                rule=FlagRule.LEAN,
                user_id=uid,
                criterion_id=crit,
                round_id=None,
                statistic=f"Mean signed deviation from the key on validity items in live scoring, {where}",
                value=r.mean,
                threshold=material * (1 if r.verdict == "lenient" else -1),
                direction=r.verdict,
                window=items,
                evidence={
                    "stream": STREAM.value,
                    "verdict": r.verdict,
                    "mean": r.mean,
                    "ci": [r.ci_low, r.ci_high],
                    "validity_items": items,
                    "n_scores": r.n_scores,
                    "n_anchors": r.n_anchors,
                },
                parameters={**dict(r.parameters), "stream": STREAM.value},
                summary=(
                    f"Lean {where} on {len(items)} validity items in live scoring, not drift: a steady "
                    f"level {way} of {r.mean or 0:+.2f} levels, 95% interval {r.ci_low or 0:+.2f} to "
                    f"{r.ci_high or 0:+.2f}, wholly beyond the material size of ±{material:.2f}."
                ),
                assessor_text=(
                    f"In your recent scoring your levels {where} ran {way.split(' (')[0]} by about "
                    f"{abs(r.mean or 0):.1f} levels."
                ),
                key_evidence={"stream": STREAM.value, "items": items},
                stream=STREAM,
            )
        )
    return out


def _drifts(
    cols: Mapping[str, np.ndarray],
    period: np.ndarray,
    sub: Mapping[str, np.ndarray],
    sub_period: np.ndarray,
    levels: list[int],
    cfg: DriftPolicy,
    titles: Mapping[int, str],
) -> list[Finding]:
    budget = cfg.assessor_budget
    if budget.share("drift_overall") <= 0:
        return []
    sigma = stats_drift.pool_sigma(
        period, cols["assessor"], cols["item"], cols["level"], cols["key"], levels=levels,
        criteria=cols["criterion"],
    )  # fmt: skip
    table = self_starting_drift(
        sub_period,
        sub["assessor"],
        sub["item"],
        sub["level"],
        sub["key"],
        levels=levels,
        criteria=sub["criterion"] if cfg.ewma_per_criterion else None,
        sigma=sigma,
        k=float(cfg.drift_k),
        prior_df=float(cfg.drift_prior_df),
        budget=budget,
        min_anchors=int(cfg.min_anchors),
        min_scores=int(cfg.min_scores),
    )
    out = []
    for d in table.flags:
        uid = label_id(d.rater)
        crit = None if d.criterion is None else label_id(d.criterion)
        name = None if crit is None else titles.get(crit, str(crit))
        where = "overall" if crit is None else f"on “{name}”"
        rows = (sub["assessor"] == uid) & np.isin(sub_period, np.asarray(d.evidence_rounds, dtype=np.int64))
        items = _items(sub, rows)
        way = "higher" if d.direction == "lenient" else "lower"
        parameters = {**d.parameters, "sigma": sigma.to_dict(), "stream": STREAM.value}
        out.append(
            Finding(
                rule=FlagRule.OWN_DRIFT,
                user_id=uid,
                criterion_id=crit,
                round_id=None,
                statistic=f"Self-starting CUSUM of the change from the assessor's own level on validity "
                f"items in live scoring, {where}",
                value=d.value,
                threshold=d.limit,
                direction=d.direction,
                window=items,
                evidence={
                    "stream": STREAM.value,
                    "periods": [label_id(p) for p in d.rounds],
                    "means": list(d.means),
                    "n_scores": list(d.n_scores),
                    "shift": d.shift,
                    "validity_items": items,
                },
                parameters=parameters,
                summary=(
                    f"Drift {where} on validity items in live scoring: scores moved {way} than the "
                    f"assessor's own earlier level; the CUSUM reached {d.value or 0:.2f} against its "
                    f"limit {d.limit:.2f} ({false_alarm_words(parameters)})."
                ),
                assessor_text=f"In your recent scoring your levels {where} moved {way} than your own earlier level.",
                key_evidence={"stream": STREAM.value, "items": items},
                stream=STREAM,
            )
        )
    return out

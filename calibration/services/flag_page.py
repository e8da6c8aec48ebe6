"""A drift flag as a trainer reads it (issue 17, item 2): the rule in one sentence with its figures
and the round names, the evidence as a table of rounds, every stored number rounded and named (never
a raw list or mapping), and what confirming the flag will do (for a cohort flag, to whom).

Reads only; the stored flag is the source of every figure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import DriftFlag, EvidenceStream, FlagRule, Round, RubricVersion, User
from .drift import program_drift_settings
from .flag_words import kind_of
from .flags import FlagLine, affected_assessors

__all__ = ["EvidenceTable", "FlagPage", "flag_page", "plain"]

#: Series stored with a flag, one value per round, as table columns: (label, format).
_COLUMNS: dict[str, tuple[str, str]] = {
    "means": ("Mean signed deviation (levels)", "{:+.2f}"),
    "ewma": ("EWMA", "{:+.3f}"),
    "limits": ("Control limit (±)", "{:.3f}"),
    "upper": ("Upward CUSUM", "{:.2f}"),
    "lower": ("Downward CUSUM", "{:.2f}"),
    "alphas": ("Alpha", "{:.3f}"),
    "ses": ("Standard error", "{:.3f}"),
    "n_anchors": ("Anchors", "{:d}"),
    "n_scores": ("Criterion-scores", "{:d}"),
}
#: Single stored items: their label.
_FACTS: dict[str, str] = {
    "round": "Round",
    "signal_round": "First signal in",
    "change_round": "The change began in",
    "shift": "Estimated change (levels)",
    "too_few_rounds": "Rounds too few to judge (left out)",
    "window_rounds": "Rounds judged",
    "lean_rounds": "Rounds leaning the same way",
    "sheet_ids": "Score sheets it rests on",
    "checks": "Checks clearly below the rule",
    "below": "Shares below the minimum",
    "verdict": "Finding",
    "mean": "Mean signed deviation (levels)",
    "ci": "95% interval",
    "n_scores": "Criterion-scores",
    "n_anchors": "Anchors",
    "upper": "Upper bound of alpha's interval",
    "baseline": "Program's baseline alpha",
    "floor": "Lowest alpha the baseline makes plausible",
    "triggers": "Why",
    "lowest_anchor_titles": "Anchors with the lowest agreement",
    "lowest_criterion_titles": "Criteria with the lowest agreement",
    "expires_at": "Certification expired on",
    "signal_period": "First signal in",
    "change_period": "The change began in",
    "window_periods": "Months judged",
    "lean_periods": "Months leaning the same way",
    "too_few_periods": "Months too few to judge (left out)",
    "pairs": "Pairs of first and second reads it rests on",
    "validity_items": "Validity items it rests on",
}
_ROUND_KEYS = {"round", "signal_round", "change_round"}
_ROUND_LISTS = {"too_few_rounds", "window_rounds", "lean_rounds", "rounds"}
_HIDDEN = {
    "lowest_anchors",
    "lowest_criteria",
    "observed",
    "rounds",
    "periods",
    "stream",
    "rubric",
    "last_month",
}
_SHARES = {
    "exact": "exact agreement",
    "adjacent": "exact-or-adjacent agreement",
    "decision": "decision agreement at the earn cut",
}
_TRIGGERS = {
    "below_minimum": "its whole interval is below the minimum alpha",
    "below_baseline": "it is below the program's own earlier rounds",
}


@dataclass(frozen=True)
class EvidenceTable:
    """Rows of the evidence: ``head`` names the columns, each row starts with its row header."""

    caption: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: tuple[bool, ...] = ()  # rows to mark (the signal's round)


@dataclass(frozen=True)
class FlagPage:
    line: FlagLine
    rule_sentence: str
    facts: tuple[tuple[str, str], ...]
    tables: tuple[EvidenceTable, ...]
    window: tuple[str, ...]
    confirm_effect: str
    affected: tuple[str, ...]  # names, for a cohort flag
    needs_confirmation_step: bool
    value_text: str
    threshold_text: str
    window_label: str = "Rounds it rests on"


# ---------------------------------------------------------------------------------------- numbers
def plain(value: Any, digits: int = 3) -> str:
    """Any stored value in words: rounded numbers, lists joined, mappings as "name: value"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{round(value, digits):g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{str(k).replace('_', ' ')}: {plain(v, digits)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v, digits) for v in value) or "none"
    return str(value)


def _fmt(spec: str, value: Any) -> str:
    if value is None:
        return "—"
    try:
        return spec.format(int(value) if spec.endswith("d}") else float(value)).replace("-", "−")
    except (TypeError, ValueError):
        return plain(value)


def _signed(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:+.{digits}f}".replace("-", "−")


# --------------------------------------------------------------------------------------- sentence
def _rule_sentence(
    flag: DriftFlag, evidence: Mapping[str, Any], names: Mapping[int, str], who: str, where: str
) -> str:
    def rname(rid: Any) -> str:
        return f"“{names.get(int(rid), f'round {rid}')}”" if isinstance(rid, int) else "the latest round"

    value, limit = flag.value, flag.threshold
    rule = flag.rule
    if flag.stream == EvidenceStream.OPERATIONAL:
        return _operational_sentence(flag, evidence, who, where)
    if rule in (FlagRule.OWN_DRIFT, FlagRule.COHORT_LEVEL):
        way = "upward" if flag.direction == "lenient" else "downward"
        moved = "higher" if flag.direction == "lenient" else "lower"
        subject = (
            f"{who}'s change from their own earlier level{where}"
            if rule == FlagRule.OWN_DRIFT
            else "the cohort's change in signed deviation from its earlier rounds"
        )
        out = (
            f"The {way} self-starting CUSUM of {subject}, {plain(value, 3)}, is above its limit "
            f"{plain(limit, 3)} since {rname(evidence.get('signal_round', flag.round_id))}"
        )
        shift, change = evidence.get("shift"), evidence.get("change_round")
        if isinstance(shift, int | float) and change is not None:
            out += f": scores moved {moved} by about {abs(float(shift)):.2f} levels from {rname(change)}"
        return out + "."
    if rule == FlagRule.EWMA:
        side = "above its upper" if (value or 0) > 0 else "below its lower"
        bound = abs(limit or 0) * (1 if (value or 0) > 0 else -1)
        return (
            f"The EWMA of {who}'s signed deviation from the key{where}, {_signed(value)}, is {side} limit "
            f"{_signed(bound)} since {rname(evidence.get('signal_round', flag.round_id))}."
        )
    if rule == FlagRule.LEAN:
        ci = evidence.get("ci") or [None, None]
        n = len(evidence.get("window_rounds") or [])
        side = "above" if (value or 0) > 0 else "below"
        span = f"the last {n} round{'s' if n != 1 else ''}"
        if isinstance(evidence.get("validity_items"), list):
            span = f"{len(evidence['validity_items'])} validity items in live scoring"
        return (
            f"{who}'s mean signed deviation from the key{where} over {span}, "
            f"{_signed(value)} levels (95% interval {_signed(ci[0])} to {_signed(ci[1])}), is wholly {side} "
            f"{_signed(limit)}, the smallest lean that matters."
        )
    if rule == FlagRule.PASS_RULE:
        checks = evidence.get("checks") or []
        return f"In {rname(flag.round_id)} {who}'s " + "; ".join(str(c) for c in checks) + "."
    if rule == FlagRule.COHORT:
        why = [_TRIGGERS.get(str(t), str(t)) for t in evidence.get("triggers") or []]
        return (
            f"The cohort's alpha in {rname(flag.round_id)}, {plain(value, 3)}, is low: "
            + " and ".join(why)
            + (f" (threshold {plain(limit, 3)})." if limit is not None else ".")
        )
    if rule == FlagRule.EXPIRY:
        return f"{who}'s certification expired {plain(value, 0)} days ago: annual recalibration is due."
    return f"{flag.statistic}: {plain(value, 3)} against {plain(limit, 3)}."


def _operational_sentence(flag: DriftFlag, evidence: Mapping[str, Any], who: str, where: str) -> str:
    """A live-scoring flag: months instead of rounds, the co-reader instead of the key."""
    if flag.rule == FlagRule.LEAN:
        ci = evidence.get("ci") or [None, None]
        n = len(evidence.get("window_periods") or [])
        side = "above" if (flag.value or 0) > 0 else "below"
        return (
            f"{who}'s mean signed difference from the other reader of the same submissions{where} over the "
            f"last {n} month{'s' if n != 1 else ''}, {_signed(flag.value)} levels (95% interval "
            f"{_signed(ci[0])} to {_signed(ci[1])}), is wholly {side} {_signed(flag.threshold)}, the smallest "
            "lean that matters."
        )
    way = "upward" if flag.direction == "lenient" else "downward"
    out = (
        f"The {way} self-starting CUSUM of {who}'s change from their own earlier level against co-readers"
        f"{where}, {plain(flag.value, 3)}, is above its limit {plain(flag.threshold, 3)} since "
        f"{evidence.get('signal_period') or 'the latest month'}"
    )
    shift, change = evidence.get("shift"), evidence.get("change_period")
    if isinstance(shift, int | float) and change:
        moved = "higher" if flag.direction == "lenient" else "lower"
        out += f": levels moved {moved} by about {abs(float(shift)):.2f} levels from {change}"
    return out + "."


def _period_table(evidence: Mapping[str, Any], periods: Sequence[Any], mark: Any) -> EvidenceTable:
    keys = [k for k in _COLUMNS if isinstance(evidence.get(k), list) and len(evidence[k]) == len(periods)]
    rows = tuple(
        (str(p), *(_fmt(_COLUMNS[k][1], evidence[k][i]) for k in keys)) for i, p in enumerate(periods)
    )
    head = ("Month", *(_COLUMNS[k][0].replace("deviation", "difference from co-reader") for k in keys))
    head = tuple(h.replace("Anchors", "Submissions").replace("Criterion-scores", "Read pairs") for h in head)
    return EvidenceTable(
        "The months the rule read, oldest first", head, rows, tuple(p == mark for p in periods)
    )


# --------------------------------------------------------------------------------------- evidence
def _round_table(
    evidence: Mapping[str, Any], ids: Sequence[Any], names: Mapping[int, str], mark: Any
) -> EvidenceTable:
    keys = [k for k in _COLUMNS if isinstance(evidence.get(k), list) and len(evidence[k]) == len(ids)]
    rows = []
    for i, rid in enumerate(ids):
        rows.append(
            (names.get(int(rid), f"round {rid}"), *(_fmt(_COLUMNS[k][1], evidence[k][i]) for k in keys))
        )
    return EvidenceTable(
        "The rounds the rule read, oldest first",
        ("Round", *(_COLUMNS[k][0] for k in keys)),
        tuple(rows),
        tuple(rid == mark for rid in ids),
    )


def _pass_rule_table(
    evidence: Mapping[str, Any], parameters: Mapping[str, Any], two_levels: bool
) -> EvidenceTable | None:
    observed, upper = evidence.get("observed"), evidence.get("upper")
    if not isinstance(observed, Mapping) or not isinstance(upper, Mapping):
        return None
    below = set(evidence.get("below") or [])
    rows = []
    for share, words in _SHARES.items():
        if share not in observed or (share == "adjacent" and two_levels):
            continue  # on two levels there is no adjacent: every score matches the key or misses it
        minimum = parameters.get(f"min_{share}")
        rows.append(
            (
                words.capitalize(),
                f"{100 * float(observed[share]):.0f}%",
                "—" if upper.get(share) is None else f"{100 * float(upper[share]):.0f}%",
                "—" if minimum is None else f"{100 * float(minimum):.0f}%",
                "clearly below" if share in below else "not clearly below",
            )
        )
    return EvidenceTable(
        "Each share of the pass rule in the round",
        ("Share", "Observed", "Upper bound at the rule's confidence", "Minimum", "Reading"),
        tuple(rows),
        tuple(r[4] == "clearly below" for r in rows),
    )


def _fact(key: str, value: Any, names: Mapping[int, str]) -> str:
    if key in _ROUND_KEYS and isinstance(value, int):
        return names.get(value, f"round {value}")
    if key in _ROUND_LISTS and isinstance(value, list):
        return ", ".join(names.get(int(v), f"round {v}") for v in value) or "none"
    if key == "sheet_ids" and isinstance(value, list):
        return f"{len(value)} score sheet{'s' if len(value) != 1 else ''}"
    if key == "ci" and isinstance(value, list) and len(value) == 2:
        return f"{_signed(value[0])} to {_signed(value[1])} levels"
    if key in ("shift", "mean") and isinstance(value, int | float):
        return f"{_signed(float(value))} levels"
    if key == "below" and isinstance(value, list):
        return ", ".join(_SHARES.get(str(v), str(v)) for v in value)
    if key == "triggers" and isinstance(value, list):
        return "; ".join(_TRIGGERS.get(str(v), str(v)) for v in value)
    if key == "checks" and isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if key == "expires_at" and isinstance(value, str):
        try:
            return f"{dt.datetime.fromisoformat(value):%-d %B %Y}"
        except ValueError:
            return value
    if key in ("lowest_anchor_titles", "lowest_criterion_titles") and isinstance(value, list):
        return "; ".join(plain(v) for v in value) or "none"
    return plain(value)


def _levels_of_round(session: Session, round_id: int | None) -> int:
    """How many levels the round's rubric has (0 when unknown)."""
    if round_id is None:
        return 0
    rubric = session.scalar(
        select(RubricVersion)
        .join(Round, Round.rubric_version_id == RubricVersion.id)
        .where(Round.id == round_id)
    )
    return len(rubric.level_values) if rubric is not None else 0


def _round_names(session: Session, flag: DriftFlag, evidence: Mapping[str, Any]) -> dict[int, str]:
    ids: set[int] = {flag.round_id} if flag.round_id else set()
    if flag.stream != EvidenceStream.VALIDITY:  # a validity flag's window is its items, not rounds
        ids |= {int(r) for r in json.loads(flag.window_json or "[]") if isinstance(r, int)}
    for key in _ROUND_KEYS | _ROUND_LISTS:
        v = evidence.get(key)
        if isinstance(v, int):
            ids.add(v)
        elif isinstance(v, list):
            ids |= {int(x) for x in v if isinstance(x, int)}
    return dict(session.execute(select(Round.id, Round.name).where(Round.id.in_(ids))).all()) if ids else {}


# ---------------------------------------------------------------------------------------- confirm
def _confirm_effect(flag: DriftFlag, who: str, affected: int, window_days: int) -> str:
    kind = kind_of(flag.rule)
    if kind == "lean":
        return (
            "Confirming records that the lean was discussed with the assessor. It starts no recalibration "
            "and does not change their certification."
        )
    steps = (
        "sets their certification to “recalibration due”, assigns a recalibration round of anchors they "
        "have never seen (covering every level, weighted toward the drifting criteria), books them into "
        f"the next recalibration session with room within {window_days} days (or asks you to open one), "
        "and mails them the invitation"
    )
    if kind == "cohort":
        if not affected:
            return (
                "Confirming affects nobody now: no assessor of the round is certified. The flag is "
                "recorded as confirmed."
            )
        return (
            f"Confirming starts recalibration for the whole cohort: {affected} certified assessor"
            f"{'s' if affected != 1 else ''} of the round. For each it {steps}. You will be asked to "
            "confirm once more before anything changes."
        )
    return f"Confirming starts recalibration for {who}: it {steps}."


def flag_page(session: Session, *, program_id: int, line: FlagLine) -> FlagPage:
    flag = line.flag
    evidence = line.evidence
    parameters = line.parameters
    names = _round_names(session, flag, evidence)
    who = line.name or "the cohort"
    where = f" on “{line.criterion}”" if line.criterion else ""
    tables: list[EvidenceTable] = []
    ids = evidence.get("rounds")
    if not isinstance(ids, list) and isinstance(evidence.get("alphas"), list):
        ids = json.loads(flag.window_json or "[]")
    mark = evidence.get("signal_round", flag.round_id)
    operational = flag.stream == EvidenceStream.OPERATIONAL
    periods = evidence.get("periods")
    if operational and isinstance(periods, list) and periods:
        tables.append(_period_table(evidence, periods, evidence.get("signal_period")))
    elif isinstance(ids, list) and ids:
        tables.append(_round_table(evidence, ids, names, mark))
    if flag.rule == FlagRule.PASS_RULE:
        share_table = _pass_rule_table(evidence, parameters, _levels_of_round(session, flag.round_id) <= 2)
        if share_table is not None:
            tables.append(share_table)
    in_table = set(_COLUMNS) if tables else set()
    facts = tuple(
        (_FACTS.get(k, k.replace("_", " ").capitalize()), _fact(k, v, names))
        for k, v in evidence.items()
        if k not in _HIDDEN
        and k not in in_table
        and not (flag.rule == FlagRule.PASS_RULE and k in ("upper", "below"))
    )
    affected: list[str] = []
    if kind_of(flag.rule) == "cohort":
        ids_affected = affected_assessors(session, program_id, flag)
        found = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids_affected))).all())
        affected = sorted(found.get(u, f"assessor {u}") for u in ids_affected)
    window_days = program_drift_settings(session, program_id).recalibration_window_days
    window = tuple(
        f"validity item #{r}" if flag.stream == EvidenceStream.VALIDITY else names.get(int(r), f"round {r}")
        for r in line.window
    )
    if operational:
        window = tuple(str(p) for p in evidence.get("window_periods") or [])
    return FlagPage(
        line=line,
        rule_sentence=_rule_sentence(flag, evidence, names, who, where),
        facts=facts,
        tables=tuple(tables),
        window=window,
        confirm_effect=_confirm_effect(flag, who, len(affected), window_days),
        affected=tuple(affected),
        needs_confirmation_step=kind_of(flag.rule) == "cohort" and bool(affected),
        value_text=_number(flag, flag.value),
        threshold_text=_number(flag, flag.threshold),
        window_label="Months it rests on"
        if operational
        else "Validity items it rests on"
        if flag.stream == EvidenceStream.VALIDITY
        else "Rounds it rests on",
    )


def _number(flag: DriftFlag, x: float | None) -> str:
    if x is None:
        return "—"
    if flag.rule == FlagRule.PASS_RULE:
        return f"{100 * x:.0f}%"
    if flag.rule == FlagRule.EXPIRY:
        return f"{x:.0f} days"
    if flag.rule in (FlagRule.EWMA, FlagRule.LEAN):
        return _signed(x)
    return f"{x:.3f}" if flag.rule == FlagRule.COHORT else f"{x:.2f}"

"""Changing a program's rules (the settings of :mod:`calibration.services.policy`) from a form.

Every rule is listed once in :data:`SETTINGS` with its words for the form. Values are typed as
text and checked here: a bad value is refused with a message naming the setting, and nothing is
saved. A change is audited with every old and new value. Rules take effect for new rounds and new
flags only: each round keeps the pass rule it was created with (``Round.pass_rule_json``) and each
flag the parameters it was raised under (``DriftFlag.parameters_json``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Program
from . import audit
from .context import Member
from .errors import InvalidInput, NotFound
from .policy import ProgramSettings
from .timezones import DEFAULT_ZONE, check_zone, zone_problem

#: The program's time zone: stored in its own column, not among the rules (it is not a policy),
#: but changed on the same form, checked, audited and refused over a concurrent change alike.
TIMEZONE_FIELD = "timezone"
TIMEZONE_LABEL = "Time zone"


@dataclass(frozen=True)
class Setting:
    """One rule: where it is stored (``path``: a top-level key, or ``section.key``), how it is typed
    (``share``: a percentage of 0-100 stored as a fraction; ``int``; ``float``; ``bool``), its label
    and hint, and the range it must be in (inclusive unless ``above``: strictly greater)."""

    path: str
    section: str
    label: str
    hint: str
    kind: str
    low: float | None = None
    high: float | None = None
    above: bool = False

    @property
    def field(self) -> str:
        """The form field's name."""
        return self.path.replace(".", "__")


_P, _E, _C, _D, _R, _B, _N, _V = (
    "Qualification pass rule",
    "Exact agreement on short scales",
    "Certification and expiry",
    "Drift rules",
    "Recalibration",
    "False-alarm budget",
    "Reminders",
    "Anchors seeded into live scoring",
)

SETTINGS: tuple[Setting, ...] = (
    Setting("pass_rule.min_exact", _P, "Exact agreement with the key, at least (%)",
            "For rubrics of four levels or more; 70 by default.", "share"),
    Setting("pass_rule.min_adjacent", _P, "Exact or adjacent agreement, at least (%)",
            "Scores at most one level from the key; 95 by default.", "share"),
    Setting("pass_rule.max_discrepant", _P, "Scores two or more levels off, at most",
            "Criterion-scores two or more levels from the key allowed in a round; 1 by default.", "int", 0),
    Setting("pass_rule.min_decision", _P, "Decision agreement at the earn cut, at least (%)",
            "Earned or not yet, the same as the key; 90 by default.", "share"),
    Setting("pass_rule.min_anchors", _P, "Minimum evidence: anchors",
            "No pass, fail or drift decision from fewer anchors (“too few to judge”); 5 by default.", "int", 1),
    Setting("pass_rule.min_scores", _P, "Minimum evidence: criterion-scores",
            "No decision from fewer criterion-scores; 20 by default.", "int", 1),
    Setting("pass_rule.min_exact_3_levels", _E, "Exact agreement on three-level rubrics, at least (%)",
            "80 by default.", "share"),
    Setting("pass_rule.min_exact_2_levels", _E, "Exact agreement on two-level rubrics, at least (%)",
            "90 by default.", "share"),
    Setting("certification_days", _C, "Certification lasts (days)",
            "A certification expires this many days after it is granted; 365 by default.", "int", 1),
    Setting("reminder_days_before_expiry", _C, "Remind before expiry (days)",
            "Assessors are reminded this many days before their certification expires; 30 by default.", "int", 0),
    Setting("qualification_attempts", _C, "Qualification attempts",
            "Attempts with different anchors before the trainer decides; 2 by default.", "int", 1, 10),
    Setting("recalibration_window_days", _R, "Book a flagged assessor within (days)",
            "Into the next session with room starting within this many days; 14 by default.", "int", 1),
    Setting("drift.recalibration_round_days", _R, "Days to finish a recalibration round",
            "14 by default.", "int", 1),
    Setting("drift.auto_recalibrate", _R, "Start recalibration on every new flag",
            "No: a trainer confirms each flag first (the default).", "bool"),
    Setting("drift.session_reminder_hours", _N, "Session reminder (hours before)",
            "24 by default.", "float", 0),
    Setting("drift.deadline_reminder_days", _N, "Recalibration deadline reminder (days before)",
            "3 by default.", "float", 0),
    Setting("drift.min_anchors", _D, "Drift minimum evidence: anchors per round",
            "A round with fewer anchors is too few to judge; 5 by default.", "int", 1),
    Setting("drift.min_scores", _D, "Drift minimum evidence: criterion-scores per round",
            "20 by default.", "int", 1),
    Setting("drift.pass_rule_clear", _D, "Flag a failed round only when clearly below",
            "Yes: only when a share's 95% interval lies wholly below its minimum (the default).", "bool"),
    Setting("drift.drift_k", _D, "Drift detector: allowance k (levels)",
            "The self-starting CUSUM ignores changes smaller than this; 0.5 by default.", "float", 0),
    Setting("drift.drift_prior_df", _D, "Drift detector: prior weight (degrees of freedom)",
            "How much the detector trusts the starting noise level; 20 by default.", "float", 0, above=True),
    Setting("drift.lean_window_rounds", _D, "Lean: rounds looked at",
            "A lean is judged over this many latest rounds; 5 by default.", "int", 1),
    Setting("drift.lean_material", _D, "Lean: material size (levels)",
            "A lean smaller than this is not reported; 0.25 by default.", "float", 0, above=True),
    Setting("drift.baseline_window_rounds", _D, "Baseline: recent rounds",
            "Rounds compared with the assessor's baseline; 3 by default.", "int", 1),
    Setting("drift.baseline_rounds", _D, "Baseline: rounds in the baseline",
            "6 by default.", "int", 1),
    Setting("drift.baseline_min_drop", _D, "Baseline: smallest drop that counts",
            "In exact agreement (0.15 is 15 points); 0.15 by default.", "float", 0, 1),
    Setting("drift.baseline_alpha", _D, "Baseline: significance level (%)",
            "5 by default.", "share", 0, 1, above=True),
    Setting("drift.cohort_min_alpha", _D, "Cohort: lowest acceptable alpha",
            "A round whose alpha interval lies below this is flagged; 0.667 by default.", "float", -1, 1),
    Setting("drift.cohort_max_drop", _D, "Cohort: largest drop in alpha from the baseline",
            "0.15 by default.", "float", 0, 2),
    Setting("drift.cohort_min_baseline_rounds", _D, "Cohort: rounds needed for a baseline",
            "3 by default.", "int", 1),
    Setting("drift.cohort_lowest", _D, "Cohort: criteria listed as weakest",
            "3 by default.", "int", 1),
    Setting("drift.ewma_per_criterion", _D, "Draw control charts per criterion",
            "Yes by default.", "bool"),
    Setting("drift.ewma_lambda", _D, "Control chart: EWMA weight λ",
            "Between 0 and 1; the weight of the newest round; 0.2 by default.", "float", 0, 1, above=True),
    Setting("drift.ewma_L", _D, "Control chart: limit width L (standard errors)",
            "3 by default.", "float", 0, above=True),
    Setting("drift.ewma_min_shift", _D, "Control chart: smallest shift shown (levels)",
            "0 by default.", "float", 0),
    Setting("drift.budget_total", _B, "Total false-alarm budget (%)",
            "Stable assessors (or an all-stable cohort) flagged at least once over 20 rounds; 5 by default. "
            "The shares below must add up to at most this.", "share", 0, 1, above=True),
    Setting("drift.budget_drift_overall", _B, "Share: drift overall (%)", "1.8 by default.", "share"),
    Setting("drift.budget_drift_criterion", _B, "Share: drift on one criterion (%)", "1.2 by default.", "share"),
    Setting("drift.budget_below_pass_rule", _B, "Share: a round below the pass rule (%)", "0.5 by default.", "share"),
    Setting("drift.budget_cohort_level", _B, "Share: the cohort's level moving (%)", "1 by default.", "share"),
    Setting("drift.budget_alpha_minimum", _B, "Share: cohort alpha below its minimum (%)",
            "0.5 by default.", "share"),
    Setting("drift.budget_alpha_baseline", _B, "Share: cohort alpha below its baseline (%)",
            "1 by default.", "share"),
    Setting("validity.max_per_week", _V, "Seeded anchors per assessor in any 7 days, at most",
            "The scoring platform may slip this many keyed anchors into one assessor's live work a week; "
            "0 stops seeding; 2 by default.", "int", 0),
    Setting("validity.live_items_between", _V, "Live items between two seeded anchors, at least",
            "Checked when the platform says how many live items the assessor has had since the last one; "
            "20 by default.", "int", 0),
    Setting("validity.max_assessors_per_anchor", _V, "Assessors one anchor is seeded to, at most",
            "5 by default.", "int", 1),
    Setting("validity.expiry_days", _V, "Unanswered seeded anchors expire after (days)",
            "They are then reported as expired; 14 by default.", "int", 1),
)  # fmt: skip

SECTIONS: tuple[str, ...] = (_P, _E, _C, _R, _N, _D, _B, _V)


def shown(setting: Setting, value: Any) -> str:
    """A stored value as the form shows it (shares as percentages)."""
    if setting.kind == "bool":
        return "yes" if value else "no"
    if setting.kind == "share":
        return f"{float(value) * 100:.6g}"
    if setting.kind == "int":
        return str(int(value))
    return f"{float(value):.6g}"


def current(settings_json: str | None) -> dict[str, Any]:
    """Every setting's value in force (the program's own over the defaults), by path."""
    ps = ProgramSettings.from_json(settings_json)
    values = {
        **{f"pass_rule.{k}": v for k, v in asdict(ps.pass_rule).items()},
        **{f"pass_rule.{k}": v for k, v in asdict(ps.exact_by_scale).items()},
        "certification_days": ps.certification.certification_days,
        "reminder_days_before_expiry": ps.certification.reminder_days,
        "qualification_attempts": ps.certification.attempts,
        "recalibration_window_days": ps.recalibration.window_days,
        **{f"drift.{k}": v for k, v in ps.drift.as_dict().items() if k != "recalibration_window_days"},
        **{f"validity.{k}": v for k, v in asdict(ps.validity).items()},
    }
    return {s.path: values[s.path] for s in SETTINGS}


def every_rule(settings_json: str | None = None) -> set[str]:
    """The path of every rule the policy module knows (the form must have them all)."""
    ps = ProgramSettings.from_json(settings_json)
    paths = {f"pass_rule.{k}" for k in (*asdict(ps.pass_rule), *asdict(ps.exact_by_scale))}
    paths |= {"certification_days", "reminder_days_before_expiry", "qualification_attempts"}
    paths |= {"recalibration_window_days"} | {f"validity.{k}" for k in asdict(ps.validity)}
    return paths | {f"drift.{k}" for k in ps.drift.as_dict() if k != "recalibration_window_days"}


def fingerprint(settings_json: str | None, timezone: str = DEFAULT_ZONE) -> str:
    """A short digest of the stored settings: a form posted over a change made meanwhile is refused."""
    text = settings_json or "{}"
    if timezone != DEFAULT_ZONE:  # unchanged digest for a program that never set its zone
        text += "\n" + timezone
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SettingsView:
    program_name: str
    values: dict[str, str]  # as the form shows them, by field name
    fingerprint: str


def settings_view(session: Session, program_id: int) -> SettingsView:
    row = session.execute(
        select(Program.name, Program.settings_json, Program.timezone).where(Program.id == program_id)
    ).first()
    if row is None:
        raise NotFound("program")
    values = current(row.settings_json)
    shown_values = {s.field: shown(s, values[s.path]) for s in SETTINGS}
    shown_values[TIMEZONE_FIELD] = row.timezone
    return SettingsView(row.name, shown_values, fingerprint(row.settings_json, row.timezone))


def _parse(setting: Setting, text: str, old: Any) -> tuple[Any, str | None]:
    """(value, problem) for what was typed; text equal to how the old value is shown keeps it exactly."""
    text = (text or "").strip()
    if text == shown(setting, old):
        return old, None
    if setting.kind == "bool":
        if text in ("yes", "no"):
            return text == "yes", None
        return None, f"{setting.label}: choose yes or no."
    if not text:
        return None, f"{setting.label}: enter a value."
    try:
        number = float(text.replace(",", ".").removesuffix("%").strip())
    except ValueError:
        return None, f"{setting.label}: “{text[:30]}” is not a number."
    if not math.isfinite(number):
        return None, f"{setting.label}: enter a number."
    low, high = setting.low, setting.high
    if setting.kind == "share":
        low, high = (0.0 if low is None else low) * 100, (1.0 if high is None else high) * 100
    if setting.kind == "int" and number != int(number):
        return None, f"{setting.label}: enter a whole number."
    if low is not None and (number <= low if setting.above else number < low):
        more = "more than" if setting.above else "at least"
        return None, f"{setting.label}: must be {more} {low:g}."
    if high is not None and number > high:
        return None, f"{setting.label}: must be at most {high:g}."
    if setting.kind == "share":
        return round(number / 100, 10), None
    return (int(number), None) if setting.kind == "int" else (number, None)


@dataclass(frozen=True)
class Change:
    path: str
    label: str
    old: Any
    new: Any


def update_settings(
    session: Session, actor: Member, *, program_id: int, typed: Mapping[str, str], seen: str
) -> list[Change]:
    """Save the typed settings over the program's own (flushed, audited with old and new values).

    ``typed`` maps each field name to its text (and :data:`TIMEZONE_FIELD` to the program's time
    zone, an IANA name; absent: unchanged); ``seen`` is the :func:`fingerprint` the form was
    filled from. Bad values raise :class:`InvalidInput` naming each field, and nothing changes.
    Returns the changes (empty when nothing was different: then nothing is written).
    """
    program = session.scalar(
        select(Program)
        .where(Program.id == program_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if program is None:
        raise NotFound("program")
    if seen != fingerprint(program.settings_json, program.timezone):
        raise InvalidInput(
            "Someone changed the settings while you were editing them; nothing was saved. "
            "The form now shows the settings in force: make your change again."
        )
    old = current(program.settings_json)
    errors: dict[str, list[str]] = {}
    new: dict[str, Any] = {}
    for s in SETTINGS:
        value, problem = _parse(s, typed.get(s.field, ""), old[s.path])
        if problem:
            errors[s.field] = [problem]
        new[s.path] = value
    if not errors and new["reminder_days_before_expiry"] >= new["certification_days"]:
        errors["reminder_days_before_expiry"] = [
            "Remind before expiry: must be fewer days than the certification lasts."
        ]
    zone_name = (typed.get(TIMEZONE_FIELD) or program.timezone).strip()
    problem = zone_problem(zone_name)
    if problem:
        errors[TIMEZONE_FIELD] = [f"{TIMEZONE_LABEL}: {problem}"]
    if errors:
        raise InvalidInput("Some settings need attention; nothing was saved.", errors)
    rule_changes = [
        Change(s.path, s.label, old[s.path], new[s.path]) for s in SETTINGS if new[s.path] != old[s.path]
    ]
    zone_name = getattr(check_zone(zone_name), "key", zone_name)
    zone_changes = (
        [Change(TIMEZONE_FIELD, TIMEZONE_LABEL, program.timezone, zone_name)]
        if zone_name != program.timezone
        else []
    )
    changes = zone_changes + rule_changes
    if not changes:
        return []
    if rule_changes:
        stored: dict[str, Any] = json.loads(program.settings_json or "{}")
        for c in rule_changes:
            section, _, key = c.path.rpartition(".")
            if section:
                stored[section] = {**(stored.get(section) or {}), key: c.new}
            else:
                stored[key] = c.new
        text = json.dumps(stored, sort_keys=True)
        try:
            ProgramSettings.from_json(text)  # the policy's own checks (e.g. the false-alarm budget)
        except InvalidInput as exc:
            raise InvalidInput(
                "Some settings need attention; nothing was saved.",
                {k.replace(".", "__"): v for k, v in exc.field_errors.items()},
            ) from exc
        program.settings_json = text
    program.timezone = zone_name
    session.flush()
    audit.record(
        session,
        actor,
        "program.settings_changed",
        object_type="program",
        object_id=program_id,
        detail={"changes": {c.path: {"old": c.old, "new": c.new} for c in changes}},
    )
    return changes

"""Every rule of DESIGN §6 and its default numbers, in one place.

Look here for "the qualification pass rule" (:class:`PassRule`, numbers in
:mod:`calibration.stats.passrule`), "the EWMA threshold" (:attr:`DriftPolicy.ewma_L`, numbers in
:mod:`calibration.stats.ewma`), minimum evidence (:class:`EvidencePolicy`), expiry and reminders
(:class:`CertificationPolicy`) and the recalibration booking window (:class:`RecalibrationPolicy`).
Numbers that the statistics library needs for its own defaults are written there (stats imports
no services) and imported here; every other default is written here once.

A program stores its own values in ``Program.settings_json``; :meth:`ProgramSettings.from_json`
reads them over the defaults (unknown keys kept, bad values refused with a plain message) and
:meth:`ProgramSettings.to_json` writes them back. The values in force are still stored with each
round (``pass_rule_json``) and flag (``parameters_json``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Program
from ..stats.budget import ASSESSOR_BUDGET, COHORT_BUDGET, FALSE_ALARM_BUDGET, FalseAlarmBudget
from ..stats.cusum import CUSUM_K
from ..stats.drift import BASELINE_MIN_DROP, COHORT_MAX_DROP, COHORT_MIN_ALPHA
from ..stats.ewma import EWMA_L, EWMA_LAMBDA
from ..stats.labels import ALPHA_GOOD, ALPHA_TENTATIVE, MIN_ANCHORS, MIN_SCORES
from ..stats.lean import LEAN_MATERIAL, LEAN_WINDOW
from ..stats.passrule import MIN_EXACT_2_LEVELS, MIN_EXACT_3_LEVELS, PassRule, min_exact_for_scale
from ..stats.selfstart import PRIOR_DF
from .errors import InvalidInput

__all__ = [
    "ALPHA_GOOD",
    "ALPHA_TENTATIVE",
    "CERTIFICATION_DAYS",
    "MAX_PRACTICE_TRIES",
    "PRACTICE_TRIES",
    "QUALIFICATION_ATTEMPTS",
    "QUALIFICATION_WINDOW_DAYS",
    "RECALIBRATION_WINDOW_DAYS",
    "REMINDER_DAYS",
    "CertificationPolicy",
    "DriftPolicy",
    "EvidencePolicy",
    "PassRule",
    "ProgramSettings",
    "RecalibrationPolicy",
    "ScaleExact",
    "ValidityPolicy",
]

#: Certification lasts this many days (annual recalibration).
CERTIFICATION_DAYS = 365
#: Assessors are reminded this many days before their certification expires.
REMINDER_DAYS = 30
#: Qualification attempts (with different anchors) before the trainer decides.
QUALIFICATION_ATTEMPTS = 2
#: Days an assessor has to finish a qualification round.
QUALIFICATION_WINDOW_DAYS = 30
#: A flagged assessor is booked into a recalibration session within this many days.
RECALIBRATION_WINDOW_DAYS = 14
#: Tries an assessor has at each anchor of a new practice round before its key is shown (the
#: trainer sets each round's own number; Open edX ORA2's "learn to assess" asks until it matches).
PRACTICE_TRIES = 3
#: The most tries a trainer may give at one practice anchor.
MAX_PRACTICE_TRIES = 10


@dataclass(frozen=True)
class EvidencePolicy:
    """Minimum evidence: no pass/fail or drift decision from fewer anchors or criterion-scores."""

    min_anchors: int = MIN_ANCHORS
    min_scores: int = MIN_SCORES


@dataclass(frozen=True)
class CertificationPolicy:
    """Expiry, reminder and qualification attempts: program settings win over these defaults."""

    certification_days: int = CERTIFICATION_DAYS
    reminder_days: int = REMINDER_DAYS
    attempts: int = QUALIFICATION_ATTEMPTS
    window: dt.timedelta = dt.timedelta(days=QUALIFICATION_WINDOW_DAYS)

    @classmethod
    def from_config(cls, config: Any) -> CertificationPolicy:
        """Defaults from the app configuration mapping (CERTIFICATION_DAYS, REMINDER_DAYS, ...)."""
        return cls(
            certification_days=int(config.get("CERTIFICATION_DAYS", CERTIFICATION_DAYS)),
            reminder_days=int(config.get("REMINDER_DAYS", REMINDER_DAYS)),
            attempts=int(config.get("QUALIFICATION_ATTEMPTS", QUALIFICATION_ATTEMPTS)),
            window=dt.timedelta(days=int(config.get("QUALIFICATION_WINDOW_DAYS", QUALIFICATION_WINDOW_DAYS))),
        )

    def for_program(self, settings_json: str | None) -> CertificationPolicy:
        """These defaults under the program's own stored values (only the keys it stores)."""
        stored = _load(settings_json)
        return CertificationPolicy(
            certification_days=int(stored.get("certification_days", self.certification_days)),
            reminder_days=int(stored.get("reminder_days_before_expiry", self.reminder_days)),
            attempts=int(stored.get("qualification_attempts", self.attempts)),
            window=self.window,
        )


@dataclass(frozen=True)
class RecalibrationPolicy:
    """Booking a flagged assessor: a session with capacity within ``window_days``."""

    window_days: int = RECALIBRATION_WINDOW_DAYS


@dataclass(frozen=True)
class DriftPolicy:
    """The drift rules (a)-(e) and their numbers; field names are the ``drift`` settings keys and the
    keys stored with each flag's parameters."""

    min_anchors: int = MIN_ANCHORS
    min_scores: int = MIN_SCORES
    # Issue 6's EWMA and accuracy-drop rules raise no new flags since issue 15; their keys stay so
    # stored settings still parse. ``ewma_per_criterion`` still switches the per-criterion drift charts.
    ewma_lambda: float = EWMA_LAMBDA
    ewma_L: float = EWMA_L
    ewma_min_shift: float = 0.0
    ewma_per_criterion: bool = True
    # Rule (a) flags a failed round only when a share's 95% interval lies wholly below its minimum
    # (stats.passrule.clearly_below); False flags every failed round, as the pass rule decides.
    pass_rule_clear: bool = True
    baseline_window_rounds: int = 3
    baseline_rounds: int = 6
    baseline_min_drop: float = BASELINE_MIN_DROP
    baseline_alpha: float = 0.05
    cohort_min_alpha: float = COHORT_MIN_ALPHA
    cohort_max_drop: float = COHORT_MAX_DROP
    cohort_min_baseline_rounds: int = 3
    cohort_lowest: int = 3
    # Issue 15: one false-alarm budget. Each share is a rule's nominal probability of flagging an
    # in-control assessor (or all-stable program) at least once in ``budget_rounds`` rounds; the
    # assessor shares and the cohort shares each add up to at most ``budget_total``.
    budget_total: float = FALSE_ALARM_BUDGET
    budget_drift_overall: float = ASSESSOR_BUDGET.shares["drift_overall"]
    budget_drift_criterion: float = ASSESSOR_BUDGET.shares["drift_criterion"]
    budget_below_pass_rule: float = ASSESSOR_BUDGET.shares["below_pass_rule"]
    budget_cohort_level: float = COHORT_BUDGET.shares["cohort_level"]
    budget_alpha_minimum: float = COHORT_BUDGET.shares["alpha_minimum"]
    budget_alpha_baseline: float = COHORT_BUDGET.shares["alpha_baseline"]
    drift_k: float = CUSUM_K
    drift_prior_df: float = PRIOR_DF
    # A lean (feedback, not drift): judged over the latest rounds against a material size in levels.
    lean_window_rounds: int = LEAN_WINDOW
    lean_material: float = LEAN_MATERIAL
    auto_recalibrate: bool = False
    recalibration_round_days: int = RECALIBRATION_WINDOW_DAYS
    session_reminder_hours: float = 24
    deadline_reminder_days: float = 3
    # Not a ``drift`` key: the program's top-level recalibration window, carried along for callers.
    recalibration_window_days: int = RECALIBRATION_WINDOW_DAYS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def assessor_budget(self) -> FalseAlarmBudget:
        """The assessor rules' shares of the budget (raises ``ValueError`` when they exceed it)."""
        return FalseAlarmBudget(
            float(self.budget_total),
            ASSESSOR_BUDGET.rounds,
            {
                "drift_overall": float(self.budget_drift_overall),
                "drift_criterion": float(self.budget_drift_criterion),
                "below_pass_rule": float(self.budget_below_pass_rule),
            },
        )

    @property
    def cohort_budget(self) -> FalseAlarmBudget:
        """The cohort rules' shares of the budget (raises ``ValueError`` when they exceed it)."""
        return FalseAlarmBudget(
            float(self.budget_total),
            COHORT_BUDGET.rounds,
            {
                "cohort_level": float(self.budget_cohort_level),
                "alpha_minimum": float(self.budget_alpha_minimum),
                "alpha_baseline": float(self.budget_alpha_baseline),
            },
        )

    @classmethod
    def of(cls, values: DriftPolicy | Mapping[str, Any]) -> DriftPolicy:
        """``values`` as a policy: a mapping's known keys over the defaults (others ignored)."""
        if isinstance(values, DriftPolicy):
            return values
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass(frozen=True)
class ValidityPolicy:
    """Seeding validity anchors into live work (issue 18): how often, how widely, how long.

    Stored in the program's ``validity`` settings section under these names. An anchor is never
    served twice to one assessor, nor one they have met in any round (practice included).
    """

    #: At most this many validity items per assessor in any 7 days (0 stops seeding).
    max_per_week: int = 2
    #: When the platform says how many live items the assessor has had since their last validity
    #: item, at least this many must have passed (0: no such check).
    live_items_between: int = 20
    #: One anchor is served to at most this many assessors (each one more sees it in live work).
    max_assessors_per_anchor: int = 5
    #: An unanswered item is reported as expired this many days after it was assigned.
    expiry_days: int = 14


@dataclass(frozen=True)
class ScaleExact:
    """Exact agreement asked for on short scales; ``PassRule.min_exact`` is for four levels or more.

    Stored in the program's ``pass_rule`` settings as ``min_exact_3_levels`` and ``min_exact_2_levels``.
    """

    min_exact_3_levels: float = MIN_EXACT_3_LEVELS
    min_exact_2_levels: float = MIN_EXACT_2_LEVELS


_PASS_RULE_KEYS = tuple(f.name for f in fields(PassRule))
_SCALE_KEYS = tuple(f.name for f in fields(ScaleExact))
_DRIFT_KEYS = tuple(f.name for f in fields(DriftPolicy) if f.name != "recalibration_window_days")
_VALIDITY_KEYS = tuple(f.name for f in fields(ValidityPolicy))
_SHARES = frozenset(
    {"min_exact", "min_adjacent", "min_decision", "baseline_alpha", "budget_total", *_SCALE_KEYS}
)
_SHARES |= {f.name for f in fields(DriftPolicy) if f.name.startswith("budget_")}
#: "bool", "int", "float" or "share" (a fraction in [0, 1]) for each pass rule and drift key.
_KINDS: dict[str, str] = {
    f.name: "share" if f.name in _SHARES else str(f.type)
    for f in (*fields(PassRule), *fields(ScaleExact), *fields(DriftPolicy), *fields(ValidityPolicy))
}


@dataclass(frozen=True)
class ProgramSettings:
    """A program's settings: its stored values over the defaults. ``extra`` keeps keys this code does
    not know (top level), ``pass_rule_extra`` and ``drift_extra`` those inside the two sections."""

    pass_rule: PassRule = field(default_factory=PassRule)
    exact_by_scale: ScaleExact = field(default_factory=ScaleExact)
    certification: CertificationPolicy = field(default_factory=CertificationPolicy)
    recalibration: RecalibrationPolicy = field(default_factory=RecalibrationPolicy)
    drift: DriftPolicy = field(default_factory=DriftPolicy)
    validity: ValidityPolicy = field(default_factory=ValidityPolicy)
    extra: Mapping[str, Any] = field(default_factory=dict)
    pass_rule_extra: Mapping[str, Any] = field(default_factory=dict)
    drift_extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def evidence(self) -> EvidencePolicy:
        return EvidencePolicy(self.pass_rule.min_anchors, self.pass_rule.min_scores)

    def pass_rule_for(self, n_levels: int | None) -> PassRule:
        """The pass rule for a rubric of ``n_levels`` levels: exact agreement follows the scale
        (DESIGN §6); None or four levels or more give :attr:`pass_rule` itself."""
        if n_levels is None:
            return self.pass_rule
        exact = min_exact_for_scale(
            n_levels,
            four_or_more=self.pass_rule.min_exact,
            three=self.exact_by_scale.min_exact_3_levels,
            two=self.exact_by_scale.min_exact_2_levels,
        )
        return replace(self.pass_rule, min_exact=exact)

    @classmethod
    def from_json(cls, text: str | None) -> ProgramSettings:
        """Parse and check stored settings; a bad value raises :class:`InvalidInput` naming it."""
        stored = _load(text)
        rule = _section(stored, "pass_rule")
        drift = _section(stored, "drift")
        validity = _section(stored, "validity")
        known = {"pass_rule", "drift", "validity", "certification_days", "reminder_days_before_expiry"}
        known |= {"qualification_attempts", "recalibration_window_days"}
        errors: dict[str, list[str]] = {}
        rule_values = {
            k: _checked(errors, f"pass_rule.{k}", _KINDS[k], rule[k]) for k in rule if k in _PASS_RULE_KEYS
        }
        scale_values = {
            k: _checked(errors, f"pass_rule.{k}", _KINDS[k], rule[k]) for k in rule if k in _SCALE_KEYS
        }
        drift_values = {
            k: _checked(errors, f"drift.{k}", _KINDS[k], drift[k]) for k in drift if k in _DRIFT_KEYS
        }
        validity_values = {
            k: _checked(errors, f"validity.{k}", _KINDS[k], validity[k])
            for k in validity
            if k in _VALIDITY_KEYS
        }
        defaults = CertificationPolicy()
        top = {
            "certification_days": defaults.certification_days,
            "reminder_days_before_expiry": defaults.reminder_days,
            "qualification_attempts": defaults.attempts,
            "recalibration_window_days": RECALIBRATION_WINDOW_DAYS,
        }
        values = {k: _checked(errors, k, "int", stored.get(k, v)) for k, v in top.items()}
        if not errors:
            _check_budget(errors, DriftPolicy(**drift_values))
        if errors:
            raise InvalidInput("The program settings have values that cannot be used.", errors)
        window = int(values["recalibration_window_days"])
        return cls(
            pass_rule=PassRule(**rule_values),
            exact_by_scale=ScaleExact(**scale_values),
            certification=CertificationPolicy(
                certification_days=int(values["certification_days"]),
                reminder_days=int(values["reminder_days_before_expiry"]),
                attempts=int(values["qualification_attempts"]),
            ),
            recalibration=RecalibrationPolicy(window_days=window),
            drift=replace(DriftPolicy(**drift_values), recalibration_window_days=window),
            validity=ValidityPolicy(**validity_values),
            extra={k: v for k, v in stored.items() if k not in known},
            pass_rule_extra={k: v for k, v in rule.items() if k not in (*_PASS_RULE_KEYS, *_SCALE_KEYS)},
            drift_extra={k: v for k, v in drift.items() if k not in _DRIFT_KEYS},
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings as stored: every default written out, unknown keys kept."""
        out: dict[str, Any] = dict(self.extra)
        out["pass_rule"] = {**self.pass_rule_extra, **asdict(self.pass_rule)}
        if self.exact_by_scale != ScaleExact():  # written only when not the default
            out["pass_rule"].update(asdict(self.exact_by_scale))
        out["certification_days"] = self.certification.certification_days
        out["reminder_days_before_expiry"] = self.certification.reminder_days
        out["recalibration_window_days"] = self.recalibration.window_days
        if self.certification.attempts != QUALIFICATION_ATTEMPTS:  # written only when not the default
            out["qualification_attempts"] = self.certification.attempts
        if self.drift != replace(DriftPolicy(), recalibration_window_days=self.recalibration.window_days) or (
            self.drift_extra
        ):
            drift = self.drift.as_dict()
            drift.pop("recalibration_window_days")
            out["drift"] = {**self.drift_extra, **drift}
        if self.validity != ValidityPolicy():  # written only when not the default
            out["validity"] = asdict(self.validity)
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def of_program(cls, session: Session, program_id: int) -> ProgramSettings:
        """The settings in force for a program (its stored values over the defaults)."""
        return cls.from_json(session.scalar(select(Program.settings_json).where(Program.id == program_id)))

    def pass_rule_json(self, n_levels: int | None = None) -> str:
        """The pass rule as stored with a round of a rubric of ``n_levels`` levels (unknown keys kept;
        the short-scale settings are resolved into ``min_exact``)."""
        return json.dumps({**self.pass_rule_extra, **asdict(self.pass_rule_for(n_levels))}, sort_keys=True)


def _check_budget(errors: dict[str, list[str]], drift: DriftPolicy) -> None:
    """The rules' shares must fit in the false-alarm budget (one of each kind)."""
    for name, budget in (("assessor", "assessor_budget"), ("cohort", "cohort_budget")):
        try:
            getattr(drift, budget)
        except ValueError:
            errors.setdefault("drift.budget_total", []).append(
                f"The {name} rules' shares of the false-alarm budget add up to more than "
                f"drift.budget_total ({drift.budget_total})."
            )


def _load(text: str | None) -> dict[str, Any]:
    try:
        stored = json.loads(text or "{}")
    except ValueError as exc:
        raise InvalidInput("The program settings are not valid JSON.") from exc
    if not isinstance(stored, dict):
        raise InvalidInput("The program settings must be a JSON object.")
    return stored


def _section(stored: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = stored.get(name) or {}
    if not isinstance(value, dict):
        raise InvalidInput(f"The program settings' {name} must be a JSON object.", {name: ["Not an object."]})
    return value


def _checked(errors: dict[str, list[str]], where: str, kind: str, value: Any) -> Any:
    """``value`` if it is of ``kind``; else an error under ``where`` (and None)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        errors[where] = [f"{where} must be true or false (it is {value!r})."]
    elif kind == "int":
        if number and isinstance(value, int) and value >= 0:
            return value
        errors[where] = [f"{where} must be a whole number of at least 0 (it is {value!r})."]
    elif not number or not math.isfinite(value):
        errors[where] = [f"{where} must be a number (it is {value!r})."]
    elif kind == "share" and not 0 <= value <= 1:
        errors[where] = [f"{where} must be a fraction between 0 and 1 (it is {value!r})."]
    else:
        return value
    return None

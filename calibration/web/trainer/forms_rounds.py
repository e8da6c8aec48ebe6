"""Forms for creating and managing rounds. Shape only (types, required, choices); the rules (window
order, pass rule ranges, lifecycle) are checked by :mod:`calibration.services.rounds`.

Times are entered as a date and a time in the program's time zone and become timezone-aware UTC
datetimes (:func:`calibration.services.timezones.to_utc`); a time the clocks skip or repeat that day
is refused on the form, with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from ...models import CertificationStatus, Membership, RoundKind, User
from ...services.policy import PRACTICE_TRIES
from ...services.rounds import NAME_MAX_CHARS, RubricChoice
from ...services.selection import DEFAULT_TARGET
from ...services.timezones import DEFAULT_ZONE, LocalTimeProblem, split_local, to_utc
from ..forms import no_control_characters

KIND_CHOICES = [
    SelectChoice(RoundKind.CALIBRATION.value, "Calibration (periodic, for the cohort)"),
    SelectChoice(RoundKind.QUALIFICATION.value, "Qualification (onboarding gate)"),
    SelectChoice(RoundKind.RECALIBRATION.value, "Recalibration (for flagged assessors)"),
    SelectChoice(RoundKind.PRACTICE.value, "Practice (feedback shown, not counted)"),
]
PERCENT_FIELDS = ("min_exact", "min_adjacent", "min_decision")
COUNT_FIELDS = ("max_discrepant", "min_anchors", "min_scores")
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds when the step asks for them


class PercentField(FloatField):
    """A share entered as a percentage; shown without a trailing ".0"."""

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else f"{self.data:g}"


class CheckboxesField(SelectMultipleField):
    """Several ids chosen with checkboxes (none checked means an empty list)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _date(label: str) -> DateField:
    return DateField(
        label,
        validators=[InputRequired("Enter a date.")],
        invalid_value_message="Enter the date as YYYY-MM-DD.",
    )


def _time(label: str) -> TimeField:
    return TimeField(
        label,
        validators=[InputRequired("Enter a time.")],
        format=TIME_FORMATS,
        invalid_value_message="Enter the time as HH:MM (24-hour clock).",
    )


def split(value: dt.datetime, zone_name: str = DEFAULT_ZONE) -> tuple[dt.date, dt.time]:
    """The date and time (to the minute) a form shows for ``value`` in the zone."""
    return split_local(value, zone_name)


class ZonedTimesForm(FlaskForm):
    """A form whose date and time pairs are typed in one zone (:meth:`set_zone`, UTC until then).
    Validation turns each pair into a UTC instant, or puts the reason it is not one (a skipped or
    repeated time) on the date field."""

    #: (date field, time field, name of the instant) for each pair of the form.
    PAIRS: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    #: Each field's label, naming the zone where it says ``{zone}``.
    LABELS: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone_name = DEFAULT_ZONE
        self.instants: dict[str, dt.datetime | None] = {}
        self.set_zone(DEFAULT_ZONE)

    def set_zone(self, zone_name: str) -> None:
        self.zone_name = zone_name
        for name, text in self.LABELS.items():
            self[name].label.text = text.format(zone=zone_name)

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        ok = bool(super().validate(extra_validators))
        for day_name, time_name, instant in self.PAIRS:
            day, time = self[day_name].data, self[time_name].data
            self.instants[instant] = None
            if day is None or time is None or self[day_name].errors or self[time_name].errors:
                continue
            try:
                self.instants[instant] = to_utc(day, time, self.zone_name)
            except LocalTimeProblem as exc:
                self[day_name].errors = [*self[day_name].errors, str(exc)]
                ok = False
        return ok


class WindowForm(ZonedTimesForm):
    """When the round opens and closes, in the program's zone."""

    PAIRS = (("opens_date", "opens_time", "opens_at"), ("closes_date", "closes_time", "closes_at"))
    LABELS: ClassVar[Mapping[str, str]] = {
        "opens_date": "Opens on (date, {zone})",
        "opens_time": "at (time, {zone})",
        "closes_date": "Closes on (date, {zone})",
        "closes_time": "at (time, {zone})",
    }

    opens_date = _date("Opens on (date)")
    opens_time = _time("at (time)")
    closes_date = _date("Closes on (date)")
    closes_time = _time("at (time)")

    def opens_at(self) -> dt.datetime | None:
        return self.instants.get("opens_at")

    def closes_at(self) -> dt.datetime | None:
        return self.instants.get("closes_at")


def window_data(
    opens_at: dt.datetime, closes_at: dt.datetime, zone_name: str = DEFAULT_ZONE
) -> dict[str, Any]:
    (od, ot), (cd, ct) = split(opens_at, zone_name), split(closes_at, zone_name)
    return {"opens_date": od, "opens_time": ot, "closes_date": cd, "closes_time": ct}


#: Whole groups of assessors the new-round form can add at once, by certification status.
GROUP_CHOICES = [
    SelectChoice(CertificationStatus.CERTIFIED.value, "certified"),
    SelectChoice(CertificationStatus.RECALIBRATION_DUE.value, "due for recalibration"),
    SelectChoice(CertificationStatus.IN_TRAINING.value, "in training"),
]


def _someone(form: Any, field: Field) -> None:
    """At least one assessor: ticked one by one, or a whole group."""
    if not field.data and not form.groups.data:
        raise StopValidation("Choose at least one assessor.")


class NewRoundForm(WindowForm):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Give the round a name."),
            Length(max=NAME_MAX_CHARS, message=f"The name can be at most {NAME_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )
    kind = SelectField("Kind", choices=KIND_CHOICES, validators=[InputRequired("Choose a kind.")])
    rubric_version_id = SelectField("Rubric", coerce=int, validators=[InputRequired("Choose a rubric.")])
    min_exact = PercentField(
        "Exact agreement with the key, at least (%)", validators=[InputRequired("Enter a percentage.")]
    )
    min_adjacent = PercentField(
        "Exact or adjacent agreement, at least (%)", validators=[InputRequired("Enter a percentage.")]
    )
    max_discrepant = IntegerField(
        "Scores two or more levels off, at most",
        validators=[InputRequired("Enter a whole number.")],
    )
    min_decision = PercentField(
        "Decision agreement at the earn cut, at least (%)", validators=[InputRequired("Enter a percentage.")]
    )
    min_anchors = IntegerField(
        "No judgement from fewer than this many anchors", validators=[InputRequired("Enter a whole number.")]
    )
    min_scores = IntegerField(
        "… or fewer than this many criterion scores", validators=[InputRequired("Enter a whole number.")]
    )
    groups = CheckboxesField("Add everyone who is", choices=GROUP_CHOICES)
    assessor_ids = CheckboxesField("Assessors", coerce=int, validators=[_someone])
    # Practice rounds only (the service checks the range); other kinds ignore it.
    practice_tries = IntegerField(
        "Tries at each practice anchor before the key is shown",
        validators=[Optional()],
        default=PRACTICE_TRIES,
    )

    def set_choices(
        self, rubrics: Iterable[RubricChoice], assessors: Iterable[tuple[User, Membership]]
    ) -> None:
        self.rubric_version_id.choices = [
            SelectChoice(
                c.rubric.id,
                f"{c.rubric.title} (version {c.rubric.version}{'' if c.latest else ', older version'})",
            )
            for c in rubrics
        ]
        self.assessor_ids.choices = [SelectChoice(u.id, u.name) for u, _ in assessors]

    def chosen_assessors(self, assessors: Iterable[tuple[User, Membership]]) -> list[int]:
        """The assessors ticked one by one and everyone in a ticked group, in the list's order."""
        picked, groups = set(self.assessor_ids.data or []), set(self.groups.data or [])
        return [
            u.id
            for u, m in assessors
            if u.id in picked
            or (m.certification_status is not None and m.certification_status.value in groups)
        ]

    def pass_rule(self) -> dict[str, float | int | None]:
        """The rule as the service takes it: percentages become fractions."""
        rule: dict[str, float | int | None] = {}
        for name in PERCENT_FIELDS:
            value = self[name].data
            rule[name] = None if value is None else value / 100
        for name in COUNT_FIELDS:
            rule[name] = self[name].data
        return rule


def new_round_data(
    pass_rule: Mapping[str, float | int],
    rubrics: list[RubricChoice],
    now: dt.datetime,
    zone_name: str = DEFAULT_ZONE,
) -> dict[str, Any]:
    """Initial values: the program's pass rule (shares as %), the newest rubric, a two-week window
    from the next full hour (shown in the program's zone)."""
    start = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    data: dict[str, Any] = window_data(start, start + dt.timedelta(days=14), zone_name)
    data["kind"] = RoundKind.CALIBRATION.value
    data["practice_tries"] = PRACTICE_TRIES
    if rubrics:
        data["rubric_version_id"] = rubrics[0].rubric.id
    for name in PERCENT_FIELDS:
        data[name] = round(float(pass_rule[name]) * 100, 4)
    for name in COUNT_FIELDS:
        data[name] = int(pass_rule[name])
    return data


class AnchorsForm(FlaskForm):
    """The anchors of a draft round, chosen by hand."""

    anchor_ids = CheckboxesField("Anchors", coerce=int)


class AutoSelectForm(FlaskForm):
    target = IntegerField(
        "How many anchors (at least)",
        default=DEFAULT_TARGET,
        validators=[InputRequired("Enter how many anchors to choose.")],
    )


class AssessorsForm(FlaskForm):
    assessor_ids = CheckboxesField(
        "Assessors", coerce=int, validators=[InputRequired("Choose at least one assessor.")]
    )


class ExtendForm(ZonedTimesForm):
    PAIRS = (("closes_date", "closes_time", "closes_at"),)
    LABELS: ClassVar[Mapping[str, str]] = {
        "closes_date": "New closing date ({zone})",
        "closes_time": "at (time, {zone})",
    }

    closes_date = _date("New closing date")
    closes_time = _time("at (time)")

    def closes_at(self) -> dt.datetime | None:
        return self.instants.get("closes_at")

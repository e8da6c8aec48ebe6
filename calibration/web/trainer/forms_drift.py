"""Forms for drift flags, recalibration sessions and bookings (shape only: the rules are checked by
:mod:`calibration.services.drift`, ``sessions`` and ``recalibration``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from ...services.certification import REASON_MAX_CHARS
from ...services.sessions import (
    LOCATION_MAX_CHARS,
    MAX_CAPACITY,
    MAX_DURATION_MINUTES,
    TITLE_MAX_CHARS,
)
from ..forms import no_control_characters


def _reason(label: str, *, required: bool) -> TextAreaField:
    first = InputRequired("Give a reason.") if required else Optional()
    return TextAreaField(
        label,
        validators=[
            first,
            Length(
                max=REASON_MAX_CHARS, message=f"The reason can be at most {REASON_MAX_CHARS:,} characters."
            ),
            no_control_characters,
        ],
    )


class ConfirmFlagForm(FlaskForm):
    """Confirm a flag; ``acknowledged`` is set by the second step of a cohort flag (the trainer has
    read to whom recalibration will be started)."""

    reason = _reason("Note (optional, kept in the audit trail)", required=False)
    acknowledged = HiddenField(validators=[Optional(), AnyOf(["yes"])])


class RetryForm(FlaskForm):
    """ "Try again now" for a recalibration waiting for anchors; ``back`` says which page to return to."""

    back = HiddenField(validators=[Optional(), AnyOf(["flag", "flags", "person"])])


class DismissFlagForm(FlaskForm):
    reason = _reason("Reason for dismissing (kept in the audit trail)", required=True)


class SessionForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[
            InputRequired("Enter the title."),
            Length(max=TITLE_MAX_CHARS, message=f"The title can be at most {TITLE_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )
    date = DateField("Date", validators=[InputRequired("Enter the date.")])
    time = TimeField(
        "Start time (in the time zone below)", validators=[InputRequired("Enter the start time.")]
    )
    timezone = StringField(
        "Time zone (IANA name, e.g. Europe/Berlin)",
        validators=[InputRequired("Enter the time zone."), Length(max=64), no_control_characters],
    )
    duration_minutes = IntegerField(
        "Duration in minutes",
        default=90,
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(
                1, MAX_DURATION_MINUTES, f"Enter the duration in minutes, from 1 to {MAX_DURATION_MINUTES}."
            ),
        ],
    )
    location = StringField(
        "Place or video link",
        validators=[
            InputRequired("Enter the place or video link."),
            Length(max=LOCATION_MAX_CHARS, message=f"At most {LOCATION_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )
    trainer_id = SelectField("Trainer", coerce=int, validators=[InputRequired("Choose a trainer.")])
    capacity = IntegerField(
        "Capacity (assessors)",
        default=6,
        validators=[
            InputRequired("Enter how many assessors can attend."),
            NumberRange(1, MAX_CAPACITY, f"Enter how many assessors can attend, from 1 to {MAX_CAPACITY}."),
        ],
    )


class AttendanceForm(FlaskForm):
    # Sent by one of two buttons (name="attended", value yes or no).
    attended = RadioField(
        "Attendance",
        choices=[SelectChoice("yes", "Attended"), SelectChoice("no", "Did not attend")],
        validators=[InputRequired("Choose attended or did not attend.")],
    )


class MoveForm(FlaskForm):
    target = SelectField("Move to session", coerce=int, validators=[InputRequired("Choose a session.")])


class BookAssessorForm(FlaskForm):
    user_id = SelectField("Assessor", coerce=int, validators=[InputRequired("Choose an assessor.")])


class CancelSessionForm(FlaskForm):
    reason = _reason("Reason for cancelling (kept in the audit trail)", required=True)


class RetryMailForm(FlaskForm):
    """Only the CSRF token: "try the undelivered mail again now"."""

"""The program settings form, one field per rule of :data:`calibration.services.program_settings.SETTINGS`
(shape only: the values are checked by the service, which keeps the typed text for the form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ...services.program_settings import SETTINGS, TIMEZONE_LABEL
from ...services.timezones import ZONE_MAX_CHARS
from ..forms import no_control_characters


class _SettingsForm(FlaskForm):
    seen = HiddenField()
    timezone = StringField(
        TIMEZONE_LABEL,
        validators=[
            InputRequired(f"{TIMEZONE_LABEL}: enter a time zone name, such as Europe/London."),
            Length(max=ZONE_MAX_CHARS, message=f"{TIMEZONE_LABEL}: at most {ZONE_MAX_CHARS} characters."),
            no_control_characters,
        ],
        description=(
            "Round windows and session times are entered and shown in this zone (assessors may choose "
            "their own for reading). An IANA name such as Europe/London or America/New_York; UTC by default."
        ),
    )


def settings_form_class() -> type[FlaskForm]:
    """A form class with a field named after each setting's :attr:`~Setting.field`."""
    fields: dict[str, object] = {}
    for s in SETTINGS:
        if s.kind == "bool":
            fields[s.field] = RadioField(
                s.label,
                choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
                validators=[InputRequired(f"{s.label}: choose yes or no.")],
                description=s.hint,
            )
        else:
            fields[s.field] = StringField(
                s.label,
                validators=[
                    InputRequired(f"{s.label}: enter a value."),
                    Length(max=30, message=f"{s.label}: enter a number of at most 30 characters."),
                    no_control_characters,
                ],
                description=s.hint,
            )
    return type("SettingsForm", (_SettingsForm,), fields)


SettingsForm = settings_form_class()

"""Forms for one's own account: accepting an invitation, choosing, changing or resetting a
password, and one's own time zone (shape only: :mod:`calibration.services.onboarding` checks the rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from ...services.onboarding import NAME_MAX_CHARS, PASSWORD_MAX_CHARS
from ...services.timezones import ZONE_MAX_CHARS
from ..forms import no_control_characters


def _password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired("Enter a password."),
            Length(
                max=PASSWORD_MAX_CHARS, message=f"A password can be at most {PASSWORD_MAX_CHARS} characters."
            ),
        ],
    )


class AcceptForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[
            InputRequired("Enter your name."),
            Length(max=NAME_MAX_CHARS, message=f"The name can be at most {NAME_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )
    password = _password("Choose a password")
    confirm = _password("Type the password again")


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email."), Length(max=254)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired("Enter your current password.")])
    password = _password("New password")
    confirm = _password("Type the new password again")


class ResetForm(FlaskForm):
    password = _password("New password")
    confirm = _password("Type the new password again")


class TimeZoneForm(FlaskForm):
    timezone = StringField(
        "Your time zone",
        validators=[
            Length(max=ZONE_MAX_CHARS, message=f"A time zone name has at most {ZONE_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )

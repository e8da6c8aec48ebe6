"""Forms for invitations, accepting one, password resets and certification decisions (shape only:
the rules are checked by :mod:`calibration.services.onboarding` and ``certification``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..services.certification import REASON_MAX_CHARS
from ..services.onboarding import NAME_MAX_CHARS, PASSWORD_MAX_CHARS
from .forms import no_control_characters


class InviteForm(FlaskForm):
    emails = TextAreaField(
        "Email addresses",
        validators=[
            InputRequired("Enter at least one email address."),
            Length(max=30000, message="The list is too long; invite at most 100 people at once."),
            no_control_characters,
        ],
    )


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


class AccountSwitchForm(FlaskForm):
    # Which way the button switches the account; the reason is kept in the audit trail.
    state = RadioField(
        "Account",
        choices=[SelectChoice("off", "Switch off"), SelectChoice("on", "Switch on")],
        validators=[InputRequired("Choose whether to switch the account off or on.")],
    )
    reason = TextAreaField(
        "Reason (kept in the audit trail)",
        validators=[
            InputRequired("Give a reason."),
            Length(
                max=REASON_MAX_CHARS, message=f"The reason can be at most {REASON_MAX_CHARS:,} characters."
            ),
            no_control_characters,
        ],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired("Enter your current password.")])
    password = _password("New password")
    confirm = _password("Type the new password again")


class ResetForm(FlaskForm):
    password = _password("New password")
    confirm = _password("Type the new password again")


def _reason() -> TextAreaField:
    return TextAreaField(
        "Reason (kept in the audit trail)",
        validators=[
            InputRequired("Give a reason."),
            Length(
                max=REASON_MAX_CHARS, message=f"The reason can be at most {REASON_MAX_CHARS:,} characters."
            ),
            no_control_characters,
        ],
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve: certify this assessor"),
            SelectChoice("extend", "Extend: assign another qualification attempt with different anchors"),
            SelectChoice("end", "End: stop the qualification (the assessor is suspended)"),
        ],
        validators=[InputRequired("Choose a decision.")],
    )
    reason = _reason()


class ReasonForm(FlaskForm):
    reason = _reason()

"""The administrator's form: switching an account off or on, with a reason (shape only:
:mod:`calibration.services.people` checks the rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ...services.certification import REASON_MAX_CHARS
from ..forms import no_control_characters


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

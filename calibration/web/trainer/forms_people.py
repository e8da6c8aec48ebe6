"""Forms for the trainer's people pages: invitations and certification decisions (shape only: the
rules are checked by :mod:`calibration.services.onboarding` and ``certification``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ...services.certification import REASON_MAX_CHARS
from ..forms import no_control_characters


class InviteForm(FlaskForm):
    emails = TextAreaField(
        "Email addresses",
        validators=[
            InputRequired("Enter at least one email address."),
            Length(max=30000, message="The list is too long; invite at most 100 people at once."),
            no_control_characters,
        ],
    )


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

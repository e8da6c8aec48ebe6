"""The trainer's answer to a key challenge (shape only: the rules are checked by
:mod:`calibration.services.challenges`). The assessor's question is in ``web/assessor/forms.py``."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ...services.challenges import TEXT_MAX_CHARS
from ..forms import no_control_characters


def _text(label: str, required: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            InputRequired(required),
            Length(max=TEXT_MAX_CHARS, message=f"At most {TEXT_MAX_CHARS:,} characters."),
            no_control_characters,
        ],
    )


class AnswerForm(FlaskForm):
    outcome = RadioField(
        "Answer",
        choices=[
            SelectChoice("key_stands", "The key stands"),
            SelectChoice("key_changed", "The key was changed (a newer key version exists)"),
        ],
        validators=[InputRequired("Choose whether the key stands or was changed.")],
    )
    response = _text("Your answer (the assessor reads it with their feedback)", "Write your answer.")

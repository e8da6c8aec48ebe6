"""Forms for key challenges: the assessor's question and the trainer's answer (shape only: the rules
are checked by :mod:`calibration.services.challenges`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..services.challenges import TEXT_MAX_CHARS
from .forms import no_control_characters
from .forms_corrections import whole_number


def _text(label: str, required: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            InputRequired(required),
            Length(max=TEXT_MAX_CHARS, message=f"At most {TEXT_MAX_CHARS:,} characters."),
            no_control_characters,
        ],
    )


class ChallengeForm(FlaskForm):
    criterion = SelectField(
        "Criterion",
        coerce=whole_number,
        validate_choice=False,
        validators=[InputRequired("Choose the criterion.")],
    )
    argument = _text(
        "Why the key should be different (cite the evidence; your lead trainer reads this)",
        "Say why you think the key is wrong.",
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

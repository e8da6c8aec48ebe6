"""The form for correcting one score of a final sheet (shape only: the rules are checked by
:mod:`calibration.services.corrections`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from ...services.corrections import REASON_MAX_CHARS
from ..forms import no_control_characters, whole_number


class CorrectionForm(FlaskForm):
    # Choices are the sheet's criteria and the rubric's levels, set by the view; the service checks
    # the values again, so a forged choice gets the same clear message as a mistyped one.
    criterion = SelectField(
        "Criterion",
        coerce=whole_number,
        validate_choice=False,
        validators=[InputRequired("Choose the criterion.")],
    )
    level = SelectField(
        "Corrected level",
        coerce=whole_number,
        validate_choice=False,
        validators=[InputRequired("Choose the level.")],
    )
    reason = TextAreaField(
        "Reason (the assessor reads this with their feedback; kept with the correction)",
        validators=[
            InputRequired("Say why the score is corrected."),
            Length(
                max=REASON_MAX_CHARS, message=f"The reason can be at most {REASON_MAX_CHARS:,} characters."
            ),
            no_control_characters,
        ],
    )

    def set_choices(self, criteria: list[tuple[int, str]], levels: list[tuple[int, str]]) -> None:
        self.criterion.choices = [(-1, "Choose…"), *criteria]
        self.level.choices = [(-1, "Choose…"), *levels]

"""Forms check shape only (types, required, choices from the rubric version); services check rules."""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from ..services.rubric_cache import RubricSnapshot

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def no_control_characters(_form: Any, field: Field) -> None:
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("This contains a control character (such as NUL) that cannot be stored.")


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[InputRequired("Enter your email."), Length(max=254), no_control_characters]
    )
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=1024)])


class LogoutForm(FlaskForm):
    pass


CRITERION_PREFIX = "criterion_"


@functools.lru_cache(maxsize=256)
def score_form_class(rubric: RubricSnapshot, *, notes_max_chars: int) -> type[FlaskForm]:
    """A form with one radio group per criterion of this rubric version, plus notes.

    Built once per rubric version and notes limit (the snapshot is immutable, and a form class
    holds no request data: each request makes its own instance)."""
    labels = {level.value: level.label for level in rubric.levels}

    class ScoreForm(FlaskForm):
        notes = TextAreaField(
            "Notes (optional, for your own reference)",
            validators=[
                Length(max=notes_max_chars, message=f"Notes can be at most {notes_max_chars:,} characters."),
                no_control_characters,
            ],
        )

        def validate(self, extra_validators: Any = None) -> bool:
            ok = super().validate(extra_validators)
            known = {name for name in self._fields if name.startswith(CRITERION_PREFIX)}
            posted = {key for key in request.form if key.startswith(CRITERION_PREFIX)}
            if posted - known:
                self.form_errors.append(
                    "The form included a criterion that is not part of this rubric; reload the page and try again."
                )
                ok = False
            return ok

        def levels(self) -> dict[int, int]:
            return {
                int(name.removeprefix(CRITERION_PREFIX)): int(field.data)
                for name, field in self._fields.items()
                if name.startswith(CRITERION_PREFIX) and field.data not in (None, "")
            }

    for criterion in rubric.criteria:
        field = RadioField(
            criterion.title,
            choices=[SelectChoice(str(value), f"{value} · {label}") for value, label in labels.items()],
            validators=[InputRequired(f"Choose a level for “{criterion.title}”.")],
            validate_choice=True,
        )
        setattr(ScoreForm, f"{CRITERION_PREFIX}{criterion.id}", field)
    return ScoreForm

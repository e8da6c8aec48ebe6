"""The assessor's forms: the score sheet (built per rubric version), a question to the key, and
the answer to a session booking. Shape only: the services check the rules
(:mod:`calibration.services.scoring`, ``challenges``, ``sessions``)."""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ...services.challenges import TEXT_MAX_CHARS
from ...services.rubric_cache import RubricSnapshot
from ...services.sessions import NOTE_MAX_CHARS
from ..forms import no_control_characters, whole_number

CRITERION_PREFIX = "criterion_"


class ScoreFormBase(FlaskForm):
    """What every score form has: notes, the rubric check, and the chosen levels."""

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        known = {name for name in self._fields if name.startswith(CRITERION_PREFIX)}
        posted = {key for key in request.form if key.startswith(CRITERION_PREFIX)}
        if posted - known:
            self.form_errors.append(
                "The form included a criterion that is not part of this rubric; reload the page and try again."
            )
            ok = False
        return ok

    def levels(self) -> dict[int, int]:
        """The chosen level per criterion id (criteria left unanswered are absent)."""
        return {
            int(name.removeprefix(CRITERION_PREFIX)): int(field.data)
            for name, field in self._fields.items()
            if name.startswith(CRITERION_PREFIX) and field.data not in (None, "")
        }


@functools.lru_cache(maxsize=256)
def score_form_class(rubric: RubricSnapshot, *, notes_max_chars: int) -> type[ScoreFormBase]:
    """A form with one radio group per criterion of this rubric version, plus notes.

    Built once per rubric version and notes limit (the snapshot is immutable, and a form class
    holds no request data: each request makes its own instance)."""
    labels = {level.value: level.label for level in rubric.levels}

    class ScoreForm(ScoreFormBase):
        notes = TextAreaField(
            "Notes (optional, for your own reference)",
            validators=[
                Length(max=notes_max_chars, message=f"Notes can be at most {notes_max_chars:,} characters."),
                no_control_characters,
            ],
        )

    for criterion in rubric.criteria:
        field = RadioField(
            criterion.title,
            choices=[SelectChoice(str(value), f"{value} · {label}") for value, label in labels.items()],
            validators=[InputRequired(f"Choose a level for “{criterion.title}”.")],
            validate_choice=True,
        )
        setattr(ScoreForm, f"{CRITERION_PREFIX}{criterion.id}", field)
    return ScoreForm


class ChallengeForm(FlaskForm):
    criterion = SelectField(
        "Criterion",
        coerce=whole_number,
        validate_choice=False,
        validators=[InputRequired("Choose the criterion.")],
    )
    argument = TextAreaField(
        "Why the key should be different (cite the evidence; your lead trainer reads this)",
        validators=[
            InputRequired("Say why you think the key is wrong."),
            Length(max=TEXT_MAX_CHARS, message=f"At most {TEXT_MAX_CHARS:,} characters."),
            no_control_characters,
        ],
    )


class RespondForm(FlaskForm):
    action = RadioField(
        "Your answer",
        choices=[SelectChoice("accept", "Accept this booking"), SelectChoice("move", "Ask to move it")],
        validators=[InputRequired("Choose accept or ask to move.")],
    )
    note = TextAreaField(
        "If you ask to move: which times suit you?",
        validators=[
            Optional(),
            Length(max=NOTE_MAX_CHARS, message=f"The note can be at most {NOTE_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )

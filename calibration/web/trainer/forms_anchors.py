"""Forms for the trainer's rubric and anchor pages. Shape only; the services check the rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ...models import AnchorPurpose, AnchorStatus, RubricVersion
from ...services.anchors import EVIDENCE_MAX_CHARS, RATIONALE_MAX_CHARS, REASON_MAX_CHARS, TITLE_MAX_CHARS
from ..forms import no_control_characters

PURPOSE_CHOICES = [
    SelectChoice(AnchorPurpose.PRACTICE.value, "Practice (feedback shown, not counted)"),
    SelectChoice(AnchorPurpose.QUALIFICATION.value, "Qualification"),
    SelectChoice(AnchorPurpose.CALIBRATION.value, "Calibration"),
]
STATUS_CHOICES = [
    SelectChoice(AnchorStatus.DRAFT.value, "Draft (not used in rounds yet)"),
    SelectChoice(AnchorStatus.ACTIVE.value, "Active"),
    SelectChoice(AnchorStatus.RETIRED.value, "Retired"),
]


class AnchorForm(FlaskForm):
    """Title, purpose and evidence, with a Preview button that renders the evidence and saves nothing."""

    title = StringField(
        "Title",
        validators=[
            InputRequired("Give the anchor a title."),
            Length(max=TITLE_MAX_CHARS, message=f"The title can be at most {TITLE_MAX_CHARS} characters."),
            no_control_characters,
        ],
    )
    purpose = SelectField("Purpose", choices=PURPOSE_CHOICES, validators=[InputRequired("Choose a purpose.")])
    evidence_md = TextAreaField(
        "Evidence (Markdown)",
        validators=[
            InputRequired("Write the evidence assessors will score."),
            Length(
                max=EVIDENCE_MAX_CHARS,
                message=f"The evidence can be at most {EVIDENCE_MAX_CHARS:,} characters.",
            ),
            no_control_characters,
        ],
    )
    preview = SubmitField("Preview")
    save = SubmitField("Save")


class NewAnchorForm(AnchorForm):
    rubric_version_id = SelectField("Rubric", coerce=int, validators=[InputRequired("Choose a rubric.")])

    def set_rubrics(self, rubrics: Iterable[RubricVersion]) -> None:
        self.rubric_version_id.choices = [
            SelectChoice(r.id, f"{r.title} (version {r.version})") for r in rubrics
        ]


class EditAnchorForm(AnchorForm):
    status = SelectField("Status", choices=STATUS_CHOICES, validators=[InputRequired("Choose a status.")])


LEVEL_PREFIX = "level_"
RATIONALE_PREFIX = "rationale_"


class KeyFormBase(FlaskForm):
    base_version = HiddenField()
    reason = TextAreaField(
        "Reason for this change",
        validators=[
            Length(
                max=REASON_MAX_CHARS, message=f"The reason can be at most {REASON_MAX_CHARS:,} characters."
            ),
            no_control_characters,
        ],
    )

    def levels(self) -> dict[int, int | None]:
        return {
            int(name.removeprefix(LEVEL_PREFIX)): int(f.data) if f.data not in (None, "") else None
            for name, f in self._fields.items()
            if name.startswith(LEVEL_PREFIX)
        }

    def rationales(self) -> dict[int, str]:
        return {
            int(name.removeprefix(RATIONALE_PREFIX)): f.data or ""
            for name, f in self._fields.items()
            if name.startswith(RATIONALE_PREFIX)
        }

    def base(self) -> int | None:
        raw = (self.base_version.data or "").strip()
        return int(raw) if raw.isdigit() else None


def key_form_class(rubric: RubricVersion) -> type[KeyFormBase]:
    """One level choice and one rationale per criterion of the anchor's rubric version."""

    class KeyForm(KeyFormBase):
        pass

    choices = [SelectChoice(str(level.value), f"{level.value} · {level.label}") for level in rubric.levels]
    for criterion in rubric.criteria:
        setattr(
            KeyForm,
            f"{LEVEL_PREFIX}{criterion.id}",
            RadioField(
                criterion.title,
                choices=choices,
                validators=[InputRequired(f"Choose the key level for “{criterion.title}”.")],
            ),
        )
        setattr(
            KeyForm,
            f"{RATIONALE_PREFIX}{criterion.id}",
            TextAreaField(
                "Rationale: why this level, citing the evidence",
                validators=[
                    InputRequired(f"Write the rationale for “{criterion.title}”."),
                    Length(
                        max=RATIONALE_MAX_CHARS,
                        message=f"A rationale can be at most {RATIONALE_MAX_CHARS:,} characters.",
                    ),
                    no_control_characters,
                ],
            ),
        )
    return KeyForm


def key_form_data(key: Any) -> dict[str, Any]:
    """Initial form values from a key version (or an empty key)."""
    data: dict[str, Any] = {"base_version": str(key.version) if key else ""}
    for entry in key.entries if key else []:
        data[f"{LEVEL_PREFIX}{entry.criterion_id}"] = str(entry.level_value)
        data[f"{RATIONALE_PREFIX}{entry.criterion_id}"] = entry.rationale
    return data


class AttachmentForm(FlaskForm):
    file = FileField("File (PDF, PNG or JPEG)", validators=[FileRequired("Choose a file to attach.")])


class RubricUploadForm(FlaskForm):
    file = FileField("Rubric file (YAML)", validators=[FileRequired("Choose a rubric file to upload.")])

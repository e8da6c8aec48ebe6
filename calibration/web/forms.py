"""Form pieces every audience shares. Forms check shape only (types, required, choices from the
rubric version); services check rules.

Each audience keeps its own forms beside its views (``web/auth/forms.py``, ``web/account/forms.py``,
``web/admin/forms.py``, ``web/assessor/forms.py``, ``web/trainer/forms_*.py``).
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def no_control_characters(_form: Any, field: Field) -> None:
    """Refuse text holding a control character (NUL and friends cannot be stored)."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("This contains a control character (such as NUL) that cannot be stored.")


def whole_number(value: object) -> int:
    """The chosen id or level, or -1 for anything that is not a whole number (the service then
    names the valid choices, rather than a bare "could not coerce")."""
    try:
        return int(str(value))
    except ValueError:
        return -1


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token (e.g. remove an attachment)."""

"""The assessor's round result pages and My progress (registered on the assessor blueprint)."""

from __future__ import annotations

from flask import render_template

from ...db import get_session
from ...services import my_progress, round_results
from ..guards import actor
from .views import bp


@bp.get("/rounds/<int:round_id>/result")
def round_result(round_id: int) -> str:
    """The result of a counted round once the assessor's last sheet in it is final (else 404)."""
    me = actor()
    result = round_results.round_result(
        get_session(), program_id=me.program_id, user_id=me.user_id, round_id=round_id
    )
    return render_template("assessor/result.html", r=result)


@bp.get("/progress")
def progress() -> str:
    """My progress: the assessor's own accuracy over every round, per criterion, and weak spots."""
    me = actor()
    view = my_progress.my_progress(get_session(), program_id=me.program_id, user_id=me.user_id)
    return render_template("assessor/progress.html", p=view)

"""Final score sheets as a trainer sees them, and the correction of one score with a reason.
Thin views over :mod:`calibration.services.corrections`."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...services import corrections
from ..boundary import attempt, page
from ..guards import actor
from .blueprint import bp
from .forms_corrections import CorrectionForm

Page = Response | str | tuple[str, int]


@bp.get("/rounds/<int:round_id>/assessors/<int:user_id>/sheets")
def assessor_sheets(round_id: int, user_id: int) -> str:
    me = actor()
    s = corrections.assessor_sheets(
        get_session(),
        program_id=me.program_id,
        round_id=round_id,
        user_id=user_id,
    )
    return render_template("trainer/sheets.html", s=s)


def _correction_page(
    view: corrections.SheetView, form: CorrectionForm, page_error: str | None = None
) -> Page:
    html = render_template("trainer/sheet_correct.html", v=view, form=form, page_error=page_error)
    return page(html, page_error)


def _form(view: corrections.SheetView) -> CorrectionForm:
    form = CorrectionForm()
    labels = view.level_labels
    form.set_choices(
        [(line.criterion_id, line.criterion_title) for line in view.lines],
        [(value, f"{value} · {label}") for value, label in labels.items()],
    )
    return form


@bp.route("/sheets/<int:sheet_id>/correct", methods=["GET", "POST"])
def sheet_correct(sheet_id: int) -> Page:
    me = actor()
    db_session = get_session()
    view = corrections.sheet_view(db_session, program_id=me.program_id, sheet_id=sheet_id)  # 404 first
    form = _form(view)
    if not form.is_submitted():
        return _correction_page(view, form)
    if not form.validate():
        return _correction_page(view, form, "The correction needs attention; nothing was saved.")
    round_id, assessor_id = view.round.id, view.sheet.assessor_id
    outcome = attempt(  # the assessor's mail is queued with the correction and sent after the commit
        lambda s: corrections.correct_score(
            s,
            me,
            program_id=me.program_id,
            sheet_id=sheet_id,
            criterion_id=form.criterion.data if form.criterion.data is not None else -1,
            level_value=form.level.data if form.level.data is not None else -1,
            reason=form.reason.data or "",
        ),
        form=form,
    )
    if not outcome.ok:
        view = corrections.sheet_view(db_session, program_id=me.program_id, sheet_id=sheet_id)
        return _correction_page(view, form, f"{outcome.message} Nothing was saved.")
    correction = outcome.value
    flash(
        f"Correction recorded: {correction.previous_level_value} → {correction.level_value}. "
        "Reports and the assessor's feedback now use the corrected level.",
        "info",
    )
    return redirect(
        url_for(".assessor_sheets", round_id=round_id, user_id=assessor_id) + f"#sheet-{sheet_id}"
    )

"""Rubrics: stored versions, one version's criteria x levels, and uploading a rubric file (validated
and imported exactly as ``flask import-rubrics`` does)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...services import rubric_admin
from ..boundary import attempt, page
from ..guards import actor
from .blueprint import bp
from .forms_anchors import RubricUploadForm


@bp.get("/rubrics")
def rubrics() -> str:
    me = actor()
    return render_template(
        "trainer/rubrics/list.html", lines=rubric_admin.program_rubrics(get_session(), me.program_id)
    )


@bp.get("/rubrics/<int:rubric_version_id>")
def rubric_page(rubric_version_id: int) -> str:
    me = actor()
    view = rubric_admin.rubric_view(
        get_session(), program_id=me.program_id, rubric_version_id=rubric_version_id
    )
    return render_template("trainer/rubrics/page.html", v=view)


@bp.route("/rubrics/upload", methods=["GET", "POST"])
def rubric_upload() -> Response | str | tuple[str, int]:
    me = actor()
    form = RubricUploadForm()
    page_error = None
    if form.validate_on_submit():
        upload = form.file.data
        done = attempt(
            lambda s: rubric_admin.upload_rubric(
                s, me, program_id=me.program_id, filename=upload.filename or "", stream=upload.stream
            ),
            form=form,
        )
        if not done.ok:
            page_error = done.message
        else:
            outcome = done.value
            if outcome.created:
                flash(f"{outcome.slug}: version {outcome.version} imported.", "info")
            else:
                flash(
                    f"{outcome.slug}: this file is already stored as version {outcome.version}; "
                    "nothing new was imported.",
                    "info",
                )
            return redirect(url_for(".rubric_page", rubric_version_id=outcome.rubric_version_id))
    elif form.is_submitted():
        page_error = "Choose a rubric file to upload."
    html = render_template("trainer/rubrics/upload.html", form=form, page_error=page_error)
    return page(html, page_error)

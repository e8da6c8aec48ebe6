"""Anchors: list, create and edit (with a no-JavaScript Markdown preview), the versioned master key,
attachments, and the per-anchor agreement page. Thin views over :mod:`calibration.services.anchors`."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ...db import get_db, get_session
from ...models.attachments import size_label
from ...notify import bookings as drift_mail
from ...services import anchor_waits, challenges, key_views
from ...services import anchors as service
from ...services.errors import InvalidInput
from ...services.scoring import rubric_with_levels
from ..forms import ConfirmForm
from ..guards import actor, audit_after_read
from .blueprint import bp
from .forms_anchors import (
    AttachmentForm,
    EditAnchorForm,
    NewAnchorForm,
    key_form_class,
    key_form_data,
)

Page = Response | str | tuple[str, int]


def apply_errors(form: FlaskForm, exc: InvalidInput) -> None:
    """Show a service's field errors next to the fields (unknown names go to the form's own list)."""
    for name, messages in exc.field_errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


def send_attachment(f: service.AttachmentFile) -> Response:
    """Send a stored attachment: its own content type, never sniffed, never cached."""
    response = send_file(
        f.path,
        mimetype=f.content_type,
        as_attachment=f.as_attachment,
        download_name=f.download_name,
        conditional=False,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _preview_or_errors(form: Any) -> tuple[bool, str | None]:
    """(preview requested, page error). A preview checks only the evidence field and writes nothing."""
    if form.is_submitted() and form.preview.data:
        form.evidence_md.validate(form)
        return True, None if not form.evidence_md.errors else "The evidence needs attention."
    return False, None


@bp.get("/anchors")
def anchors() -> str:
    me = actor()
    return render_template(
        "trainer/anchors/list.html", items=service.program_anchors(get_session(), me.program_id)
    )


@bp.route("/anchors/new", methods=["GET", "POST"])
def anchor_new() -> Page:
    me = actor()
    db_session = get_session()
    rubrics = service.program_rubric_versions(db_session, me.program_id)
    form = NewAnchorForm()
    form.set_rubrics(rubrics)
    previewing, page_error = _preview_or_errors(form)
    if not previewing and form.validate_on_submit():
        try:
            anchor = service.create_anchor(
                db_session,
                me,
                program_id=me.program_id,
                rubric_version_id=form.rubric_version_id.data,
                title=form.title.data or "",
                purpose=form.purpose.data or "",
                evidence_md=form.evidence_md.data or "",
            )
            db_session.commit()
            flash("Anchor created as a draft. Set its master key next.", "info")
            return redirect(url_for(".anchor_key", anchor_id=anchor.id))
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
    elif not previewing and form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    return _form_page("trainer/anchors/new.html", page_error, form=form, rubrics=rubrics, preview=previewing)


@bp.get("/anchors/<int:anchor_id>")
def anchor_page(anchor_id: int) -> str:
    me = actor()
    overview = service.anchor_overview(get_session(), program_id=me.program_id, anchor_id=anchor_id)
    questioned = challenges.open_count(get_session(), me.program_id, anchor_id)  # type: ignore[arg-type]
    html = render_template("trainer/anchors/page.html", o=overview, open_challenges=questioned)
    if overview.key is not None:  # the current key with its rationale, and the history of levels
        shown = _key_shown(overview.key, via="anchor_page")
        shown["versions_listed"] = [h.version.version for h in overview.history]
        audit_after_read(lambda s: key_views.record_key_view(s, me, **shown))
    return html


def _key_shown(key: Any, *, via: str) -> dict[str, Any]:
    """What a key view's audit row needs, as plain values (read before the read transaction ends)."""
    return {"anchor_id": key.anchor_id, "key_version_id": key.id, "version": key.version, "via": via}


@bp.route("/anchors/<int:anchor_id>/edit", methods=["GET", "POST"])
def anchor_edit(anchor_id: int) -> Page:
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    form = EditAnchorForm(
        data={
            "title": anchor.title,
            "purpose": anchor.purpose.value,
            "status": anchor.status.value,
            "evidence_md": anchor.evidence_md,
        }
    )
    previewing, page_error = _preview_or_errors(form)
    if not previewing and form.validate_on_submit():
        try:
            anchor_id = anchor.id
            before = anchor_waits.started_count(db_session, me.program_id)  # type: ignore[arg-type]
            changed = service.update_anchor(
                db_session,
                me,
                program_id=me.program_id,
                anchor_id=anchor.id,
                title=form.title.data or "",
                purpose=form.purpose.data or "",
                status=form.status.data or "",
                evidence_md=form.evidence_md.data or "",
            )
            resumed = anchor_waits.started_count(db_session, me.program_id) - before  # type: ignore[arg-type]
            db_session.commit()
            flash("Anchor saved." if changed else "Nothing changed; nothing was saved.", "info")
            _resumed(resumed)
            return redirect(url_for(".anchor_page", anchor_id=anchor_id))
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
    elif not previewing and form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    return _form_page("trainer/anchors/edit.html", page_error, form=form, anchor=anchor, preview=previewing)


def _resumed(n: int) -> None:
    """After the commit: say which waiting recalibrations the change started, and send their
    session invitations (the request's transaction is closed, so the mail job can write)."""
    if n <= 0:
        return
    flash(f"{n} recalibration(s) that were waiting for anchors started with this anchor.", "info")
    outcome = drift_mail.send_booking_mails(get_db().sessionmaker)
    if outcome.failed:
        flash(
            f"{outcome.failed} invitation mail(s) could not be sent; the next evaluate-drift run retries them.",
            "error",
        )


def _form_page(template: str, page_error: str | None, **context: Any) -> str | tuple[str, int]:
    html = render_template(template, page_error=page_error, **context)
    return (html, 400) if page_error else html


@bp.route("/anchors/<int:anchor_id>/key", methods=["GET", "POST"])
def anchor_key(anchor_id: int) -> Page:
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    rubric = rubric_with_levels(db_session, anchor.rubric_version_id)
    current = service.current_key(db_session, anchor.id)
    form = key_form_class(rubric)(data=key_form_data(current))
    page_error = None
    if form.validate_on_submit():
        try:
            anchor_id = anchor.id
            before = anchor_waits.started_count(db_session, me.program_id)  # type: ignore[arg-type]
            version = service.change_key(
                db_session,
                me,
                program_id=me.program_id,
                anchor_id=anchor.id,
                levels=form.levels(),
                rationales=form.rationales(),
                reason=form.reason.data or "",
                base_version=form.base(),
            )
            number = version.version
            resumed = anchor_waits.started_count(db_session, me.program_id) - before  # type: ignore[arg-type]
            db_session.commit()
            flash(f"Key version {number} saved.", "info")
            _resumed(resumed)
            return redirect(url_for(".anchor_page", anchor_id=anchor_id))
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
            # Show the key as it is now; the next submit is then a change of that version.
            current = service.current_key(db_session, anchor.id)
            form.base_version.data = str(current.version) if current else ""
    elif form.is_submitted():
        page_error = "The key needs attention; what you typed is kept below."
    page = _form_page(
        "trainer/anchors/key.html", page_error, form=form, anchor=anchor, rubric=rubric, current=current
    )
    if request.method == "GET" and current is not None:  # the form shows the key and its rationale
        shown = _key_shown(current, via="key_form")
        audit_after_read(lambda s: key_views.record_key_view(s, me, **shown))
    return page


@bp.route("/anchors/<int:anchor_id>/attachments", methods=["GET", "POST"])
def anchor_attachments(anchor_id: int) -> Page:
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    form = AttachmentForm()
    page_error = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            attachment = service.add_attachment(
                db_session,
                me,
                program_id=me.program_id,
                anchor_id=anchor.id,
                filename=upload.filename or "",
                stream=upload.stream,
                directory=current_app.config["ATTACHMENT_DIR"],
                max_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
            )
            db_session.commit()
            flash(f"“{attachment.original_name}” attached.", "info")
            return redirect(url_for(".anchor_attachments", anchor_id=anchor.id))
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
    elif form.is_submitted():
        page_error = "Choose a file to attach."
    return _form_page(
        "trainer/anchors/attachments.html",
        page_error,
        form=form,
        anchor=anchor,
        remove_form=ConfirmForm(),
        max_label=size_label(current_app.config["ATTACHMENT_MAX_BYTES"]),
    )


@bp.get("/anchors/<int:anchor_id>/attachments/<int:attachment_id>")
def anchor_attachment(anchor_id: int, attachment_id: int) -> Response:
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    attachment = service.get_attachment(db_session, anchor_id=anchor.id, attachment_id=attachment_id)
    return send_attachment(service.attachment_file(attachment, current_app.config["ATTACHMENT_DIR"]))


@bp.post("/anchors/<int:anchor_id>/attachments/<int:attachment_id>/remove")
def anchor_attachment_remove(anchor_id: int, attachment_id: int) -> Response:
    me = actor()
    db_session = get_session()
    stored_name = service.remove_attachment(
        db_session, me, program_id=me.program_id, anchor_id=anchor_id, attachment_id=attachment_id
    )
    db_session.commit()
    # The row is gone for good; only now may the file go (a failed commit keeps both).
    service.discard_file(current_app.config["ATTACHMENT_DIR"], stored_name)
    flash("Attachment removed.", "info")
    return redirect(url_for(".anchor_attachments", anchor_id=anchor_id))

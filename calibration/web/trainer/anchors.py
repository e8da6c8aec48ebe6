"""Anchors: list, create and edit (with a no-JavaScript Markdown preview), the versioned master key,
attachments, the per-anchor agreement page and the release to the assessors' library. Thin views
over :mod:`calibration.services.anchors` and :mod:`calibration.services.library`."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ...db import get_session
from ...models import AnchorPurpose, AnchorStatus
from ...models.attachments import size_label
from ...services import anchor_waits, challenges, key_views, library, lists
from ...services import anchors as service
from ...services.scoring import rubric_with_levels
from ..attachments import send_attachment
from ..boundary import MailOutcome, attempt, commit_after_read, page
from ..forms import ConfirmForm
from ..guards import actor
from .blueprint import bp
from .forms_anchors import (
    AttachmentForm,
    EditAnchorForm,
    NewAnchorForm,
    key_form_class,
    key_form_data,
)
from .list_args import list_args

Page = Response | str | tuple[str, int]


def _preview_or_errors(form: Any) -> tuple[bool, str | None]:
    """(preview requested, page error). A preview checks only the evidence field and writes nothing."""
    if form.is_submitted() and form.preview.data:
        form.evidence_md.validate(form)
        return True, None if not form.evidence_md.errors else "The evidence needs attention."
    return False, None


ANCHOR_STATUSES = {s.value: s.value for s in AnchorStatus}
ANCHOR_PURPOSES = {p.value: p.value for p in AnchorPurpose}


@bp.get("/anchors")
def anchors() -> str:
    me = actor()
    db_session = get_session()
    rubrics = lists.rubric_choices(db_session, me.program_id)
    args = list_args(statuses=ANCHOR_STATUSES, kinds=ANCHOR_PURPOSES, rubrics=rubrics)
    return render_template(
        "trainer/anchors/list.html",
        paged=lists.anchors_page(db_session, me.program_id, args.filter),
        args=args,
        statuses=ANCHOR_STATUSES,
        purposes=ANCHOR_PURPOSES,
        rubrics=rubrics,
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
        outcome = attempt(
            lambda s: (
                service.create_anchor(
                    s,
                    me,
                    program_id=me.program_id,
                    rubric_version_id=form.rubric_version_id.data,
                    title=form.title.data or "",
                    purpose=form.purpose.data or "",
                    evidence_md=form.evidence_md.data or "",
                ).id
            ),
            form=form,
        )
        if outcome.ok:
            flash("Anchor created as a draft. Set its master key next.", "info")
            return redirect(url_for(".anchor_key", anchor_id=outcome.value))
        page_error = outcome.message
    elif not previewing and form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    return _form_page("trainer/anchors/new.html", page_error, form=form, rubrics=rubrics, preview=previewing)


@bp.get("/anchors/<int:anchor_id>")
def anchor_page(anchor_id: int) -> str:
    me = actor()
    overview = service.anchor_overview(get_session(), program_id=me.program_id, anchor_id=anchor_id)
    questioned = challenges.open_count(get_session(), me.program_id, anchor_id)
    html = render_template("trainer/anchors/page.html", o=overview, open_challenges=questioned)
    if overview.key is not None:  # the current key with its rationale, and the history of levels
        shown = _key_shown(overview.key, via="anchor_page")
        shown["versions_listed"] = [h.version.version for h in overview.history]
        commit_after_read(lambda s: key_views.record_key_view(s, me, **shown))
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

        def work(s: Session) -> tuple[list[str], int]:
            before = anchor_waits.started_count(s, me.program_id)
            changed = service.update_anchor(
                s,
                me,
                program_id=me.program_id,
                anchor_id=anchor_id,
                title=form.title.data or "",
                purpose=form.purpose.data or "",
                status=form.status.data or "",
                evidence_md=form.evidence_md.data or "",
            )
            return changed, anchor_waits.started_count(s, me.program_id) - before

        outcome = attempt(work, form=form)
        if outcome.ok:
            changed, resumed = outcome.value
            flash("Anchor saved." if changed else "Nothing changed; nothing was saved.", "info")
            _resumed(resumed, outcome.mail)
            return redirect(url_for(".anchor_page", anchor_id=anchor_id))
        page_error = outcome.message
    elif not previewing and form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    return _form_page("trainer/anchors/edit.html", page_error, form=form, anchor=anchor, preview=previewing)


def _resumed(n: int, mail: MailOutcome) -> None:
    """After the commit: say how many waiting recalibrations the change started, and whether their
    session invitations (queued with the change, sent by the boundary) failed to go out."""
    if n <= 0:
        return
    flash(f"{n} recalibration(s) that were waiting for anchors started with this anchor.", "info")
    if mail.failed:
        flash(
            f"{mail.failed} invitation mail(s) could not be sent; the next evaluate-drift run retries them.",
            "error",
        )


def _form_page(template: str, page_error: str | None, **context: Any) -> str | tuple[str, int]:
    return page(render_template(template, page_error=page_error, **context), page_error)


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

        def work(s: Session) -> tuple[int, int]:
            before = anchor_waits.started_count(s, me.program_id)
            version = service.change_key(
                s,
                me,
                program_id=me.program_id,
                anchor_id=anchor_id,
                levels=form.levels(),
                rationales=form.rationales(),
                reason=form.reason.data or "",
                base_version=form.base(),
            )
            return version.version, anchor_waits.started_count(s, me.program_id) - before

        outcome = attempt(work, form=form)
        if outcome.ok:
            number, resumed = outcome.value
            flash(f"Key version {number} saved.", "info")
            _resumed(resumed, outcome.mail)
            return redirect(url_for(".anchor_page", anchor_id=anchor_id))
        page_error = outcome.message
        # Show the key as it is now; the next submit is then a change of that version.
        current = service.current_key(db_session, anchor_id)
        form.base_version.data = str(current.version) if current else ""
    elif form.is_submitted():
        page_error = "The key needs attention; what you typed is kept below."
    shown_page = _form_page(
        "trainer/anchors/key.html", page_error, form=form, anchor=anchor, rubric=rubric, current=current
    )
    if request.method == "GET" and current is not None:  # the form shows the key and its rationale
        shown = _key_shown(current, via="key_form")
        commit_after_read(lambda s: key_views.record_key_view(s, me, **shown))
    return shown_page


@bp.route("/anchors/<int:anchor_id>/attachments", methods=["GET", "POST"])
def anchor_attachments(anchor_id: int) -> Page:
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    form = AttachmentForm()
    page_error = None
    if form.validate_on_submit():
        upload = form.file.data
        outcome = attempt(
            lambda s: (
                service.add_attachment(
                    s,
                    me,
                    program_id=me.program_id,
                    anchor_id=anchor_id,
                    filename=upload.filename or "",
                    stream=upload.stream,
                    directory=current_app.config["ATTACHMENT_DIR"],
                    max_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
                ).original_name
            ),
            form=form,
        )
        if outcome.ok:
            flash(f"“{outcome.value}” attached.", "info")
            return redirect(url_for(".anchor_attachments", anchor_id=anchor_id))
        page_error = outcome.message
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
    outcome = attempt(
        lambda s: service.remove_attachment(
            s, me, program_id=me.program_id, anchor_id=anchor_id, attachment_id=attachment_id
        ),
        refuse=(),
    )
    assert outcome.ok  # refuse=(): nothing is refused here (NotFound propagates: a 404)
    # The row is gone for good; only now may the file go (a failed commit keeps both).
    service.discard_file(current_app.config["ATTACHMENT_DIR"], outcome.value)
    flash("Attachment removed.", "info")
    return redirect(url_for(".anchor_attachments", anchor_id=anchor_id))


@bp.route("/anchors/<int:anchor_id>/release", methods=["GET", "POST"])
def anchor_release(anchor_id: int) -> Page:
    """Release the anchor to the assessors' library: a confirmation page, then the release (for good)."""
    me = actor()
    db_session = get_session()
    anchor = service.get_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    form = ConfirmForm()
    page_error = None
    if form.validate_on_submit():
        outcome = attempt(
            lambda s: library.release_anchor(s, me, program_id=me.program_id, anchor_id=anchor_id).title,
            form=form,
        )
        if outcome.ok:
            flash(f"“{outcome.value}” is now in the anchor library. No round will use it again.", "info")
            return redirect(url_for(".anchor_page", anchor_id=anchor_id))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "The form expired; reload the page and confirm again."
    blockers = [] if anchor.released_at else library.release_blockers(db_session, anchor.id)
    return _form_page(
        "trainer/anchors/release.html",
        page_error,
        form=form,
        anchor=anchor,
        blockers=blockers,
        has_key=service.current_key(db_session, anchor.id) is not None,
    )

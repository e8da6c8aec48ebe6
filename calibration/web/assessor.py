"""Assessor pages: assigned rounds, blind scoring, feedback once final."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import drift_mail
from ..db import get_db, get_session, utcnow
from ..models import Role
from ..services import anchors as anchor_service
from ..services import assignments, certification, completion, reveal, scoring
from ..services.errors import AlreadyRecorded, InvalidInput, RoundNotOpen
from .forms import CRITERION_PREFIX, score_form_class
from .guards import actor, require_roles
from .trainer.anchors import send_attachment

bp = Blueprint("assessor", __name__)
bp.before_request(require_roles(Role.ASSESSOR))


@bp.get("/dashboard")
def dashboard() -> str:
    me = actor()
    rounds = assignments.dashboard(get_session(), user_id=me.user_id, program_id=me.program_id)
    return render_template("assessor/dashboard.html", rounds=rounds, membership=g.membership)


@bp.get("/certification", endpoint="certification")
def certification_page() -> str:
    """The assessor's certification: status, qualification results with reasons, what happens next."""
    me = actor()
    view = certification.certification_view(get_session(), program_id=me.program_id, user_id=me.user_id)
    return render_template("assessor/certification.html", v=view)


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    items = assignments.round_items(db_session, rnd, user_id=me.user_id)
    return render_template("assessor/round.html", round=rnd, items=items, open_now=rnd.is_open_at(utcnow()))


def _score_context(round_id: int, anchor_id: int):  # type: ignore[no-untyped-def]
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    anchor = assignments.round_anchor(db_session, rnd, anchor_id)
    rubric = scoring.rubric_with_levels(db_session, rnd.rubric_version_id)
    form_class = score_form_class(rubric, notes_max_chars=current_app.config["NOTES_MAX_CHARS"])
    return me, db_session, rnd, anchor, rubric, form_class


@bp.route("/rounds/<int:round_id>/anchors/<int:anchor_id>", methods=["GET", "POST"])
def score(round_id: int, anchor_id: int) -> Response | str | tuple[str, int]:
    me, db_session, rnd, anchor, rubric, form_class = _score_context(round_id, anchor_id)
    if scoring.existing_sheet(db_session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=me.user_id):
        if request.method == "POST":
            return _already_recorded(rnd, anchor)
        return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
    form = form_class()
    page_error = None
    if form.validate_on_submit():
        try:
            scoring.submit_sheet(
                db_session,
                me,
                round_id=rnd.id,
                anchor_id=anchor.id,
                levels=form.levels(),
                notes=form.notes.data or "",
                notes_max_chars=current_app.config["NOTES_MAX_CHARS"],
                rubric=rubric,
            )
            done = completion.after_final_sheet(
                db_session,
                me,
                round_id=rnd.id,
                defaults=certification.Policy.from_config(current_app.config),
            )
            db_session.commit()
            if done.finished_round:  # a verdict or a drift flag may have booked a session
                drift_mail.send_booking_mails(get_db().sessionmaker, user_ids=[me.user_id])
            if done.qualification is not None:
                flash("That was the last anchor of your qualification round: your result is ready.", "info")
                return redirect(url_for(".certification"))
            return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
        except AlreadyRecorded:
            db_session.rollback()
            return _already_recorded(rnd, anchor)
        except InvalidInput as exc:
            db_session.rollback()
            page_error = str(exc)
            for name, messages in exc.field_errors.items():
                field = form._fields.get(name)
                if field is not None:
                    field.errors = list(field.errors) + messages
                else:
                    form.form_errors.extend(messages)
        except RoundNotOpen as exc:
            db_session.rollback()
            page_error = str(exc)
    elif form.is_submitted():
        page_error = "Some scores need attention; what you entered is kept below."
    status = 200 if page_error is None else 400
    return (
        render_template(
            "assessor/score.html",
            round=rnd,
            anchor=anchor,
            rubric=rubric,
            form=form,
            prefix=CRITERION_PREFIX,
            page_error=page_error,
            open_now=rnd.is_open_at(utcnow()),
        ),
        status,
    )


def _already_recorded(rnd, anchor) -> str:  # type: ignore[no-untyped-def]
    me = actor()
    fb = reveal.feedback(get_session(), rnd, assessor_id=me.user_id, anchor_id=anchor.id)
    return render_template(
        "assessor/feedback.html", round=rnd, anchor=anchor, feedback=fb, already_recorded=True
    )


@bp.get("/rounds/<int:round_id>/anchors/<int:anchor_id>/feedback")
def feedback(round_id: int, anchor_id: int) -> str:
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    anchor = assignments.round_anchor(db_session, rnd, anchor_id)
    fb = reveal.feedback(db_session, rnd, assessor_id=me.user_id, anchor_id=anchor.id)
    return render_template(
        "assessor/feedback.html", round=rnd, anchor=anchor, feedback=fb, already_recorded=False
    )


@bp.get("/rounds/<int:round_id>/anchors/<int:anchor_id>/attachments/<int:attachment_id>")
def attachment(round_id: int, anchor_id: int, attachment_id: int) -> Response:
    """An evidence file of an anchor in a round the assessor is assigned to (evidence, not key: no
    blindness rule applies, so it is available before scoring)."""
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    anchor = assignments.round_anchor(db_session, rnd, anchor_id)
    found = anchor_service.get_attachment(db_session, anchor_id=anchor.id, attachment_id=attachment_id)
    return send_attachment(anchor_service.attachment_file(found, current_app.config["ATTACHMENT_DIR"]))

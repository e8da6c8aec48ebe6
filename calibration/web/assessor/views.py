"""Assessor pages: assigned rounds, blind scoring, feedback once final."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ...db import end_reading, get_db, get_session, utcnow, write_intent
from ...models import Role
from ...notify import bookings as drift_mail
from ...notify import outbox
from ...notify import reviews as review_mail
from ...services import anchors as anchor_service
from ...services import (
    assignments,
    certification,
    challenges,
    completion,
    key_views,
    reveal,
    rubric_cache,
    scoring,
)
from ...services.errors import AlreadyRecorded, InvalidInput, NotFound, RoundNotOpen
from ..guards import actor, audit_after_read, require_roles
from ..hooks import writes_late
from ..trainer.anchors import apply_errors, send_attachment
from .forms import CRITERION_PREFIX, ChallengeForm, score_form_class

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
    rubric = rubric_cache.rubric_snapshot(db_session, rnd.rubric_version_id)
    form_class = score_form_class(rubric, notes_max_chars=current_app.config["NOTES_MAX_CHARS"])
    return me, db_session, rnd, anchor, rubric, form_class


@bp.route("/rounds/<int:round_id>/anchors/<int:anchor_id>", methods=["GET", "POST"])
@writes_late
def score(round_id: int, anchor_id: int) -> Response | str | tuple[str, int]:
    """The score page, and the submit of a final sheet.

    A submit reads (who, which round, anchor and rubric, the form) in a read-only transaction and
    only then opens its write transaction, which stores the sheet and commits: on SQLite the write
    lock, which every submit waits for in turn, is held for the writing alone.
    """
    me, db_session, rnd, anchor, rubric, form_class = _score_context(round_id, anchor_id)
    if request.method == "GET" and scoring.existing_sheet(
        db_session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=me.user_id
    ):
        return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
    form = form_class()
    page_error = None
    if form.validate_on_submit():
        end_reading(db_session)  # nothing has been written yet
        try:
            with write_intent():
                # The service checks, in this transaction, that no sheet is stored yet.
                scoring.submit_scoped_sheet(
                    db_session,
                    me,
                    rnd=rnd,
                    anchor=anchor,
                    rubric=rubric,
                    levels=form.levels(),
                    notes=form.notes.data or "",
                    notes_max_chars=current_app.config["NOTES_MAX_CHARS"],
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
    elif form.is_submitted() and scoring.existing_sheet(
        db_session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=me.user_id
    ):
        return _already_recorded(rnd, anchor)  # whatever the form held: the sheet is final
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


def _feedback_page(  # type: ignore[no-untyped-def]
    rnd,
    anchor,
    *,
    already_recorded: bool = False,
    form: ChallengeForm | None = None,
    page_error: str | None = None,
) -> str | tuple[str, int]:
    """The feedback page: the comparison with the key, corrections, and the assessor's own
    challenges to the key with the form to raise one."""
    me = actor()
    db_session = get_session()
    fb = reveal.feedback(db_session, rnd, assessor_id=me.user_id, anchor_id=anchor.id)
    asked = challenges.challenges_of_sheet(db_session, fb.sheet.id)
    if form is None:
        form = ChallengeForm(formdata=None)
    form.criterion.choices = [(-1, "Choose…")] + [
        (c.criterion_id, c.criterion_title) for c in fb.criteria if c.criterion_id not in asked
    ]
    html = render_template(
        "assessor/feedback.html",
        round=rnd,
        anchor=anchor,
        feedback=fb,
        already_recorded=already_recorded,
        challenges=asked,
        challenge_form=form,
        page_error=page_error,
    )
    shown = {
        "anchor_id": anchor.id,
        "key_version_id": fb.sheet.key_version_id,
        "version": fb.key_version,
        "round_id": rnd.id,
        "sheet_id": fb.sheet.id,
    }
    # The first showing of this key to this assessor goes on the trail; a reload writes nothing.
    if not key_views.has_seen(db_session, user_id=me.user_id, key_version_id=shown["key_version_id"]):  # type: ignore[arg-type]
        audit_after_read(lambda s: key_views.record_first_feedback_view(s, me, **shown))
    return (html, 400) if page_error else html


def _already_recorded(rnd, anchor) -> str | tuple[str, int]:  # type: ignore[no-untyped-def]
    return _feedback_page(rnd, anchor, already_recorded=True)


def _round_and_anchor(round_id: int, anchor_id: int):  # type: ignore[no-untyped-def]
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    return rnd, assignments.round_anchor(db_session, rnd, anchor_id)


@bp.get("/rounds/<int:round_id>/anchors/<int:anchor_id>/feedback")
def feedback(round_id: int, anchor_id: int) -> str | tuple[str, int]:
    rnd, anchor = _round_and_anchor(round_id, anchor_id)
    return _feedback_page(rnd, anchor)


@bp.post("/rounds/<int:round_id>/anchors/<int:anchor_id>/feedback/challenge")
def challenge(round_id: int, anchor_id: int) -> Response | str | tuple[str, int]:
    """Question the key on one criterion (only once the sheet is final: feedback's own rule)."""
    me = actor()
    db_session = get_session()
    rnd, anchor = _round_and_anchor(round_id, anchor_id)
    if reveal.may_reveal(db_session, assessor_id=me.user_id, round_id=rnd.id, anchor_id=anchor.id) is None:
        raise NotFound("feedback")  # before the sheet is final, as the feedback page itself
    form = ChallengeForm()
    if not form.validate():
        return _feedback_page(
            rnd, anchor, form=form, page_error="Your question needs attention; nothing was sent."
        )
    try:
        asked = challenges.raise_challenge(
            db_session,
            me,
            round_id=rnd.id,
            anchor_id=anchor.id,
            criterion_id=form.criterion.data if form.criterion.data is not None else -1,
            argument=form.argument.data or "",
        )
        queued = review_mail.challenge_raised(db_session, asked)
        db_session.commit()
    except InvalidInput as exc:
        db_session.rollback()
        apply_errors(form, exc)
        return _feedback_page(rnd, anchor, form=form, page_error=str(exc))
    outbox.deliver_due(ids=queued)  # after the commit; a failure is kept, retried and shown
    flash("Your question was sent to your lead trainer. Their answer will appear here.", "info")
    return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id) + "#challenges")


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

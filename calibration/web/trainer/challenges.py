"""Key challenges for lead trainers: the list (open first) and one challenge with the key it
questions and the answer form. Thin views over :mod:`calibration.services.challenges`."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...notify import outbox
from ...notify import reviews as review_mail
from ...services import challenges, key_views
from ...services.errors import InvalidInput
from ..guards import actor, audit_after_read
from .anchors import apply_errors
from .blueprint import bp
from .forms_challenges import AnswerForm

Page = Response | str | tuple[str, int]


@bp.get("/challenges")
def challenges_page() -> str:
    me = actor()
    rows = challenges.program_challenges(get_session(), me.program_id)  # type: ignore[arg-type]
    return render_template("trainer/challenges.html", rows=rows)


def _challenge_page(
    challenge_id: int,
    form: AnswerForm | None = None,
    page_error: str | None = None,
    *,
    audit_key_view: bool = False,
) -> Page:
    me = actor()
    view = challenges.challenge_view(get_session(), program_id=me.program_id, challenge_id=challenge_id)  # type: ignore[arg-type]
    html = render_template(
        "trainer/challenge.html", v=view, form=form or AnswerForm(formdata=None), page_error=page_error
    )
    if audit_key_view:  # the page shows the questioned key version's level and rationale
        c = view.challenge
        shown = {
            "anchor_id": c.anchor_id,
            "key_version_id": c.key_version_id,
            "version": c.key_version.version,
        }
        audit_after_read(lambda s: key_views.record_key_view(s, me, via="challenge", **shown))
    return (html, 400) if page_error else html


@bp.get("/challenges/<int:challenge_id>")
def challenge_page(challenge_id: int) -> Page:
    return _challenge_page(challenge_id, audit_key_view=True)


@bp.post("/challenges/<int:challenge_id>/answer")
def challenge_answer(challenge_id: int) -> Page:
    me = actor()
    db_session = get_session()
    challenges.challenge_view(db_session, program_id=me.program_id, challenge_id=challenge_id)  # type: ignore[arg-type]  # 404 first
    form = AnswerForm()
    if not form.validate_on_submit():
        return _challenge_page(challenge_id, form, "The answer needs attention; nothing was saved.")
    try:
        answered = challenges.answer(
            db_session,
            me,
            program_id=me.program_id,  # type: ignore[arg-type]
            challenge_id=challenge_id,
            outcome=form.outcome.data or "",
            response=form.response.data or "",
        )
        queued = review_mail.challenge_answered(db_session, answered)
        db_session.commit()
    except InvalidInput as exc:
        db_session.rollback()
        apply_errors(form, exc)
        return _challenge_page(challenge_id, form, str(exc))
    outbox.deliver_due(ids=queued)  # after the commit; a failure is kept, retried and shown
    flash("Answer recorded; the assessor sees it with their feedback.", "info")
    return redirect(url_for(".challenge_page", challenge_id=challenge_id))

"""Key challenges for lead trainers: the list (open first) and one challenge with the key it
questions and the answer form. Thin views over :mod:`calibration.services.challenges`."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...models import ChallengeStatus
from ...services import challenges, key_views, lists, lists_drift
from ..boundary import attempt, commit_after_read, page
from ..guards import actor
from .blueprint import bp
from .forms_challenges import AnswerForm
from .list_args import list_args

Page = Response | str | tuple[str, int]


CHALLENGE_STATUSES = {s.value: s.value.replace("_", " ") for s in ChallengeStatus}


@bp.get("/challenges")
def challenges_page() -> str:
    me = actor()
    db_session = get_session()
    rubrics = lists.rubric_choices(db_session, me.program_id)
    args = list_args(statuses=CHALLENGE_STATUSES, rubrics=rubrics)
    return render_template(
        "trainer/challenges.html",
        paged=lists_drift.challenges_page(db_session, me.program_id, args.filter),
        args=args,
        statuses=CHALLENGE_STATUSES,
        rubrics=rubrics,
    )


def _challenge_page(
    challenge_id: int,
    form: AnswerForm | None = None,
    page_error: str | None = None,
    *,
    audit_key_view: bool = False,
) -> Page:
    me = actor()
    view = challenges.challenge_view(get_session(), program_id=me.program_id, challenge_id=challenge_id)
    html = render_template(
        "trainer/challenge.html", v=view, form=form or AnswerForm(formdata=None), page_error=page_error
    )
    if audit_key_view:  # the page shows the questioned key version's level and rationale
        c = view.challenge
        anchor_id, key_version_id, version = c.anchor_id, c.key_version_id, c.key_version.version
        commit_after_read(
            lambda s: key_views.record_key_view(
                s, me, anchor_id=anchor_id, key_version_id=key_version_id, version=version, via="challenge"
            )
        )
    return page(html, page_error)


@bp.get("/challenges/<int:challenge_id>")
def challenge_page(challenge_id: int) -> Page:
    return _challenge_page(challenge_id, audit_key_view=True)


@bp.post("/challenges/<int:challenge_id>/answer")
def challenge_answer(challenge_id: int) -> Page:
    me = actor()
    challenges.challenge_view(get_session(), program_id=me.program_id, challenge_id=challenge_id)  # 404 first
    form = AnswerForm()
    if not form.validate_on_submit():
        return _challenge_page(challenge_id, form, "The answer needs attention; nothing was saved.")
    outcome = attempt(  # the assessor's mail is queued with the answer and sent after the commit
        lambda s: challenges.answer(
            s,
            me,
            program_id=me.program_id,
            challenge_id=challenge_id,
            outcome=form.outcome.data or "",
            response=form.response.data or "",
        ),
        form=form,
    )
    if not outcome.ok:
        return _challenge_page(challenge_id, form, outcome.message)
    flash("Answer recorded; the assessor sees it with their feedback.", "info")
    return redirect(url_for(".challenge_page", challenge_id=challenge_id))

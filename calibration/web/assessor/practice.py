"""Practice that teaches: after a try that differed from the key, which criteria differed and
another try at the same anchor, until one matches or the tries are used up (then the key)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for

from ...db import utcnow
from ...services import practice
from ...services.errors import AlreadyRecorded, InvalidInput, NotFound, RoundNotOpen
from ..boundary import attempt, page
from .forms import CRITERION_PREFIX, ScoreFormBase
from .views import Page, _score_context, _ScoreContext, bp


def _try_page(
    c: _ScoreContext, state: practice.PracticeState, form: ScoreFormBase, *, page_error: str | None = None
) -> Page:
    html = render_template(
        "assessor/practice_try.html",
        round=c.rnd,
        anchor=c.anchor,
        rubric=c.rubric,
        form=form,
        prefix=CRITERION_PREFIX,
        state=state,
        differed=set(state.differed),
        open_now=c.rnd.is_open_at(utcnow()),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.route("/rounds/<int:round_id>/anchors/<int:anchor_id>/try-again", methods=["GET", "POST"])
def try_again(round_id: int, anchor_id: int) -> Page:
    """Another try at a practice anchor whose key is still withheld (filled in with the last try)."""
    c = _score_context(round_id, anchor_id)
    state = practice.practice_state(c.session, c.rnd, assessor_id=c.me.user_id, anchor_id=c.anchor.id)
    if state is None:  # not a practice round, or no first try yet
        raise NotFound("practice")
    if state.key_shown:
        return redirect(url_for(".feedback", round_id=c.rnd.id, anchor_id=c.anchor.id))
    form = c.form_class()
    if not form.is_submitted():
        data = {f"{CRITERION_PREFIX}{cid}": str(value) for cid, value in state.levels.items()}
        return _try_page(c, state, c.form_class(formdata=None, data=data))
    if not form.validate():
        return _try_page(
            c, state, form, page_error="Some scores need attention; what you entered is kept below."
        )
    levels, notes = form.levels(), form.notes.data or ""
    notes_max_chars = current_app.config["NOTES_MAX_CHARS"]
    rnd, anchor, rubric, me = c.rnd, c.anchor, c.rubric, c.me
    outcome = attempt(
        lambda s: practice.try_again(
            s,
            me,
            rnd=rnd,
            anchor=anchor,
            rubric=rubric,
            levels=levels,
            notes=notes,
            notes_max_chars=notes_max_chars,
        ),
        form=form,
        refuse=(InvalidInput, RoundNotOpen, AlreadyRecorded),
    )
    if outcome.ok:
        flash(f"Try {outcome.value.attempt} is stored. Practice is not counted.", "info")
        return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
    if isinstance(outcome.error, AlreadyRecorded):
        return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
    return _try_page(c, state, form, page_error=outcome.message)

"""The assessor's recalibration page (``/sessions``): their drift flags in plain language, feedback
on a steady lean (never a flag), their
recalibration rounds, their session bookings (accept, or ask to move) and their calendar feed."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session, utcnow
from ...models import COHORT_RULES, FlagRule, Role
from ...services import flags as flag_service
from ...services import recalibration, sessions, training_path
from ..boundary import attempt, page
from ..guards import actor, require_roles
from .forms import RespondForm

bp = Blueprint("assessor_sessions", __name__)
bp.before_request(require_roles(Role.ASSESSOR))

Page = Response | str | tuple[str, int]


def _page(forms: dict[int, RespondForm] | None = None, page_error: str | None = None) -> Page:
    me = actor()
    db_session = get_session()
    bookings = sessions.bookings_of(db_session, me.user_id)
    forms = forms or {}
    for b in bookings:
        forms.setdefault(b.id, RespondForm(formdata=None, prefix=f"b{b.id}"))
    mine = [
        line
        for line in flag_service.flag_lines(db_session, me.program_id, user_id=me.user_id)
        if line.flag.rule not in COHORT_RULES
    ]
    html = render_template(
        "assessor/sessions.html",
        flags=[line for line in mine if line.flag.rule != FlagRule.LEAN],
        leans=[line for line in mine if line.flag.rule == FlagRule.LEAN],
        scored=training_path.has_calibration_scores(db_session, program_id=me.program_id, user_id=me.user_id),
        recalibrations=recalibration.of_user(db_session, me.user_id),
        bookings=bookings,
        forms=forms,
        now=utcnow(),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.get("/sessions")
def sessions_page() -> Page:
    return _page()


@bp.post("/sessions/bookings/<int:booking_id>/respond")
def respond(booking_id: int) -> Page:
    me = actor()
    sessions.get_booking(get_session(), booking_id=booking_id, user_id=me.user_id)  # 404 if not theirs
    form = RespondForm(prefix=f"b{booking_id}")
    if not form.validate_on_submit():
        return _page({booking_id: form}, "Your answer needs attention; what you typed is kept below.")
    action, note = form.action.data or "", form.note.data or ""
    outcome = attempt(
        lambda s: sessions.respond(s, me, booking_id=booking_id, action=action, note=note), form=form
    )
    if not outcome.ok:
        return _page({booking_id: form}, outcome.message)
    flash(
        "Booking accepted."
        if form.action.data == "accept"
        else "Your trainer is asked to move your booking.",
        "info",
    )
    return redirect(url_for(".sessions_page"))

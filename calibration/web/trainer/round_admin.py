"""Rounds for lead trainers: create a draft, manage its anchors and assessors, open, extend, close.

Thin views over :mod:`calibration.services.rounds`. Every action on one round is a POST to its own
URL; a refusal shows the management page again (status 400) with the message and what was typed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField

from ...db import get_session, utcnow
from ...services import rounds as service
from ...services.context import Member
from ...services.errors import InvalidInput
from ...services.selection import CoverageImpossible
from ..boundary import apply_errors, attempt, page
from ..forms import ConfirmForm
from ..guards import actor
from ..times import program_zone
from .blueprint import bp
from .forms_rounds import (
    AnchorsForm,
    AssessorsForm,
    AutoSelectForm,
    ExtendForm,
    NewRoundForm,
    WindowForm,
    ZonedTimesForm,
    new_round_data,
    split,
    window_data,
)

Page = Response | str | tuple[str, int]


@bp.route("/rounds/new", methods=["GET", "POST"])
def round_new() -> Page:
    me = actor()
    db_session = get_session()
    rubrics = service.rubric_choices(db_session, me.program_id)
    assessors = service.assessor_choices(db_session, me.program_id)
    # Prefilled for the rubric chosen first: exact agreement follows its scale (DESIGN §6).
    first = rubrics[0].rubric.id if rubrics else None
    zone_name = program_zone()
    form = NewRoundForm(
        data=new_round_data(
            service.default_pass_rule(db_session, me.program_id, first), rubrics, utcnow(), zone_name
        )
    )
    form.set_zone(zone_name)
    form.set_choices(rubrics, assessors)
    page_error = None
    if form.validate_on_submit():
        outcome = attempt(
            lambda s: (
                service.create_round(
                    s,
                    me,
                    program_id=me.program_id,
                    name=form.name.data or "",
                    kind=form.kind.data or "",
                    rubric_version_id=form.rubric_version_id.data,
                    opens_at=form.opens_at(),
                    closes_at=form.closes_at(),
                    pass_rule=form.pass_rule(),
                    assessor_ids=form.chosen_assessors(assessors),
                    practice_tries=form.practice_tries.data,
                ).id
            ),
            form=form,
        )
        if outcome.ok:
            flash("Round created as a draft. Choose its anchors next, then open it.", "info")
            return redirect(url_for(".round_manage", round_id=outcome.value))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    html = render_template(
        "trainer/round_new.html",
        form=form,
        rubrics=rubrics,
        assessors=assessors,
        group_counts=Counter(m.certification_status.value for _, m in assessors if m.certification_status),
        exact_by_scale=service.exact_minimums_by_scale(db_session, me.program_id),
        page_error=page_error,
    )
    return page(html, page_error)


def _forms(m: service.RoundManagement, posted: str | None) -> dict[str, FlaskForm]:
    """Every form of the management page; only the one that was posted reads the request."""

    def make(name: str, cls: type[FlaskForm], data: dict[str, Any]) -> FlaskForm:
        return cls(data=data) if name == posted else cls(formdata=None, data=data)

    zone_name = program_zone()
    later_day, later_time = split(m.round.closes_at + (m.round.closes_at - m.round.opens_at) / 2, zone_name)
    forms: dict[str, FlaskForm] = {
        "anchors": make("anchors", AnchorsForm, {"anchor_ids": m.selected_ids}),
        "auto": make("auto", AutoSelectForm, {"target": max(m.pass_rule.min_anchors, 1)}),
        "assessors": make("assessors", AssessorsForm, {"assessor_ids": m.assigned_ids}),
        "window": make("window", WindowForm, window_data(m.round.opens_at, m.round.closes_at, zone_name)),
        "extend": make("extend", ExtendForm, {"closes_date": later_day, "closes_time": later_time}),
        "confirm": make("confirm", ConfirmForm, {}),
    }
    for zoned in (forms["window"], forms["extend"]):
        if isinstance(zoned, ZonedTimesForm):
            zoned.set_zone(zone_name)
    _choices(forms["anchors"], "anchor_ids").choices = [(c.anchor.id, c.anchor.title) for c in m.candidates]
    _choices(forms["assessors"], "assessor_ids").choices = [(u.id, u.name) for u, _ in m.assessor_choices]
    return forms


def _choices(form: FlaskForm, name: str) -> SelectMultipleField:
    """One of the form's multiple-choice fields (whose choices are set per request)."""
    field = form._fields[name]
    if not isinstance(field, SelectMultipleField):
        raise TypeError(f"{type(form).__name__}.{name} is not a multiple-choice field")
    return field


def _page(
    round_id: int,
    *,
    posted: str | None = None,
    forms: dict[str, FlaskForm] | None = None,
    page_error: str | None = None,
    problems: list[str] | None = None,
) -> str | tuple[str, int]:
    me = actor()
    m = service.round_management(get_session(), program_id=me.program_id, round_id=round_id)
    forms = forms or _forms(m, posted)
    html = render_template(
        "trainer/round_manage.html", m=m, forms=forms, page_error=page_error, problems=problems or []
    )
    return page(html, page_error)


@bp.get("/rounds/<int:round_id>/manage")
def round_manage(round_id: int) -> Page:
    return _page(round_id)


Call = Callable[[Session, Member, Any], str]


def _action(round_id: int, posted: str, call: Call, success: str) -> Page:
    """Validate the posted form, run one service call through the boundary; on refusal show the
    page again."""
    me = actor()
    m = service.round_management(get_session(), program_id=me.program_id, round_id=round_id)
    forms = _forms(m, posted)
    form = forms[posted]
    if not form.validate_on_submit():
        return _page(
            round_id, forms=forms, page_error="Some fields need attention; what you typed is kept below."
        )
    outcome = attempt(lambda s: call(s, me, form) or success, refuse=(InvalidInput, CoverageImpossible))
    if not outcome.ok:
        # The opening's problems are listed apart; the other field errors go next to the fields.
        exc = outcome.error
        problems = exc.field_errors.pop("open", []) if isinstance(exc, InvalidInput) else []
        apply_errors(form, exc)
        return _page(round_id, forms=forms, page_error=outcome.message, problems=problems)
    message = outcome.value
    flash(message, "info")
    return redirect(url_for(".round_manage", round_id=round_id))


@bp.post("/rounds/<int:round_id>/anchors")
def round_anchors(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        chosen = service.set_anchors(
            db_session, me, program_id=me.program_id, round_id=round_id, anchor_ids=form.anchor_ids.data or []
        )
        return f"Anchors saved: {len(chosen)} in this round."

    return _action(round_id, "anchors", call, "Anchors saved.")


@bp.post("/rounds/<int:round_id>/anchors/auto")
def round_anchors_auto(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        chosen = service.auto_select_anchors(
            db_session, me, program_id=me.program_id, round_id=round_id, target=form.target.data
        )
        return f"{len(chosen)} anchors chosen automatically, covering every level of every criterion."

    return _action(round_id, "auto", call, "Anchors chosen.")


@bp.post("/rounds/<int:round_id>/assessors")
def round_assessors(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        people = service.set_assessors(
            db_session, me, program_id=me.program_id, round_id=round_id, user_ids=form.assessor_ids.data or []
        )
        return f"Assessors saved: {len(people)} assigned."

    return _action(round_id, "assessors", call, "Assessors saved.")


@bp.post("/rounds/<int:round_id>/window")
def round_window(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        rnd = service.reschedule_round(
            db_session,
            me,
            program_id=me.program_id,
            round_id=round_id,
            opens_at=form.opens_at(),
            closes_at=form.closes_at(),
        )
        return f"Window saved: {service.when(rnd.opens_at, program_zone())} to {service.when(rnd.closes_at, program_zone())}."

    return _action(round_id, "window", call, "Window saved.")


@bp.post("/rounds/<int:round_id>/open")
def round_open(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        rnd = service.open_round(db_session, me, program_id=me.program_id, round_id=round_id)
        if rnd.opens_at > utcnow():
            return f"Round opened. Assessors will see it from {service.when(rnd.opens_at, program_zone())}."
        return "Round opened. Assessors can score it now."

    return _action(round_id, "confirm", call, "Round opened.")


@bp.post("/rounds/<int:round_id>/extend")
def round_extend(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        rnd = service.extend_round(
            db_session, me, program_id=me.program_id, round_id=round_id, closes_at=form.closes_at()
        )
        return f"Round extended: it now closes {service.when(rnd.closes_at, program_zone())}."

    return _action(round_id, "extend", call, "Round extended.")


@bp.post("/rounds/<int:round_id>/close")
def round_close(round_id: int) -> Page:
    def call(db_session: Session, me: Member, form: Any) -> str:
        service.close_round(db_session, me, program_id=me.program_id, round_id=round_id)
        return "Round closed. Assessors can still read their feedback; no more scores are accepted."

    return _action(round_id, "confirm", call, "Round closed.")

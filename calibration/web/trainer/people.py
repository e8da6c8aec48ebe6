"""Assessors and invitations: invite by email (one or a pasted list), resend or withdraw a link,
each assessor's certification with the qualification results, the trainer's decision when the pass
rule leaves it to them, and suspend or reinstate with a reason. Thin views over
:mod:`calibration.services.onboarding` and :mod:`calibration.services.certification`.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ...db import get_session
from ...notify import mail, outbox
from ...services import anchor_waits, certification, onboarding
from ...services.errors import InvalidInput
from ..forms import ConfirmForm
from ..guards import actor
from .anchors import apply_errors
from .blueprint import bp
from .forms_drift import RetryForm
from .forms_people import DecisionForm, InviteForm, ReasonForm

Page = Response | str | tuple[str, int]


def _lifetime() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["INVITATION_DAYS"])


def queue_invitations(db_session: Session, invited: list[onboarding.Invited], program_id: int) -> list[int]:
    """Write each invitation's mail to the outbox, in the transaction that creates the links (sent
    after the commit, so a link works when it arrives); returns the outbox ids."""
    program_name = onboarding.program_name(db_session, program_id)
    return [
        outbox.queue(
            db_session,
            mail.render_mail(
                "invitation",
                to=i.email,
                subject=f"You are invited to assess for {program_name}",
                program_name=program_name,
                link=url_for("account.accept_invitation", token=i.token, _external=True),
                days=current_app.config["INVITATION_DAYS"],
            ),
            kind="invitation",
            program_id=program_id,
            user_id=i.user_id,
        ).id
        for i in invited
    ]


def _report_sending(queued: list[int]) -> None:
    """After the commit: send the queued invitations and say how it went."""
    outbox.deliver_due(ids=queued)
    failed = outbox.unsent_addresses(get_session(), queued)
    ok = len(queued) - len(failed)
    if ok:
        flash(f"Invitation sent to {ok} {'person' if ok == 1 else 'people'}.", "info")
    if failed:
        flash(
            "The mail server did not accept the invitation for "
            + ", ".join(failed)
            + ". The invitation is saved and its mail is retried automatically (see “Mail not sent” "
            "under Sessions); “Send a new link” sends a fresh one.",
            "error",
        )


@bp.route("/invitations", methods=["GET", "POST"])
def invitations() -> Page:
    me = actor()
    db_session = get_session()
    form = InviteForm()
    page_error = None
    if form.validate_on_submit():
        try:
            invited = onboarding.invite(
                db_session, me, program_id=me.program_id, emails=form.emails.data or "", lifetime=_lifetime()
            )
            queued = queue_invitations(db_session, invited, me.program_id)  # type: ignore[arg-type]
            db_session.commit()
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
        else:
            _report_sending(queued)
            return redirect(url_for(".invitations"))
    elif form.is_submitted():
        page_error = "The list needs attention; what you typed is kept below."
    lines = onboarding.invitation_lines(db_session, me.program_id)  # type: ignore[arg-type]
    html = render_template(
        "trainer/invitations.html",
        form=form,
        lines=lines,
        confirm=ConfirmForm(formdata=None),
        days=current_app.config["INVITATION_DAYS"],
        page_error=page_error,
    )
    return (html, 400) if page_error else html


@bp.post("/invitations/<int:user_id>/resend")
def invitation_resend(user_id: int) -> Response:
    me = actor()
    db_session = get_session()
    if ConfirmForm().validate_on_submit():
        try:
            invited = onboarding.resend_invitation(
                db_session, me, program_id=me.program_id, user_id=user_id, lifetime=_lifetime()
            )
            queued = queue_invitations(db_session, [invited], me.program_id)  # type: ignore[arg-type]
            db_session.commit()
        except InvalidInput as exc:
            db_session.rollback()
            flash(str(exc), "error")
        else:
            _report_sending(queued)
    return redirect(url_for(".invitations"))


@bp.post("/invitations/<int:user_id>/revoke")
def invitation_revoke(user_id: int) -> Response:
    me = actor()
    db_session = get_session()
    if ConfirmForm().validate_on_submit():
        try:
            user = onboarding.revoke_invitation(db_session, me, program_id=me.program_id, user_id=user_id)
            db_session.commit()
            flash(f"The invitation link for {user.email} no longer works.", "info")
        except InvalidInput as exc:
            db_session.rollback()
            flash(str(exc), "error")
    return redirect(url_for(".invitations"))


@bp.get("/people")
def people() -> str:
    me = actor()
    rows = certification.trainer_people(get_session(), me.program_id)  # type: ignore[arg-type]
    waits = {w.wait.user_id for w in anchor_waits.waiting_lines(get_session(), me.program_id)}  # type: ignore[arg-type]
    return render_template("trainer/people.html", rows=rows, waits=waits)


def _person_page(
    user_id: int, *, forms: dict[str, FlaskForm] | None = None, page_error: str | None = None
) -> Page:
    me = actor()
    view = certification.certification_view(get_session(), program_id=me.program_id, user_id=user_id)  # type: ignore[arg-type]
    forms = forms or {}
    forms.setdefault("decision", DecisionForm(formdata=None))
    forms.setdefault("suspend", ReasonForm(formdata=None, prefix="suspend"))
    forms.setdefault("reinstate", ReasonForm(formdata=None, prefix="reinstate"))
    html = render_template(
        "trainer/person.html",
        v=view,
        forms=forms,
        waits=anchor_waits.waiting_lines(get_session(), me.program_id, user_id=user_id),  # type: ignore[arg-type]
        retry=RetryForm(formdata=None),
        page_error=page_error,
    )
    return (html, 400) if page_error else html


@bp.get("/people/<int:user_id>")
def person(user_id: int) -> Page:
    return _person_page(user_id)


def _policy() -> certification.Policy:
    me = actor()
    return certification.program_policy(
        get_session(),
        me.program_id,  # type: ignore[arg-type]
        certification.Policy.from_config(current_app.config),
    )


@bp.post("/people/<int:user_id>/decide")
def person_decide(user_id: int) -> Page:
    me = actor()
    db_session = get_session()
    certification.certification_view(db_session, program_id=me.program_id, user_id=user_id)  # type: ignore[arg-type]  # 404 first
    form = DecisionForm()
    if not form.validate_on_submit():
        return _person_page(user_id, forms={"decision": form}, page_error="The decision needs attention.")
    try:
        certification.decide(
            db_session,
            me,
            program_id=me.program_id,  # type: ignore[arg-type]
            user_id=user_id,
            decision=form.decision.data or "",
            reason=form.reason.data or "",
            policy=_policy(),
        )
        db_session.commit()
    except InvalidInput as exc:
        db_session.rollback()
        apply_errors(form, exc)
        return _person_page(user_id, forms={"decision": form}, page_error=str(exc))
    flash("Decision recorded.", "info")
    return redirect(url_for(".person", user_id=user_id))


def _status_action(user_id: int, name: str) -> Page:
    me = actor()
    db_session = get_session()
    certification.certification_view(db_session, program_id=me.program_id, user_id=user_id)  # type: ignore[arg-type]  # 404 first
    form = ReasonForm(prefix=name)
    if not form.validate_on_submit():
        return _person_page(user_id, forms={name: form}, page_error="Give a reason; nothing was changed.")
    action = certification.suspend if name == "suspend" else certification.reinstate
    try:
        action(db_session, me, program_id=me.program_id, user_id=user_id, reason=form.reason.data or "")  # type: ignore[arg-type]
        db_session.commit()
    except InvalidInput as exc:
        db_session.rollback()
        apply_errors(form, exc)
        return _person_page(user_id, forms={name: form}, page_error=str(exc))
    flash("Assessor suspended." if name == "suspend" else "Assessor reinstated.", "info")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/suspend")
def person_suspend(user_id: int) -> Page:
    return _status_action(user_id, "suspend")


@bp.post("/people/<int:user_id>/reinstate")
def person_reinstate(user_id: int) -> Page:
    return _status_action(user_id, "reinstate")

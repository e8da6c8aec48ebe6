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
from ...models import CertificationStatus
from ...notify import outbox
from ...notify.invitations import queue_invitations
from ...services import anchor_waits, certification, lists, onboarding
from ..boundary import MailOutcome, attempt, page
from ..forms import ConfirmForm
from ..guards import actor
from .blueprint import bp
from .forms_drift import RetryForm
from .forms_people import DecisionForm, InviteForm, ReasonForm
from .list_args import list_args

Page = Response | str | tuple[str, int]


def _lifetime() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["INVITATION_DAYS"])


def _invited(db_session: Session, invited: list[onboarding.Invited], program_id: int) -> list[int]:
    """Queue the invitations' mail in the transaction that creates the links, from the trainer who
    acts (named in the mail; replies go to them); the outbox ids."""
    return queue_invitations(
        db_session,
        invited,
        program_id=program_id,
        days=current_app.config["INVITATION_DAYS"],
        inviter_id=actor().user_id,
    )


def _report_sending(mail: MailOutcome) -> None:
    """After the commit (the boundary has tried to send the invitations): say how it went."""
    failed = outbox.unsent_addresses(get_session(), mail.queued)
    ok = len(mail.queued) - len(failed)
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
        outcome = attempt(
            lambda s: _invited(
                s,
                onboarding.invite(
                    s, me, program_id=me.program_id, emails=form.emails.data or "", lifetime=_lifetime()
                ),
                me.program_id,
            ),
            form=form,
        )
        if outcome.ok:
            _report_sending(outcome.mail)
            return redirect(url_for(".invitations"))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "The list needs attention; what you typed is kept below."
    lines = onboarding.invitation_lines(db_session, me.program_id)
    html = render_template(
        "trainer/invitations.html",
        form=form,
        lines=lines,
        confirm=ConfirmForm(formdata=None),
        days=current_app.config["INVITATION_DAYS"],
        page_error=page_error,
    )
    return page(html, page_error)


@bp.post("/invitations/<int:user_id>/resend")
def invitation_resend(user_id: int) -> Response:
    me = actor()
    if ConfirmForm().validate_on_submit():
        outcome = attempt(
            lambda s: _invited(
                s,
                [
                    onboarding.resend_invitation(
                        s, me, program_id=me.program_id, user_id=user_id, lifetime=_lifetime()
                    )
                ],
                me.program_id,
            )
        )
        if outcome.ok:
            _report_sending(outcome.mail)
        else:
            flash(outcome.message, "error")
    return redirect(url_for(".invitations"))


@bp.post("/invitations/<int:user_id>/revoke")
def invitation_revoke(user_id: int) -> Response:
    me = actor()
    if ConfirmForm().validate_on_submit():
        outcome = attempt(
            lambda s: onboarding.revoke_invitation(s, me, program_id=me.program_id, user_id=user_id).email
        )
        if outcome.ok:
            flash(f"The invitation link for {outcome.value} no longer works.", "info")
        else:
            flash(outcome.message, "error")
    return redirect(url_for(".invitations"))


PERSON_STATUSES = {s.value: s.value.replace("_", " ") for s in CertificationStatus} | {
    lists.NO_STATUS: "no status"
}


@bp.get("/people")
def people() -> str:
    me = actor()
    args = list_args(statuses=PERSON_STATUSES)
    return render_template(
        "trainer/people.html",
        paged=lists.people_page(get_session(), me.program_id, args.filter),
        args=args,
        statuses=PERSON_STATUSES,
    )


def _person_page(
    user_id: int, *, forms: dict[str, FlaskForm] | None = None, page_error: str | None = None
) -> Page:
    me = actor()
    view = certification.certification_view(get_session(), program_id=me.program_id, user_id=user_id)
    forms = forms or {}
    forms.setdefault("decision", DecisionForm(formdata=None))
    forms.setdefault("suspend", ReasonForm(formdata=None, prefix="suspend"))
    forms.setdefault("reinstate", ReasonForm(formdata=None, prefix="reinstate"))
    html = render_template(
        "trainer/person.html",
        v=view,
        forms=forms,
        waits=anchor_waits.waiting_lines(get_session(), me.program_id, user_id=user_id),
        retry=RetryForm(formdata=None),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.get("/people/<int:user_id>")
def person(user_id: int) -> Page:
    return _person_page(user_id)


def _policy() -> certification.Policy:
    me = actor()
    return certification.program_policy(
        get_session(),
        me.program_id,
        certification.Policy.from_config(current_app.config),
    )


@bp.post("/people/<int:user_id>/decide")
def person_decide(user_id: int) -> Page:
    me = actor()
    db_session = get_session()
    certification.certification_view(db_session, program_id=me.program_id, user_id=user_id)  # 404 first
    form = DecisionForm()
    if not form.validate_on_submit():
        return _person_page(user_id, forms={"decision": form}, page_error="The decision needs attention.")
    policy = _policy()
    outcome = attempt(
        lambda s: certification.decide(
            s,
            me,
            program_id=me.program_id,
            user_id=user_id,
            decision=form.decision.data or "",
            reason=form.reason.data or "",
            policy=policy,
        ),
        form=form,
    )
    if not outcome.ok:
        return _person_page(user_id, forms={"decision": form}, page_error=outcome.message)
    flash("Decision recorded.", "info")
    return redirect(url_for(".person", user_id=user_id))


def _status_action(user_id: int, name: str) -> Page:
    me = actor()
    db_session = get_session()
    certification.certification_view(db_session, program_id=me.program_id, user_id=user_id)  # 404 first
    form = ReasonForm(prefix=name)
    if not form.validate_on_submit():
        return _person_page(user_id, forms={name: form}, page_error="Give a reason; nothing was changed.")
    action = certification.suspend if name == "suspend" else certification.reinstate
    outcome = attempt(
        lambda s: action(s, me, program_id=me.program_id, user_id=user_id, reason=form.reason.data or ""),
        form=form,
    )
    if not outcome.ok:
        return _person_page(user_id, forms={name: form}, page_error=outcome.message)
    flash("Assessor suspended." if name == "suspend" else "Assessor reinstated.", "info")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/suspend")
def person_suspend(user_id: int) -> Page:
    return _status_action(user_id, "suspend")


@bp.post("/people/<int:user_id>/reinstate")
def person_reinstate(user_id: int) -> Page:
    return _status_action(user_id, "reinstate")

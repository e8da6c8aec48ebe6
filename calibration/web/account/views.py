"""Public account pages reached from emailed links: accept an invitation, reset a password.

No login is needed (the link is the credential), so these views are not behind a role guard. A bad
link (tampered, expired, used or withdrawn) gets a page that says which and what to do, never a
500; the reset request answers the same whether or not the address has an account.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...notify import outbox
from ...services import auth as auth_service
from ...services import onboarding
from ...services.certification import Policy
from ...services.errors import InvalidInput
from ...services.tokens import TokenInvalid
from ..guards import acting
from ..trainer.anchors import apply_errors
from .forms import AcceptForm, ChangePasswordForm, ForgotForm, ResetForm

bp = Blueprint("account", __name__)

Page = Response | str | tuple[str, int]


def _link_problem(exc: TokenInvalid, *, kind: str) -> tuple[str, int]:
    return render_template("account/link_problem.html", reason=exc.reason, message=str(exc), kind=kind), 400


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Page:
    db_session = get_session()
    try:
        _, user = onboarding.invitation_for(db_session, token)
    except TokenInvalid as exc:
        return _link_problem(exc, kind="invitation")
    form = AcceptForm(data={"name": user.name})
    page_error = None
    if form.validate_on_submit():
        password = form.password.data or ""
        try:
            accepted = onboarding.accept_invitation(
                db_session,
                token,
                name=form.name.data or "",
                password=password,
                confirm=form.confirm.data or "",
                window=Policy.from_config(current_app.config).window,
                request_id=g.request_id,
            )
            login = auth_service.authenticate(
                db_session, accepted.user.email, password, request_id=g.request_id
            )
            db_session.commit()
        except TokenInvalid as exc:
            db_session.rollback()
            return _link_problem(exc, kind="invitation")
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
        else:
            session.clear()
            session["sid"] = login.token
            session.permanent = False
            flash("Welcome! Your account is ready. Here is your path to certification.", "info")
            return redirect(url_for("assessor.certification"))
    elif form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    html = render_template("account/accept.html", form=form, email=user.email, page_error=page_error)
    return (html, 400) if page_error else html


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Page:
    form = ForgotForm()
    if form.validate_on_submit():
        db_session = get_session()
        # Every address gets the same work before the reply: one outbox row holding what was
        # typed. The account is looked up, the link issued and the mail sent after the reply
        # (calibration.notify.outbox), so neither the reply nor its timing tells whether it exists.
        outbox.queue_reset_request(
            db_session, form.email.data or "", base_url=request.host_url, request_id=g.request_id
        )
        db_session.commit()
        outbox.deliver_in_background()
        # The same page for every address: it never tells whether an account exists.
        return render_template("account/forgot_sent.html", hours=current_app.config["PASSWORD_RESET_HOURS"])
    status = 400 if form.is_submitted() else 200
    return render_template("account/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Page:
    db_session = get_session()
    try:
        onboarding.reset_link(db_session, token)
    except TokenInvalid as exc:
        return _link_problem(exc, kind="reset")
    form = ResetForm()
    page_error = None
    if form.validate_on_submit():
        try:
            onboarding.reset_password(
                db_session,
                token,
                password=form.password.data or "",
                confirm=form.confirm.data or "",
                request_id=g.request_id,
            )
            db_session.commit()
        except TokenInvalid as exc:
            db_session.rollback()
            return _link_problem(exc, kind="reset")
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
        else:
            session.clear()
            flash("Your password has been changed. Log in with the new password.", "info")
            return redirect(url_for("auth.login"))
    elif form.is_submitted():
        page_error = "Some fields need attention."
    html = render_template("account/reset.html", form=form, page_error=page_error)
    return (html, 400) if page_error else html


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Page:
    """Change one's own password (any role): every other login session ends; this browser gets a
    fresh one."""
    if g.get("user") is None:
        return redirect(url_for("auth.login", next="/account/password"))
    form = ChangePasswordForm()
    page_error = None
    if form.validate_on_submit():
        db_session = get_session()
        try:
            token = onboarding.change_password(
                db_session,
                acting(),
                current=form.current.data or "",
                password=form.password.data or "",
                confirm=form.confirm.data or "",
            )
            db_session.commit()
        except InvalidInput as exc:
            db_session.rollback()
            apply_errors(form, exc)
            page_error = str(exc)
        else:
            session.clear()
            session["sid"] = token
            flash("Password changed. You stay signed in here; every other session has ended.", "info")
            return redirect(url_for(".change_password"))
    elif form.is_submitted():
        page_error = "Some fields need attention; your password was not changed."
    html = render_template("account/password.html", form=form, page_error=page_error)
    return (html, 400) if page_error else html

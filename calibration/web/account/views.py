"""One's own account: accept an invitation, reset a forgotten password, change one's password,
choose one's own time zone.

The invitation and reset pages need no login (the emailed link is the credential), so they are
declared public; every other page here needs a signed-in person. A bad link (tampered, expired,
used or withdrawn) gets a page that says which and what to do, never a 500; the reset request
answers the same whether or not the address has an account.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...notify import outbox
from ...services import onboarding, own_zone, timezones
from ...services.certification import Policy
from ...services.tokens import TokenInvalid
from ..boundary import attempt, carry_out, page
from ..guards import acting, require_login
from ..times import program_zone
from .forms import AcceptForm, ChangePasswordForm, ForgotForm, ResetForm, TimeZoneForm

bp = Blueprint("account", __name__)
# Reached from emailed links (the link is the credential) or by someone who cannot sign in.
PUBLIC_ENDPOINTS = frozenset(
    {"account.accept_invitation", "account.forgot_password", "account.reset_password"}
)
bp.before_request(require_login(public=PUBLIC_ENDPOINTS))

Page = Response | str | tuple[str, int]
_LINK_KIND = {"account.accept_invitation": "invitation", "account.reset_password": "reset"}


@bp.errorhandler(TokenInvalid)
def link_problem(exc: TokenInvalid) -> tuple[str, int]:
    """A link that cannot be used, whether found so on opening the page or when it is sent."""
    kind = _LINK_KIND.get(request.endpoint or "", "reset")
    return render_template("account/link_problem.html", reason=exc.reason, message=str(exc), kind=kind), 400


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Page:
    _, user = onboarding.invitation_for(get_session(), token)
    form = AcceptForm(data={"name": user.name})
    page_error = None
    if form.validate_on_submit():
        name, password, confirm = form.name.data or "", form.password.data or "", form.confirm.data or ""
        window = Policy.from_config(current_app.config).window

        outcome = attempt(
            lambda s: onboarding.accept_and_sign_in(
                s,
                token,
                name=name,
                password=password,
                confirm=confirm,
                window=window,
                request_id=g.request_id,
            ),
            form=form,
        )
        if outcome.ok:
            session.clear()
            session["sid"] = outcome.value.token
            session.permanent = False
            flash("Welcome! Your account is ready. Here is your path to certification.", "info")
            return redirect(url_for("assessor.certification"))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "Some fields need attention; what you typed is kept below."
    html = render_template("account/accept.html", form=form, email=user.email, page_error=page_error)
    return page(html, page_error)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Page:
    form = ForgotForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        # Every address gets the same work before the reply: one outbox row holding what was
        # typed. The account is looked up, the link issued and the mail sent after the reply
        # (calibration.notify.outbox), so neither the reply nor its timing tells whether it exists.
        carry_out(
            lambda s: outbox.queue_reset_request(
                s, email, base_url=request.host_url, request_id=g.request_id
            ),
            deliver="background",
        )
        # The same page for every address: it never tells whether an account exists.
        return render_template("account/forgot_sent.html", hours=current_app.config["PASSWORD_RESET_HOURS"])
    status = 400 if form.is_submitted() else 200
    return render_template("account/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Page:
    onboarding.reset_link(get_session(), token)
    form = ResetForm()
    page_error = None
    if form.validate_on_submit():
        password, confirm = form.password.data or "", form.confirm.data or ""
        outcome = attempt(
            lambda s: onboarding.reset_password(
                s, token, password=password, confirm=confirm, request_id=g.request_id
            ),
            form=form,
        )
        if outcome.ok:
            session.clear()
            flash("Your password has been changed. Log in with the new password.", "info")
            return redirect(url_for("auth.login"))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "Some fields need attention."
    return page(render_template("account/reset.html", form=form, page_error=page_error), page_error)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Page:
    """Change one's own password (any role): every other login session ends; this browser gets a
    fresh one."""
    form = ChangePasswordForm()
    page_error = None
    if form.validate_on_submit():
        me = acting()
        current, password, confirm = (
            form.current.data or "",
            form.password.data or "",
            form.confirm.data or "",
        )
        outcome = attempt(
            lambda s: onboarding.change_password(s, me, current=current, password=password, confirm=confirm),
            form=form,
        )
        if outcome.ok:
            session.clear()
            session["sid"] = outcome.value
            flash("Password changed. You stay signed in here; every other session has ended.", "info")
            return redirect(url_for(".change_password"))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "Some fields need attention; your password was not changed."
    return page(render_template("account/password.html", form=form, page_error=page_error), page_error)


@bp.route("/account/time-zone", methods=["GET", "POST"])
def time_zone() -> Page:
    """Choose the zone one's pages show times in (empty: the program's zone). Trainer pages keep the
    program's zone, the one round windows and sessions are entered in."""
    user = g.user
    form = (
        TimeZoneForm()
        if request.method == "POST"
        else TimeZoneForm(formdata=None, timezone=user.timezone or "")
    )
    page_error = None
    if form.validate_on_submit():
        me = acting()
        typed = form.timezone.data or ""
        outcome = attempt(lambda s: own_zone.set_own_timezone(s, me, timezone=typed), form=form)
        if outcome.ok:
            g.pop("reader_zone", None)
            chosen = outcome.value or f"your program’s time zone, {program_zone()}"
            flash(f"Saved. Your pages show times in {chosen}.", "info")
            return redirect(url_for(".time_zone"))
        page_error = outcome.message
    elif form.is_submitted():
        page_error = "Some fields need attention; your time zone was not changed."
    html = render_template(
        "account/time_zone.html",
        form=form,
        page_error=page_error,
        program_zone=program_zone(),
        zone_names=timezones.zone_names(),
    )
    return page(html, page_error)

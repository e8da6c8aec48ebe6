"""Login and logout."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...models import Role
from ...services import auth as auth_service
from ...services.errors import AuthenticationFailed
from ..boundary import attempt, carry_out
from ..guards import acting, require_login
from .forms import LoginForm, LogoutForm

# The session key under which a score page keeps what was typed when the session ran out
# (``web/assessor/flow.py``); the login keeps it across its fresh cookie.
TYPED_KEY = "typed"

bp = Blueprint("auth", __name__)
# The way in, and the way out (signing out of a session that has already ended is harmless).
PUBLIC_ENDPOINTS = frozenset({"auth.index", "auth.login", "auth.logout", "auth.healthz"})
bp.before_request(require_login(public=PUBLIC_ENDPOINTS))


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return None
    return target


def home_for(role: Role | None) -> str:
    if role in (Role.LEAD_TRAINER, Role.ADMIN):
        return url_for("trainer.rounds")
    if role == Role.ASSESSOR:
        return url_for("assessor.dashboard")
    return url_for("auth.login")


@bp.get("/")
def index() -> Response:
    if g.get("user") is None:
        return redirect(url_for("auth.login"))
    membership = g.get("membership")
    return redirect(home_for(membership.role if membership else None))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        throttle = auth_service.Throttle(
            current_app.config["LOGIN_MAX_FAILURES"],
            dt.timedelta(minutes=current_app.config["LOGIN_THROTTLE_MINUTES"]),
        )
        outcome = attempt(
            lambda s: auth_service.authenticate(
                s,
                form.email.data or "",
                form.password.data or "",
                request_id=g.request_id,
                throttle=throttle,
            ),
            keep=(AuthenticationFailed,),  # the failed attempt is audited and counted
        )
        if outcome.ok:
            result = outcome.value
            # A fresh cookie: nothing from before login survives, except what this same person
            # typed on a score page after their last session ran out (checked again before it
            # refills that form); what someone else typed on this browser is dropped unseen.
            typed = session.get(TYPED_KEY)
            session.clear()
            if isinstance(typed, dict) and typed.get("u") == result.user.id:
                session[TYPED_KEY] = typed
            session["sid"] = result.token
            session.permanent = False
            target = safe_next(request.args.get("next"))
            membership = result.user.memberships[0] if result.user.memberships else None
            return redirect(target or home_for(membership.role if membership else None))
        error = outcome.message
    status = 200 if not (error or form.errors) else 400
    kept = request.args.get("kept") == "1" and session.get(TYPED_KEY) is not None
    return render_template("auth/login.html", form=form, error=error, kept=kept), status


@bp.post("/logout")
def logout() -> Response:
    form = LogoutForm()
    token = session.get("sid")
    if form.validate_on_submit() and token:
        carry_out(lambda s: auth_service.end_session(s, token, actor=acting()))
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    from sqlalchemy import text

    get_session().execute(text("SELECT 1"))
    return {"status": "ok", "version": current_app.config.get("VERSION", "0.1.0")}, 200

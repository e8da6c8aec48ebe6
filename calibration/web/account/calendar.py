"""Private calendar feeds: ``/calendar/<token>.ics`` needs no login (the link is the credential,
only its SHA-256 is stored); ``/calendar`` lets any signed-in user create a new link (the old one
stops working) or revoke it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...services import calendar, sessions
from ..boundary import carry_out
from ..forms import ConfirmForm
from ..guards import actor, require_login

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
PUBLIC_ENDPOINTS = frozenset({"calendar.feed"})  # the link is the credential
bp.before_request(require_login(public=PUBLIC_ENDPOINTS))


@bp.get("/<token>.ics")
def feed(token: str) -> Response:
    db_session = get_session()
    user = sessions.feed_user(db_session, token)
    if user is None:
        abort(404)
    response = Response(calendar.feed_ics(db_session, user), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="calibration.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(link: str | None = None) -> str:
    me = actor()
    return render_template(
        "calendar/feed.html",
        since=sessions.has_feed(get_session(), me.user_id),
        link=link,
        form=ConfirmForm(formdata=None),
    )


@bp.get("")
def manage() -> str:
    return _render()


@bp.post("/link")
def new_link() -> Response | str:
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".manage"))
    me = actor()
    token = carry_out(lambda s: sessions.new_feed_token(s, me)).value
    return _render(url_for(".feed", token=token, _external=True))


@bp.post("/revoke")
def revoke() -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        n = carry_out(lambda s: sessions.revoke_feed(s, me)).value
        flash("Your calendar link no longer works." if n else "You had no calendar link.", "info")
    return redirect(url_for(".manage"))

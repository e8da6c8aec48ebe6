"""Admin pages: the program's people, their roles and certification status, and switching an
account off (its sessions end at once) or back on, with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...db import get_session
from ...models import Role
from ...services import people
from ..boundary import attempt, page
from ..guards import actor, require_roles
from .forms import AccountSwitchForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_roles(Role.ADMIN))

Page = Response | str | tuple[str, int]


def _page(failed: tuple[int, AccountSwitchForm] | None = None, page_error: str | None = None) -> Page:
    me = actor()
    members = people.program_members(get_session(), me.program_id)
    # One form per row, each with its own prefix (field ids and names stay unique on the page).
    forms = {user.id: AccountSwitchForm(formdata=None, prefix=_prefix(user.id)) for user, _ in members}
    if failed is not None:
        forms[failed[0]] = failed[1]
    html = render_template(
        "admin/index.html",
        members=members,
        program=g.membership.program,
        me=me.user_id,
        forms=forms,
        failed=failed[0] if failed else None,
        page_error=page_error,
    )
    return page(html, page_error)


def _prefix(user_id: int) -> str:
    return f"u{user_id}"


@bp.get("/")
def index() -> Page:
    return _page()


@bp.post("/users/<int:user_id>/account")
def switch_account(user_id: int) -> Page:
    me = actor()
    form = AccountSwitchForm(prefix=_prefix(user_id))
    if not form.validate_on_submit():
        return _page((user_id, form), "Give a reason; nothing was changed.")
    active, reason = form.state.data == "on", form.reason.data or ""
    outcome = attempt(
        lambda s: people.set_active(
            s, me, program_id=me.program_id, user_id=user_id, active=active, reason=reason
        ),
        form=form,
    )
    if not outcome.ok:
        return _page((user_id, form), outcome.message)
    user = outcome.value
    flash(
        f"{user.name}'s account is switched on."
        if user.is_active
        else f"{user.name}'s account is switched off; their sessions have ended.",
        "info",
    )
    return redirect(url_for(".index"))

"""Program API tokens in the UI (``/trainer/api-tokens``): admins and lead trainers make a token
(shown once), see when each was last used, and revoke it.

Its own blueprint beside the trainer area (same roles, same program scope), so the API's
credentials are managed where the program's data is, by the people who may see all of it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..db import get_session
from ..models import Role
from ..services import api_tokens
from .boundary import attempt, carry_out, page
from .forms import ConfirmForm, no_control_characters
from .guards import actor, require_roles

bp = Blueprint("api_tokens", __name__, url_prefix="/trainer/api-tokens")
bp.before_request(require_roles(Role.ADMIN, Role.LEAD_TRAINER))


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        description="Who or what uses it, e.g. 'Scoring platform (production)'.",
        validators=[InputRequired("Give the token a name."), Length(max=120), no_control_characters],
    )
    scopes = SelectMultipleField(
        "What the token may do",
        choices=[SelectChoice(value, words) for value, words in api_tokens.SCOPES.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service names unknown ones
    )


def _render(
    form: TokenForm, *, new_token: str | None = None, page_error: str | None = None
) -> str | tuple[str, int]:
    me = actor()
    html = render_template(
        "api/tokens.html",
        form=form,
        tokens=api_tokens.program_tokens(get_session(), me),
        new_token=new_token,
        page_error=page_error,
        revoke_form=ConfirmForm(formdata=None),
        scopes=api_tokens.SCOPES,
    )
    return page(html, page_error)


@bp.get("")
def tokens_page() -> str | tuple[str, int]:
    return _render(TokenForm(formdata=None, scopes=["read"]))


@bp.post("/new")
def create() -> str | tuple[str, int]:
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(form, page_error="The token was not created: check the fields marked below.")
    me = actor()
    name, scopes = form.name.data or "", list(form.scopes.data or [])
    outcome = attempt(lambda s: api_tokens.create_token(s, me, name=name, scopes=scopes), form=form)
    if not outcome.ok:
        return _render(form, page_error=outcome.message)
    return _render(TokenForm(formdata=None, scopes=["read"]), new_token=outcome.value.token)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        changed = carry_out(lambda s: api_tokens.revoke_token(s, me, token_id)).value
        flash("The token no longer works." if changed else "That token was already revoked.", "info")
    return redirect(url_for(".tokens_page"))

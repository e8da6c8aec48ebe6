"""Webhooks in the UI (``/trainer/webhooks``): admins and lead trainers register endpoints (the
signing secret is shown once, when made or rotated), switch them off and on, send a test event,
read each endpoint's deliveries with every try, and try a failed delivery again now. Background jobs
that stopped trying are listed here too, with "Try again".
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..db import get_session
from ..models import Role
from ..services import jobs, webhooks
from .boundary import attempt, carry_out, page
from .forms import ConfirmForm, no_control_characters
from .guards import actor, require_roles

bp = Blueprint("webhooks", __name__, url_prefix="/trainer/webhooks")
bp.before_request(require_roles(Role.ADMIN, Role.LEAD_TRAINER))


class EndpointForm(FlaskForm):
    url = StringField(
        "Address (URL)",
        description="Where events are sent, e.g. https://scoring.example.org/hooks (https:// or http:// only).",
        validators=[Length(max=webhooks.URL_MAX_CHARS), no_control_characters],
    )
    description = StringField(
        "Description",
        description="Optional: what receives the events.",
        validators=[Length(max=webhooks.DESCRIPTION_MAX_CHARS), no_control_characters],
    )
    event_types = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(value, words) for value, words in webhooks.EVENT_WORDS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service names unknown ones
    )


def _key() -> str:
    return str(current_app.config["CREDENTIAL_KEY"])


def _render(
    form: EndpointForm, *, new_secret: str | None = None, page_error: str | None = None
) -> str | tuple[str, int]:
    me = actor()
    session = get_session()
    found = webhooks.endpoints(session, me.program_id)
    html = render_template(
        "trainer/webhooks.html",
        form=form,
        endpoints=found,
        counts={e.id: webhooks.counts_by_status(session, e.id) for e in found},
        new_secret=new_secret,
        page_error=page_error,
        confirm=ConfirmForm(formdata=None),
        events=webhooks.EVENT_WORDS,
        dead=jobs.dead_jobs(session, program_id=me.program_id),
    )
    return page(html, page_error)


@bp.get("")
def webhooks_page() -> str | tuple[str, int]:
    return _render(EndpointForm(formdata=None))


@bp.post("/new")
def create() -> str | tuple[str, int]:
    form = EndpointForm()
    if not form.validate_on_submit():
        return _render(form, page_error="The endpoint was not added: check the fields marked below.")
    me = actor()
    url, description = form.url.data or "", form.description.data or ""
    chosen, key = list(form.event_types.data or []), _key()
    outcome = attempt(
        lambda s: webhooks.create_endpoint(
            s, me, url=url, description=description, event_types=chosen, credential_key=key
        ),
        form=form,
    )
    if not outcome.ok:
        return _render(form, page_error=outcome.message)
    return _render(EndpointForm(formdata=None), new_secret=outcome.value.secret)


def _endpoint_page(endpoint_id: int, *, new_secret: str | None = None) -> str:
    me = actor()
    session = get_session()
    endpoint = webhooks.endpoint_of(session, me.program_id, endpoint_id)  # NotFound: 404
    found = webhooks.deliveries(session, me.program_id, endpoint_id=endpoint_id, limit=100)
    return render_template(
        "trainer/webhook_endpoint.html",
        endpoint=endpoint,
        deliveries=found,
        attempts=webhooks.attempts_of(session, [d.id for d in found]),
        new_secret=new_secret,
        confirm=ConfirmForm(formdata=None),
        events=webhooks.EVENT_WORDS,
    )


@bp.get("/<int:endpoint_id>")
def endpoint_page(endpoint_id: int) -> str:
    return _endpoint_page(endpoint_id)


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int) -> str | Response:
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id))
    me, key = actor(), _key()
    secret = carry_out(lambda s: webhooks.rotate_secret(s, me, endpoint_id, credential_key=key)).value.secret
    return _endpoint_page(endpoint_id, new_secret=secret)


@bp.post("/<int:endpoint_id>/disable")
def disable(endpoint_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        carry_out(lambda s: webhooks.set_enabled(s, me, endpoint_id, enabled=False))
        flash("The endpoint is switched off: no new events are sent to it.", "info")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/enable")
def enable(endpoint_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        carry_out(lambda s: webhooks.set_enabled(s, me, endpoint_id, enabled=True))
        flash("The endpoint is switched on again.", "info")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id))


@bp.post("/<int:endpoint_id>/test")
def send_test(endpoint_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        carry_out(lambda s: webhooks.send_test(s, me, endpoint_id))
        flash("A test event is on its way; its delivery is listed below.", "info")
    return redirect(url_for(".endpoint_page", endpoint_id=endpoint_id))


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry_delivery(delivery_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".webhooks_page"))
    me = actor()
    outcome = attempt(lambda s: webhooks.retry_now(s, me, delivery_id))
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for(".webhooks_page"))
    flash("The delivery is being tried again now.", "info")
    return redirect(url_for(".endpoint_page", endpoint_id=outcome.value.endpoint_id))


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        me = actor()
        outcome = attempt(lambda s: jobs.retry_dead(s, me, job_id))
        flash(
            "The job is being tried again." if outcome.ok else outcome.message,
            "info" if outcome.ok else "error",
        )
    return redirect(url_for(".webhooks_page"))

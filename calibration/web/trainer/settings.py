"""Program settings for lead trainers and admins: every rule of the policy module in one form,
checked with plain messages, each change audited with its old and new values. Thin views over
:mod:`calibration.services.program_settings`.

Here, not in the admin area: the trainer blueprint's guard already lets in exactly the lead
trainers and admins of the program, and the rules are the lead trainer's daily business."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ...db import get_session
from ...services import program_settings, timezones
from ..boundary import attempt, page
from ..guards import actor
from .blueprint import bp
from .forms_settings import SettingsForm

Page = Response | str | tuple[str, int]


def _page(form: FlaskForm, view: program_settings.SettingsView, page_error: str | None = None) -> Page:
    html = render_template(
        "trainer/settings.html",
        form=form,
        view=view,
        settings=program_settings.SETTINGS,
        sections=program_settings.SECTIONS,
        zone_names=timezones.zone_names(),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.route("/settings", methods=["GET", "POST"])
def settings_page() -> Page:
    me = actor()
    view = program_settings.settings_view(get_session(), me.program_id)
    if request.method == "GET":
        return _page(SettingsForm(formdata=None, data={**view.values, "seen": view.fingerprint}), view)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(form, view, "Some settings need attention; nothing was saved.")
    typed = {s.field: form[s.field].data or "" for s in program_settings.SETTINGS}
    typed[program_settings.TIMEZONE_FIELD] = form[program_settings.TIMEZONE_FIELD].data or ""
    outcome = attempt(
        lambda s: program_settings.update_settings(
            s, me, program_id=me.program_id, typed=typed, seen=form["seen"].data or ""
        ),
        form=form,
    )
    if not outcome.ok:
        if form["seen"].data != view.fingerprint:  # changed meanwhile: show what is in force now
            form = SettingsForm(formdata=None, data={**view.values, "seen": view.fingerprint})
        return _page(form, view, outcome.message)
    changes = outcome.value
    if changes:
        rules = [c for c in changes if c.path != program_settings.TIMEZONE_FIELD]
        zone = [c.new for c in changes if c.path == program_settings.TIMEZONE_FIELD]
        after = []
        if rules:
            after.append("Rule changes apply to rounds created and flags raised from now on.")
        if zone:
            after.append(
                f"Times are now entered and shown in {zone[0]}; existing windows and sessions keep "
                "their moment in time."
            )
        flash(
            f"Saved {len(changes)} change{'' if len(changes) == 1 else 's'} "
            f"({', '.join(c.label for c in changes)}). {' '.join(after)}",
            "info",
        )
    else:
        flash("Nothing was different; nothing was changed.", "info")
    return redirect(url_for(".settings_page"))

"""Saving a score draft: the page's autosave (JSON) and its "Save draft" and "Save and go to the
next anchor" buttons (without JavaScript: a redirect)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from ...services.errors import AlreadyRecorded, InvalidInput
from .. import times
from ..hooks import writes_late
from . import flow
from .forms import CRITERION_PREFIX
from .views import Page, _already_recorded, _score_context, _score_page, bp, keep_draft


def _posted_levels() -> dict[int, int] | None:
    """The levels in the POST (criteria left unchosen are absent); None if one is not a number."""
    levels: dict[int, int] = {}
    for key, value in request.form.items():
        if not key.startswith(CRITERION_PREFIX) or value == "":
            continue
        cid = key.removeprefix(CRITERION_PREFIX)
        if not (cid.isdigit() and value.isdigit()):
            return None
        levels[int(cid)] = int(value)
    return levels


def _json(status: int, **body: object) -> Response:
    response = jsonify(**body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/rounds/<int:round_id>/anchors/<int:anchor_id>/draft")
@writes_late
def save_draft(round_id: int, anchor_id: int) -> Page:
    """Keep what the assessor has typed so far (not a score: private, counted nowhere)."""
    c = _score_context(round_id, anchor_id)
    form = c.form_class()
    levels = _posted_levels()
    notes = request.form.get("notes", "")
    # (The CSRF token is checked for every POST before any view: see ``create_app``.)
    if levels is None:
        message = "A level was not a number; reload the page and try again."
        outcome_error: str = "The draft was not saved."
        errors: dict[str, list[str]] = {"form": [message]}
        form.form_errors.append(message)
    else:
        outcome = keep_draft(c, form, levels, notes)
        if outcome.ok:
            saved = times.when(outcome.value, "", seconds=True)  # "14:03:22 EST": the reader's zone, named
            if _wants_json():
                return jsonify(saved=True, saved_at=saved)
            if request.form.get("action") == "next":
                step = flow.progress(c.session, c.rnd, user_id=c.me.user_id, anchor_id=c.anchor.id)
                flash(f"Draft saved at {saved} for the anchor you left.", "info")
                if step.next_anchor_id is None:
                    return redirect(url_for(".round_page", round_id=c.rnd.id))
                return redirect(url_for(".score", round_id=c.rnd.id, anchor_id=step.next_anchor_id))
            flash(f"Draft saved at {saved}. It is private to you and is not a score.", "info")
            return redirect(url_for(".score", round_id=c.rnd.id, anchor_id=c.anchor.id))
        if isinstance(outcome.error, AlreadyRecorded):
            if _wants_json():
                return _json(409, saved=False, message="Your scores for this anchor are already final.")
            return _already_recorded(c.rnd, c.anchor)
        outcome_error = outcome.message
        errors = outcome.error.field_errors if isinstance(outcome.error, InvalidInput) else {}
    if _wants_json():
        return _json(400, saved=False, message=outcome_error, errors=errors)
    return _score_page(c, form, page_error=outcome_error)

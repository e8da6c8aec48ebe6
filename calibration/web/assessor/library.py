"""The anchor library for certified assessors: released anchors by criterion and level, each with
its evidence, key and rationale (registered on the assessor blueprint). Thin views over
:mod:`calibration.services.library`; who may read it is :func:`calibration.services.reveal.may_open_library`.
"""

from __future__ import annotations

from flask import abort, g, render_template

from ...db import get_session
from ...services import key_views, library, reveal
from ..boundary import commit_after_read
from ..guards import actor, audit_denial
from .views import bp


@bp.app_context_processor
def _library_link() -> dict[str, bool]:
    """``library_open`` for the header: whether the signed-in assessor may read the library."""
    membership = g.get("membership")
    status = membership.certification_status if membership is not None else None
    return {"library_open": reveal.may_open_library(status)}


def _certified_only() -> None:
    """Assessors not (or no longer) certified are refused like any page outside their role: 404."""
    membership = g.get("membership")
    if membership is None or not reveal.may_open_library(membership.certification_status):
        audit_denial("not_certified", 404)
        abort(404)


@bp.get("/library")
def library_page() -> str:
    """Every released anchor, grouped by rubric, criterion and the level its key gives there."""
    _certified_only()
    me = actor()
    shelves = library.library_index(get_session(), me.program_id)
    return render_template("assessor/library.html", shelves=shelves)


@bp.get("/library/<int:anchor_id>")
def library_anchor(anchor_id: int) -> str:
    """One released anchor: the evidence, then each criterion's key level and rationale."""
    _certified_only()
    me = actor()
    db_session = get_session()
    item = library.library_anchor(db_session, program_id=me.program_id, anchor_id=anchor_id)
    html = render_template("assessor/library_anchor.html", item=item)
    key_version_id, version = item.key_version_id, item.key_version
    # The first showing of this key version to this assessor goes on the trail, as on feedback.
    if not key_views.has_seen(db_session, user_id=me.user_id, key_version_id=key_version_id):
        commit_after_read(
            lambda s: key_views.record_key_view(
                s, me, anchor_id=anchor_id, key_version_id=key_version_id, version=version, via="library"
            )
        )
    return html

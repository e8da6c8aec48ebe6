"""``/trainer/validity``: validity items seeded into live work (issue 18, item 6), for lead trainers:
the rules in force, what was assigned, answered and expired, each assessor's accuracy on the items,
and the flags of this evidence stream. A read-only page (the platform writes through the API)."""

from __future__ import annotations

from flask import render_template, request

from ...db import get_session
from ...models import ValidityStatus
from ...services.validity_view import validity_page
from ..guards import actor
from .blueprint import bp
from .list_args import read_choice, shown

STATUSES = {s.value: s.value for s in ValidityStatus}


@bp.get("/validity")
def validity_items() -> str:
    problems: list[str] = []
    status = read_choice(request.args.get("status", ""), STATUSES, "status", problems)
    raw_assessor = request.args.get("assessor", "").strip()
    raw_page = request.args.get("page", "1").strip()
    assessor_id = int(raw_assessor) if raw_assessor.isdigit() and len(raw_assessor) < 10 else None
    if raw_assessor and assessor_id is None:
        problems.append(f"“{shown(raw_assessor)}” is not an assessor this list knows; showing everyone.")
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 7 else 1
    view = validity_page(
        get_session(),
        actor().program_id,
        status=None if status is None else ValidityStatus(status),
        assessor_id=assessor_id,
        page=page,
    )
    if assessor_id is not None and assessor_id not in {u for u, _ in view.assessors}:
        problems.append("That assessor is not in this program; showing no assignments.")
    return render_template(
        "trainer/validity.html",
        view=view,
        status=status or "",
        assessor_id=assessor_id,
        statuses=STATUSES,
        problems=problems,
    )

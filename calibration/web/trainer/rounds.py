"""Rounds: the list (filtered by status, kind, rubric and opening day, searched, paged), the round
report (with ``?key=current`` to recompute under the current key) and its printable version."""

from __future__ import annotations

from flask import render_template

from ...db import get_session
from ...models import RoundKind, RoundStatus
from ...services import lists, reports
from ..guards import actor
from .blueprint import bp
from .list_args import list_args
from .reports import key_mode_arg, round_charts

ROUND_STATUSES = {s.value: s.value for s in RoundStatus}
ROUND_KINDS = {k.value: k.value for k in RoundKind}


@bp.get("/")
def rounds() -> str:
    me = actor()
    db_session = get_session()
    rubrics = lists.rubric_choices(db_session, me.program_id)
    args = list_args(statuses=ROUND_STATUSES, kinds=ROUND_KINDS, rubrics=rubrics)
    return render_template(
        "trainer/rounds.html",
        paged=lists.rounds_page(db_session, me.program_id, args.filter),
        args=args,
        statuses=ROUND_STATUSES,
        kinds=ROUND_KINDS,
        rubrics=rubrics,
    )


def _round_report(round_id: int, *, printable: bool) -> str:
    me = actor()
    key_mode, notice = key_mode_arg()
    overview = reports.round_overview(
        get_session(),
        program_id=me.program_id,
        round_id=round_id,
        key_mode=key_mode,
    )
    return render_template(
        "trainer/round.html",
        o=overview,
        charts=round_charts(overview),
        notice=notice,
        printable=printable,
    )


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    return _round_report(round_id, printable=False)


@bp.get("/rounds/<int:round_id>/print")
def round_print(round_id: int) -> str:
    return _round_report(round_id, printable=True)

"""Rounds: the list, the round report (with ``?key=current`` to recompute under the current key)
and its printable version."""

from __future__ import annotations

from flask import render_template

from ...db import get_session
from ...services import reports
from ...services.report_words import report_guide
from ..guards import actor
from .blueprint import bp
from .reports import key_mode_arg, round_charts


@bp.get("/")
def rounds() -> str:
    me = actor()
    rounds = reports.program_rounds(get_session(), me.program_id)
    return render_template("trainer/rounds.html", rounds=rounds)


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
        guide=report_guide(
            level_labels=overview.level_labels,
            earn_cut=overview.rubric.earn_cut,
            level_of_measurement=overview.rubric.level_of_measurement,
            rule=overview.pass_rule,
        ),
        notice=notice,
        printable=printable,
    )


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    return _round_report(round_id, printable=False)


@bp.get("/rounds/<int:round_id>/print")
def round_print(round_id: int) -> str:
    return _round_report(round_id, printable=True)

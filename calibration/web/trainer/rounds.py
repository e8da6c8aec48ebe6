"""Rounds: list and the round report."""

from __future__ import annotations

from flask import render_template

from ...db import get_session
from ...services import reports
from ..guards import actor
from .blueprint import bp


@bp.get("/")
def rounds() -> str:
    me = actor()
    return render_template("trainer/rounds.html", rounds=reports.program_rounds(get_session(), me.program_id))


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    me = actor()
    overview = reports.round_overview(get_session(), program_id=me.program_id, round_id=round_id)
    return render_template("trainer/round.html", o=overview)

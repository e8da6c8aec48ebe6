"""Rounds: the list (filtered by status, kind, rubric and opening day, searched, paged), the round
report (with ``?key=current`` to recompute under the current key) and its printable version."""

from __future__ import annotations

import datetime as dt

from flask import Response, render_template

from ...db import get_session, utcnow
from ...models import Program, RoundKind, RoundStatus
from ...services import lists, reports
from ...services.report_words import report_guide
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


def _print_heading(program_name: str, round_name: str, today: dt.date) -> tuple[str, str]:
    """The running header of every printed page: program and round, and the date printed."""
    return f"{program_name} · {round_name}", f"Agreement report · printed {today:%-d %B %Y}"


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: quotes, backslashes and line breaks escaped, and no ``<``
    (the stylesheet is served as text/css, never inlined, but a name stays data either way)."""
    out = []
    for ch in text:
        if ch in "\\\"'<>" or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


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
        print_heading=_print_heading(_program_name(me.program_id), overview.round.name, utcnow().date()),
    )


def _program_name(program_id: int) -> str:
    program = get_session().get(Program, program_id)
    return program.name if program is not None else ""


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    return _round_report(round_id, printable=False)


@bp.get("/rounds/<int:round_id>/print")
def round_print(round_id: int) -> str:
    return _round_report(round_id, printable=True)


@bp.get("/rounds/<int:round_id>/print-header.css")
def round_print_css(round_id: int) -> Response:
    """The printed report's running header and page numbers as CSS page-margin boxes: served as a
    stylesheet of its own, since the page's content security policy allows no inline style."""
    me = actor()
    rnd = reports.get_round(get_session(), program_id=me.program_id, round_id=round_id)  # 404 outside
    left, right = _print_heading(_program_name(me.program_id), rnd.name, utcnow().date())
    css = (
        "@page {\n"
        f"  @top-left {{ content: {_css_string(left)}; font: 8pt sans-serif; color: #333; }}\n"
        f"  @top-right {{ content: {_css_string(right)}; font: 8pt sans-serif; color: #333; }}\n"
        '  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; }\n'
        "}\n"
    )
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""The operational agreement page (issue 18, item 5): reliability among live readers for one rubric
version and period, the adjudication rate, agreement over time and each reader's agreement with
co-readers (a GET form, so a view can be bookmarked), and its CSV."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import Response, render_template, request

from ...db import get_session
from ...services import operational_report as opr
from ...services.exports import record_export
from ...services.operational_export import operational_export
from ..boundary import commit_after_read
from ..guards import actor
from .blueprint import bp
from .list_args import CONTROL, read_day, shown

SORTS = {"name": "Name", "lenient": "Most lenient first", "severe": "Most severe first"}
BY = {"month": "Month", "quarter": "Quarter"}


@dataclass(frozen=True)
class OperationalArgs:
    """The page's filters as used, as typed (shown back in the form) and what could not be used."""

    rubric_id: int | None
    start: dt.date | None
    end: dt.date | None
    by: opr.Period
    sort: str
    typed: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def query(self, **changes: Any) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.typed.items() if v}
        out.update({k: v for k, v in changes.items() if v})
        return out


def operational_args(rubrics: list[tuple[int, str]]) -> OperationalArgs:
    """Read ``rubric_version``, ``from``, ``to``, ``by`` and ``sort``; what cannot be used is said
    in plain words and left out (the default is shown instead), never an error page."""
    typed = {
        k: CONTROL.sub("", request.args.get(k, "").strip())[:40]
        for k in ("rubric_version", "from", "to", "by", "sort")
    }
    problems: list[str] = []
    rubric_id = None
    if typed["rubric_version"]:
        known = {str(rid): rid for rid, _ in rubrics}
        rubric_id = known.get(typed["rubric_version"])
        if rubric_id is None:
            problems.append(
                f"“{shown(typed['rubric_version'])}” is not a rubric version of this program; showing the latest one."
            )
    start = read_day(typed["from"], "from", problems)
    end = read_day(typed["to"], "to", problems)
    for day in (start, end):
        if day is not None and not opr.FIRST_DAY <= day <= opr.LAST_DAY:
            problems.append(
                f"{day.isoformat()} is outside the dates this page can show; showing the last 90 days."
            )
            start = end = None
            break
    if start and end and start > end:
        problems.append("“From” is after “to”; showing the last 90 days instead.")
        start = end = None
    elif start and not end:
        end = min(opr.LAST_DAY, start + dt.timedelta(days=opr.DEFAULT_DAYS - 1))
    by: opr.Period = "month"
    if typed["by"] == "quarter":
        by = "quarter"
    elif typed["by"] not in ("", "month"):
        problems.append(f"“{shown(typed['by'])}” is not a way to group over time; showing months.")
    sort = typed["sort"] if typed["sort"] in SORTS else "name"
    if typed["sort"] and typed["sort"] not in SORTS:
        problems.append(f"“{shown(typed['sort'])}” is not a way to sort; sorting by name.")
    return OperationalArgs(rubric_id, start, end, by, sort, typed, tuple(problems))


def _report(args: OperationalArgs) -> opr.OperationalReport:
    me = actor()
    return opr.operational_report(
        get_session(),
        program_id=me.program_id,
        rubric_version_id=args.rubric_id,
        start=args.start,
        end=args.end,
        by=args.by,
    )


@bp.get("/operational")
def operational() -> str:
    rubrics = opr.rubric_choices(get_session(), actor().program_id)
    args = operational_args(rubrics)
    report = _report(args)
    return render_template(
        "trainer/operational.html",
        r=report,
        args=args,
        rubrics=rubrics,
        people=report.sorted_assessors(args.sort),
        sorts=SORTS,
        by_choices=BY,
    )


@bp.get("/operational/export.csv")
def operational_csv() -> Response:
    me = actor()
    args = operational_args(opr.rubric_choices(get_session(), me.program_id))
    export = operational_export(_report(args))
    commit_after_read(lambda s: record_export(s, me, export))
    response = Response(export.text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response

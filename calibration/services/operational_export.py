"""The operational agreement report as one CSV (every number the page shows, with its interval,
count, n, label and undefined reason), formula-safe like every export (:func:`.exports.cell`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .exports import CsvExport, cell
from .operational_report import OperationalReport
from .operational_stats import Statistic

__all__ = ["HEADER", "operational_export"]

HEADER = (
    "section",
    "scope",
    "period",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "count",
    "n",
    "label",
    "undefined_reason",
)


def _row(section: str, scope: str, period: str, name: str, s: Statistic) -> list[Any]:
    return [section, scope, period, name, s.value, s.ci_low, s.ci_high, s.count, s.n, s.label, s.reason]


def rows(report: OperationalReport) -> Iterator[list[Any]]:
    """The report's numbers in the page's order."""
    span = f"{report.start.isoformat()} to {report.end.isoformat()}"
    for line in report.reliability:
        for name in ("alpha", "kappa", "exact", "adjacent", "adjudication"):
            yield _row("reliability", line.title, span, name, getattr(line, name))
    for p in report.periods:
        for name in ("exact", "adjacent", "kappa"):
            yield _row("over time", "All criteria", p.period, name, getattr(p, name))
    for a in report.assessors:
        for who in (a, *a.periods):
            for name in ("exact", "adjacent", "lean"):
                yield _row("assessor", a.name, who.period or span, name, getattr(who, name))


def operational_export(report: OperationalReport) -> CsvExport:
    """The CSV of one report (audited by the view through :func:`.exports.record_export`)."""
    name = f"operational-{report.rubric_id or 0}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return CsvExport(
        name,
        HEADER,
        tuple(tuple(cell(v) for v in r) for r in rows(report)),
        "operational_report",
        report.rubric_id or 0,
        "operational",
    )

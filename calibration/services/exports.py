"""CSV exports of scores and of every report table, safe to open in a spreadsheet.

Every cell goes through :func:`cell`, and every text cell through :func:`neutralise`: text that a
spreadsheet could read as a formula gets a leading apostrophe (OWASP "CSV injection"). The test
looks at the first character after any leading whitespace and quotes, so `` =1+1`` and ``"=1+1``
are caught as well as ``=1+1``; the dangerous characters are ``= + - @``, tab and carriage return.

Only text is neutralised. Numbers are decided by their type, not by how they look: the ints,
floats (numpy's too) and decimals we compute are written as numbers, so a negative deviation stays
``-0.25``; a value that is not finite is written empty (undefined, never ``-inf``). Text that merely
looks like a number (a name ``-1``) is still text and gets the apostrophe.

Every download is audited as ``export.csv`` by :func:`record_export`, which the view calls in its
own short write.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ..stats.accuracy import AccuracyResult, Proportion
from ..stats.results import Estimate
from . import audit, score_export
from .context import Member
from .errors import NotFound
from .profiles import assessor_profile, program_overview
from .reports import RoundOverview, get_round, round_overview, round_state
from .score_rows import KeyMode

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Skipped before the check, with whitespace other than tab and carriage return (both dangerous
# themselves): quotes, which a spreadsheet or a lenient reader may drop before evaluating.
_SKIPPED_QUOTES = "'\""
ROUND_TABLES = ("scores", "accuracy", "reliability", "anchors", "confusion", "pairwise")
PROFILE_TABLES = ("rounds", "criteria", "categories")
OVERVIEW_TABLES = ("rounds", "statuses", "due")


def neutralise(text: str) -> str:
    """Prefix text a spreadsheet could evaluate as a formula with an apostrophe.

    The first character after leading whitespace and quotes decides, so a formula hidden behind
    spaces or a quote is caught too.
    """
    for ch in text:
        if ch in _SKIPPED_QUOTES or (ch.isspace() and ch not in "\t\r"):
            continue
        return "'" + text if ch in FORMULA_PREFIXES else text
    return text


@lru_cache(maxsize=4096)
def _text_cell(text: str) -> str:
    """:func:`neutralise`, remembered: an export repeats the same names and titles thousands of times."""
    return neutralise(text)


def _utc_cell(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# Exact types that most cells have, each with the same result as the checks in :func:`cell` (an
# ``int`` is Integral, a ``str`` is text, a ``datetime`` a time), looked up before the abstract-type
# checks, which cost more than the formatting on exports of tens of thousands of cells.
_FAST_CELLS: dict[type, Callable[[Any], str]] = {
    type(None): lambda _: "",
    int: str,
    str: _text_cell,
    dt.datetime: _utc_cell,
}


def cell(value: Any) -> str:
    """One CSV cell: numbers as numbers, times in ISO 8601 UTC, None empty, text neutralised."""
    fast = _FAST_CELLS.get(type(value))
    if fast is not None:
        return fast(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else ""
    if isinstance(value, numbers.Real):
        number = float(value)  # numpy's repr would be "np.float64(...)"
        return repr(number) if math.isfinite(number) else ""
    if isinstance(value, dt.datetime):
        return _utc_cell(value)
    if isinstance(value, enum.Enum):
        value = value.value
    return neutralise(str(value))


@dataclass(frozen=True)
class CsvExport:
    """A finished export: its file name, header and rows (already cells), and what it describes."""

    filename: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    object_type: str
    object_id: int
    table: str
    key_mode: str | None = None

    @cached_property
    def text(self) -> str:
        """The CSV document (UTF-8 BOM so spreadsheets read accents right; CRLF line ends); made
        once per export (a cached score table is downloaded again without rewriting it)."""
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buf.getvalue()


@dataclass(frozen=True)
class _Meta:
    """What an export describes, for its audit row."""

    object_type: str
    object_id: int
    table: str
    key_mode: str | None = None


def _export(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], meta: _Meta) -> CsvExport:
    return CsvExport(
        filename,
        tuple(header),
        tuple(tuple(map(cell, row)) for row in rows),
        meta.object_type,
        meta.object_id,
        meta.table,
        meta.key_mode,
    )


def record_export(session: Session, actor: Member, export: CsvExport) -> None:
    """Audit one download (flushed, not committed)."""
    detail: dict[str, Any] = {"table": export.table, "rows": len(export.rows), "filename": export.filename}
    if export.key_mode:
        detail["key"] = export.key_mode
    audit.record(
        session,
        actor,
        "export.csv",
        object_type=export.object_type,
        object_id=export.object_id,
        detail=detail,
    )


# ---------------------------------------------------------------------------------------- columns
def _est(e: Estimate | None) -> list[Any]:
    if e is None:
        return [None, None, None]
    return [e.value, e.ci_low, e.ci_high]


def _prop(p: Proportion | None) -> list[Any]:
    if p is None:
        return [None, None, None, None, None]
    return [p.p, p.ci_low, p.ci_high, p.count, p.n]


def _est_cols(name: str) -> list[str]:
    return [name, f"{name}_ci_low", f"{name}_ci_high"]


def _prop_cols(name: str) -> list[str]:
    return [name, f"{name}_ci_low", f"{name}_ci_high", f"{name}_count", f"{name}_n"]


ACCURACY_COLUMNS = [
    "n_scores",
    *_prop_cols("exact"),
    *_prop_cols("adjacent"),
    "discrepant_count",
    *_est_cols("mean_signed_deviation"),
    "mean_absolute_deviation",
    *_est_cols("weighted_kappa"),
    *_prop_cols("decision_agreement"),
    "false_earned",
    "false_not_yet",
]


#: Columns with no meaning on a two-level scale (every score matches the key or misses it).
NOT_ON_TWO_LEVELS = frozenset([*_prop_cols("adjacent"), "discrepant_count"])


def accuracy_columns(two_levels: bool) -> list[str]:
    """The accuracy columns, without "adjacent" and "two or more off" for a two-level rubric."""
    return [c for c in ACCURACY_COLUMNS if not (two_levels and c in NOT_ON_TWO_LEVELS)]


def _two_levels(a: AccuracyResult | None) -> bool:
    return a is not None and len(a.levels) <= 2


def _accuracy_cells(a: AccuracyResult | None, *, drop_two_level: bool = False) -> list[Any]:
    """One row's accuracy cells; on a two-level scale the adjacent and two-off cells are empty
    (``drop_two_level``: left out, for a table whose header leaves them out)."""
    if a is None:
        return [None] * len(accuracy_columns(drop_two_level))
    cells = _all_accuracy_cells(a)
    if not _two_levels(a):
        return cells
    if drop_two_level:
        return [v for c, v in zip(ACCURACY_COLUMNS, cells, strict=True) if c not in NOT_ON_TWO_LEVELS]
    return [None if c in NOT_ON_TWO_LEVELS else v for c, v in zip(ACCURACY_COLUMNS, cells, strict=True)]


def _all_accuracy_cells(a: AccuracyResult) -> list[Any]:
    d = a.decision
    return [
        a.n,
        *_prop(a.exact),
        *_prop(a.adjacent),
        a.discrepant.count,
        *_est(a.mean_signed_deviation),
        a.mean_absolute_deviation,
        *_est(a.weighted_kappa),
        *_prop(d.agreement if d else None),
        d.false_earned if d else None,
        d.false_not_yet if d else None,
    ]


# ------------------------------------------------------------------------------------------ round
def round_export(
    session: Session, *, program_id: int, round_id: int, table: str, key_mode: KeyMode = "sheet"
) -> CsvExport:
    """One table of the round report (or its scores in long form) as CSV."""
    if table not in ROUND_TABLES:
        raise NotFound("table")
    meta = _Meta("round", round_id, table, key_mode)
    suffix = "-current-key" if key_mode == "current" else ""
    filename = f"round-{round_id}-{table}{suffix}.csv"
    if table == "scores":
        rnd = get_round(session, program_id=program_id, round_id=round_id)
        key = score_export.freshness_key(session, rnd, key_mode, round_state(session, rnd, key_mode))
        return score_export.SCORE_EXPORTS.get_or_compute(
            key,
            lambda: CsvExport(
                filename,
                score_export.SCORES_HEADER,
                score_export.score_table(session, rnd, key_mode, cell),
                meta.object_type,
                meta.object_id,
                meta.table,
                meta.key_mode,
            ),
        )
    o = round_overview(session, program_id=program_id, round_id=round_id, key_mode=key_mode)
    header, rows = _ROUND_TABLES[table](o)
    return _export(filename, header, rows, meta)


def _round_accuracy(o: RoundOverview) -> tuple[list[str], list[Any]]:
    two = len(o.levels) <= 2
    header = ["assessor_id", "assessor", "sheets_done", "anchors_in_round", *accuracy_columns(two)]
    header += ["outcome", "outcome_message"]
    rows = [
        [
            line.user_id,
            line.name,
            line.n_done,
            line.n_anchors,
            *_accuracy_cells(line.accuracy, drop_two_level=two),
            line.decision.outcome if line.decision else None,
            line.decision.message if line.decision else None,
        ]
        for line in o.lines
    ]
    return header, rows


def _round_reliability(o: RoundOverview) -> tuple[list[str], list[Any]]:
    header = ["scope", "criterion_id", "units", "assessors", *_est_cols("alpha"), "alpha_label"]
    header += ["alpha_reason", *_est_cols("fleiss_kappa"), *_est_cols("gwet_ac1")]
    header += [*_est_cols("pairwise_agreement")]
    r = o.report
    if r is None:
        return header, []
    scopes: list[tuple[str, Any, Any]] = [("All criteria", None, r.reliability)]
    scopes += [(o.criterion_titles.get(c, str(c)), c, r.reliability_by_criterion[c]) for c in r.criterion_ids]
    rows = [
        [
            label,
            cid,
            rel.n_units,
            rel.n_raters,
            *_est(rel.alpha),
            o.alpha_label(rel),
            rel.alpha.reason,
            *_est(rel.fleiss_kappa),
            *_est(rel.gwet_ac1),
            *_est(rel.percent_agreement_pairwise),
        ]
        for label, cid, rel in scopes
    ]
    return header, rows


def _round_anchors(o: RoundOverview) -> tuple[list[str], list[Any]]:
    header = ["anchor_id", "anchor", "criterion_id", "criterion", "key_level", "n"]
    header += [f"count_level_{lv}" for lv in o.levels]
    header += [*_prop_cols("exact"), "n_above_key", "n_below_key", "mean_signed_deviation", "contentious"]
    header += [
        "direction",
        "mean_signed_deviation_ci_low",
        "mean_signed_deviation_ci_high",
        "too_few_to_judge",
    ]
    if o.report is None:
        return header, []
    rows = [
        [
            row.unit,
            o.anchor_titles.get(row.unit, str(row.unit)),
            row.criterion,
            o.criterion_titles.get(row.criterion, str(row.criterion)),
            row.key_level,
            row.n,
            *row.counts,
            *_prop(row.exact),
            row.n_above,
            row.n_below,
            row.mean_signed_deviation,
            row.contentious,
            row.direction,
            row.deviation_ci_low,
            row.deviation_ci_high,
            row.too_few,
        ]
        for row in o.report.anchors.rows
    ]
    return header, rows


def _round_confusion(o: RoundOverview) -> tuple[list[str], list[Any]]:
    header = ["assessor_level \\ key_level", *(f"key_{lv}" for lv in o.levels)]
    if o.report is None:
        return header, []
    matrix = o.report.accuracy.overall.confusion
    return header, [[f"assessor_{lv}", *counts] for lv, counts in zip(o.levels, matrix, strict=True)]


def _round_pairwise(o: RoundOverview) -> tuple[list[str], list[Any]]:
    header = ["assessor_a", "assessor_b", "weighted_kappa", "units_in_common"]
    header += ["weighted_kappa_ci_low", "weighted_kappa_ci_high", "too_few_to_judge"]
    return header, [
        [p.a, p.b, p.kappa, p.n_common, p.ci_low, p.ci_high, p.too_few]
        for p in o.pairwise_lines(every_pair=True)
    ]


_ROUND_TABLES = {
    "accuracy": _round_accuracy,
    "reliability": _round_reliability,
    "anchors": _round_anchors,
    "confusion": _round_confusion,
    "pairwise": _round_pairwise,
}


# ---------------------------------------------------------------------------------------- profile
def profile_export(session: Session, *, program_id: int, user_id: int, table: str) -> CsvExport:
    """One table of an assessor's profile as CSV."""
    if table not in PROFILE_TABLES:
        raise NotFound("table")
    p = assessor_profile(session, program_id=program_id, user_id=user_id)
    meta = _Meta("assessor", user_id, table)
    filename = f"assessor-{user_id}-{table}.csv"
    if table == "rounds":
        header = [
            "round_id",
            "round",
            "kind",
            "opens_at_utc",
            "sheets_done",
            "anchors_in_round",
            *ACCURACY_COLUMNS,
        ]
        header += ["outcome", "outcome_message"]
        rows: list[list[Any]] = [
            [
                r.round_id,
                r.name,
                r.kind,
                r.opens_at,
                r.n_done,
                r.n_anchors,
                *_accuracy_cells(r.accuracy),
                r.decision.outcome if r.decision else None,
                r.decision.message if r.decision else None,
            ]
            for r in p.rounds
        ]
    elif table == "criteria":
        header = [
            "rubric",
            "rubric_version",
            "criterion_id",
            "criterion",
            *ACCURACY_COLUMNS,
            "too_few",
            "findings",
        ]
        rows = [
            [
                s.title,
                s.version,
                c.criterion_id,
                c.title,
                *_accuracy_cells(c.accuracy),
                c.too_few,
                "; ".join(c.findings),
            ]
            for s in p.sections
            for c in s.criteria
        ]
    else:
        header = ["rubric", "rubric_version", "level", "label", "assessor_count", "assessor_share"]
        header += ["key_count", "key_share"]
        rows = []
        for s in p.sections:
            use = s.overall.category_use
            for i, lv in enumerate(use.levels):
                rows.append(
                    [
                        s.title,
                        s.version,
                        lv,
                        s.level_labels.get(lv),
                        use.assessor_counts[i],
                        use.assessor_share[i] if use.assessor_share else None,
                        use.key_counts[i],
                        use.key_share[i] if use.key_share else None,
                    ]
                )
    return _export(filename, header, rows, meta)


# --------------------------------------------------------------------------------------- overview
def overview_export(session: Session, *, program_id: int, table: str) -> CsvExport:
    """One table of the program overview as CSV."""
    if table not in OVERVIEW_TABLES:
        raise NotFound("table")
    o = program_overview(session, program_id=program_id, every_alpha=True)
    meta = _Meta("program", program_id, table)
    filename = f"program-{table}.csv"
    if table == "rounds":
        header = [
            "round_id",
            "round",
            "kind",
            "status",
            "opens_at_utc",
            "sheets",
            "assessors",
            *_est_cols("alpha"),
        ]
        header += ["alpha_label", "alpha_reason", "units"]
        rows: list[list[Any]] = [
            [
                r.round_id,
                r.name,
                r.kind,
                r.status,
                r.opens_at,
                r.n_sheets,
                r.n_assessors,
                *_est(r.alpha),
                r.label,
                r.alpha.reason if r.alpha else "no scores yet",
                r.alpha.n_units if r.alpha else 0,
            ]
            for r in o.rounds
        ]
    elif table == "statuses":
        header = ["status", "assessors"]
        rows = [[status, n] for status, n in o.statuses]
    else:
        header = ["assessor_id", "assessor", "status", "expires_at_utc", "days_left", "reason"]
        rows = [[d.user_id, d.name, d.status, d.expires_at, d.days_left, d.reason] for d in o.due]
    return _export(filename, header, rows, meta)

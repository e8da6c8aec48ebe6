"""The operational agreement report's figures (issue 18, item 5), computed from numpy columns of the
imported ratings: the result lines (:class:`Statistic`, :class:`ReliabilityLine`,
:class:`PeriodAgreement`, :class:`AssessorAgreement`) and :func:`compute`, which pairs first and
second reads and runs the statistics (definitions in :mod:`calibration.services.operational_report`
and :mod:`calibration.stats.coreaders`). Pure: no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ..stats._intervals import DEFAULT_CONFIDENCE
from ..stats._types import LevelOfMeasurement
from ..stats.accuracy import Proportion, wilson_interval
from ..stats.alpha import krippendorff_alpha
from ..stats.coreaders import CoreaderTable, adjudication_needed, coreader_agreement, pair_reads
from ..stats.kappa import cohen_kappa_from_table
from ..stats.labels import TOO_FEW, interpret
from ..stats.results import Estimate

__all__ = [
    "N_BOOT",
    "AssessorAgreement",
    "Evidence",
    "OperationalRows",
    "Period",
    "PeriodAgreement",
    "ReliabilityLine",
    "Statistic",
    "compute",
    "paired",
    "period_label",
]

Period = Literal["month", "quarter"]
#: Bootstrap resamples behind alpha's interval (DESIGN §5: at least 1,000).
N_BOOT = 1000
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True)
class Statistic:
    """One number as the page, the CSV and the API show it: value, 95% interval, how many it rests on
    (``n``: pairs, units or submissions, see ``method``), a count for shares, the label and, when
    undefined, the reason."""

    method: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    n: int
    count: int | None = None
    label: str | None = None
    reason: str | None = None
    confidence: float = DEFAULT_CONFIDENCE  # every interval here is the package's default

    @property
    def defined(self) -> bool:
        return self.value is not None


def _from_estimate(e: Estimate, label: str | None) -> Statistic:
    return Statistic(e.method, e.value, e.ci_low, e.ci_high, e.ci_method, e.n_units, None, label, e.reason)


def _from_share(method: str, p: Proportion, label: str | None) -> Statistic:
    return Statistic(method, p.p, p.ci_low, p.ci_high, "wilson", p.n, p.count, label, p.reason)


def _num(x: Any) -> float | None:
    v = float(x)
    return None if np.isnan(v) else v


@dataclass(frozen=True)
class ReliabilityLine:
    """Reliability among live readers on one criterion (``criterion_id`` None: all criteria)."""

    criterion_id: int | None
    title: str
    n_reads: int
    n_units: int  # submission x criterion with at least one read
    n_submissions: int
    n_pairs: int  # units with a first and a second read
    alpha: Statistic
    kappa: Statistic
    exact: Statistic
    adjacent: Statistic
    adjudication: Statistic


@dataclass(frozen=True)
class PeriodAgreement:
    """First against second reads in one month or quarter (pairs counted in the second read's period)."""

    period: str
    n_pairs: int
    exact: Statistic
    adjacent: Statistic
    kappa: Statistic


@dataclass(frozen=True)
class AssessorAgreement:
    """One reader's agreement with their co-readers (over the period, or one month or quarter)."""

    user_id: int
    name: str
    period: str | None  # None: the whole period
    n_pairs: int
    n_submissions: int
    exact: Statistic
    adjacent: Statistic
    lean: Statistic  # mean signed difference from the co-reader, labelled lenient/severe/...
    periods: tuple[AssessorAgreement, ...] = ()

    @property
    def too_few(self) -> bool:
        return self.lean.label == TOO_FEW


@dataclass(frozen=True, eq=False)
class OperationalRows:
    """The rows of one rubric version in a period, in (submission, criterion, read) order."""

    submission: np.ndarray  # 0.. in order of the external submission id
    criterion: np.ndarray
    assessor: np.ndarray
    level: np.ndarray
    read: np.ndarray
    month: np.ndarray  # year * 12 + month - 1 of scored_at (UTC)

    def __len__(self) -> int:
        return int(self.level.size)


def period_label(index: int, by: Period) -> str:
    """``2026 * 12 + 2`` -> "March 2026" by month; a quarter index -> "2026 Q1"."""
    if by == "quarter":
        return f"{index // 4} Q{index % 4 + 1}"
    return f"{_MONTHS[index % 12]} {index // 12}"


# ------------------------------------------------------------------------------------------ compute
@dataclass(frozen=True)
class Evidence:
    min_submissions: int
    min_pairs: int

    def enough(self, submissions: int, pairs: int) -> bool:
        return submissions >= self.min_submissions and pairs >= self.min_pairs

    def plain(self, submissions: int, pairs: int) -> str | None:
        """The label of a statistic without bands: none, or "too few to judge"."""
        return None if self.enough(submissions, pairs) else TOO_FEW


def _share(method: str, count: int, n: int, label: str | None, reason: str) -> Statistic:
    p = wilson_interval(int(count), int(n))
    return _from_share(method, p, label if p.p is not None else None) if n else _undefined(method, reason)


def _table_share(method: str, count: int, n: int, low: Any, high: Any, label: str | None) -> Statistic:
    """:func:`_share` from Wilson bounds already computed for the whole table (the same numbers)."""
    if not n:
        return _undefined(method, "no read pairs")
    return _from_share(
        method, Proportion(count, n, count / n, float(low), float(high), DEFAULT_CONFIDENCE), label
    )


def _undefined(method: str, reason: str) -> Statistic:
    return Statistic(method, None, None, None, None, 0, None, None, reason)


def _distinct(sorted_values: np.ndarray) -> int:
    """How many distinct values a sorted array holds (cheaper than ``np.unique`` on millions)."""
    if not sorted_values.size:
        return 0
    return 1 + int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1]))


_NO_PAIRS = "no submission x criterion has both a first and a second read"


def _kappa(a: np.ndarray, b: np.ndarray, q: int, label: str | None) -> Statistic:
    if not a.size:
        return _undefined("cohen_kappa_quadratic", _NO_PAIRS)
    table = np.bincount(a * q + b, minlength=q * q).reshape(q, q)
    est = cohen_kappa_from_table(table, weights="quadratic")
    return _from_estimate(est, label if est.defined else None)


def _reliability(
    rows: OperationalRows,
    sel: np.ndarray | None,
    idx: np.ndarray,
    pairs_at: np.ndarray | None,
    first: np.ndarray,
    second: np.ndarray,
    unit: np.ndarray,
    levels: list[int],
    lom: LevelOfMeasurement,
    ev: Evidence,
    seed: int,
    crit: int | None,
    title: str,
) -> ReliabilityLine:
    q = len(levels)

    def pick(x: np.ndarray) -> np.ndarray:  # the rows of the line (all of them: no copy)
        return x if sel is None else x[sel]

    u = pick(unit)
    f, s = (first, second) if pairs_at is None else (first[pairs_at], second[pairs_at])
    a, b = idx[f], idx[s]
    del s
    subs = pick(rows.submission)
    n_subs = _distinct(subs)
    n_pairs = int(a.size)
    pair_subs = _distinct(rows.submission[f])
    alpha = krippendorff_alpha(
        u,
        pick(rows.assessor),
        pick(rows.level),
        levels=levels,
        level_of_measurement=lom,
        n_boot=N_BOOT,
        seed=seed,
    )
    n_values = int(alpha.extra.get("n_values", 0))
    alpha_label = interpret(
        alpha.value,
        alpha.interval,
        scale="alpha",
        n_anchors=n_subs,
        n_scores=n_values,
        min_anchors=ev.min_submissions,
        min_scores=ev.min_pairs,
    )
    plain = ev.plain(pair_subs, n_pairs)
    d = np.abs(a - b)
    # adjudication: units (or, overall, submissions) read at least twice
    reads_per_unit = np.bincount(u)
    unit_ids = np.flatnonzero(reads_per_unit >= 2)
    later = np.zeros(reads_per_unit.size, dtype=bool)
    later[u[pick(rows.read) > 2]] = True
    beyond = np.zeros(reads_per_unit.size, dtype=bool)
    beyond[unit[f][adjudication_needed(a, b, n_levels=q)]] = True
    del f
    needs = later | beyond
    if crit is None:
        sub_of_unit = np.zeros(reads_per_unit.size, dtype=np.int64)
        sub_of_unit[u] = subs
        read_twice = _distinct(sub_of_unit[unit_ids])
        flagged = _distinct(sub_of_unit[unit_ids[needs[unit_ids]]])
        adj = _share("adjudication_rate_submissions", flagged, read_twice, plain, _NO_TWICE)
    else:
        adj = _share("adjudication_rate_units", int(needs[unit_ids].sum()), unit_ids.size, plain, _NO_TWICE)
    return ReliabilityLine(
        criterion_id=crit,
        title=title,
        n_reads=int(u.size),
        n_units=_distinct(u),
        n_submissions=n_subs,
        n_pairs=n_pairs,
        alpha=_from_estimate(alpha, alpha_label),
        kappa=_kappa(a, b, q, plain),
        exact=_share("exact_agreement", int((d == 0).sum()), n_pairs, plain, _NO_PAIRS),
        adjacent=_share("adjacent_agreement", int((d <= 1).sum()), n_pairs, plain, _NO_PAIRS),
        adjudication=adj,
    )


_NO_TWICE = "no submission was read twice"


def _assessor_lines(
    table: CoreaderTable, ev: Evidence, groups: np.ndarray, period: Sequence[str | None]
) -> list[AssessorAgreement]:
    out = []
    for i, _g in enumerate(groups.tolist()):
        n, m = int(table.n[i]), int(table.m[i])
        plain = ev.plain(m, n)
        mean, lo, hi = _num(table.mean[i]), _num(table.mean_low[i]), _num(table.mean_high[i])
        lean_label = interpret(
            mean,
            None if lo is None or hi is None else (lo, hi),
            scale="lean",
            n_anchors=m,
            n_scores=n,
            min_anchors=ev.min_submissions,
            min_scores=ev.min_pairs,
        )
        reason = None if mean is not None else "no read pairs"
        lean = Statistic(
            "mean_signed_difference",
            mean,
            lo,
            hi,
            "t" if lo is not None else None,
            n,
            None,
            lean_label,
            reason,
        )
        if mean is not None and lo is None:
            lean = replace(lean, reason="no interval: fewer than two submissions or no spread")
        out.append(
            AssessorAgreement(
                user_id=0,
                name="",
                period=period[i],
                n_pairs=n,
                n_submissions=m,
                exact=_table_share(
                    "exact_agreement", int(table.exact[i]), n, table.exact_low[i], table.exact_high[i], plain
                ),
                adjacent=_table_share(
                    "adjacent_agreement",
                    int(table.adjacent[i]),
                    n,
                    table.adjacent_low[i],
                    table.adjacent_high[i],
                    plain,
                ),
                lean=lean,
            )
        )
    return out


def paired(
    rows: OperationalRows, levels: list[int]
) -> tuple[OperationalRows, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows with a level of the rubric (the import refuses others; never let one break a
    report), each read's level index (0 = lowest), its unit (submission x criterion, numbered in row
    order: rows come sorted by both) and the row indices of each unit's first and second read."""
    lv = np.asarray(levels, dtype=np.int64)
    order = np.argsort(lv).astype(np.int32)  # level indices: int32, as narrow as the other columns
    pos = np.searchsorted(lv, rows.level, sorter=order)
    np.minimum(pos, max(lv.size - 1, 0), out=pos)
    idx = order[pos]
    del pos
    known = lv[idx] == rows.level
    if not bool(known.all()):
        keep = np.flatnonzero(known)
        rows = OperationalRows(*(getattr(rows, f)[keep] for f in OperationalRows.__dataclass_fields__))
        idx = idx[keep]
    del known
    key_change = np.empty(rows.level.size, dtype=bool)
    if key_change.size:
        key_change[0] = True
        key_change[1:] = (rows.submission[1:] != rows.submission[:-1]) | (
            rows.criterion[1:] != rows.criterion[:-1]
        )
    unit: np.ndarray = np.cumsum(key_change, dtype=np.int32 if key_change.size < 2**31 else np.int64)
    unit -= 1
    del key_change
    pr = pair_reads(unit, rows.read)
    return rows, idx, unit, pr.first, pr.second


def compute(
    rows: OperationalRows,
    levels: list[int],
    lom: LevelOfMeasurement,
    titles: dict[int, str],
    ev: Evidence,
    by: Period,
    seed: int,
) -> tuple[list[ReliabilityLine], list[PeriodAgreement], dict[int, AssessorAgreement]]:
    rows, idx, unit, first, second = paired(rows, levels)
    crit_ids = sorted(titles)
    lines = [
        _reliability(
            rows,
            None,
            idx,
            None,
            first,
            second,
            unit,
            levels,
            lom,
            ev,
            seed,
            None,
            "All criteria",
        )
    ]
    pair_crit = rows.criterion[first]
    for c in crit_ids:
        sel = np.flatnonzero(rows.criterion == c)
        if not sel.size:
            continue
        lines.append(
            _reliability(
                rows,
                sel,
                idx,
                np.flatnonzero(pair_crit == c),
                first,
                second,
                unit,
                levels,
                lom,
                ev,
                seed,
                c,
                titles[c],
            )
        )
    # over time: pairs by the period of their second read
    step = 3 if by == "quarter" else 1
    q = len(levels)
    periods: list[PeriodAgreement] = []
    pp = rows.month[second] // step
    a, b = idx[first], idx[second]
    p_lo = int(pp.min()) if pp.size else 0
    for p in (np.flatnonzero(np.bincount(pp - p_lo)) + p_lo).tolist():
        at = pp == p
        pa, pb = a[at], b[at]
        subs_p = _distinct(rows.submission[first[at]])
        plain = ev.plain(subs_p, int(pa.size))
        d = np.abs(pa - pb)
        periods.append(
            PeriodAgreement(
                period_label(int(p), by),
                int(pa.size),
                _share("exact_agreement", int((d == 0).sum()), int(pa.size), plain, _NO_PAIRS),
                _share("adjacent_agreement", int((d <= 1).sum()), int(pa.size), plain, _NO_PAIRS),
                _kappa(pa, pb, q, plain),
            )
        )
    # each reader against the co-reader of every pair they are in (level indices in a narrow type:
    # every pair is here twice)
    del unit, idx, pair_crit
    narrow = np.int16 if q <= np.iinfo(np.int16).max else np.int64
    who = np.concatenate([rows.assessor[first], rows.assessor[second]])
    own = np.concatenate([a, b], dtype=narrow)
    other = np.concatenate([b, a], dtype=narrow)
    del a, b
    cluster = np.concatenate([rows.submission[first], rows.submission[first]])
    when = np.concatenate([pp, pp])
    # The rows are not needed past here: let them go before the co-reader tables, the largest step
    # (the report's caller hands them over without keeping a reference: ``operational_report.run``).
    del first, second, pp, rows
    assessors: dict[int, AssessorAgreement] = {}
    if who.size:
        overall = coreader_agreement(who, cluster, own, other)
        for uid, line in zip(
            overall.groups.tolist(),
            _assessor_lines(overall, ev, overall.groups, [None] * overall.groups.size),
            strict=True,
        ):
            assessors[uid] = replace(line, user_id=uid)
        p_lo = int(when.min())
        span = int(when.max()) - p_lo + 1
        wide = (int(who.max()) + 1) * span >= 2**31 or int(who.min()) < 0
        timed_groups = np.multiply(who, span, dtype=np.int64 if wide else np.int32)  # reader x period
        del who
        timed_groups += when
        timed_groups -= p_lo
        timed = coreader_agreement(timed_groups, cluster, own, other)
        labels = [period_label(int(g % span) + p_lo, by) for g in timed.groups.tolist()]
        per: dict[int, list[AssessorAgreement]] = {}
        for g, line in zip(
            timed.groups.tolist(), _assessor_lines(timed, ev, timed.groups, labels), strict=True
        ):
            uid = int(g // span)
            per.setdefault(uid, []).append(replace(line, user_id=uid))
        assessors = {uid: replace(line, periods=tuple(per.get(uid, []))) for uid, line in assessors.items()}
    return lines, periods, assessors

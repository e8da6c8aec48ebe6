"""Reports beyond the round page: the assessor profile, the program overview, CSV exports, and the
charts of every report page (drawn by :mod:`calibration.web.charts` from the services' results)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Response, abort, render_template, request

from ...db import get_session
from ...models import RubricVersion
from ...services import attention, control_charts, exports, profiles
from ...services.policy import ALPHA_GOOD, ALPHA_TENTATIVE
from ...services.report_words import ReportGuide, report_guide
from ...services.reports import KEY_MODES, KeyMode, RoundOverview
from .. import charts
from ..boundary import commit_after_read
from ..guards import actor
from ..times import program_zone
from .blueprint import bp

PERCENT_AXIS = "% of criterion-scores"


def key_mode_arg() -> tuple[KeyMode, str | None]:
    """The ``?key=`` mode and, for a value we do not know, a notice saying what is shown instead."""
    raw = request.args.get("key", "sheet")
    for mode in KEY_MODES:
        if raw == mode:
            return mode, None
    shown = raw[:40]
    return "sheet", (
        f"“{shown}” is not a way to compare with the key; showing the key version each sheet was scored against."
    )


# ------------------------------------------------------------------------------------------- charts
def round_charts(o: RoundOverview) -> dict[str, charts.Chart]:
    """The round page's charts; the tables beside them hold the same numbers."""
    r = o.report
    if r is None:
        return {}
    rule = o.pass_rule
    scored = [line for line in o.lines if line.accuracy is not None]
    accs = [line.accuracy for line in scored if line.accuracy is not None]
    out = {
        "accuracy": charts.interval_chart(
            [line.name for line in scored],
            [
                charts.Panel(
                    "Exact agreement (%)",
                    [a.exact.p for a in accs],
                    [a.exact.ci_low for a in accs],
                    [a.exact.ci_high for a in accs],
                    refs=(charts.RefLine(rule.min_exact, f"pass rule {rule.min_exact:.0%}"),),
                    percent=True,
                    limits=(0.0, 1.0),
                ),
                charts.Panel(
                    "Signed deviation (levels)",
                    [a.mean_signed_deviation.value for a in accs],
                    [a.mean_signed_deviation.ci_low for a in accs],
                    [a.mean_signed_deviation.ci_high for a in accs],
                    refs=(charts.RefLine(0.0, "the key"),),
                ),
            ],
            title="Accuracy against the key, per assessor",
            label=(
                f"Two dot plots for {len(scored)} assessors, in the order of the accuracy table: exact agreement "
                f"with the key (%) with 95% Wilson intervals and a line at the pass rule's {rule.min_exact:.0%}; "
                "and mean signed deviation from the key in levels with 95% intervals (right of zero is lenient, "
                "left is severe). The accuracy table lists the numbers."
            ),
        ),
    }
    scopes = [("All criteria", r.reliability)]
    scopes += [(o.criterion_titles.get(c, str(c)), r.reliability_by_criterion[c]) for c in r.criterion_ids]
    out["alpha"] = charts.interval_chart(
        [label for label, _ in scopes],
        [
            charts.Panel(
                "Krippendorff's alpha",
                [rel.alpha.value for _, rel in scopes],
                [rel.alpha.ci_low for _, rel in scopes],
                [rel.alpha.ci_high for _, rel in scopes],
                refs=(
                    charts.RefLine(ALPHA_TENTATIVE, "tentative .667"),
                    charts.RefLine(ALPHA_GOOD, "good .800"),
                ),
            )
        ],
        title=f"Agreement among assessors ({o.rubric.level_of_measurement} alpha)",
        label=(
            "Dot plot of Krippendorff's alpha for all criteria and for each criterion, with bootstrap 95% "
            "intervals and lines at .667 and .800. The reliability table lists the numbers."
        ),
    )
    levels = o.levels
    out["confusion"] = charts.heatmap(
        r.accuracy.overall.confusion,
        [f"{lv} {o.level_labels[lv]}" for lv in levels],
        [str(lv) for lv in levels],
        title="Assessor level × key level",
        xlabel="Key level",
        ylabel="Assessor level",
        annotate="{:.0f}",
        label=(
            f"Heat map of criterion-scores by the assessor's level (rows) and the key's level (columns), "
            f"{len(levels)} by {len(levels)}; the diagonal is exact agreement. The table beside it lists the counts."
        ),
    )
    pm = r.pairwise_kappa
    if len(pm.rater_ids) >= 2:
        finite = pm.values[~np.isnan(pm.values)]
        low = -1.0 if finite.size and finite.min() < 0 else 0.0
        names_all = [o.name(x) for x in pm.rater_ids.tolist()]
        out["pairwise"] = charts.heatmap(
            pm.values,
            names_all,
            names_all,
            title="Pairwise quadratic-weighted kappa",
            xlabel="Assessor",
            ylabel="Assessor",
            limits=(low, 1.0),
            annotate="{:.2f}",
            label=(
                f"Heat map of quadratic-weighted Cohen's kappa between each pair of {len(names_all)} assessors, "
                "on the anchor-criterion units both scored. The table beside it lists the pairs."
            ),
        )
    return out


def profile_charts(p: profiles.AssessorProfile) -> dict[str, Any]:
    rule = p.rule
    scored = [r for r in p.rounds if r.accuracy is not None]
    accuracies = [r.accuracy for r in scored if r.accuracy is not None]  # the same rounds, typed
    out: dict[str, Any] = {"sections": {}}
    if scored:
        out["series"] = charts.series_chart(
            [r.name for r in scored],
            [
                charts.Panel(
                    "Exact (%)",
                    [a.exact.p for a in accuracies],
                    [a.exact.ci_low for a in accuracies],
                    [a.exact.ci_high for a in accuracies],
                    refs=(charts.RefLine(rule.min_exact, f"pass rule {rule.min_exact:.0%}"),),
                    percent=True,
                    limits=(0.0, 1.0),
                ),
                charts.Panel(
                    "Signed deviation",
                    [a.mean_signed_deviation.value for a in accuracies],
                    [a.mean_signed_deviation.ci_low for a in accuracies],
                    [a.mean_signed_deviation.ci_high for a in accuracies],
                    refs=(charts.RefLine(0.0, "the key"),),
                ),
            ],
            title=f"{p.name}: accuracy over time",
            label=(
                f"Two panels over {len(scored)} rounds, oldest first: exact agreement with the key (%) and mean "
                "signed deviation in levels, each with a 95% interval. The rounds table lists the numbers."
            ),
        )
    for s in p.sections:
        use = s.overall.category_use
        levels = list(use.levels)
        charts_for: dict[str, charts.Chart] = {}
        if use.assessor_share is not None and use.key_share is not None:
            charts_for["categories"] = charts.bar_chart(
                [f"{lv} {s.level_labels.get(lv, '')}".strip() for lv in levels],
                [("Assessor", list(use.assessor_share)), ("Key", list(use.key_share))],
                title="Use of each level: assessor and key",
                axis_label=PERCENT_AXIS,
                percent=True,
                label=(
                    f"Bar chart of the share of criterion-scores at each of {len(levels)} levels, the assessor's "
                    "beside the key's. The table beside it lists the counts and shares."
                ),
            )
        if s.criteria:
            charts_for["criteria"] = charts.interval_chart(
                [c.title for c in s.criteria],
                [
                    charts.Panel(
                        "Exact agreement (%)",
                        [c.accuracy.exact.p for c in s.criteria],
                        [c.accuracy.exact.ci_low for c in s.criteria],
                        [c.accuracy.exact.ci_high for c in s.criteria],
                        refs=(charts.RefLine(rule.min_exact, f"pass rule {rule.min_exact:.0%}"),),
                        percent=True,
                        limits=(0.0, 1.0),
                    ),
                    charts.Panel(
                        "Signed deviation (levels)",
                        [c.accuracy.mean_signed_deviation.value for c in s.criteria],
                        [c.accuracy.mean_signed_deviation.ci_low for c in s.criteria],
                        [c.accuracy.mean_signed_deviation.ci_high for c in s.criteria],
                        refs=(charts.RefLine(0.0, "the key"),),
                    ),
                ],
                title="Accuracy per criterion, every round",
                label=(
                    f"Two dot plots over {len(s.criteria)} criteria: exact agreement with the key (%) with 95% "
                    "Wilson intervals and a line at the pass rule, and mean signed deviation in levels with 95% "
                    "intervals. The criteria table lists the numbers."
                ),
            )
        out["sections"][s.rubric_version_id] = charts_for
    return out


@dataclass(frozen=True)
class ControlGroup:
    """One rubric version's control charts: the overall chart with its drawing, and the criteria's
    charts drawn together in one figure (one panel each); each keeps its own data table."""

    rubric_title: str
    overall: control_charts.ControlChart | None
    overall_drawing: charts.Chart | None
    criteria: list[control_charts.ControlChart]
    criteria_drawing: charts.Chart | None

    @property
    def source(self) -> str:
        first = self.overall or (self.criteria[0] if self.criteria else None)
        return first.source if first else ""


def _panel(cc: control_charts.ControlChart) -> charts.ControlPanel:
    return charts.ControlPanel(
        cc.scope,
        means=[p.mean for p in cc.points],
        ewma=[p.ewma for p in cc.points],
        lower=[p.lower for p in cc.points],
        upper=[p.upper for p in cc.points],
        signals=[p.signal for p in cc.points],
    )


def _drawn(cc: control_charts.ControlChart) -> bool:
    return any(p.ewma is not None for p in cc.points)


def control_figures(items: list[control_charts.ControlChart], name: str) -> list[ControlGroup]:
    """The control charts grouped per rubric version (each group starts with its overall chart)."""
    runs: list[list[control_charts.ControlChart]] = []
    for cc in items:
        if cc.criterion_id is None or not runs:
            runs.append([])
        runs[-1].append(cc)
    out = []
    for run in runs:
        overall = run[0] if run[0].criterion_id is None else None
        criteria = [cc for cc in run if cc.criterion_id is not None]
        drawn = [cc for cc in criteria if _drawn(cc)]
        out.append(
            ControlGroup(
                rubric_title=run[0].rubric_title,
                overall=overall,
                overall_drawing=charts.control_chart(
                    [p.round_name for p in overall.points],
                    [_panel(overall)],
                    title=f"{name}: EWMA of the signed deviation, all criteria",
                    label=overall.description(name),
                )
                if overall is not None and _drawn(overall)
                else None,
                criteria=criteria,
                criteria_drawing=charts.control_chart(
                    [p.round_name for p in drawn[0].points],
                    [_panel(cc) for cc in drawn],
                    title=f"{name}: EWMA of the signed deviation per criterion",
                    label=(
                        f"Control chart of {name}'s signed deviation per criterion of {run[0].rubric_title}: "
                        f"{len(drawn)} panels, one per criterion in rubric order. "
                        + " ".join(cc.description(name) for cc in drawn)
                    ),
                )
                if drawn
                else None,
            )
        )
    return out


def overview_charts(o: profiles.ProgramOverview) -> dict[str, charts.Chart]:
    out: dict[str, charts.Chart] = {}
    scored = o.scored_rounds
    alphas = [r.alpha for r in scored if r.alpha is not None]  # the same rounds, typed
    if scored:
        out["alpha"] = charts.series_chart(
            [r.name for r in scored],
            [
                charts.Panel(
                    "alpha",
                    [a.value for a in alphas],
                    [a.ci_low for a in alphas],
                    [a.ci_high for a in alphas],
                    refs=(
                        charts.RefLine(ALPHA_TENTATIVE, "tentative .667"),
                        charts.RefLine(ALPHA_GOOD, "good .800"),
                    ),
                )
            ],
            title="Cohort agreement (Krippendorff's alpha) per round",
            label=(
                f"Cohort alpha in each of {len(scored)} rounds, oldest first, with bootstrap 95% intervals and "
                "lines at .667 and .800. The rounds table lists the numbers."
            ),
        )
    if o.n_assessors:
        out["statuses"] = charts.bar_chart(
            [status.replace("_", " ") for status, _ in o.statuses],
            [("Assessors", [n for _, n in o.statuses])],
            title="Assessors by certification status",
            axis_label="Assessors",
            label=(
                f"Bar chart of {o.n_assessors} assessors by certification status. The table beside it lists "
                "the counts."
            ),
        )
    return out


def profile_guide(db_session: Any, p: profiles.AssessorProfile) -> ReportGuide:
    """The profile's reading guide: its latest rubric's levels and earn cut (each round is still
    judged under its own stored rule), or a four-level default before any scores."""
    section = p.sections[-1] if p.sections else None
    rubric = db_session.get(RubricVersion, section.rubric_version_id) if section else None
    return report_guide(
        level_labels=section.level_labels if section else {1: "", 2: "", 3: "", 4: ""},
        earn_cut=rubric.earn_cut if rubric else None,
        level_of_measurement=rubric.level_of_measurement if rubric else "ordinal",
        rule=p.rule,
    )


# ------------------------------------------------------------------------------------------- pages
@bp.get("/assessors/<int:user_id>")
def assessor_profile(user_id: int) -> str:
    me = actor()
    db_session = get_session()
    p = profiles.assessor_profile(db_session, program_id=me.program_id, user_id=user_id)
    control = control_charts.assessor_control_charts(db_session, program_id=me.program_id, user_id=user_id)
    return render_template(
        "trainer/profile.html",
        p=p,
        charts=profile_charts(p),
        ewma_charts=control_figures(control, p.name),
        guide=profile_guide(db_session, p),
    )


@bp.get("/overview")
def overview() -> str:
    me = actor()
    o = profiles.program_overview(get_session(), program_id=me.program_id)
    queue = attention.needs_attention(get_session(), me.program_id, zone=program_zone())
    return render_template("trainer/overview.html", o=o, charts=overview_charts(o), attention=queue)


# ----------------------------------------------------------------------------------------- exports
def _download(build: Callable[[], exports.CsvExport]) -> Response:
    """Build the CSV in the request's read transaction, then audit it in a short write of its own
        (:func:`calibration.web.boundary.commit_after_read`: on SQLite a read transaction upgraded to
    a write can fail under load)."""
    me = actor()
    export = build()
    commit_after_read(lambda s: exports.record_export(s, me, export))
    response = Response(export.text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


def _table(default: str) -> str:
    return request.args.get("table", default)


@bp.get("/rounds/<int:round_id>/export.csv")
def round_export(round_id: int) -> Response:
    me = actor()
    key_mode, notice = key_mode_arg()
    if notice:
        abort(400)
    return _download(
        lambda: exports.round_export(
            get_session(),
            program_id=me.program_id,
            round_id=round_id,
            table=_table("scores"),
            key_mode=key_mode,
        )
    )


@bp.get("/assessors/<int:user_id>/export.csv")
def profile_export(user_id: int) -> Response:
    me = actor()
    return _download(
        lambda: exports.profile_export(
            get_session(),
            program_id=me.program_id,
            user_id=user_id,
            table=_table("rounds"),
        )
    )


@bp.get("/overview/export.csv")
def overview_export() -> Response:
    me = actor()
    return _download(
        lambda: exports.overview_export(
            get_session(),
            program_id=me.program_id,
            table=_table("rounds"),
        )
    )

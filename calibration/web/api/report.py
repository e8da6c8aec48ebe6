"""``GET /rounds/{round_id}/report``: the round report as the trainer's page shows it (every
statistic with its interval, label, n and undefined reason), computed by
:func:`calibration.services.reports.round_overview` (the same code and cache as the page)."""

from __future__ import annotations

from typing import Any

from flask import Response

from ...db import get_session
from ...services import api_reads, reports
from ...services.errors import NotFound
from ...stats.report import CohortReliability
from .blueprint import bp, caller, json_response, query
from .schemas import AssessorResultOut, PairOut, ReliabilityOut, ReportQuery, RoundReportOut
from .spec import operation
from .statistics import accuracy, decision_out, statistic


def _reliability(view: reports.RoundOverview, rel: CohortReliability, keys: dict[Any, str]) -> ReliabilityOut:
    return ReliabilityOut(
        criterion=None if rel.criterion is None else keys.get(rel.criterion, str(rel.criterion)),
        n_units=rel.n_units,
        n_raters=rel.n_raters,
        n_anchors=rel.n_anchors,
        n_scores=rel.n_scores,
        alpha=statistic(rel.alpha, view.alpha_label(rel)),
        fleiss_kappa=statistic(rel.fleiss_kappa),
        gwet_ac1=statistic(rel.gwet_ac1),
        percent_agreement_pairwise=statistic(rel.percent_agreement_pairwise),
        percent_agreement_all=statistic(rel.percent_agreement_all),
    )


def _assessor(view: reports.RoundOverview, line: reports.AssessorLine) -> AssessorResultOut:
    return AssessorResultOut(
        assessor_id=line.user_id,
        name=line.name,
        sheets_done=line.n_done,
        anchors=line.n_anchors,
        finished=line.finished,
        corrections=line.n_corrections,
        **accuracy(line.accuracy, view.lean(line)),
        decision=decision_out(line.decision),
    )


@bp.get("/rounds/<int:round_id>/report")
@operation(
    "/rounds/{round_id}/report",
    summary="Get a round's report",
    response=RoundReportOut,
    query=ReportQuery,
    tag="rounds",
)
def get_round_report(round_id: int) -> Response:
    """The round's agreement report, as the trainer's report page shows it: reliability among the
    assessors (overall and per criterion), each assessor's accuracy against the key and pass
    decision, and the pairwise kappas. Every statistic has its interval, its n, its label and, when
    it is undefined, the reason."""
    q = query(ReportQuery)
    if not 0 < round_id <= api_reads.MAX_ID:
        raise NotFound("no such round")
    view = reports.round_overview(
        get_session(), program_id=caller().program_id, round_id=round_id, key_mode=q.key_mode
    )
    report = view.report
    keys: dict[Any, str] = api_reads.criterion_keys(get_session(), {int(c) for c in view.criterion_titles})
    return json_response(
        RoundReportOut(
            round_id=view.round.id,
            key_mode=q.key_mode,
            anchors=view.n_anchors,
            sheets=view.n_sheets,
            finished_assessors=view.n_finished,
            key_versions=view.key_versions,
            stale_sheets=view.n_stale_sheets,
            reliability=None if report is None else _reliability(view, report.reliability, keys),
            reliability_by_criterion=[]
            if report is None
            else [_reliability(view, rel, keys) for rel in report.reliability_by_criterion.values()],
            assessors=[_assessor(view, line) for line in view.lines],
            pairs=[
                PairOut(
                    a=p.a,
                    b=p.b,
                    kappa=p.kappa,
                    ci_low=p.ci_low,
                    ci_high=p.ci_high,
                    n_common=p.n_common,
                    too_few=p.too_few,
                )
                for p in view.pairwise_lines()
            ],
            pairs_complete=view.pairwise_complete,
        )
    )

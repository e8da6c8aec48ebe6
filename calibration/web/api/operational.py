"""``GET /operational-report``: the live scoring agreement report as the trainer's page shows it
(every statistic with its interval, label, n and undefined reason), computed by
:func:`calibration.services.operational_report.operational_report` (the same code and cache)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ...db import get_session
from ...services import api_reads
from ...services import operational_report as opr
from ...services.operational_stats import AssessorAgreement, ReliabilityLine
from .blueprint import bp, caller, json_response, query
from .schemas import Out, StatisticOut
from .spec import operation
from .statistics import statistic

_RANGE = f"Days before {opr.FIRST_DAY.isoformat()} or after {opr.LAST_DAY.isoformat()} count as those days."


class OperationalQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    rubric_version: int | None = Field(
        None,
        ge=1,
        le=api_reads.MAX_ID,
        description="The rubric version's id (default: the one of the latest imported rating).",
    )
    from_: dt.date | None = Field(
        None,
        alias="from",
        description=f"First day (of the program's time zone), inclusive; default 89 days before `to`. {_RANGE}",
    )
    to: dt.date | None = Field(
        None, description=f"Last day (of the program's time zone), inclusive; default its today. {_RANGE}"
    )

    @field_validator("from_", "to", mode="after")
    @classmethod
    def _within(cls, day: dt.date | None) -> dt.date | None:
        return None if day is None else min(opr.LAST_DAY, max(opr.FIRST_DAY, day))

    by: Literal["month", "quarter"] = Field("month", description="Periods of the over-time part.")

    @model_validator(mode="after")
    def _ordered(self, info: ValidationInfo) -> OperationalQuery:
        today = (info.context or {}).get("today") or dt.datetime.now(dt.UTC).date()  # the program's
        end = self.to if self.to is not None else today  # `to`'s default
        if self.from_ is not None and self.from_ > end:
            raise ValueError("`from` is after `to` (today when left out): put the earlier day in `from`")
        return self


class OperationalReliabilityOut(Out):
    criterion: str | None = Field(description="The criterion's key; null for all criteria together.")
    title: str
    reads: int = Field(description="Every read (first, second, adjudication).")
    units: int = Field(description="Submission x criterion read at least once.")
    submissions: int
    read_pairs: int = Field(description="Units with a first and a second read.")
    alpha: StatisticOut = Field(description="Krippendorff's alpha on every read (the rubric's level).")
    weighted_kappa: StatisticOut = Field(
        description="Cohen's quadratic-weighted kappa, first vs second read."
    )
    exact: StatisticOut = Field(description="First and second read at the same level.")
    adjacent: StatisticOut = Field(description="First and second read at most one level apart.")
    adjudication_rate: StatisticOut = Field(
        description=(
            "Overall: of the submissions read at least twice, the share with a read after the second or "
            "first and second reads more than one level apart (two-level scales: any disagreement); "
            "per criterion, the same share of that criterion's units read at least twice."
        )
    )


class OperationalPeriodOut(Out):
    period: str
    read_pairs: int
    exact: StatisticOut
    adjacent: StatisticOut
    weighted_kappa: StatisticOut


class CoReaderOut(Out):
    period: str | None = Field(description="null for the whole period.")
    read_pairs: int
    submissions: int
    exact: StatisticOut
    adjacent: StatisticOut
    mean_signed_difference: StatisticOut = Field(
        description="Own level minus the co-reader's; labelled lenient, severe, no clear lean or too few to judge."
    )
    too_few: bool


class OperationalAssessorOut(CoReaderOut):
    assessor_id: int
    name: str
    periods: list[CoReaderOut]


class OperationalReportOut(Out):
    rubric_version_id: int | None = Field(description="null when the program has no rubric.")
    rubric: str
    from_date: dt.date
    to_date: dt.date
    by: Literal["month", "quarter"]
    level_of_measurement: str
    min_submissions: int = Field(description="Fewest submissions behind a label.")
    min_read_pairs: int = Field(description="Fewest read pairs (or reads, for alpha) behind a label.")
    ratings: int = Field(description="Ratings of the rubric version in the period.")
    reliability: OperationalReliabilityOut | None = Field(description="null when there are no ratings.")
    reliability_by_criterion: list[OperationalReliabilityOut]
    periods: list[OperationalPeriodOut]
    assessors: list[OperationalAssessorOut]


def _reliability(line: ReliabilityLine, keys: dict[int, str]) -> OperationalReliabilityOut:
    return OperationalReliabilityOut(
        criterion=None if line.criterion_id is None else keys.get(line.criterion_id, str(line.criterion_id)),
        title=line.title,
        reads=line.n_reads,
        units=line.n_units,
        submissions=line.n_submissions,
        read_pairs=line.n_pairs,
        alpha=statistic(line.alpha),
        weighted_kappa=statistic(line.kappa),
        exact=statistic(line.exact),
        adjacent=statistic(line.adjacent),
        adjudication_rate=statistic(line.adjudication),
    )


def _co(a: AssessorAgreement) -> dict[str, object]:
    return {
        "period": a.period,
        "read_pairs": a.n_pairs,
        "submissions": a.n_submissions,
        "exact": statistic(a.exact),
        "adjacent": statistic(a.adjacent),
        "mean_signed_difference": statistic(a.lean),
        "too_few": a.too_few,
    }


@bp.get("/operational-report")
@operation(
    "/operational-report",
    summary="Get the live scoring agreement report",
    response=OperationalReportOut,
    query=OperationalQuery,
    tag="operational",
)
def get_operational_report() -> Response:
    """Agreement among live readers of one rubric version over a period, as the trainer's live
    scoring page shows it: Krippendorff's alpha on every read, quadratic-weighted kappa and exact /
    adjacent agreement between first and second reads (per criterion and overall), the adjudication
    rate, agreement over time, and each reader's agreement with co-readers. Every statistic has its
    interval, its n, its label and, when it is undefined, the reason."""
    session = get_session()
    today = opr.program_today(session, caller().program_id)
    q = query(OperationalQuery, context={"today": today})
    r = opr.operational_report(
        session,
        program_id=caller().program_id,
        rubric_version_id=q.rubric_version,
        start=q.from_,
        end=q.to,
        by=q.by,
        today=today,
    )
    keys = api_reads.criterion_keys(session, {x.criterion_id for x in r.by_criterion if x.criterion_id})
    return json_response(
        OperationalReportOut(
            rubric_version_id=r.rubric_id,
            rubric=r.rubric_title,
            from_date=r.start,
            to_date=r.end,
            by=r.by,
            level_of_measurement=r.level_of_measurement,
            min_submissions=r.min_submissions,
            min_read_pairs=r.min_pairs,
            ratings=r.n_rows,
            reliability=None if r.overall is None else _reliability(r.overall, keys),
            reliability_by_criterion=[_reliability(x, keys) for x in r.by_criterion],
            periods=[
                OperationalPeriodOut(
                    period=p.period,
                    read_pairs=p.n_pairs,
                    exact=statistic(p.exact),
                    adjacent=statistic(p.adjacent),
                    weighted_kappa=statistic(p.kappa),
                )
                for p in r.periods
            ],
            assessors=[
                OperationalAssessorOut.model_validate(
                    {
                        **_co(a),
                        "assessor_id": a.user_id,
                        "name": a.name,
                        "periods": [CoReaderOut.model_validate(_co(p)) for p in a.periods],
                    }
                )
                for a in r.assessors
            ],
        )
    )

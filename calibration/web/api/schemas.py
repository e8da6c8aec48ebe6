"""The API's payloads, declared once as pydantic models: they validate what goes out (and the
query strings that come in) and are the OpenAPI document's schemas (JSON Schema 2020-12, the
dialect of OpenAPI 3.1)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

#: Largest and default page size.
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


#: An ISO 8601 time in UTC, written with a ``Z``.
UtcTime = Annotated[
    dt.datetime,
    AfterValidator(_utc),
    PlainSerializer(
        lambda v: v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        return_type=str,
        when_used="json",
    ),
    Field(json_schema_extra={"format": "date-time"}),
]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------------- queries
class PageQuery(BaseModel):
    """``limit`` and ``cursor`` of a list."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The `next_cursor` of the previous page (opaque).",
    )


class RubricQuery(PageQuery):
    slug: str | None = Field(
        None,
        min_length=1,
        max_length=80,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Only this rubric's versions.",
    )


# ----------------------------------------------------------------------------------- rubrics
class LevelOut(Out):
    value: int
    label: str


class DescriptorOut(Out):
    level: int = Field(description="The level's value.")
    text: str


class CriterionOut(Out):
    key: str
    title: str
    description: str
    descriptors: list[DescriptorOut]


class RubricVersionOut(Out):
    id: int
    slug: str
    version: int
    title: str
    description: str
    level_of_measurement: str
    earn_cut: int
    content_hash: str
    created_at: UtcTime
    levels: list[LevelOut]
    criteria: list[CriterionOut]


# ------------------------------------------------------------------------------------ rounds
class RoundOut(Out):
    id: int
    name: str
    kind: str
    status: str
    rubric_version_id: int
    opens_at: UtcTime
    closes_at: UtcTime
    created_at: UtcTime
    anchor_count: int
    assessor_count: int


# --------------------------------------------------------------------------------- assessors
class AssessorOut(Out):
    id: int
    name: str
    email: str
    active: bool
    certification_status: str | None = Field(
        description="invited, in_training, certified, recalibration_due or suspended"
    )
    certified_at: UtcTime | None
    certification_expires_at: UtcTime | None


# ----------------------------------------------------------------------------------- anchors
class KeyEntryOut(Out):
    criterion: str = Field(description="The criterion's key.")
    level: int
    rationale: str


class AnchorKeyOut(Out):
    version: int
    created_at: UtcTime
    entries: list[KeyEntryOut]


class AnchorOut(Out):
    """An anchor's metadata. ``key`` (the master key with its rationales) is present only for a
    token with the ``trainer`` scope; for any other it is left out entirely."""

    id: int
    title: str
    purpose: str
    status: str
    rubric_version_id: int
    created_at: UtcTime
    key: AnchorKeyOut | None = Field(None, description="Only with the `trainer` scope.")


# ------------------------------------------------------------------------------------- flags
class FlagOut(Out):
    id: int
    rule: str
    status: str
    assessor_id: int | None = Field(description="None for a flag about the whole cohort.")
    criterion_id: int | None
    round_id: int | None
    direction: str | None
    statistic: str
    value: float | None
    threshold: float | None
    summary: str
    created_at: UtcTime
    reviewed_at: UtcTime | None


# ---------------------------------------------------------------------------------- sessions
class SessionOut(Out):
    id: int
    title: str
    starts_at: UtcTime
    duration_minutes: int
    timezone: str
    location: str
    capacity: int
    status: str
    trainer_id: int


# ------------------------------------------------------------------------------------- pages
Item = TypeVar("Item", bound=BaseModel)


class Page(Out, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


# ---------------------------------------------------------------------------------- problems
Location = Literal["query", "path", "header", "body"]


class FieldProblem(Out):
    field: str = Field(description="The parameter or field at fault.")
    location: Location
    message: str


class Problem(Out):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = Field(None, description="Why the state refused it (409), for machines.")
    errors: list[FieldProblem] | None = Field(None, description="Field-level detail of a validation error.")


# ------------------------------------------------------------------------------ round report
class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_mode: Literal["sheet", "current"] = Field(
        "sheet",
        description="Compare with the key each sheet was scored against (`sheet`) or the anchors' latest keys.",
    )


class StatisticOut(Out):
    """One statistic as the report page shows it: the value with its interval, sample sizes, label,
    and (when undefined) the reason."""

    method: str | None = Field(description="What was computed, e.g. krippendorff_alpha_ordinal.")
    value: float | None = Field(description="None when undefined: see `reason`.")
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    confidence: float
    n_units: int | None = Field(description="Units (or scores, for a share) behind the value.")
    n_raters: int | None
    count: int | None = Field(description="For a share: how many of `n_units` met it.")
    label: str | None = Field(description="The words the page shows (e.g. 'good', 'too few to judge').")
    reason: str | None = Field(description="Why the value is undefined.")


class ReliabilityOut(Out):
    criterion: str | None = Field(description="The criterion's key; null for all criteria together.")
    n_units: int
    n_raters: int
    n_anchors: int
    n_scores: int
    alpha: StatisticOut
    fleiss_kappa: StatisticOut
    gwet_ac1: StatisticOut
    percent_agreement_pairwise: StatisticOut
    percent_agreement_all: StatisticOut


class RuleCheckOut(Out):
    name: str
    observed: float | None
    threshold: float
    passed: bool | None = Field(description="null when the check could not be made.")
    applicable: bool
    message: str


class DecisionOut(Out):
    outcome: Literal["pass", "fail", "too_few"]
    message: str
    checks: list[RuleCheckOut]


class AssessorResultOut(Out):
    assessor_id: int
    name: str
    sheets_done: int
    anchors: int
    finished: bool
    corrections: int
    exact: StatisticOut | None
    adjacent: StatisticOut | None
    discrepant: StatisticOut | None
    mean_signed_deviation: StatisticOut | None = Field(
        description="Labelled lenient, severe or no clear lean."
    )
    weighted_kappa: StatisticOut | None
    decision: DecisionOut | None


class PairOut(Out):
    a: str
    b: str
    kappa: float | None
    ci_low: float | None
    ci_high: float | None
    n_common: int
    too_few: bool


class RoundReportOut(Out):
    round_id: int
    key_mode: Literal["sheet", "current"]
    anchors: int
    sheets: int
    finished_assessors: int
    key_versions: list[int]
    stale_sheets: int = Field(description="Sheets scored against a key that has since changed.")
    reliability: ReliabilityOut | None = Field(description="null until there are scores.")
    reliability_by_criterion: list[ReliabilityOut]
    assessors: list[AssessorResultOut]
    pairs: list[PairOut]
    pairs_complete: bool = Field(description="false when only the lowest pairs are listed.")


# ------------------------------------------------------------------------------------ sheets
class SheetScoreOut(Out):
    criterion: str = Field(description="The criterion's key.")
    level: int = Field(
        description="The level every statistic reads: the latest correction's, else as submitted."
    )
    submitted_level: int = Field(description="The level as the assessor submitted it.")
    corrected: bool = Field(description="true when a trainer corrected this score (with a reason).")


class SheetOut(Out):
    """A final score sheet: one assessor's levels for one anchor in one round. Drafts are never
    listed, and a sheet carries no key or rationale."""

    id: int
    round_id: int
    anchor_id: int
    assessor_id: int
    key_version: int = Field(
        description="The version of the anchor's key in force when the sheet became final."
    )
    submitted_at: UtcTime
    scores: list[SheetScoreOut]


# --------------------------------------------------------------------------- assessor profile
class ProfileRoundOut(Out):
    """One round of the assessor's history, against the key version each sheet was scored against."""

    round_id: int
    name: str
    kind: str
    status: str
    opens_at: UtcTime
    closes_at: UtcTime
    anchors: int
    sheets_done: int
    exact: StatisticOut | None = Field(description="null until the assessor has scores in the round.")
    adjacent: StatisticOut | None
    discrepant: StatisticOut | None
    mean_signed_deviation: StatisticOut | None = Field(description="In levels: positive is lenient.")
    weighted_kappa: StatisticOut | None
    decision: DecisionOut | None = Field(
        description=(
            "The round's pass rule applied to these scores; null for practice rounds and rounds "
            "without scores."
        )
    )


class ProfileCriterionOut(Out):
    """The assessor's accuracy on one criterion over every round of one rubric version."""

    criterion: str = Field(description="The criterion's key.")
    title: str
    n_scores: int
    exact: StatisticOut
    adjacent: StatisticOut
    mean_signed_deviation: StatisticOut
    too_few: bool = Field(description="Fewer criterion-scores than the pass rule's minimum: no judgement.")
    findings: list[str] = Field(description="Weak spots in plain words (empty when none, or too few).")


class ProfileRubricOut(Out):
    rubric_version_id: int
    title: str
    version: int
    min_exact: float | None = Field(description="Exact agreement the weak spots are judged against.")
    n_scores: int
    exact: StatisticOut
    adjacent: StatisticOut
    discrepant: StatisticOut
    mean_signed_deviation: StatisticOut
    weighted_kappa: StatisticOut
    criteria: list[ProfileCriterionOut]


class ProfileFlagOut(Out):
    id: int
    rule: str
    rule_name: str
    status: str = Field(description="open, confirmed or dismissed")
    criterion: str | None = Field(description="The criterion's title, for a flag about one criterion.")
    round_id: int | None
    round_name: str | None
    summary: str
    created_at: UtcTime


class AssessorProfileOut(Out):
    """What the trainer's assessor profile page shows: certification, accuracy per round and per
    criterion (each statistic with its interval, n and undefined reason), and drift flags."""

    assessor_id: int
    name: str
    email: str
    certification_status: str | None = Field(
        description="invited, in_training, certified, recalibration_due or suspended"
    )
    certified_at: UtcTime | None
    certification_expires_at: UtcTime | None
    member_since: UtcTime
    sheets: int
    rounds: list[ProfileRoundOut] = Field(description="Oldest first.")
    rubrics: list[ProfileRubricOut] = Field(description="Per rubric version, over every round.")
    flags: list[ProfileFlagOut] = Field(description="Drift flags about the assessor, open ones first.")
    open_flags: int


# ------------------------------------------------------------------------ operational ratings
#: Rows per batch of ``POST /operational-ratings`` (a larger import: several batches, or the
#: CSV upload in the UI).
MAX_BATCH_ROWS = 5000


class RatingIn(BaseModel):
    """One reader's level for one criterion of one live submission."""

    model_config = ConfigDict(extra="forbid")

    submission_id: str = Field(
        min_length=1, max_length=200, description="The scoring platform's id of the live submission."
    )
    criterion: str = Field(min_length=1, max_length=80, description="The rubric criterion's key.")
    assessor: str = Field(
        min_length=1, max_length=254, description="The reader's email address (a member of the program)."
    )
    level: int = Field(ge=-1000, le=1000, description="The rubric level's value.")
    read: int = Field(ge=1, le=20, description="1 first read, 2 second read, higher for later reads.")
    scored_at: str = Field(
        min_length=1,
        max_length=40,
        description="ISO 8601 with a UTC offset, e.g. `2026-03-01T14:05:00+01:00` or `...Z`.",
    )


class OperationalBatchIn(BaseModel):
    """A batch of operational ratings scored on one rubric version."""

    model_config = ConfigDict(extra="forbid")

    rubric_version_id: int = Field(ge=1, le=2**31 - 1, description="The rubric version the scores use.")
    rows: list[RatingIn] = Field(
        min_length=1, max_length=MAX_BATCH_ROWS, description=f"At most {MAX_BATCH_ROWS} rows."
    )


class ImportErrorOut(Out):
    row: int = Field(description="The file's row (header = 1), or the index in `rows` of an API batch.")
    column: str
    value: str
    problem: str


class ImportOut(Out):
    """An operational ratings import: its progress and outcome."""

    id: int
    status: Literal["queued", "checking", "storing", "done", "rejected", "failed"]
    source: Literal["upload", "api", "cli"]
    rubric_version_id: int
    filename: str
    rows_total: int | None = Field(description="Known once the rows are read through.")
    rows_checked: int
    rows_stored: int = Field(description="Rows this import stored.")
    rows_already: int = Field(description="Rows identical to ones stored earlier (skipped).")
    error_count: int
    errors: list[ImportErrorOut] = Field(description="The first errors by row (at most 100).")
    message: str
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None

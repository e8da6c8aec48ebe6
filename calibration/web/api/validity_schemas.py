"""Payloads of the validity endpoints (issue 18, item 6), declared once as pydantic models.

What the ``validity`` scope gets is what the scoring platform needs to slip an item into a live queue
and nothing that could reach the assessor as a marker: no anchor id or title, no purpose, no key, no
rationale. The scored result (the key's level per criterion, the deviation) and the anchor's id are
filled in only for a token that also has the ``trainer`` scope."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ...services.api_reads import MAX_ID
from .schemas import Out, PageQuery, RubricVersionOut, UtcTime


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------- requests
class AssignmentIn(In):
    assessor: str = Field(
        min_length=1,
        max_length=254,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The assessor's email address, or their id as digits (no control characters).",
    )
    external_ref: str = Field(
        pattern=r"^[!-~]{1,200}$",
        description="The platform's id of the queue item (printable ASCII, no spaces, 1 to 200 characters). "
        "Asking again with the same value returns the same assignment.",
    )
    live_items: int | None = Field(
        None,
        ge=0,
        le=10**9,
        description="Live items the assessor has had since their last validity item, if the platform "
        "counts them (the program's rule then asks for a minimum between two).",
    )
    rubric_version_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Only an item scored on this rubric version of the program (the one the platform is "
        "scoring); any rubric when left out. A version the program does not have is 422.",
    )


class ScoresIn(In):
    levels: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=80)],
        Annotated[int, Field(ge=-1000, le=1000)],
    ] = Field(
        max_length=100,
        description="The level the assessor gave on each criterion, by criterion key (every criterion).",
    )
    scored_at: UtcTime = Field(description="When the assessor scored the item (ISO 8601; UTC if no offset).")


class ValidityQuery(PageQuery):
    status: Literal["assigned", "answered", "expired"] | None = Field(None, description="Only this status.")
    assessor_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this assessor's.")


# ---------------------------------------------------------------------------------- responses
class CriterionResultOut(Out):
    criterion: str = Field(description="The criterion's key.")
    level: int
    key: int = Field(description="The master key's level.")
    deviation: int = Field(description="Level steps from the key (+ above it, − below).")
    exact: bool
    adjacent: bool


class ResultOut(Out):
    """The answer scored against the key (only for a token with the `trainer` scope)."""

    anchor_id: int
    key_version_id: int
    n: int = Field(description="Criterion-scores.")
    exact: int = Field(description="How many matched the key.")
    adjacent: int = Field(description="How many were at most one level from the key.")
    mean_deviation: float | None = Field(description="Mean signed deviation in level steps.")
    criteria: list[CriterionResultOut]


class AssignmentOut(Out):
    id: int
    external_ref: str
    assessor_id: int
    status: str = Field(description="assigned, answered or expired")
    overdue: bool = Field(description="Unanswered past its expiry, not yet marked expired.")
    rubric_version_id: int
    assigned_at: UtcTime
    expires_at: UtcTime
    answered_at: UtcTime | None
    scored_at: UtcTime | None
    expired_at: UtcTime | None
    result: ResultOut | None = Field(None, description="Only with the `trainer` scope, once answered.")


class AttachmentOut(Out):
    id: int
    url: str = Field(description="Fetch it with the same token.")
    content_type: str
    size_bytes: int
    name: str


class ItemOut(Out):
    """What the assessor scores, as the platform shows any item."""

    evidence_markdown: str
    attachments: list[AttachmentOut]
    rubric: RubricVersionOut


class ServedOut(Out):
    assignment: AssignmentOut
    item: ItemOut

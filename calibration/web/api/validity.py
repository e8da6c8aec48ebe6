"""``/validity/assignments``: the scoring platform asks for a validity item to seed into an assessor's
live queue, posts the assessor's levels back, and lists the items (expired and unanswered ones too).
Scope ``validity``; the scored result only with ``trainer`` as well (:mod:`.validity_schemas`).

The POST handlers do nothing but the one service call through the boundary, so a retry layer
(``Idempotency-Key``) can wrap them.
"""

from __future__ import annotations

import dataclasses
import json

from flask import Response, current_app, g, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from ...db import get_session, utcnow
from ...models import ValidityAssignment, ValidityStatus
from ...services import validity
from ...services.anchor_files import attachment_file, get_attachment
from ...services.errors import Conflict, InvalidInput
from ..attachments import send_attachment
from ..boundary import Refused, attempt
from ..hooks import writes_late
from .blueprint import body, bp, caller, decode_cursor, json_page, json_response, json_written, query
from .idempotency import idempotent
from .problems import problem
from .resources import _rubric
from .schemas import FieldProblem, Page
from .spec import first_item, link, operation, this
from .validity_schemas import (
    AssignmentIn,
    AssignmentOut,
    AttachmentOut,
    CriterionResultOut,
    ItemOut,
    ResultOut,
    ScoresIn,
    ServedOut,
    ValidityQuery,
)

SCOPES = ("validity",)
FILE_TYPES = ("application/pdf", "image/png", "image/jpeg")


def _assignment(row: ValidityAssignment) -> AssignmentOut:
    result = None
    if caller().sees_keys and row.result_json:  # blindness: the key's levels only to trainers
        stored = json.loads(row.result_json)
        result = ResultOut(
            anchor_id=row.anchor_id,
            key_version_id=row.key_version_id,
            n=stored["n"],
            exact=stored["exact"],
            adjacent=stored["adjacent"],
            mean_deviation=stored["mean_deviation"],
            criteria=[CriterionResultOut(**c) for c in stored["criteria"]],
        )
    return AssignmentOut(
        id=row.id,
        external_ref=row.external_ref,
        assessor_id=row.assessor_id,
        status=row.status.value,
        overdue=validity.overdue(row, utcnow()),
        rubric_version_id=row.rubric_version_id,
        assigned_at=row.assigned_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        scored_at=row.scored_at,
        expired_at=row.expired_at,
        result=result,
    )


def _refusal(outcome: Refused) -> Response:
    err = outcome.error
    if isinstance(err, Conflict):
        return problem(409, str(err), code=err.code)
    fields = err.field_errors if isinstance(err, InvalidInput) else {}
    errors = [FieldProblem(field=k, location="body", message=m[0]) for k, m in fields.items()]
    return problem(422, str(err), errors=errors)


@bp.post("/validity/assignments")
@writes_late
@operation(
    "/validity/assignments",
    method="post",
    summary="Ask for a validity item for an assessor's live queue",
    response=ServedOut,
    body=AssignmentIn,
    success=(201, 200),
    problems=(409, 422),
    scopes=SCOPES,
    tag="validity",
    links=(
        link(
            "PostScores",
            "post_scores",
            "Send the assessor's levels back.",
            assignment_id=this("assignment/id"),
        ),
        link("GetAssignment", "get_assignment", assignment_id=this("assignment/id")),
    ),
)
@idempotent
def create_assignment() -> Response:
    """Picks a keyed anchor the assessor has never met, under the program's seeding rate and exposure
    rules, and returns its evidence and rubric (never its key): insert it into the assessor's queue
    like any other item. 201 for a new assignment; 200 when `external_ref` was already assigned to
    this assessor (the same assignment, nothing written). 409 with a `code` when the rules say no:
    `rate_weekly`, `rate_live_items`, `no_eligible_anchor`, `not_certified`, `seeding_off`,
    `external_ref_taken`. An unknown assessor is 404. With `rubric_version_id` the item is one scored
    on that rubric version (409 `no_eligible_anchor` when none is left); a version the program does
    not have is 422."""
    data = body(AssignmentIn)
    me, request_id = caller(), g.get("request_id")
    outcome = attempt(
        lambda s: validity.assign(
            s,
            me.program_id,
            assessor=data.assessor,
            external_ref=data.external_ref,
            live_items=data.live_items,
            rubric_version_id=data.rubric_version_id,
            token_id=me.token_id,
            request_id=request_id,
        ),
        refuse=(InvalidInput, Conflict),
        late=True,
    )
    if isinstance(outcome, Refused):
        return _refusal(outcome)
    served = outcome.value
    row = served.assignment
    item = ItemOut(
        evidence_markdown=served.evidence_md,
        attachments=[
            AttachmentOut(
                id=a.id,
                url=url_for(
                    "api.get_assignment_attachment",
                    assignment_id=row.id,
                    attachment_id=a.id,
                    _external=True,
                ),
                content_type=a.content_type,
                size_bytes=a.size_bytes,
                name=validity.evidence_name(n, a.content_type),
            )
            for n, a in enumerate(served.attachments, start=1)
        ],
        rubric=_rubric(served.rubric),
    )
    return json_written(ServedOut(assignment=_assignment(row), item=item), 201 if served.created else 200)


@bp.post("/validity/assignments/<int:assignment_id>/scores")
@writes_late
@operation(
    "/validity/assignments/{assignment_id}/scores",
    method="post",
    summary="Send back the assessor's levels for a validity item",
    response=AssignmentOut,
    body=ScoresIn,
    problems=(409, 422),
    scopes=SCOPES,
    tag="validity",
    links=(link("GetAssignment", "get_assignment", assignment_id=this()),),
)
@idempotent
def post_scores(assignment_id: int) -> Response:
    """Scores the levels against the master key version in force when the item was assigned and
    stores them. Posting the same levels again returns the stored answer (nothing written);
    different levels are 409 `already_answered`; an item scored after its expiry is 409 `expired`.
    Levels that do not fit the item's rubric are 422 naming each criterion. The result against the
    key is included only for a token that also has the `trainer` scope."""
    data = body(ScoresIn)
    me, request_id = caller(), g.get("request_id")
    outcome = attempt(
        lambda s: validity.record_scores(
            s,
            me.program_id,
            assignment_id,
            levels=data.levels,
            scored_at=data.scored_at,
            token_id=me.token_id,
            request_id=request_id,
        ),
        refuse=(InvalidInput, Conflict),
        late=True,
    )
    if isinstance(outcome, Refused):
        return _refusal(outcome)
    return json_written(_assignment(outcome.value.assignment))


@bp.get("/validity/assignments")
@operation(
    "/validity/assignments",
    summary="List validity assignments",
    response=Page[AssignmentOut],
    query=ValidityQuery,
    scopes=SCOPES,
    tag="validity",
    links=(
        link("GetAssignment", "get_assignment", assignment_id=first_item()),
        link("PostScores", "post_scores", assignment_id=first_item()),
    ),
)
def list_assignments() -> Response:
    """The program's validity items, oldest first, whatever their status: `expired` ones (marked by
    the expiry command) and unanswered ones past their expiry (`overdue`) are listed, never dropped."""
    q = query(ValidityQuery)
    rows, more = validity.assignments(
        get_session(),
        caller().program_id,
        after=decode_cursor(q.cursor, "validity"),
        limit=q.limit,
        status=None if q.status is None else ValidityStatus(q.status),
        assessor_id=q.assessor_id,
    )
    return json_page("validity", rows, more, _assignment)


@bp.get("/validity/assignments/<int:assignment_id>")
@operation(
    "/validity/assignments/{assignment_id}",
    summary="Get a validity assignment",
    response=AssignmentOut,
    scopes=SCOPES,
    tag="validity",
    links=(link("PostScores", "post_scores", assignment_id=this()),),
)
def get_assignment(assignment_id: int) -> Response:
    """One validity item's assignment: its status (`overdue` when unanswered past its expiry) and,
    only for a token that also has the `trainer` scope, its result against the key."""
    return json_response(
        _assignment(validity.get_assignment(get_session(), caller().program_id, assignment_id))
    )


@bp.get("/validity/assignments/<int:assignment_id>/attachments/<int:attachment_id>")
@operation(
    "/validity/assignments/{assignment_id}/attachments/{attachment_id}",
    summary="Download an attachment of a validity item's evidence",
    response=None,
    files=FILE_TYPES,
    scopes=SCOPES,
    tag="validity",
)
def get_assignment_attachment(assignment_id: int, attachment_id: int) -> WerkzeugResponse:
    """One file of the item's evidence, under a neutral name (`evidence-1.pdf`, ...)."""
    session = get_session()
    row = validity.get_assignment(session, caller().program_id, assignment_id)
    found = get_attachment(session, anchor_id=row.anchor_id, attachment_id=attachment_id)
    stored = attachment_file(found, current_app.config["ATTACHMENT_DIR"])
    name = validity.attachment_names(session, row.anchor_id)[found.id]
    return send_attachment(dataclasses.replace(stored, download_name=name))

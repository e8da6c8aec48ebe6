"""Score sheets: a round's final sheets with the level given on each criterion (``GET
/rounds/{round_id}/sheets``) and one sheet (``GET /sheets/{sheet_id}``).

Only final sheets exist here: a draft lives in its own table and no operation reads it. A sheet
holds the assessor's levels and the number of the key version it was scored against, never the key
or its rationales, so every reading scope may list it (also on a practice anchor whose key the
assessor has not been shown yet).
"""

from __future__ import annotations

from flask import Response

from ...db import get_session
from ...services import api_reads
from ...services.api_reads import SheetRead
from .blueprint import bp, caller, decode_cursor, json_page, json_response, query
from .schemas import Page, PageQuery, SheetOut, SheetScoreOut
from .spec import first_item, link, operation, this


def _sheet(row: SheetRead) -> SheetOut:
    return SheetOut(
        id=row.id,
        round_id=row.round_id,
        anchor_id=row.anchor_id,
        assessor_id=row.assessor_id,
        key_version=row.key_version,
        submitted_at=row.submitted_at,
        scores=[
            SheetScoreOut(
                criterion=s.criterion,
                level=s.level,
                submitted_level=s.submitted_level,
                corrected=s.corrected,
            )
            for s in row.scores
        ],
    )


@bp.get("/rounds/<int:round_id>/sheets")
@operation(
    "/rounds/{round_id}/sheets",
    summary="List a round's score sheets",
    response=Page[SheetOut],
    query=PageQuery,
    tag="sheets",
    links=(link("GetSheet", "get_sheet", sheet_id=first_item()),),
)
def list_round_sheets(round_id: int) -> Response:
    """The round's final score sheets, oldest first, each with the level given on every criterion
    (after any trainer's correction, and as submitted). Drafts are never listed."""
    q = query(PageQuery)
    rows, more = api_reads.round_sheets(
        get_session(),
        caller().program_id,
        round_id,
        after=decode_cursor(q.cursor, "sheets"),
        limit=q.limit,
    )
    return json_page("sheets", rows, more, _sheet)


@bp.get("/sheets/<int:sheet_id>")
@operation(
    "/sheets/{sheet_id}",
    summary="Get a score sheet",
    response=SheetOut,
    tag="sheets",
    links=(
        link("GetRound", "get_round", round_id=this("round_id")),
        link("GetAnchor", "get_anchor", anchor_id=this("anchor_id")),
        link("GetAssessor", "get_assessor", assessor_id=this("assessor_id")),
    ),
)
def get_sheet(sheet_id: int) -> Response:
    """One final score sheet with the level given on every criterion."""
    return json_response(_sheet(api_reads.sheet(get_session(), caller().program_id, sheet_id)))

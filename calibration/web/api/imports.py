"""Operational ratings by API: ``POST /operational-ratings`` (scope ``import``) takes a batch,
checks every row before anything is written (422 naming each bad row and field), and starts the
import (202 with its status resource); ``GET /imports/{import_id}`` is that status resource."""

from __future__ import annotations

import json

from flask import Response, current_app, g, request, url_for
from pydantic import ValidationError

from ...db import get_session, utcnow
from ...models import ImportSource, OperationalImport
from ...services import operational_import as service
from ...services.context import SystemActor
from ...services.operational_csv import write_batch
from ..boundary import attempt, discard
from ..hooks import writes_late
from .blueprint import bp, caller, json_response
from .idempotency import idempotent
from .problems import problem, validation_problem
from .schemas import FieldProblem, ImportErrorOut, ImportOut, OperationalBatchIn
from .spec import link, operation, this

ERRORS_LISTED = 100


def _out(imp: OperationalImport) -> ImportOut:
    return ImportOut(
        id=imp.id,
        status=imp.status.value,
        source=imp.source.value,
        rubric_version_id=imp.rubric_version_id,
        filename=imp.filename,
        rows_total=imp.rows_total,
        rows_checked=imp.rows_checked,
        rows_stored=imp.rows_stored,
        rows_already=imp.rows_already,
        error_count=imp.error_count,
        errors=[ImportErrorOut(**e.as_dict()) for e in service.report_errors(imp)[:ERRORS_LISTED]],
        message=imp.message,
        created_at=imp.created_at,
        started_at=imp.started_at,
        finished_at=imp.finished_at,
    )


def _invalid(detail: str, errors: list[FieldProblem]) -> Response:
    return problem(422, detail, errors=errors)


@bp.post("/operational-ratings")
@writes_late
@operation(
    "/operational-ratings",
    method="post",
    summary="Import a batch of operational ratings",
    body=OperationalBatchIn,
    response=ImportOut,
    success=(202,),
    tag="operational ratings",
    scopes=("import",),
    links=(
        link("GetImport", "get_import", "The import's status, counts and first errors.", import_id=this()),
    ),
)
@idempotent
def import_ratings() -> Response:
    """Live-work scores from the scoring platform, in batches. Every row is checked before anything
    is written: an unknown assessor, criterion or level, a bad read number or time, the same
    submission, criterion and read twice in the batch, or a conflict with a stored rating (same
    key, another assessor, level or time) answers 422 naming each row (`rows.<index>.<field>`) and
    nothing is stored. Rows already stored identically are skipped (counted as `rows_already`).
    A valid batch answers 202 with the import's status resource (also in `Location`)."""
    if not request.is_json:
        return problem(415, "Send the batch as JSON (Content-Type: application/json).")
    try:
        raw = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        return problem(400, "The body is not valid JSON.")
    try:
        batch = OperationalBatchIn.model_validate(raw)
    except ValidationError as err:
        return validation_problem(err, "body", status=422)
    me = caller()
    rows = [
        [r.submission_id, r.criterion, r.assessor, str(r.level), str(r.read), r.scored_at] for r in batch.rows
    ]
    session = get_session()
    found = service.find_lookups(session, me.program_id, batch.rubric_version_id)
    if found is None:  # another program's version, or none: named like any bad field
        return _invalid(
            "Nothing was stored: see errors.",
            [FieldProblem(field="rubric_version_id", location="body", message=service.NO_SUCH_VERSION)],
        )
    checked = service.check_rows(session, me.program_id, found, enumerate(rows), now=utcnow())
    discard()  # the check only read
    if checked.errors.count:
        return _invalid(
            f"Nothing was stored: {checked.errors.count} problems in the rows (see errors).",
            [
                FieldProblem(field=f"rows.{e.row}.{_field(e.column)}", location="body", message=e.problem)
                for e in checked.errors.sorted()
            ],
        )
    spooled = write_batch(rows, current_app.config["IMPORT_DIR"])
    actor = SystemActor(me.program_id, g.get("request_id"))
    outcome = attempt(
        lambda s: (
            service.create_import(
                s,
                actor,
                rubric_version_id=batch.rubric_version_id,
                source=ImportSource.API,
                filename=f"api-batch-{len(rows)}-rows.csv",
                upload_path=spooled.path,
                content_sha256=spooled.sha256,
                token_id=me.token_id,
            ).id
        ),
        late=True,
    )
    if not outcome.ok:
        service.discard_file(spooled.path)
        return _invalid(outcome.message, [])
    import_id = outcome.value
    discard()
    imp = service.get_import(get_session(), me.program_id, import_id)
    response = Response(_out(imp).model_dump_json(), status=202, mimetype="application/json")
    response.headers["Location"] = url_for(".get_import", import_id=import_id)
    response.headers["Cache-Control"] = "no-store"
    return response


def _field(column: str) -> str:
    return "row" if column.startswith("(") else column


@bp.get("/imports/<int:import_id>")
@operation(
    "/imports/{import_id}",
    summary="Get an import's status",
    response=ImportOut,
    tag="operational ratings",
    scopes=("import", "read", "trainer"),
)
def get_import(import_id: int) -> Response:
    """An operational ratings import (of any source): status, progress counts and the first errors."""
    return json_response(_out(service.get_import(get_session(), caller().program_id, import_id)))

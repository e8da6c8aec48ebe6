"""Live scoring imports in the UI (``/trainer/imports``): a lead trainer uploads a CSV file of
operational ratings for one rubric version, follows its progress, and downloads its error report.

Its own blueprint beside the trainer area (same roles, same program scope): its upload takes a
larger body than any other form (``IMPORT_MAX_BYTES``), raised for that one endpoint before the
CSRF check reads the body, and the file is streamed to disk under the instance folder, never read
into memory.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectField
from wtforms.validators import InputRequired

from ..db import get_session
from ..models import ImportSource, ImportStatus, OperationalImport, Role
from ..services import operational_import as service
from ..services.operational_csv import COLUMNS, MAX_READ, TooLarge, spool
from .boundary import attempt, page
from .guards import actor, require_roles
from .hooks import writes_late

bp = Blueprint("imports", __name__, url_prefix="/trainer/imports")
bp.before_request(require_roles(Role.LEAD_TRAINER, Role.ADMIN))

#: Room for the form's other fields above the file's own limit.
FORM_ROOM = 64 * 1024
#: Errors listed on the page (the downloadable report has all that were kept).
ERRORS_SHOWN = 100


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before every before_request hook, so before CSRFProtect reads (and limits) the body.
    if endpoint == "imports.upload":
        request.max_content_length = int(current_app.config["IMPORT_MAX_BYTES"]) + FORM_ROOM


class ImportForm(FlaskForm):
    rubric_version_id = SelectField(
        "Rubric version the scores were given on",
        coerce=int,
        validators=[InputRequired("Choose the rubric version.")],
    )
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])


def _form(*, bound: bool) -> ImportForm:
    me = actor()
    form = ImportForm() if bound else ImportForm(formdata=None)
    form.rubric_version_id.choices = [
        (rv.id, f"{rv.title} (version {rv.version})")
        for rv in service.rubric_versions(get_session(), me.program_id)
    ]
    return form


def size_label(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"


def _render(form: ImportForm, page_error: str | None = None) -> str | tuple[str, int]:
    me = actor()
    html = render_template(
        "trainer/imports.html",
        form=form,
        imports=service.program_imports(get_session(), me.program_id),
        columns=COLUMNS,
        max_read=MAX_READ,
        max_label=size_label(int(current_app.config["IMPORT_MAX_BYTES"])),
        page_error=page_error,
        running=RUNNING,
    )
    return page(html, page_error)


RUNNING = frozenset({ImportStatus.QUEUED, ImportStatus.CHECKING, ImportStatus.STORING})


@bp.get("")
def imports_page() -> str | tuple[str, int]:
    return _render(_form(bound=False))


@bp.post("/new")
@writes_late
def upload() -> WerkzeugResponse | str | tuple[str, int]:
    form = _form(bound=True)
    if not form.validate_on_submit():
        return _render(form, "The file was not imported: check the fields marked below.")
    me = actor()
    upload = form.file.data
    limit = int(current_app.config["IMPORT_MAX_BYTES"])
    try:
        spooled = spool(upload.stream, current_app.config["IMPORT_DIR"], limit=limit)
    except TooLarge:
        form.file.errors = [f"The file is larger than {size_label(limit)}: split it into smaller files."]
        return _render(form, "The file was not imported: check the fields marked below.")
    version_id = int(form.rubric_version_id.data or 0)
    outcome = attempt(
        lambda s: (
            service.create_import(
                s,
                me,
                rubric_version_id=version_id,
                source=ImportSource.UPLOAD,
                filename=upload.filename or "upload.csv",
                upload_path=spooled.path,
                content_sha256=spooled.sha256,
            ).id
        ),
        form=form,
        late=True,
    )
    if not outcome.ok:
        service.discard_file(spooled.path)
        return _render(form, outcome.message)
    # The import runs as a background job (at once in tests and with an idle worker).
    flash(_outcome_words(_import(outcome.value).status), "info")
    return redirect(url_for(".import_page", import_id=outcome.value))


def _outcome_words(status: ImportStatus) -> str:
    return {
        ImportStatus.DONE: "The file was imported.",
        ImportStatus.REJECTED: "Nothing was imported: the file has errors, listed below.",
        ImportStatus.FAILED: "The import could not run: see below.",
    }.get(status, "The file was received; its rows are being checked.")


def _import(import_id: int) -> OperationalImport:
    return service.get_import(get_session(), actor().program_id, import_id)


@bp.get("/<int:import_id>")
def import_page(import_id: int) -> str:
    imp = _import(import_id)
    errors = service.report_errors(imp)
    return render_template(
        "trainer/import.html",
        imp=imp,
        errors=errors[:ERRORS_SHOWN],
        errors_kept=len(errors),
        running=imp.status in RUNNING,
        status=status_payload(imp),
    )


def status_payload(imp: OperationalImport) -> dict[str, Any]:
    """What the page shows of a running import (also its status endpoint's JSON)."""
    total = imp.rows_total
    done = imp.rows_stored + imp.rows_already if imp.status != ImportStatus.CHECKING else imp.rows_checked
    return {
        "status": str(imp.status),
        "running": imp.status in RUNNING,
        "rows_total": total,
        "rows_checked": imp.rows_checked,
        "rows_stored": imp.rows_stored,
        "rows_already": imp.rows_already,
        "error_count": imp.error_count,
        "progress": min(done, total) if total else None,
        "words": progress_words(imp),
    }


def progress_words(imp: OperationalImport) -> str:
    if imp.status == ImportStatus.QUEUED:
        return "Waiting to start."
    if imp.status == ImportStatus.CHECKING:
        return f"Checking every row before anything is stored: {imp.rows_checked:,} rows checked so far."
    if imp.status == ImportStatus.STORING and imp.rows_total:
        done = min(imp.rows_stored + imp.rows_already, imp.rows_total)
        return f"Storing: {done:,} of {imp.rows_total:,} rows ({100 * done // imp.rows_total}%)."
    if imp.status == ImportStatus.DONE:
        return (
            f"Done: {imp.rows_stored:,} rows stored, {imp.rows_already:,} already stored "
            f"(of {imp.rows_total or 0:,})."
        )
    if imp.status == ImportStatus.REJECTED:
        return f"Nothing was stored: {imp.error_count:,} errors in {imp.rows_total or 0:,} rows."
    return imp.message or "The import could not run."


@bp.get("/<int:import_id>/status")
def import_status(import_id: int) -> Response:
    response = jsonify(status_payload(_import(import_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:import_id>/errors.csv")
def error_report(import_id: int) -> Response:
    imp = _import(import_id)
    response = Response(service.error_report_csv(imp), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{imp.id}-errors.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response

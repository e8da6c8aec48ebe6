"""Error pages in the product's look; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..db import UnstorableText
from ..services.errors import NotFound
from .api import problems as api_problems
from .boundary import discard
from .guards import audit_denial

log = logging.getLogger(__name__)

_NEVER_KEPT = {"csrf_token"}


def _same_origin_path(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//")


_TITLES = {
    400: "That request could not be understood",
    403: "You don't have access to this page",
    404: "Page not found",
    405: "That action isn't allowed here",
    413: "That upload is too large",
    503: "The service is briefly unavailable",
    500: "Something went wrong on our side",
}
_UNAVAILABLE = (
    "If you were submitting something, it may not have been saved: check, then try again in a moment."
)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> tuple[str, int]:
        # An expired form keeps what was typed: the fields come back in a fresh form that sends
        # them to the same address again (never passwords or the old token; files cannot be kept).
        kept = [
            (name, value)
            for name, value in request.form.items(multi=True)
            if name not in _NEVER_KEPT and "password" not in name.lower()
        ]
        action = request.path if request.method == "POST" and _same_origin_path(request.path) else None
        return (
            render_template(
                "errors/expired.html",
                kept=kept if action else [],
                action=action,
                dropped_files=bool(request.files),
            ),
            400,
        )

    @app.errorhandler(NotFound)
    def domain_not_found(err: NotFound) -> tuple[str, int] | Response:
        # A service's scope check refused the object: an authorization failure, audited.
        if api_problems.is_api_request():
            return _api_not_found()
        audit_denial("scope", 404)
        return render_template("errors/error.html", code=404, title=_TITLES[404], message=None), 404

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[str, int] | Response:
        code = err.code or 500
        if api_problems.is_api_request():
            headers = (
                {"Allow": ", ".join(err.valid_methods or [])} if isinstance(err, MethodNotAllowed) else {}
            )
            detail = _too_large_message() if code == 413 else err.description
            return api_problems.problem(code, detail, headers=headers)
        if code == 403:
            audit_denial("forbidden", 403)
        message = _too_large_message() if code == 413 else None
        return (
            render_template(
                "errors/error.html", code=code, title=_TITLES.get(code, err.name), message=message
            ),
            code,
        )

    @app.errorhandler(UnstorableText)
    def unstorable_text(err: UnstorableText) -> tuple[str, int] | Response:
        # Only reached by a form without its own control-character check: still a clear 400.
        discard()
        if api_problems.is_api_request():
            return api_problems.problem(
                400, "A value sent contains a NUL character, which cannot be stored or looked up."
            )
        message = (
            "What you sent contains a NUL character, which cannot be stored. "
            "Go back, remove it (it often comes from pasting) and try again."
        )
        return render_template("errors/error.html", code=400, title=_TITLES[400], message=message), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(err: Exception) -> tuple[str, int, dict[str, str]] | Response:
        return _unavailable(err)

    @app.errorhandler(DBAPIError)
    def database_error(err: DBAPIError) -> tuple[str, int] | tuple[str, int, dict[str, str]] | Response:
        if err.connection_invalidated:  # a dropped connection, whatever the driver called it
            return _unavailable(err)
        log.exception("database error")
        if api_problems.is_api_request():
            discard()
            return api_problems.problem(500)
        return render_template("errors/error.html", code=500, title=_TITLES[500], message=None), 500

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> tuple[str, int] | Response:
        log.exception("unhandled error")
        if api_problems.is_api_request():
            discard()
            return api_problems.problem(500)
        return render_template("errors/error.html", code=500, title=_TITLES[500], message=None), 500


def _api_not_found() -> Response:
    from .api.blueprint import audit_not_found

    audit_not_found()
    return api_problems.problem(404, "No such object in this token's program.")


def _unavailable(err: Exception) -> tuple[str, int, dict[str, str]] | Response:
    """503 when the database cannot be reached (restart, network, pool exhausted, SQLite lock timeout).

    Nothing of the failed unit of work is kept (rolled back; the next request gets a fresh, pinged
    connection). The page is rendered without the signed-in nav, which would need the database.
    """
    log.warning("database unavailable: %s", err.__class__.__name__)
    discard()
    if api_problems.is_api_request():
        return api_problems.problem(503, _UNAVAILABLE, headers={"Retry-After": "5"})
    g.user = None
    g.membership = None
    page = render_template("errors/error.html", code=503, title=_TITLES[503], message=_UNAVAILABLE)
    return page, 503, {"Retry-After": "5", "Cache-Control": "no-store"}


def _too_large_message() -> str:
    # The request's own limit: an upload endpoint may allow more than the app's default.
    limit = request.max_content_length if request else current_app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        size = ""
    elif limit >= 1024 * 1024:
        size = f" (at most {limit / (1024 * 1024):.0f} MB)"
    else:
        size = f" (at most {max(1, limit // 1024)} KB)"
    return (
        f"What you sent was larger than this service accepts in one go{size}. "
        "Go back, make the file or text smaller, and try again."
    )

"""Error pages in the product's look; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..services.errors import NotFound

log = logging.getLogger(__name__)

_TITLES = {
    400: "That request could not be understood",
    403: "You don't have access to this page",
    404: "Page not found",
    405: "That action isn't allowed here",
    413: "That upload is too large",
    503: "The service is briefly unavailable",
    500: "Something went wrong on our side",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "errors/error.html",
                code=400,
                title="This form has expired",
                message="For your security, forms expire. Go back, reload the page and submit again.",
            ),
            400,
        )

    @app.errorhandler(NotFound)
    def domain_not_found(err: NotFound) -> tuple[str, int]:
        return render_template("errors/error.html", code=404, title=_TITLES[404], message=None), 404

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> tuple[str, int]:
        code = err.code or 500
        return (
            render_template("errors/error.html", code=code, title=_TITLES.get(code, err.name), message=None),
            code,
        )

    @app.errorhandler(OperationalError)
    def database_unavailable(err: OperationalError) -> tuple[str, int]:
        log.warning("database unavailable: %s", err.__class__.__name__)
        return (
            render_template(
                "errors/error.html",
                code=503,
                title=_TITLES[503],
                message="If you were submitting something, it may not have been saved: check, then try again in a moment.",
            ),
            503,
        )

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> tuple[str, int]:
        log.exception("unhandled error")
        return render_template("errors/error.html", code=500, title=_TITLES[500], message=None), 500

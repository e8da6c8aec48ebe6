"""``/api/v1``: the JSON API, its own blueprint with its own guard (a program API token as
``Authorization: Bearer ...``; the session cookie is ignored and no CSRF token is asked for).

Conventions: errors are RFC 9457 problem details (:mod:`.problems`, also for 404/405/413 through
:mod:`calibration.web.errors`), lists are paged by an opaque cursor, times are ISO 8601 UTC, every
read carries an ETag (``If-None-Match`` gives 304), and a request body is at most
``API_MAX_BODY_BYTES``. The OpenAPI 3.1 document is built from the same pydantic models that check
the queries and the responses (:mod:`.spec`).
"""

from __future__ import annotations

from flask import Flask

from . import (  # noqa: F401  (their routes register on import)
    imports,
    operational,
    profile,
    reference,
    report,
    resources,
    sheets,
    validity,
    webhooks,
)
from .blueprint import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)  # a bearer token is not sent by a browser on its own: no CSRF to guard against


__all__ = ["bp", "init_app"]

"""RFC 9457 problem details for every 4xx and 5xx under ``/api``."""

from __future__ import annotations

import json
from collections.abc import Iterable

from flask import Response, request
from pydantic import ValidationError
from werkzeug.http import HTTP_STATUS_CODES

from .schemas import FieldProblem, Location, Problem

PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"


def is_api_request() -> bool:
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: Iterable[FieldProblem] = (),
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> Response:
    found = list(errors)
    body = Problem(
        title=HTTP_STATUS_CODES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.path,
        code=code,
        errors=found or None,
    )
    response = Response(
        json.dumps(body.model_dump(mode="json", exclude_none=True)), status=status, mimetype=MEDIA_TYPE
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_problem(err: ValidationError, location: Location = "query", *, status: int = 400) -> Response:
    """A model's ValidationError as a problem (400 by default) naming each field."""
    errors = [
        FieldProblem(
            field=".".join(str(part) for part in e["loc"]) or "(request)",
            location=location,
            message=e["msg"],
        )
        for e in err.errors(include_url=False, include_input=False)
    ]
    return problem(status, "Some parameters are not valid: see errors.", errors=errors)

"""The API blueprint, its token guard, and the helpers its views share (pages, ETags)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from ...services import api_tokens
from ...services.api_tokens import Caller
from ..boundary import carry_out, commit_alone
from ..guards import Guard
from .problems import problem, validation_problem
from .schemas import FieldProblem, Page
from .spec import scopes_of

Q = TypeVar("Q", bound=BaseModel)
R = TypeVar("R")

#: Largest request body under /api (the app's own limit is set for file uploads).
API_MAX_BODY_BYTES = 1024 * 1024

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.reference"})


class TokenGuard(Guard):
    """Deny by default: every endpoint but the document and its reference page needs a live token
    of the program with one of the scopes its operation declares (a reading scope where none is
    declared); refusals are problem+json (401, 403 or 429)."""

    def __call__(self) -> Response | None:
        limit = int(current_app.config.get("API_MAX_BODY_BYTES", API_MAX_BODY_BYTES))
        request.max_content_length = limit  # a body read later is cut off at the limit
        if (request.content_length or 0) > limit:  # refused before anything is read
            return problem(413, f"A request body under /api may be at most {limit} bytes.")
        g.user = None  # the API never acts on a browser's login session
        g.membership = None
        if request.endpoint in self.public:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        endpoint, method = request.endpoint or "", request.method
        client = request.remote_addr or "unknown"
        request_id = g.get("request_id")
        rate = current_app.config.get("API_RATE_PER_MINUTE")
        allowed = scopes_of(endpoint) or api_tokens.READ_SCOPES
        admission = carry_out(
            lambda s: api_tokens.admit(
                s,
                token or None,
                client=client,
                endpoint=endpoint,
                method=method,
                request_id=request_id,
                rate=rate,
                allowed=allowed,
            ),
            late=True,
        ).value
        if admission.caller is None:
            headers = {"WWW-Authenticate": 'Bearer realm="api"'} if admission.status == 401 else {}
            if admission.retry_after:
                headers["Retry-After"] = str(admission.retry_after)
            detail = {
                401: "Send a live program API token as 'Authorization: Bearer <token>'.",
                403: "This token's scopes do not allow reading."
                if allowed <= api_tokens.READ_SCOPES
                else f"This token's scopes do not allow this: it needs {' or '.join(sorted(allowed))}.",
                429: "Too many requests this minute: wait, then try again.",
            }[admission.status]
            return problem(admission.status, detail, headers=headers)
        g.api_caller = admission.caller
        return None


bp.before_request(TokenGuard(None, PUBLIC_ENDPOINTS))


def caller() -> Caller:
    found: Caller = g.api_caller
    return found


def audit_not_found() -> None:
    """A token asked for an object it may not see (another program's, or none): audited."""
    found: Caller | None = g.get("api_caller")
    if found is None:
        return
    ids = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)}
    endpoint, method, request_id = request.endpoint or "", request.method, g.get("request_id")
    commit_alone(
        lambda s: api_tokens.refuse(
            s,
            found,
            endpoint=endpoint,
            method=method,
            status=404,
            reason="scope",
            request_id=request_id,
            ids=ids,
        ),
        what="an API refusal",
    )


def query(model: type[Q], context: dict[str, Any] | None = None) -> Q:
    """The query string checked against ``model`` (a ValidationError becomes a 400 problem);
    ``context`` reaches the model's validators (e.g. the program's today)."""
    values: dict[str, Any] = {}
    for name, items in request.args.lists():
        values[name] = items[0] if len(items) == 1 else items
    try:
        return model.model_validate(values, context=context)
    except ValidationError as err:
        raise QueryInvalid(err) from None


class QueryInvalid(Exception):
    """The query string did not pass its model (a response that fails its model stays a 500)."""

    def __init__(self, err: ValidationError) -> None:
        super().__init__(str(err))
        self.err = err


@bp.errorhandler(QueryInvalid)
def _invalid(err: QueryInvalid) -> Response:
    return validation_problem(err.err)


class BodyInvalid(Exception):
    """The JSON body is missing, not JSON, or did not pass its model (``err`` then says where)."""

    def __init__(self, err: ValidationError | None) -> None:
        super().__init__(str(err) if err else "no JSON body")
        self.err = err


@bp.errorhandler(BodyInvalid)
def _invalid_body(err: BodyInvalid) -> Response:
    if err.err is not None:
        return validation_problem(err.err, "body")
    return problem(
        400,
        "Send a JSON object with 'Content-Type: application/json'.",
        errors=[FieldProblem(field="(request)", location="body", message="Not a JSON object.")],
    )


def body(model: type[Q]) -> Q:
    """The JSON body checked against ``model`` (anything else becomes a 400 problem)."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise BodyInvalid(None)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise BodyInvalid(err) from None


def json_written(payload: BaseModel, status: int = 200) -> Response:
    """A write's answer: JSON, never cached."""
    response = Response(payload.model_dump_json(), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


class BadCursor(Exception):
    pass


@bp.errorhandler(BadCursor)
def _bad_cursor(_err: BadCursor) -> Response:
    return problem(
        400,
        "The cursor is not one this list gave out.",
        errors=[FieldProblem(field="cursor", location="query", message="Unknown or damaged cursor.")],
    )


def decode_cursor(cursor: str | None, kind: str) -> int:
    """The id after which the page starts (0 for the first page)."""
    if cursor is None:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor() from None
    if not isinstance(raw, dict) or raw.get("k") != kind or not isinstance(raw.get("a"), int):
        raise BadCursor()
    after: int = raw["a"]
    if not 0 <= after < 2**31:
        raise BadCursor()
    return after


def encode_cursor(kind: str, after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "a": after}).encode()).decode().rstrip("=")


def _row_id(row: Any) -> int:
    found: int = row.id
    return found


def json_page(
    kind: str,
    rows: Sequence[R],
    more: bool,
    item: Callable[[R], BaseModel],
    last_id: Callable[[R], int] = _row_id,
) -> Response:
    """One page of a list as a read's answer (:func:`json_response`): each row made an item by
    ``item`` (checked by its own model), and, when there are ``more`` rows, the cursor of ``kind``
    after the last row's id (``last_id``, by default the row's ``id``)."""
    items = [item(r) for r in rows]
    cursor = encode_cursor(kind, last_id(rows[-1])) if more and rows else None
    return json_response(Page[Any](items=items, next_cursor=cursor))


def json_response(payload: BaseModel) -> Response:
    """A read's answer: JSON with a strong ETag of its body; 304 when ``If-None-Match`` matches."""
    response = Response(payload.model_dump_json(), mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    response.add_etag()
    response.make_conditional(request)  # turns it into a 304 in place when the ETag matches
    return response


View = Callable[..., Response]

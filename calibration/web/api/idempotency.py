"""``Idempotency-Key`` for every POST under ``/api/v1``: decorate the view with :func:`idempotent`.

The key (1-255 visible ASCII characters, one per logical request, e.g. a UUID) is required. The
first request with a key does the work and its answer (status, body, ``Location`` and
``Content-Type``) is kept for the token; a retry with the same key and the same method, path and
body gets that answer again, marked ``Idempotent-Replayed: true``, and writes nothing. The same key
with a different request is a 422 problem. A retry that arrives while the first request is still
running waits for its answer (up to :data:`WAIT_SECONDS`, then 409 with ``Retry-After``). A first
request that fails with a server error keeps nothing, so it may be retried.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable

from flask import Response, request

from ...services import idempotency as service
from ..boundary import carry_out, commit_alone, discard
from .blueprint import caller
from .problems import problem
from .schemas import FieldProblem

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
#: How long a retry waits for the first request's answer.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
#: Headers of the first answer that a replay repeats.
KEPT_HEADERS = ("Location", "Content-Type")


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\x00")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(token_id: int, key: str, request_hash: str) -> service.Claim:
    return carry_out(lambda s: service.claim(s, token_id, key, request_hash), late=True).value


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """Make a POST view answer a retried request with its first answer (see the module)."""

    @functools.wraps(view)
    def wrapper(*args: object, **kwargs: object) -> Response:
        key = request.headers.get(HEADER, "")
        if not KEY_PATTERN.match(key):
            return problem(
                400,
                f"Send an {HEADER} header (1-255 visible ASCII characters, new for each request) "
                "so that a retried request is not carried out twice.",
                errors=[FieldProblem(field=HEADER, location="header", message="Missing or not valid.")],
            )
        token_id, request_hash = caller().token_id, _request_hash()
        found = _claim(token_id, key, request_hash)
        deadline = time.monotonic() + WAIT_SECONDS
        while found.state == "pending" and time.monotonic() < deadline:
            discard()
            time.sleep(POLL_SECONDS)
            found = _claim(token_id, key, request_hash)
        if found.state == "mismatch":
            return problem(
                422,
                f"This {HEADER} was already used for a different request: use a new key for a new request.",
                errors=[FieldProblem(field=HEADER, location="header", message="Used for another request.")],
            )
        if found.state == "pending":
            return problem(
                409,
                f"A request with this {HEADER} is still being carried out: try again shortly.",
                headers={"Retry-After": "1"},
            )
        if found.state == "replay":
            replay = Response(found.body or "", status=found.status or 200)
            for name, value in found.headers.items():
                replay.headers[name] = value
            replay.headers["Idempotent-Replayed"] = "true"
            replay.headers["Cache-Control"] = "no-store"
            return replay
        claim_id = found.id
        if claim_id is None:  # not reached: a new claim always has its id
            raise RuntimeError("a new idempotency claim without an id")
        try:
            response = view(*args, **kwargs)
        except BaseException:
            commit_alone(lambda s: service.release(s, claim_id), what="an idempotency claim's release")
            raise
        if response.status_code >= 500:
            commit_alone(lambda s: service.release(s, claim_id), what="an idempotency claim's release")
            return response
        status, body = response.status_code, response.get_data(as_text=True)
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        carry_out(lambda s: service.answer(s, claim_id, status=status, body=body, headers=headers), late=True)
        return response

    return wrapper

"""The OpenAPI 3.1 document, generated from the code: each view registers its operation here
(path, query model, response model, scope) and the schemas come from the same pydantic models
that validate the query strings and the responses."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ...services.api_reads import MAX_ID
from ...services.api_tokens import SCOPES
from .schemas import PageQuery, Problem

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Link:
    """An OpenAPI Link Object on an operation's success response: a value of the response (a
    runtime expression such as ``$response.body#/id``) is a parameter of another operation, so a
    client (and schemathesis' state machine) can follow it."""

    name: str
    operation_id: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    status: int | None = None  # the success status it hangs on; every success status when None


def link(
    name: str, operation_id: str, description: str = "", *, status: int | None = None, **parameters: str
) -> Link:
    """``link("GetRound", "get_round", round_id="$response.body#/items/0/id")``."""
    return Link(name, operation_id, parameters, description, status)


def first_item(name: str = "id") -> str:
    """The runtime expression of a field of the first item of a page (``items``)."""
    return f"$response.body#/items/0/{name}"


def this(pointer: str = "id") -> str:
    """The runtime expression of a field of the response body (``a/b`` for a nested one)."""
    return f"$response.body#/{pointer}"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /rounds/{round_id}
    operation_id: str
    summary: str
    description: str
    response: type[BaseModel] | None  # None: a file (``files`` names its media types)
    query: type[BaseModel] | None
    scopes: tuple[str, ...]
    tag: str
    body: type[BaseModel] | None = None
    success: tuple[int, ...] = (200,)
    problems: tuple[int, ...] = ()  # besides the usual ones: e.g. 409, 422
    files: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


OPERATIONS: list[Operation] = []


def operation(
    path: str,
    *,
    summary: str,
    response: type[BaseModel] | None,
    query: type[BaseModel] | None = None,
    tag: str,
    scopes: tuple[str, ...] = ("read", "trainer"),
    method: str = "get",
    body: type[BaseModel] | None = None,
    success: tuple[int, ...] = (200,),
    problems: tuple[int, ...] = (),
    files: tuple[str, ...] = (),
    links: tuple[Link, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an operation for the document (the view is routed by the blueprint). ``scopes``
    are the token scopes that may call it: the guard admits no other. ``links`` say which of its
    answer's values feed which other operations (OpenAPI Link Objects)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                method,
                path,
                view.__name__,
                summary,
                (view.__doc__ or "").strip(),
                response,
                query,
                scopes,
                tag,
                body,
                success,
                problems,
                files,
                links,
            )
        )
        return view

    return register


def scopes_of(endpoint: str) -> frozenset[str] | None:
    """The scopes that may call the API endpoint (``api.<view>``), or None if it is not documented."""
    for op in OPERATIONS:
        if f"api.{op.operation_id}" == endpoint:
            return frozenset(op.scopes)
    return None


#: Every POST carries one (see ``idempotency.py``): a retry with the same key gets the first answer.
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": (
        "A new key for each logical request (e.g. a UUID). A retry with the same key and the same "
        "request gets the first answer again and writes nothing; the same key with another request "
        "is refused (422)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            if "anyOf" in prop:  # optional: the parameter is simply left out, never "null"
                prop = next(p for p in prop["anyOf"] if p.get("type") != "null") | {
                    k: v for k, v in prop.items() if k != "anyOf"
                }
                prop.pop("default", None)
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if description:
                param["description"] = description
            params.append(param)
    if op.method == "post":
        params.append(IDEMPOTENCY_HEADER)
    return params


_PROBLEMS = {
    "400": "A parameter is not valid (field-level detail in `errors`).",
    "401": "No token, or a token that is unknown or revoked.",
    "403": "The token's scopes do not allow this.",
    "404": "No such object in the token's program.",
    "429": "Too many requests this minute; see `Retry-After`.",
}
_MORE_PROBLEMS = {
    409: "The state refuses it now (`code` says why), or a request with this `Idempotency-Key` is "
    "still being carried out (see `Retry-After`).",
    413: "The request body is too large.",
    415: "The body is not sent as `application/json`.",
    422: "A value names nothing in the program or does not fit (field-level detail in `errors`); "
    "nothing was written. Also: the `Idempotency-Key` was used for a different request.",
}
#: What every POST may answer besides its own problems: the body and the Idempotency-Key.
_POST_PROBLEMS = (409, 413, 415, 422)
_SUCCESS = {200: "OK", 201: "Created", 202: "Accepted"}
_POST_HEADERS = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the first answer again, to a retried request.",
        "schema": {"type": "string"},
    },
}


def _link_object(lk: Link) -> dict[str, Any]:
    found: dict[str, Any] = {"operationId": lk.operation_id, "parameters": dict(lk.parameters)}
    if lk.description:
        found["description"] = lk.description
    return found


def check_links(operations: list[Operation]) -> list[str]:
    """What is wrong with the declared links (an unknown target, a parameter the target does not
    take, a status the source does not answer); empty when all is well."""
    by_id = {op.operation_id: op for op in operations}
    problems: list[str] = []
    for op in operations:
        for lk in op.links:
            target = by_id.get(lk.operation_id)
            if target is None:
                problems.append(f"{op.operation_id}: link {lk.name} names no operation {lk.operation_id}")
                continue
            names = {p["name"] for p in _parameters(target)}
            for name in lk.parameters:
                if name.split(".", 1)[-1] not in names:
                    problems.append(f"{op.operation_id}: link {lk.name}: {lk.operation_id} takes no {name}")
            if lk.status is not None and lk.status not in op.success:
                problems.append(f"{op.operation_id}: link {lk.name} hangs on {lk.status}, never answered")
    return problems


def _responses(op: Operation, name: str | None) -> dict[str, Any]:
    problem = {"content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}
    responses: dict[str, Any] = {}
    for status in op.success:
        if name is None:
            content = {t: {"schema": {"type": "string", "format": "binary"}} for t in op.files}
        else:
            content = {"application/json": {"schema": {"$ref": REF.format(model=name)}}}
        responses[str(status)] = {"description": _SUCCESS.get(status, "OK"), "content": content}
        if op.method == "get" and name is not None:
            responses[str(status)]["headers"] = {"ETag": {"schema": {"type": "string"}}}
        links = {lk.name: _link_object(lk) for lk in op.links if lk.status is None or lk.status == status}
        if links:
            responses[str(status)]["links"] = links
        if op.method == "post":
            headers = dict(_POST_HEADERS)
            if status in (201, 202):
                headers["Location"] = {"description": "The resource's URL.", "schema": {"type": "string"}}
            responses[str(status)]["headers"] = headers
    if op.method == "get" and name is not None:
        responses["304"] = {"description": "Not modified (the `If-None-Match` ETag still matches)."}
    for code, text in _PROBLEMS.items():
        if code == "400" and op.query is None and op.body is None:
            continue
        responses[code] = {"description": text, **problem}
    if op.method == "post":
        responses["400"] = {
            "description": "The body is not JSON, or the `Idempotency-Key` header is missing or not valid.",
            **problem,
        }
    for number in sorted({*op.problems, *(_POST_PROBLEMS if op.method == "post" else ())}):
        responses[str(number)] = {"description": _MORE_PROBLEMS[number], **problem}
    return responses


def document(server_url: str) -> dict[str, Any]:
    if wrong := check_links(OPERATIONS):
        raise ValueError("; ".join(wrong))
    mode: JsonSchemaMode = "serialization"
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (op.response, mode) for op in OPERATIONS if op.response is not None
    ]
    models += [(op.body, "validation") for op in OPERATIONS if op.body is not None]
    names, defs = models_json_schema([*models, (Problem, mode)], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        name = None
        if op.response is not None:
            name = names[(op.response, "serialization")]["$ref"].rsplit("/", 1)[1]
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "description": op.description + f"\n\nScopes: {', '.join(f'`{s}`' for s in op.scopes)}.",
            "tags": [op.tag],
            "parameters": _parameters(op),
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": names[(op.body, "validation")]["$ref"]}}},
            }
        entry["responses"] = _responses(op, name)
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Assessor calibration API",
            "version": VERSION,
            "description": (
                "Read a program's rubrics, rounds and their reports and score sheets, assessors and "
                "their profiles, anchors, flags and sessions; a scoring platform asks for validity "
                "items to seed into live work and sends their scores back. "
                "Every request carries a program API token (`Authorization: Bearer ...`), made by an "
                "admin or lead trainer under API tokens. Lists are paged with `limit` and an opaque "
                "`cursor`; times are ISO 8601 in UTC; errors are RFC 9457 problem details."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "tags": sorted({op.tag for op in OPERATIONS})
        and [{"name": t} for t in sorted({op.tag for op in OPERATIONS})],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Scopes: " + "; ".join(f"`{k}`: {v}" for k, v in SCOPES.items()),
                }
            },
        },
    }


__all__ = ["OPERATIONS", "Link", "PageQuery", "document", "first_item", "link", "operation", "this"]

"""The OpenAPI 3.1 document, generated from the code: each view registers its operation here
(path, query model, response model, scope) and the schemas come from the same pydantic models
that validate the query strings and the responses."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ...services.api_reads import MAX_ID
from ...services.api_tokens import SCOPES
from .schemas import PageQuery, Problem

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /rounds/{round_id}
    operation_id: str
    summary: str
    description: str
    response: type[BaseModel]
    query: type[BaseModel] | None
    scopes: tuple[str, ...]
    tag: str
    body: type[BaseModel] | None = None  # a POST's JSON body
    success: str = "200"


OPERATIONS: list[Operation] = []


def operation(
    path: str,
    *,
    summary: str,
    response: type[BaseModel],
    query: type[BaseModel] | None = None,
    tag: str,
    scopes: tuple[str, ...] = ("read", "trainer"),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a GET operation for the document (the view is routed by the blueprint)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                "get",
                path,
                view.__name__,
                summary,
                (view.__doc__ or "").strip(),
                response,
                query,
                scopes,
                tag,
            )
        )
        return view

    return register


def post_operation(
    path: str,
    *,
    summary: str,
    body: type[BaseModel],
    response: type[BaseModel],
    tag: str,
    scopes: tuple[str, ...],
    success: str = "202",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a POST operation (with its JSON body and the ``Idempotency-Key`` header)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                "post",
                path,
                view.__name__,
                summary,
                (view.__doc__ or "").strip(),
                response,
                None,
                scopes,
                tag,
                body,
                success,
            )
        )
        return view

    return register


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


_POST_PROBLEMS = {
    "400": "The body is not JSON, or the `Idempotency-Key` header is missing or not valid.",
    "401": _PROBLEMS["401"],
    "403": _PROBLEMS["403"],
    "404": "Not found.",
    "409": "A request with this `Idempotency-Key` is still being carried out; see `Retry-After`.",
    "413": "The body is larger than the API accepts.",
    "415": "The body is not sent as `application/json`.",
    "422": "The body or its rows are not valid (each named in `errors`); nothing was written. "
    "Also: the `Idempotency-Key` was used for a different request.",
    "429": _PROBLEMS["429"],
}


def _post_responses(op: Operation, name: str) -> dict[str, Any]:
    problem = {"content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}
    responses: dict[str, Any] = {
        op.success: {
            "description": "Accepted: the import's status resource (also in `Location`).",
            "headers": {
                "Location": {"schema": {"type": "string"}},
                "Idempotent-Replayed": {
                    "description": "`true` when this is the first answer to a retried request.",
                    "schema": {"type": "string"},
                },
            },
            "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
        }
    }
    for code, text in _POST_PROBLEMS.items():
        responses[code] = {"description": text, **problem}
    return responses


def _responses(op: Operation, name: str) -> dict[str, Any]:
    if op.method == "post":
        return _post_responses(op, name)
    problem = {"content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
        },
        "304": {"description": "Not modified (the `If-None-Match` ETag still matches)."},
    }
    for code, text in _PROBLEMS.items():
        if code == "400" and op.query is None:
            continue
        responses[code] = {"description": text, **problem}
    return responses


def document(server_url: str) -> dict[str, Any]:
    mode: JsonSchemaMode = "serialization"
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(op.response, mode) for op in OPERATIONS]
    models += [(op.body, "validation") for op in OPERATIONS if op.body is not None]
    names, defs = models_json_schema([*models, (Problem, mode)], ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        ref = names[(op.response, "serialization")]["$ref"]
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
                "content": {"application/json": {"schema": names[(op.body, "validation")]}},
            }
        entry["responses"] = _responses(op, ref.rsplit("/", 1)[1])
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Assessor calibration API",
            "version": VERSION,
            "description": (
                "Read a program's rubrics, rounds, assessors, anchors, flags and sessions. "
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


__all__ = ["OPERATIONS", "PageQuery", "document", "operation", "post_operation"]

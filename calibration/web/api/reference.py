"""The OpenAPI document and its human-readable reference page (rendered here from the document:
no script, no CDN, works offline)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request

from .blueprint import bp
from .spec import document


def _server_url() -> str:
    return request.host_url.rstrip("/") + bp.url_prefix if bp.url_prefix else request.host_url


@bp.get("/openapi.json")
def openapi() -> Response:
    response = Response(json.dumps(document(_server_url()), indent=1), mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)  # turns it into a 304 in place when the ETag matches
    return response


def _schema_rows(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        rows.append(
            {
                "name": name,
                "type": _type_words(prop),
                "required": "yes" if name in required else "no",
                "description": prop.get("description", ""),
            }
        )
    return rows


def _type_words(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in prop:
        return " or ".join(_type_words(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return "list of " + _type_words(prop.get("items", {}))
    kind = str(prop.get("type", "any"))
    return f"{kind} ({prop['format']})" if "format" in prop else kind


@bp.get("/reference")
def reference() -> str:
    doc = document(_server_url())
    schemas = doc["components"]["schemas"]
    operations = [
        {"method": method.upper(), "path": path, **op}
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]
    models = [
        {"name": name, "description": schema.get("description", ""), "rows": _schema_rows(schema, schemas)}
        for name, schema in sorted(schemas.items())
    ]
    html: str = render_template("api/reference.html", doc=doc, operations=operations, models=models)
    return html

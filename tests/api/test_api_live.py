"""schemathesis against the OpenAPI document a live gunicorn serves, on SQLite and PostgreSQL: every
operation over real HTTP, through the same server, workers and database a deployment runs, with no
server error, no response outside the document, and no write accepted without a valid token and
scope (issue 18's acceptance). The in-process run (``test_api_schemathesis.py``) tries more examples;
this one proves the served document and the served API agree."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from calibration.web.api.spec import OPERATIONS

from ..factories import submit
from ..server import gunicorn
from .helpers import (
    bearer,
    lost_on_the_wire,
    make_token,
    relations_outside_the_schema,
    schemathesis_config,
)


@pytest.fixture
def live(database_url: str, db: Any, world: Any) -> Iterator[tuple[str, dict[str, str]]]:
    for index in range(3):  # the round report then has statistics (and undefined ones) to show
        submit(db, world, "assessor", index)
        submit(db, world, "assessor2", index, levels=[1] * len(world.criteria))
    scopes = ("trainer", "read", "import", "validity", "admin")
    tokens = {scope: make_token(db, world, [scope]) for scope in scopes}
    tokens["every"] = make_token(db, world, list(scopes))
    db.commit()
    # Request lines of any length reach the app, which answers for them in its own terms (a too-long
    # query is a 400 naming the field); in a deployment the proxy in front bounds them first.
    with gunicorn(
        database_url,
        workers=2,
        extra_env={"API_RATE_PER_MINUTE": str(10**6)},
        extra_args=["--limit-request-line", "0"],
    ) as base:
        yield base, tokens


def test_every_operation_conforms_over_http(live: tuple[str, dict[str, str]]) -> None:
    base, tokens = live
    schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json", config=schemathesis_config())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(o.method.upper(), o.path) for o in operations} == {
        (o.method.upper(), o.path) for o in OPERATIONS
    }
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def conforms(case: Any) -> None:
                headers = bearer(tokens["every"])
                response = case.call(headers=headers)
                excluded = [positive_data_acceptance] if relations_outside_the_schema(case, response) else []
                if lost_on_the_wire(case):
                    excluded.append(negative_data_rejection)
                case.validate_response(response, headers=headers, excluded_checks=excluded)

            conforms()


def test_no_write_without_a_valid_token_and_scope(live: tuple[str, dict[str, str]]) -> None:
    """Every operation that writes refuses a missing or unknown token (401) and a token without its
    scope (403), as problem+json, before reading the body."""
    base, tokens = live
    writes = [o for o in OPERATIONS if o.method.upper() in {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(writes) >= 3  # the import and the two validity posts, at least
    for operation in writes:
        url = base + "/api/v1" + re.sub(r"{\w+}", "1", operation.path)
        for headers, status in (({}, 401), (bearer("cal_not-a-real-token"), 401)):
            resp = requests.request(operation.method.upper(), url, json={}, headers=headers, timeout=30)
            assert resp.status_code == status, (operation.path, headers, resp.text)
            assert resp.headers["Content-Type"].startswith("application/problem+json")
        allowed = set(operation.scopes)
        for scope, token in tokens.items():
            if scope in allowed or scope == "every":
                continue
            resp = requests.request(operation.method.upper(), url, json={}, headers=bearer(token), timeout=30)
            assert resp.status_code in {403, 404}, (operation.path, scope, resp.status_code, resp.text)
            assert resp.headers["Content-Type"].startswith("application/problem+json")

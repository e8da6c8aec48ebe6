"""schemathesis against the served OpenAPI document, in-process through the WSGI app, on SQLite and
PostgreSQL: every operation, every check (no server error, no status, content type, header or body
outside the document, authentication not ignored, bad parameters refused)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from calibration.web.api.spec import OPERATIONS

from .helpers import (
    bearer,
    lost_on_the_wire,
    make_token,
    relations_outside_the_schema,
    schemathesis_config,
)


@pytest.fixture
def api_app(app_config: dict[str, Any]) -> Any:
    from calibration import create_app
    from calibration.db import get_db

    application = create_app({**app_config, "API_RATE_PER_MINUTE": 10**6})
    yield application
    get_db(application).dispose()


@pytest.fixture
def api_schema(api_app: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app, config=schemathesis_config())


@pytest.fixture
def api_token(api_app: Any) -> str:
    from calibration.db import get_db

    from ..factories import build_world, submit

    with get_db(api_app).sessionmaker() as session:
        world = build_world(session)
        session.commit()
        for index in range(3):  # the round report then has statistics (and undefined ones) to show
            submit(session, world, "assessor", index)
            submit(session, world, "assessor2", index, levels=[1] * len(world.criteria))
        return make_token(session, world, ["trainer", "validity", "admin"])  # every operation but the import


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms(api_schema: Any, api_token: str, mode: GenerationMode) -> None:
    operations = _operations(api_schema)
    assert {(o.method.upper(), o.path) for o in operations} == {
        (o.method.upper(), o.path) for o in OPERATIONS
    }  # every operation the code registers is in the document and exercised
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case: Any) -> None:
            response = case.call(headers=bearer(api_token))
            excluded = [positive_data_acceptance] if relations_outside_the_schema(case, response) else []
            if lost_on_the_wire(case):
                excluded.append(negative_data_rejection)
            case.validate_response(response, headers=bearer(api_token), excluded_checks=excluded)

        conforms()

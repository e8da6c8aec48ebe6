"""Making program API tokens for tests (through the service, as the UI does)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from calibration.models import Role
from calibration.services import api_tokens
from calibration.services.context import Member


def make_token(db: Any, world: Any, scopes: list[str], *, program: str = "a") -> str:
    who = "trainer" if program == "a" else "trainer_b"
    program_id = world.program_a if program == "a" else world.program_b
    made = api_tokens.create_token(
        db, Member(world.ids[who], program_id, Role.LEAD_TRAINER), name=f"test {scopes}", scopes=scopes
    )
    db.commit()
    return made.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def posting(token: str) -> dict[str, str]:
    """The headers of a POST: the token and a new ``Idempotency-Key`` (each call a new request)."""
    return bearer(token) | {"Idempotency-Key": uuid.uuid4().hex}


def schemathesis_config() -> Any:
    """schemathesis' defaults, except that a body over the size limit (413 problem) counts as
    refusing schema-violating data: it is refused before it is read, whatever else is wrong."""
    from schemathesis.config import SchemathesisConfig
    from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES

    expected = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    return SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": expected}}}
    )


def relations_outside_the_schema(case: Any) -> bool:
    """True when a schema-valid request is refused for a relation the schema cannot state, so
    schemathesis' "valid data is accepted" check does not apply: a made-up cursor (opaque: only one
    a list gave out is accepted; tested in test_api.py), or a period whose "from" is after its "to"
    (today when left out; tested in tests/operational/test_operational_api.py). Both are 400s naming the field."""
    query = case.query or {}
    made_up_cursor = "cursor" in query
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and end is None:
        end = dt.date.today().isoformat()  # "to" defaults to today
    return made_up_cursor or (isinstance(start, str) and isinstance(end, str) and start > end)

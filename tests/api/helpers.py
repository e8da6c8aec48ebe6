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


def schemathesis_config(*, declared_links_only: bool = False, token: str | None = None) -> Any:
    """schemathesis' defaults, except that a body over the size limit (413 problem) counts as
    refusing schema-violating data: it is refused before it is read, whatever else is wrong. With
    ``declared_links_only`` the state machine follows only the document's own links (no inferred
    ones), so a test can count exactly those, with schema-valid data (the stateless runs send the
    invalid data); with ``token`` every generated call authenticates with
    it (schemathesis still tries made-up credentials to check that they are refused)."""
    from schemathesis.config import SchemathesisConfig
    from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES

    expected = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    config: dict[str, Any] = {"checks": {"negative_data_rejection": {"expected-statuses": expected}}}
    if declared_links_only:
        stateful = {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}
        config["phases"] = {"stateful": stateful}
    if token is not None:
        config["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    return SchemathesisConfig.from_dict(config)


def lost_on_the_wire(case: Any) -> bool:
    """True when a case meant to break the schema has a query parameter whose value is an empty
    list: a query string cannot carry it (it is sent as nothing), so the request that arrives may be
    valid and schemathesis' "invalid data is refused" check does not apply to it."""
    return any(value == [] for value in (case.query or {}).values())


def relations_outside_the_schema(case: Any, response: Any = None) -> bool:
    """True when a schema-valid request is refused for a relation the schema cannot state, so
    schemathesis' "valid data is accepted" check does not apply: a made-up cursor (opaque: only one
    a list gave out is accepted; tested in test_api.py), or a period whose "from" is after its "to"
    (today when left out; tested in tests/operational/test_operational_api.py). Both are 400s naming the field.
    Given the ``response``, also a POST refused with 422 because its body names what the program does
    not have (an assessor, criterion, level or rubric version; documented as 422, tested in
    test_api_import.py, test_api_validity.py and test_api_validity_rubric.py)."""
    if response is not None and case.method.upper() == "POST" and response.status_code == 422:
        return True
    query = case.query or {}
    made_up_cursor = "cursor" in query
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and end is None:
        end = dt.date.today().isoformat()  # "to" defaults to today
    return made_up_cursor or (isinstance(start, str) and isinstance(end, str) and start > end)


def seed_deliveries(db: Any, world: Any, *, program: str = "a") -> dict[str, int]:
    """An endpoint of the program with three deliveries: one delivered at the second try, one failed
    once and waiting for its next try, one not tried yet; committed. Returns their ids."""
    from calibration.db import utcnow
    from calibration.services import webhooks

    who = "trainer" if program == "a" else "trainer_b"
    me = Member(world.ids[who], world.program_a if program == "a" else world.program_b, Role.LEAD_TRAINER)
    endpoint = webhooks.create_endpoint(
        db,
        me,
        url=f"https://hooks.example.org/{program}",
        description="The scoring platform",
        event_types=[webhooks.FLAG_RAISED, webhooks.ROUND_CLOSED],
        credential_key="test-credential-key-with-enough-length-012345",
    ).endpoint
    for event in (webhooks.FLAG_RAISED, webhooks.ROUND_CLOSED, webhooks.ROUND_CLOSED):
        webhooks.emit(db, me.program_id, event, {"round_id": world.round_id, "secret": "never shown"})
    delivered, waiting, untried = sorted(
        d.id for d in webhooks.deliveries(db, me.program_id, endpoint_id=endpoint.id)
    )
    now = utcnow()
    for delivery_id, answers in ((delivered, [503, 204]), (waiting, [None])):
        for n, code in enumerate(answers):
            attempt = webhooks.start_attempt(db, delivery_id, now + dt.timedelta(seconds=n))
            assert attempt is not None
            error = "Connection refused" if code is None else None
            webhooks.finish_attempt(
                db, attempt, now=now + dt.timedelta(seconds=n), status_code=code, error=error, duration_ms=12
            )
    db.commit()
    return {"endpoint": endpoint.id, "delivered": delivered, "waiting": waiting, "untried": untried}


def make_flag(db: Any, world: Any, *, program: str = "a") -> int:
    """An open own-drift flag on the world's assessor (or program B's); committed."""
    from calibration.models import DriftFlag, FlagRule, FlagStatus

    flag = DriftFlag(
        program_id=world.program_a if program == "a" else world.program_b,
        user_id=world.ids["assessor" if program == "a" else "assessor_b"],
        criterion_id=world.criteria[0] if program == "a" else None,
        round_id=world.round_id if program == "a" else world.round_b,
        rule=FlagRule.OWN_DRIFT,
        status=FlagStatus.OPEN,
        direction="lenient",
        statistic="signed deviation",
        value=0.8,
        threshold=0.5,
        summary="Drifting lenient.",
        evidence_hash=f"api-helper-{program}",
    )
    db.add(flag)
    db.commit()
    return int(flag.id)

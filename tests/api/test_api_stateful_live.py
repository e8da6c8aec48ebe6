"""schemathesis' state machine against the document a live gunicorn serves, on SQLite and
PostgreSQL (issue 18's acceptance, "stateful links where they apply"): scenarios of calls chained by
the document's OpenAPI links, with a token that has every scope, and no server error, no response
outside the document; and the links are really followed: the test counts, per declared link, the
calls whose parameters came from an earlier answer, and checks what the server made of them.

A scoring platform sends real assessors and fresh ``Idempotency-Key`` values, and only cursors a
list gave it: the machine's ``before_call`` does the same (seven in eight validity requests and
import batches name real assessors, the rest stay as generated), so that items are served and
imports made, and their links have something to follow. Invalid data is the stateless runs' part
(``test_api_live.py``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import select

from calibration.models import Criterion

from ..factories import submit
from ..factories_validity import fresh_anchors, set_validity_rules
from ..server import gunicorn
from .helpers import make_token, relations_outside_the_schema, schemathesis_config, seed_deliveries

EVERY_SCOPE = ["read", "trainer", "import", "validity", "admin"]


@pytest.fixture
def live(database_url: str, db: Any, world: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for index in range(3):  # sheets and a report with statistics to follow links into
        submit(db, world, "assessor", index)
        submit(db, world, "assessor2", index, levels=[1] * len(world.criteria))
    fresh_anchors(db, world, 6)
    set_validity_rules(db, world.program_a, max_per_week=1000, live_items_between=0)
    seed_deliveries(db, world)
    token = make_token(db, world, EVERY_SCOPE)
    criteria = list(db.scalars(select(Criterion.key).where(Criterion.id.in_(world.criteria))))
    realistic = {
        "assessors": [world.emails["assessor"], world.emails["assessor2"]],
        "rubric_version_id": world.rubric_id,
        "criterion": criteria[0],
        "level": world.levels[0],
        "scored_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(),
    }
    db.commit()
    with gunicorn(
        database_url,
        workers=2,
        extra_env={"API_RATE_PER_MINUTE": str(10**6)},
        extra_args=["--limit-request-line", "0"],
    ) as base:
        yield base, token, realistic


def test_links_are_followed_with_no_error_and_no_answer_outside_the_document(
    live: tuple[str, str, dict[str, Any]],
) -> None:
    base, token, realistic = live
    schema = schemathesis.openapi.from_url(
        base + "/api/v1/openapi.json", config=schemathesis_config(declared_links_only=True, token=token)
    )
    for tags, must in AREAS:
        _run_area(schema.include(tag=list(tags)), token, realistic, must)


def _run_area(schema: Any, token: str, realistic: dict[str, Any], must: frozenset[str]) -> None:
    """The state machine of one area's operations (few rules, so its links are all tried in a
    few scenarios), run until ``must`` links were followed to a success, at most :data:`RUNS` times."""
    followed: Counter[tuple[str, int]] = Counter()  # (link, status of the linked call)
    failures: list[str] = []
    Machine = schema.as_state_machine()

    class Platform(Machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            if case.query and "cursor" in case.query:  # a client sends only cursors a list gave it
                case.query = {k: v for k, v in case.query.items() if k != "cursor"}
            if case.method.upper() != "POST":
                return
            case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}
            # Decided by the generated body, so a replayed scenario sends the same requests again.
            n = zlib.crc32(json.dumps(case.body, sort_keys=True, default=str).encode()) % 8
            if n == 7 or not isinstance(case.body, dict):
                return  # as generated
            if case.path == "/validity/assignments":
                case.body = {  # seven queue items, each always for one assessor: served, then the same
                    "assessor": realistic["assessors"][n % 2],
                    "external_ref": f"queue-{n}",
                    "rubric_version_id": realistic["rubric_version_id"],
                }
            elif case.path == "/operational-ratings":
                row = {
                    "submission_id": f"S-{n}",
                    "criterion": realistic["criterion"],
                    "assessor": realistic["assessors"][0],
                    "level": realistic["level"],
                    "read": 1,
                    "scored_at": realistic["scored_at"],
                }
                case.body = {"rubric_version_id": realistic["rubric_version_id"], "rows": [row]}

        def step(self, input: Any) -> Any:
            output = super().step(input)
            transition = input.transition
            if transition is not None and not transition.is_inferred and input.is_applied:
                followed[(transition.id.split(" -> ")[1].split("] ")[1], output.response.status_code)] += 1
            return output

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            excluded = [positive_data_acceptance] if relations_outside_the_schema(case, response) else []
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=excluded,
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            except Exception as exc:  # kept even if Hypothesis later cannot replay the scenario
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}")
                raise

    # The server keeps what each scenario wrote, so a scenario replayed later may take another
    # turn (an item already served answers 200, not 201): Hypothesis calls that an inconsistent
    # strategy and stops, as schemathesis' own runner does. Every answer was checked as it came
    # (``failures``), so a stop loses nothing; a few more runs cover what one stopped early left.
    for _run in range(RUNS):
        with contextlib.suppress(FlakyStrategyDefinition):
            Platform.run(
                settings=settings(
                    max_examples=16,
                    # Hypothesis derandomizes on CI (its "ci" profile): every run would then take
                    # the same turns and the runs below would add nothing.
                    derandomize=False,
                    stateful_step_count=5,
                    phases=[Phase.generate],
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
        assert failures == []
        if _covered(followed, must):
            break
    assert _covered(followed, must), sorted(followed.items())


#: State machine runs per area at most: each picks its transitions at random, and an area is done
#: as soon as its links were all followed (one run with few steps can miss one of six links).
RUNS = 10

#: The areas, by tag, and the links each must have followed to a success (the id from one answer
#: found by the next call). "PostScores" counts when the item was found: random levels mostly do
#: not fit its rubric (422).
AREAS: list[tuple[tuple[str, ...], frozenset[str]]] = [
    (("rounds", "sheets", "rubrics", "anchors", "assessors", "flags"),
     frozenset({"GetRound", "GetRoundReport", "ListRoundSheets", "GetRubric", "GetAnchor", "GetAssessor"})),
    (("operational ratings",), frozenset({"GetImport"})),
    (("validity",), frozenset({"GetAssignment", "PostScores"})),
    (("webhooks",), frozenset({"GetWebhookEndpoint", "GetWebhookDelivery", "ListItsDeliveries"})),
]  # fmt: skip


def _covered(followed: Counter[tuple[str, int]], must: frozenset[str]) -> bool:
    reached = {
        name for (name, status) in followed if 200 <= status < 300 or (name == "PostScores" and status != 404)
    }
    return must <= reached

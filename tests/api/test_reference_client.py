"""A reference client plays the scoring platform end to end, against a live gunicorn and a real
``flask worker`` on SQLite and PostgreSQL (issue 18's acceptance).

The client knows only the served OpenAPI document and ``requests``: it finds each operation by its
``operationId``. It imports a season of double scoring, asks for validity items for three assessors,
posts their levels back (one assessor scores leniently), and receives a ``flag.raised`` webhook for a
validity-stream flag on that assessor, whose signature it checks with the Standard Webhooks library.
What the three assessors would score is the test's part (it reads the keys from the database, as a
person would judge the evidence); everything the platform does goes through the API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook

from calibration.models import Program, Role
from calibration.services import webhooks
from calibration.services.context import Member

from ..factories import make_user
from ..factories_validity import fresh_anchors, key_of, set_validity_rules
from ..jobs.helpers import receiver
from ..server import ROOT, gunicorn
from .helpers import make_token

pytestmark = pytest.mark.slow

CREDENTIAL_KEY = "test-credential-key-with-enough-length-012345"  # the tests' app_config
ASSESSORS = ("assessor", "assessor2", "assessor3")


class Platform:
    """The scoring platform's client: operations looked up in the served document by operationId."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.http = base, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        spec = self.http.get(f"{base}/api/v1/openapi.json", timeout=30).json()
        self.server = spec["servers"][0]["url"].rstrip("/")
        self.ops = {
            op["operationId"]: (method.upper(), path)
            for path, item in spec["paths"].items()
            for method, op in item.items()
        }

    def call(self, operation_id: str, body: Any = None, **params: Any) -> requests.Response:
        method, path = self.ops[operation_id]
        url = self.base + "/api/v1" + re.sub(r"{(\w+)}", lambda m: str(params.pop(m.group(1))), path)
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        return self.http.request(method, url, json=body, params=params or None, headers=headers, timeout=60)


@contextmanager
def worker(database_url: str, queue_file: Path, cache_dir: str, log: Path) -> Iterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "CREDENTIAL_KEY": CREDENTIAL_KEY,
        "CACHE_DIR": cache_dir,
        "JOBS_QUEUE_FILE": str(queue_file),
        "JOBS_SWEEP_SECONDS": "1",
        "JOBS_REDISPATCH_SECONDS": "5",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--workers", "2"]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _season(emails: list[str], criteria: list[str], submissions: int) -> list[dict[str, Any]]:
    """Double scoring: every submission read twice by two of the readers, levels close together."""
    rows = []
    for s in range(submissions):
        first, second = emails[s % len(emails)], emails[(s + 1) % len(emails)]
        for c, key in enumerate(criteria):
            level = 1 + (s + c) % 3
            for read, who in ((1, first), (2, second)):
                rows.append(
                    {
                        "submission_id": f"live-{s}",
                        "criterion": key,
                        "assessor": who,
                        "level": level + (1 if read == 2 and (s + c) % 4 == 0 else 0),
                        "read": read,
                        "scored_at": f"2026-{1 + s % 9:02d}-{1 + s % 27:02d}T10:{c:02d}:00Z",
                    }
                )
    return rows


def _wait(what: str, condition: Any, log: Path, seconds: float = 180.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"waited {seconds:.0f} s for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_the_scoring_platform_end_to_end(db: Any, world: Any, database_url: str, tmp_path: Path) -> None:
    program = db.get(Program, world.program_a)
    third = make_user(db, program, "assessor3@a.test", Role.ASSESSOR, "Cai Third")
    world.emails["assessor3"], world.ids["assessor3"] = third.email, third.id
    db.commit()
    anchors = fresh_anchors(db, world, 10)
    set_validity_rules(
        db, world.program_a, max_per_week=100, live_items_between=0, max_assessors_per_anchor=5
    )
    token = make_token(db, world, ["import", "validity", "read"])
    queue_file, cache_dir, log = tmp_path / "queue.sqlite3", str(tmp_path / "cache"), tmp_path / "worker.log"
    env = {
        "CREDENTIAL_KEY": CREDENTIAL_KEY,
        "JOBS_QUEUE_FILE": str(queue_file),
        "IMPORT_DIR": str(tmp_path / "imports"),
        "API_RATE_PER_MINUTE": "100000",
    }
    with receiver() as hooks:
        secret = webhooks.create_endpoint(
            db,
            Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER),
            url=hooks.url,
            description="The scoring platform",
            event_types=[webhooks.FLAG_RAISED],
            credential_key=CREDENTIAL_KEY,
        ).secret
        db.commit()
        with (
            gunicorn(database_url, workers=2, extra_env=env) as base,
            worker(database_url, queue_file, cache_dir, log),
        ):
            platform = Platform(base, token)

            # 1. A season of double scoring, in batches, each import followed to its end.
            rubric = platform.call("list_rubrics").json()["items"][0]
            criteria = [
                c["key"]
                for c in platform.call("get_rubric", rubric_version_id=rubric["id"]).json()["criteria"]
            ]
            emails = [world.emails[w] for w in ASSESSORS]
            rows = _season(emails, criteria, submissions=60)
            for start in range(0, len(rows), 250):
                batch = {"rubric_version_id": rubric["id"], "rows": rows[start : start + 250]}
                accepted = platform.call("import_ratings", batch)
                assert accepted.status_code == 202, accepted.text
                import_id = accepted.json()["id"]
                done = _wait(
                    f"import {import_id}",
                    lambda i=import_id: (
                        (r := platform.call("get_import", import_id=i).json())["status"]
                        in {"done", "rejected", "failed"}
                        and r
                    ),
                    log,
                )
                assert done["status"] == "done" and done["error_count"] == 0, done
            report = platform.call(
                "get_operational_report", rubric_version=rubric["id"], **{"from": "2026-01-01"}
            )
            assert report.status_code == 200 and report.json()["ratings"] == len(rows)

            # 2. Validity items for three assessors; the platform posts back what each scored.
            lenient = world.ids["assessor"]
            for who in ASSESSORS:
                for n in range(len(anchors)):
                    asked = platform.call(
                        "create_assignment",
                        {"assessor": world.emails[who], "external_ref": f"{who}-queue-{n}"},
                    )
                    assert asked.status_code == 201, asked.text
                    served = asked.json()
                    body = json.dumps(served).lower()
                    assert "rationale" not in body and '"anchor_id"' not in body and "validity" not in body
                    # The test stands in for the assessor's judgement: the key's level, or (the
                    # lenient assessor) one level above it on four criteria of five.
                    anchor = _anchor_of(db, served["assignment"]["id"])
                    levels = key_of(db, anchor)
                    if world.ids[who] == lenient:
                        for i, c in enumerate(sorted(levels)):
                            if (i + n) % 5:
                                levels[c] = min(levels[c] + 1, max(world.levels))
                    scored = platform.call(
                        "post_scores",
                        {"levels": levels, "scored_at": dt.datetime.now(dt.UTC).isoformat()},
                        assignment_id=served["assignment"]["id"],
                    )
                    assert scored.status_code == 200, scored.text

            # 3. A validity-stream flag on the lenient assessor arrives by webhook, signed.
            def validity_flag() -> Any:
                for got in list(hooks.received):
                    event = json.loads(got.body)
                    data = event.get("data", {})
                    if event.get("type") == "flag.raised" and data.get("stream") == "validity":
                        return got
                return None

            got = _wait("a validity-stream flag.raised webhook", validity_flag, log)
    verified = Webhook(secret).verify(got.body, got.headers)
    assert verified["type"] == "flag.raised"
    assert verified["data"]["assessor_id"] == lenient and verified["data"]["stream"] == "validity"
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)
    # Only the lenient assessor was flagged on the validity stream.
    flagged = {
        json.loads(r.body)["data"]["assessor_id"]
        for r in hooks.received
        if json.loads(r.body)["data"].get("stream") == "validity"
    }
    assert flagged == {lenient}


def _anchor_of(db: Any, assignment_id: int) -> int:
    from calibration.models import ValidityAssignment

    db.rollback()
    row = db.get(ValidityAssignment, assignment_id)
    assert row is not None
    return int(row.anchor_id)

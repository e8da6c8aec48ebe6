"""Blindness through the API: a token without the ``trainer`` scope never receives a master key or
a rationale from any operation of the document, on any page of any list; the trainer scope does.
Score sheets and assessor profiles carry neither for any scope (a profile holds statistics against
the key, never its levels or the counts of its levels)."""

from __future__ import annotations

import re

from calibration.web.api.spec import OPERATIONS

from ..factories import submit
from ..factories_operational import CRITERIA
from ..factories_validity import fresh_anchors, set_validity_rules
from .helpers import bearer, make_flag, make_token, posting, seed_deliveries


def _readable(scopes):  # type: ignore[no-untyped-def]
    """The JSON reads a token of these scopes may call (the others answer 403)."""
    return [op for op in OPERATIONS if op.method == "get" and op.response and set(op.scopes) & set(scopes)]


def _crawl(client, world, token, scopes, **more):  # type: ignore[no-untyped-def]
    """Every JSON read the token may call, every page (limit=1 so each item is its own page)."""
    values = more | {
        "round_id": world.round_id,
        "assessor_id": world.ids["assessor"],
        "rubric_version_id": world.rubric_id,
        "sheet_id": world.sheets[("assessor", 0)],
    }
    bodies = []
    for op in _readable(scopes):
        if "{anchor_id}" in op.path:
            paths = [op.path.replace("{anchor_id}", str(a)) for a in world.anchors]
        else:
            paths = [re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), op.path)]
        paged = op.query is not None and "limit" in op.query.model_fields
        for path in paths:
            cursor = None
            while True:
                query = ("?limit=1" + (f"&cursor={cursor}" if cursor else "")) if paged else ""
                r = client.get(f"/api/v1{path}{query}", headers=bearer(token))
                assert r.status_code == 200, path
                bodies.append((op.path, r.get_data(as_text=True)))
                cursor = r.get_json().get("next_cursor")
                if not cursor:
                    break
    return bodies


def _import(client, world, db) -> int:  # type: ignore[no-untyped-def]
    """A live scoring import through the API, so the crawl reaches its status resource."""
    row = {"submission_id": "L-1", "assessor": "assessor@a.test", "level": 2, "read": 1}
    rows = [row | {"criterion": c, "scored_at": "2026-03-01T14:05:00Z"} for c in CRITERIA]
    r = client.post(
        "/api/v1/operational-ratings",
        json={"rubric_version_id": world.rubric_id, "rows": rows},
        headers=posting(make_token(db, world, ["import"])),
    )
    assert r.status_code == 202, r.get_json()
    return int(r.get_json()["id"])


def _keyless(body: str) -> None:
    assert "Rationale for" not in body
    assert '"rationale"' not in body and '"entries"' not in body


def test_no_key_or_rationale_without_the_trainer_scope(client, world, db):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0, levels=[1] * len(world.criteria))
    imported = _import(client, world, db)
    fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, live_items_between=0)
    served = client.post(
        "/api/v1/validity/assignments",
        json={"assessor": "assessor@a.test", "external_ref": "q-1"},
        headers=posting(make_token(db, world, ["validity"])),
    )
    assert served.status_code == 201, served.get_json()
    delivered = seed_deliveries(db, world)
    more = {
        "import_id": imported,
        "flag_id": make_flag(db, world),
        "assignment_id": served.get_json()["assignment"]["id"],
        "endpoint_id": delivered["endpoint"],
        "delivery_id": delivered["delivered"],
    }
    for scopes in (["read"], ["read", "import", "validity", "admin"]):
        bodies = _crawl(client, world, make_token(db, world, scopes), scopes, **more)
        assert len(bodies) > len(_readable(scopes))
        for _, body in bodies:
            _keyless(body)
    trainer_bodies = _crawl(client, world, make_token(db, world, ["trainer"]), ["trainer"], **more)
    assert "Rationale for" in "".join(
        b for _, b in trainer_bodies
    )  # the crawl does reach the keys when allowed
    # Sheets and profiles are reached (with their levels and statistics) and are keyless even then.
    reached = {path for path, _ in trainer_bodies}
    assert {"/rounds/{round_id}/sheets", "/sheets/{sheet_id}", "/assessors/{assessor_id}/profile"} <= reached
    for path, body in trainer_bodies:
        if "sheet" in path or path.endswith("/profile"):
            _keyless(body)
            assert '"key"' not in body and "key_counts" not in body and "confusion" not in body
    sheet_pages = [b for p, b in trainer_bodies if p == "/rounds/{round_id}/sheets"]
    assert len(sheet_pages) == 2 and all('"scores"' in b for b in sheet_pages)
    profile = next(b for p, b in trainer_bodies if p.endswith("/profile"))
    assert '"exact"' in profile and '"ci_low"' in profile

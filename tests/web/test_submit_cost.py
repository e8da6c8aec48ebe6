"""What one score-sheet submit costs: a constant, small number of statements whatever the round
holds, the rubric read once per process, and on SQLite a write transaction that holds the write
lock only for the writing (issue 13, item 9)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import AuditEvent, CriterionScore, ScoreSheet

from ..conftest import csrf_token, post_form
from ..factories import score_form
from ..factories_reports import add_assessors, assign, insert_sheets
from .test_query_counts import counting

_CONTROL = re.compile(r"^\s*(BEGIN|SAVEPOINT|RELEASE|ROLLBACK|COMMIT)\b", re.IGNORECASE)
_RUBRIC_READ = re.compile(r"\bFROM (rubric_version|criterion|level|level_descriptor)\b")
# Every statement of a submit on PostgreSQL: the data statements of SQLite plus the audit chain's lock,
# and (issue 16) the DELETE of the assessor's draft, which the final sheet replaces.
BUDGET = 12


def _url(world: Any, anchor_index: int) -> str:
    return f"/rounds/{world.round_id}/anchors/{world.anchors[anchor_index]}"


def _submit_counted(app: Any, client: Any, world: Any, anchor_index: int) -> list[str]:
    """Submit the key's levels for one anchor; the statements of the POST alone."""
    url = _url(world, anchor_index)
    data = score_form(world, world.keys[world.anchors[anchor_index]])
    data["csrf_token"] = csrf_token(client, url)  # the page's GET also stamps the session's activity
    with counting(app) as statements:
        resp = client.post(url, data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return statements


def _data(statements: list[str]) -> list[str]:
    return [s for s in statements if not _CONTROL.match(s)]


def test_a_submit_runs_the_same_few_statements_however_full_the_round_is(app, client, login, world, db):
    login(world.emails["assessor"])
    first = _submit_counted(app, client, world, 0)

    others = add_assessors(db, world.program_a, 60, prefix="Busy")
    assign(db, world.round_id, others)
    insert_sheets(
        db,
        world.round_id,
        {(anchor, uid): world.keys[anchor] for anchor in world.anchors for uid in others},
    )
    second = _submit_counted(app, client, world, 1)

    assert len(_data(first)) == len(_data(second)) <= BUDGET, _data(second)
    # The rubric was read when the page was shown: a submit reads none of its rows.
    assert not [s for s in first + second if _RUBRIC_READ.search(s)]
    # One multi-row insert for the criterion scores, not one statement per criterion.
    assert sum("INSERT INTO criterion_score" in s for s in second) == 1
    mine = db.scalars(
        select(ScoreSheet.id).where(ScoreSheet.assessor_id == world.ids["assessor"]).order_by(ScoreSheet.id)
    ).all()
    assert len(mine) == 2
    stored = db.scalars(select(CriterionScore.level_value).where(CriterionScore.sheet_id == mine[1])).all()
    assert sorted(stored) == sorted(world.keys[world.anchors[1]])
    assert db.scalar(select(func.count()).where(AuditEvent.action == "sheet.submit")) == 2


def test_on_sqlite_the_write_lock_is_taken_after_the_reads(app, client, login, world, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("BEGIN IMMEDIATE (SQLite's write lock) does not exist on PostgreSQL")
    login(world.emails["assessor"])
    statements = _submit_counted(app, client, world, 0)
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    assert [statements[i] for i in begins] == ["BEGIN", "BEGIN IMMEDIATE"]
    reading, writing = statements[: begins[1]], statements[begins[1] :]
    # Who is asking, the round and the anchor were read before the lock was asked for ...
    assert any("FROM auth_session" in s for s in reading)
    assert any("FROM round " in s or "FROM round\n" in s for s in reading)
    # ... and under the lock: the checks that must be current, the inserts, the draft's delete
    # (issue 16), completion, audit.
    assert not any("FROM auth_session" in s for s in writing)
    assert len(_data(writing)) <= 8, _data(writing)
    assert any("INSERT INTO score_sheet" in s for s in writing)
    assert any("INSERT INTO audit_event" in s for s in writing)


def test_a_second_submit_with_a_broken_form_still_says_already_recorded(client, login, world, db):
    login(world.emails["assessor"])
    key = world.keys[world.anchors[0]]
    assert post_form(client, _url(world, 0), score_form(world, key)).status_code == 302
    broken = score_form(world, key)
    broken.pop(f"criterion_{world.criteria[0]}")  # the form alone would refuse this
    resp = post_form(client, _url(world, 0), broken, token_page="/dashboard")
    assert resp.status_code == 200
    assert "Already recorded" in resp.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 1
    assert db.scalar(select(func.count()).where(AuditEvent.action == "sheet.submit")) == 1

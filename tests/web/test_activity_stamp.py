"""The idle-timeout activity stamp never makes a writing request wait for its own write lock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from calibration.db import utcnow
from calibration.models import AuthSession, ScoreSheet

from ..conftest import csrf_token
from ..factories import score_form


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A regression would wait out the busy timeout and then fail: keep that wait short.
    return {**app_config, "SQLITE_BUSY_TIMEOUT_MS": 2000}


def test_a_submit_with_a_due_activity_stamp_is_stored_and_stamps(client, login, world, db):
    login(world.emails["assessor"])
    anchor = world.anchors[1]
    url = f"/rounds/{world.round_id}/anchors/{anchor}"
    token = csrf_token(client, url)  # the GET stamps; the POST below finds the stamp due again
    long_ago = utcnow() - dt.timedelta(minutes=5)
    db.execute(update(AuthSession).values(last_seen_at=long_ago))
    db.commit()
    resp = client.post(url, data={**score_form(world, world.keys[anchor]), "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    db.rollback()
    assert db.scalar(select(ScoreSheet.id).where(ScoreSheet.anchor_id == anchor)) is not None
    assert db.scalar(select(AuthSession.last_seen_at).order_by(AuthSession.id.desc())) > long_ago

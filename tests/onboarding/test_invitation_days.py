"""INVITATION_DAYS sets how long an invitation link works."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from calibration.models import AccountToken

from .conftest import text_of
from .test_tokens import NEW, invite


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "INVITATION_DAYS": 3}


def test_invitation_days_is_configurable(app, world, db, smtp_sink):
    invite(app, world, smtp_sink)
    db.rollback()
    row = db.scalar(select(AccountToken))
    assert row.expires_at - row.created_at == dt.timedelta(days=3)
    assert "expires in 3 days" in text_of(smtp_sink.to(NEW)[0])

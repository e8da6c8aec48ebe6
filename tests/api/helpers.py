"""Making program API tokens for tests (through the service, as the UI does)."""

from __future__ import annotations

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

"""Access rows for score sheets and their corrections (trainer workspace). The URLs are about
program A's assessor and their final sheet on anchor 0 (stored by the access test before it walks):
another program's trainer and every assessor get 404."""

from __future__ import annotations

from typing import Any

TRAINERS = {"trainer": 200, "admin": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.assessor_sheets": TRAINERS,
    "trainer.sheet_correct": TRAINERS,
}


def URL_VALUES(world: Any) -> dict[str, int]:
    # 0 (no such sheet) when nothing was submitted: every role then gets 404 and the matrix fails.
    return {"user_id": world.ids["assessor"], "sheet_id": world.sheets.get(("assessor", 0), 0)}

"""Access rows for the live scoring imports (issue 18 item 4): admins and lead trainers, each in
their own program. The world has no import, so an import's pages are 404 for everyone here;
tests/operational/test_import_web.py checks them with an import of program A for every role."""

from __future__ import annotations

from typing import Any

ACCESS: dict[str, dict[str, int]] = {
    "imports.imports_page": {"admin": 200, "trainer": 200, "trainer_b": 200},
    "imports.upload": {},  # POST only
    "imports.import_page": {},
    "imports.import_status": {},
    "imports.error_report": {},
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"import_id": 1}

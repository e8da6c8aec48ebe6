"""Access rows for score drafts. Saving one is POST only (a GET answers 405 to everyone); who may
POST (only the assessor assigned to the round, only before their sheet is final; everyone else
404, an expired session the login page) is tested in tests/web/test_drafts.py."""

from __future__ import annotations

ACCESS: dict[str, dict[str, int]] = {
    "assessor.save_draft": {},  # POST only
}

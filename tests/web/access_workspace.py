"""Access rows for the lead trainer's workspace of issue 17: program settings and the audit log.
Both are about the signed-in member's own program, so another program's trainer sees their own."""

from __future__ import annotations

ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.settings_page": ANY_TRAINER,
    "trainer.audit_log_page": ANY_TRAINER,
    "trainer.audit_log_export": ANY_TRAINER,
}

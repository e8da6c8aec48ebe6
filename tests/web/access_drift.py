"""Access rows for drift flags, recalibration sessions, the assessor's sessions page and calendar
feeds. The matrix world has no flags or sessions, so the pages about one flag or session are asked
for an id that does not exist: 404 for every role (anonymous: the login page). Who may open a real
flag or session (program A's trainers; another program's trainer and assessors get 404) is tested
in tests/drift/test_web.py. The feed with a token needs no login (the link is the credential); what
it answers to a live, revoked or unknown token is tested in tests/drift/test_calendar.py.
"""

from __future__ import annotations

from typing import Any

ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}
EVERYONE = {r: 200 for r in ("assessor", "assessor2", "trainer", "admin", "assessor_b", "trainer_b")}

PUBLIC = {"calendar.feed"}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.flags": ANY_TRAINER,
    "trainer.validity_items": ANY_TRAINER,  # validity items in live work (issue 18)
    "trainer.flag": {},  # id does not exist: 404 (scope tested in tests/drift/test_web.py)
    "trainer.flag_confirm": {},  # POST only
    "trainer.flag_dismiss": {},  # POST only
    "trainer.wait_retry": {},  # POST only (scope tested in tests/drift/test_waiting_for_anchors.py)
    "trainer.sessions_page": ANY_TRAINER,
    "trainer.session_page": {},  # id does not exist: 404 (scope tested in tests/drift/test_web.py)
    "trainer.session_edit": {},  # POST only
    "trainer.session_cancel": {},  # POST only
    "trainer.booking_attendance": {},  # POST only
    "trainer.booking_move": {},  # POST only
    "trainer.session_book": {},  # POST only (who may book, and whom: tests/drift/test_hand_booking.py)
    "trainer.mail_page": ANY_TRAINER,
    "trainer.mail_retry": {},  # POST only
    "assessor_sessions.sessions_page": {"assessor": 200, "assessor2": 200, "assessor_b": 200},
    "assessor_sessions.respond": {},  # POST only
    "calendar.manage": EVERYONE,
    "calendar.new_link": {},  # POST only
    "calendar.revoke": {},  # POST only
}


def URL_VALUES(world: Any) -> dict[str, Any]:
    return {
        "wait_id": 999_999,
        "flag_id": 999_999,
        "session_id": 999_999,
        "booking_id": 999_999,
        "token": "not-a-real-token",
    }

"""Access rows for onboarding and certification: invitations and assessors (trainer workspace), the
assessor's certification page, and the public pages behind emailed links.

The public token pages need no login (the link is the credential), so they join ``PUBLIC``; what
they answer to a valid, used, expired, withdrawn or tampered link is tested in
tests/onboarding/test_tokens.py. The person pages are about program A's assessor: another program's
trainer gets 404. The POST-only actions answer 405 to a GET.
"""

from __future__ import annotations

from typing import Any

TRAINERS = {"trainer": 200, "admin": 200}
ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

PUBLIC = {"account.accept_invitation", "account.forgot_password", "account.reset_password"}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.invitations": ANY_TRAINER,
    "trainer.invitation_resend": {},  # POST only
    "trainer.invitation_revoke": {},  # POST only
    "trainer.people": ANY_TRAINER,
    "trainer.person": TRAINERS,
    "trainer.person_decide": {},  # POST only
    "trainer.person_suspend": {},  # POST only
    "trainer.person_reinstate": {},  # POST only
    "assessor.certification": {"assessor": 200, "assessor2": 200, "assessor_b": 200},
    "account.change_password": {
        r: 200 for r in ("assessor", "assessor2", "trainer", "admin", "assessor_b", "trainer_b")
    },
    "account.time_zone": {
        r: 200 for r in ("assessor", "assessor2", "trainer", "admin", "assessor_b", "trainer_b")
    },
}


def URL_VALUES(world: Any) -> dict[str, Any]:
    return {"user_id": world.ids["assessor"], "token": "not-a-real-token"}

"""Access rows for key challenges. The matrix world has no challenge, so the page about one is asked
for an id that does not exist: 404 for every role. Who may open and answer a real challenge (program
A's trainers; another program's trainer and every assessor get 404), and that only its author sees
it, is tested in tests/web/test_challenges.py. The POST-only actions answer 405 to a GET."""

from __future__ import annotations

from typing import Any

ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.challenges_page": ANY_TRAINER,
    "trainer.challenge_page": {},  # id does not exist: 404
    "trainer.challenge_answer": {},  # POST only
    "assessor.challenge": {},  # POST only
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"challenge_id": 0}

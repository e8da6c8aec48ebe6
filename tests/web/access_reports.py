"""Access rows for the report pages and CSV exports (round report, printable report, assessor
profile, program overview). Out of scope (another program's trainer, any assessor) is 404."""

from __future__ import annotations

from typing import Any

TRAINERS = {"trainer": 200, "admin": 200}
# Not about one object: another program's trainer sees their own program there.
ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.round_print": TRAINERS,
    "trainer.round_print_css": TRAINERS,
    "trainer.round_export": TRAINERS,
    "trainer.assessor_profile": TRAINERS,
    "trainer.profile_export": TRAINERS,
    "trainer.overview": ANY_TRAINER,
    "trainer.overview_export": ANY_TRAINER,
    # issue 18: live scoring agreement, about the trainer's own program
    "trainer.operational": ANY_TRAINER,
    "trainer.operational_csv": ANY_TRAINER,
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"user_id": world.ids["assessor"]}

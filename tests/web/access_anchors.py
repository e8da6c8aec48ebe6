"""Access rows for the trainer's rubric and anchor pages and the assessor's attachment download.

The matrix world has no attachment files, so both download endpoints answer 404 to every role
there; who may download a real file is tested with one in tests/web/test_trainer_anchors.py.
"""

from __future__ import annotations

from typing import Any

TRAINERS = {"trainer": 200, "admin": 200}
# Pages that are not about one object: another program's trainer sees their own program there.
ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.rubrics": ANY_TRAINER,
    "trainer.rubric_page": TRAINERS,
    "trainer.rubric_upload": ANY_TRAINER,
    "trainer.anchors": ANY_TRAINER,
    "trainer.anchor_new": ANY_TRAINER,
    "trainer.anchor_page": TRAINERS,
    "trainer.anchor_edit": TRAINERS,
    "trainer.anchor_key": TRAINERS,
    "trainer.anchor_attachments": TRAINERS,
    "trainer.anchor_attachment": {},  # no file in the matrix world: 404 for all (see module docstring)
    "trainer.anchor_attachment_remove": {},  # POST only
    "assessor.attachment": {},  # no file in the matrix world: 404 for all (see module docstring)
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"rubric_version_id": world.rubric_id, "attachment_id": 1}

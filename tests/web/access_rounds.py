"""Access rows for creating and managing rounds (trainer workspace).

The matrix world's round is program A's open round; the POST-only actions answer 405 to a GET.
Who may POST (and that another program's trainer gets 404 with nothing written) is tested in
tests/web/test_trainer_rounds_admin.py.
"""

from __future__ import annotations

TRAINERS = {"trainer": 200, "admin": 200}
# Not about one object: another program's trainer creates rounds in their own program.
ANY_TRAINER = {"trainer": 200, "admin": 200, "trainer_b": 200}

ACCESS: dict[str, dict[str, int]] = {
    "trainer.round_new": ANY_TRAINER,
    "trainer.round_manage": TRAINERS,
    "trainer.round_anchors": {},  # POST only
    "trainer.round_anchors_auto": {},  # POST only
    "trainer.round_assessors": {},  # POST only
    "trainer.round_window": {},  # POST only
    "trainer.round_open": {},  # POST only
    "trainer.round_extend": {},  # POST only
    "trainer.round_close": {},  # POST only
}

"""Access rows for the anchor library (issue 16, item 9) and the trainer's release action.

Every assessor of the matrix world is certified, so each opens their own program's library. The
library page of one anchor uses the world's first anchor, which is in an open round and was never
released: it is 404 for everyone (an unreleased anchor's key is never in the library). Released
anchors, uncertified assessors and the release itself are tested in tests/web/test_library.py.
"""

from __future__ import annotations

ACCESS: dict[str, dict[str, int]] = {
    "assessor.library_page": {"assessor": 200, "assessor2": 200, "assessor_b": 200},
    "assessor.library_anchor": {},
    "trainer.anchor_release": {"trainer": 200, "admin": 200},
}

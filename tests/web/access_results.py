"""Access rows for the assessor's round result and My progress (issue 16, items 4-5).

In the matrix the assessor has scored one anchor of five, so no one has a result for the round yet:
the result page is 404 for everyone (out of scope, or not finished). Once the assessor's last sheet
is final it opens to them alone (tests/web/test_round_result.py). My progress is the signed-in
assessor's own page: every assessor reaches theirs, trainers and admins do not.
"""

from __future__ import annotations

ACCESS: dict[str, dict[str, int]] = {
    "assessor.round_result": {},
    "assessor.progress": {"assessor": 200, "assessor2": 200, "assessor_b": 200},
}

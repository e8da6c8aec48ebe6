"""Access rows for another try at a practice anchor (issue 16, item 7).

In the matrix the URL names the world's calibration round, which has no second try: 404 for
everyone. On a practice round only its assigned assessor reaches it, only after a first try that
differed from the key and while tries remain (tests/web/test_practice_tries.py; the blindness crawl
covers the page in tests/web/test_blindness_crawl.py).
"""

from __future__ import annotations

ACCESS: dict[str, dict[str, int]] = {
    "assessor.try_again": {},
}

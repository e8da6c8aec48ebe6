"""Access rows for the API (issue 18) and its token page.

The token page is for admins and lead trainers, in their own program (a token of program B is
listed only on B's page). The ``/api/v1`` resources are ``SELF_GUARDED``: the session matrix
does not apply to them, since the API blueprint installs its own token guard, which answers every
request without a valid bearer token with 401 problem+json whatever browser session comes with it
(tests/api/test_api_access.py walks every API rule for every role). The OpenAPI document and its
reference page are public.
"""

from __future__ import annotations

from typing import Any

from calibration.web.api.spec import OPERATIONS

PUBLIC = {"api.openapi", "api.reference"}
SELF_GUARDED = {f"api.{op.operation_id}" for op in OPERATIONS}

ACCESS: dict[str, dict[str, int]] = {
    "api_tokens.tokens_page": {"admin": 200, "trainer": 200, "trainer_b": 200},
    "api_tokens.create": {},  # POST only
    "api_tokens.revoke": {},  # POST only
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"token_id": 1}

"""Access rows for Open Badges credentials (issue 19).

The credential pages are public (a credential is meant to be shown): the issuer profile, the status
list, each credential's page and JSON, and the verifier; they join ``PUBLIC``, and what they answer
(200 for a real credential or program, 404 otherwise, to anyone) is tested in
tests/credentials/test_web.py. "Get your credential" is a POST on My certification: GET is 405.
"""

from __future__ import annotations

PUBLIC = {
    "credentials.issuer",
    "credentials.status_list",
    "credentials.page",
    "credentials.document",
    "credentials.verify",
}

ACCESS: dict[str, dict[str, int]] = {
    "assessor.get_credential": {},  # POST only
}

"""Every /api/v1 rule refuses a browser session without a token (401 problem+json), for every
role; only the document and its reference page are open. The session guard's matrix
(tests/web/test_access.py) lists these endpoints as public for that reason."""

from __future__ import annotations

import pytest

from calibration.web.api.blueprint import PUBLIC_ENDPOINTS

ROLES = ["anonymous", "assessor", "trainer", "admin", "trainer_b"]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_rule_needs_a_token(app, client, world, login, role):
    if role != "anonymous":
        login(world.emails[role])
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(rules) > len(PUBLIC_ENDPOINTS)
    values = {
        "round_id": world.round_id,
        "anchor_id": world.anchors[0],
        "assessor_id": world.ids["assessor"],
        "rubric_version_id": world.rubric_id,
        "sheet_id": 1,  # refused before it is looked up
        "assignment_id": 1,
        "attachment_id": 1,
        "import_id": 1,
        "flag_id": 1,
        "endpoint_id": 1,
        "delivery_id": 1,
    }
    for rule in rules:
        url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        r = client.open(url, method=method, json={} if method == "POST" else None)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert r.status_code == 200, url
            continue
        assert r.status_code == 401, url
        assert r.mimetype == "application/problem+json", url
        assert b"items" not in r.data


def test_the_api_guard_is_installed(app):
    from calibration.web.api.blueprint import TokenGuard
    from calibration.web.guards import guard_of

    assert isinstance(guard_of(app, "api"), TokenGuard)

"""Every rule in the URL map x every role against one allow matrix (a new route without an entry fails)."""

from __future__ import annotations

import pytest

from ..conftest import post_form
from ..factories import submit

# endpoint -> {role: expected status of GET on program A's objects}. Not listed: 404 (out of scope
# or wrong role). Anonymous users are always sent to /login (302) on guarded endpoints.
# The assessor has a final sheet on anchor 0 (feedback allowed, scoring redirects to it);
# assessor2 is assigned but has not scored (scoring allowed, feedback hidden: blindness).
# Areas added later keep their rows in tests/web/access_*.py as ``ACCESS = {...}`` (merged below),
# with a ``URL_VALUES(world) -> dict`` for any new URL parameters they introduce.
PUBLIC = {"static", "auth.login", "auth.index", "auth.healthz"}
ALLOW: dict[str, dict[str, int]] = {
    "auth.logout": {},  # POST only: GET is 405 for everyone
    "assessor.dashboard": {"assessor": 200, "assessor2": 200, "assessor_b": 200},
    "assessor.round_page": {"assessor": 200, "assessor2": 200},
    "assessor.score": {"assessor": 302, "assessor2": 200},
    "assessor.feedback": {"assessor": 200},
    "trainer.rounds": {"admin": 200, "trainer": 200, "trainer_b": 200},
    "trainer.round_page": {"admin": 200, "trainer": 200},
    "admin.index": {"admin": 200},
    "admin.switch_account": {},  # POST only
}


def _areas() -> list[object]:
    import importlib
    import pkgutil
    from pathlib import Path

    here = Path(__file__).parent
    return [
        importlib.import_module(f"{__package__}.{m.name}")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("access_")
    ]


# Endpoints of a blueprint with its own credential instead of the login session (the API's bearer
# tokens): the session matrix does not apply; each area's own tests walk them for every role.
SELF_GUARDED: set[str] = set()
for _area in _areas():
    ALLOW.update(_area.ACCESS)  # type: ignore[attr-defined]
    PUBLIC |= getattr(_area, "PUBLIC", set())  # pages anyone may open (e.g. behind an emailed link)
    SELF_GUARDED |= getattr(_area, "SELF_GUARDED", set())

ROLES = ["anonymous", "assessor", "assessor2", "trainer", "admin", "assessor_b", "trainer_b"]


def test_every_rule_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - PUBLIC - SELF_GUARDED - set(ALLOW)
    assert not missing, f"routes without an access rule: {sorted(missing)}"
    assert not (set(ALLOW) - endpoints), "matrix lists routes that no longer exist"


def _url(app, endpoint, world):  # type: ignore[no-untyped-def]
    values = {"round_id": world.round_id, "anchor_id": world.anchors[0], "filename": "app.css"}
    for area in _areas():
        values.update(getattr(area, "URL_VALUES", lambda w: {})(world))
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, world, db, role, login, client):
    # The assessor has a final sheet on anchor 0, so their feedback page is allowed.
    submit(db, world, "assessor")
    if role != "anonymous":
        login(world.emails[role])
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint in SELF_GUARDED:
            continue
        url = _url(app, rule.endpoint, world)
        if "GET" not in rule.methods:
            assert client.get(url).status_code == 405, url
            continue
        status = client.get(url).status_code
        expected = 302 if role == "anonymous" else ALLOW[rule.endpoint].get(role, 404)
        assert status == expected, f"{role} GET {url}: {status}, expected {expected}"


def test_guessed_ids_of_another_program_are_404(client, login, world):
    login(world.emails["assessor"])
    for url in (
        f"/rounds/{world.round_b}",
        f"/rounds/{world.round_b}/anchors/{world.anchor_b}",
        f"/rounds/{world.round_b}/anchors/{world.anchor_b}/feedback",
        f"/rounds/{world.round_id}/anchors/{world.anchor_b}",
        "/rounds/999999",
    ):
        assert client.get(url).status_code == 404, url
    client2 = client.application.test_client()
    post_form(client2, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
    assert client2.get(f"/trainer/rounds/{world.round_b}").status_code == 404


def test_round_is_invisible_before_it_opens(client, login, world, db):
    import datetime as dt

    from calibration.db import utcnow
    from calibration.models import Round

    rnd = db.get(Round, world.round_id)
    rnd.opens_at = utcnow() + dt.timedelta(days=2)
    rnd.closes_at = utcnow() + dt.timedelta(days=9)
    db.commit()
    login(world.emails["assessor"])
    assert client.get(f"/rounds/{world.round_id}").status_code == 404
    assert "Open round" not in client.get("/dashboard").get_data(as_text=True)

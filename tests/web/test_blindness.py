"""Blindness: before the assessor's own sheet is final, no key, rationale or others' scores anywhere."""

from __future__ import annotations

from ..conftest import post_form
from ..factories import score_form, submit


def _crawl(client, world):  # type: ignore[no-untyped-def]
    pages = {}
    for url in [
        "/dashboard",
        f"/rounds/{world.round_id}",
        *[f"/rounds/{world.round_id}/anchors/{a}" for a in world.anchors],
        *[f"/rounds/{world.round_id}/anchors/{a}/feedback" for a in world.anchors],
    ]:
        resp = client.get(url, follow_redirects=True)
        pages[url] = (resp.status_code, resp.get_data(as_text=True))
    return pages


def test_key_and_rationale_absent_before_final_present_after_for_that_anchor_only(client, login, world, db):
    # A colleague's notes must never reach this assessor either.
    submit(db, world, "assessor2", notes="COLLEAGUE-SECRET-NOTE")
    login(world.emails["assessor"])
    before = _crawl(client, world)
    for url, (status, body) in before.items():
        assert "Rationale for" not in body, url
        assert "COLLEAGUE-SECRET-NOTE" not in body, url
        if url.endswith("/feedback"):
            assert status == 404, url

    resp = post_form(
        client,
        f"/rounds/{world.round_id}/anchors/{world.anchors[0]}",
        score_form(world, world.keys[world.anchors[0]]),
    )
    assert resp.status_code == 302

    after = _crawl(client, world)
    first_feedback = after[f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/feedback"]
    assert first_feedback[0] == 200
    assert "Rationale for Anchor 1" in first_feedback[1]
    for url, (status, body) in after.items():
        assert "COLLEAGUE-SECRET-NOTE" not in body, url
        for other in range(2, 6):
            assert f"Rationale for Anchor {other}" not in body, url
        if url.endswith("/feedback") and str(world.anchors[0]) not in url:
            assert status == 404, url


def test_score_page_has_no_key_levels_in_hidden_fields(client, login, world):
    login(world.emails["assessor"])
    body = client.get(f"/rounds/{world.round_id}/anchors/{world.anchors[0]}").get_data(as_text=True)
    import re

    hidden = re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", body)
    assert hidden and all('name="csrf_token"' in tag for tag in hidden), hidden
    for anchor in world.anchors:
        assert "Rationale for Anchor" not in body, anchor

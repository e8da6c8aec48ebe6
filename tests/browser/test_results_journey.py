"""Issue 16 items 4-6 in a real browser: from the dashboard to the round result page and My progress,
and the two-level demo rubric, whose pages never say "adjacent".

Read-only on the shared demo server: tom's finished rounds (no other test changes them) and
daniel's finished open round.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from calibration.models import Round

from .support import BINARY_ROUND, NARROW, OPEN_ROUND, PAST_ROUND, log_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def round_id(site, name: str) -> int:  # type: ignore[no-untyped-def]
    with site.session() as session:
        found = session.scalar(select(Round.id).where(Round.name == name))
    assert found is not None, name
    return found


def test_from_the_dashboard_to_the_round_result_and_my_progress(page: Page, site) -> None:
    log_in(page, site.base, "daniel@demo.test")  # daniel has finished the open round
    expect(page.get_by_role("heading", level=1)).to_have_text("My rounds")
    latest = page.get_by_role("region", name="Your latest result")
    expect(latest).to_contain_text(OPEN_ROUND)
    latest.get_by_role("link", name=OPEN_ROUND).click()
    expect(page).to_have_url(site.url(f"/rounds/{site.open_round.id}/result"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your result: {OPEN_ROUND}")
    checks = page.get_by_role("table").first
    for title in (
        "Exact agreement with the key",
        "Within one level of the key",
        "Same call as the key on whether a criterion is earned",
    ):
        expect(checks.get_by_role("rowheader", name=title)).to_be_visible()
    expect(page.get_by_role("heading", name="Your misses by criterion")).to_be_visible()
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()

    # The round page links to the same result.
    page.get_by_role("link", name="Back to the round").click()
    page.get_by_role("link", name="See your result for this round").click()
    expect(page).to_have_url(site.url(f"/rounds/{site.open_round.id}/result"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My progress").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My progress")
    rounds = page.locator("#rounds")
    for name in (OPEN_ROUND, PAST_ROUND, BINARY_ROUND):
        expect(rounds.get_by_role("rowheader", name=name)).to_be_visible()
    expect(page.get_by_role("heading", name="Weak spots")).to_be_visible()

    # My certification lists every finished round's result.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My certification").click()
    page.get_by_role("region", name="Your round results").get_by_role("link", name=PAST_ROUND).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your result: {PAST_ROUND}")


def test_the_two_level_rubric_never_says_adjacent(new_page, site) -> None:  # type: ignore[no-untyped-def]
    rid = round_id(site, BINARY_ROUND)
    with site.session() as session:
        from calibration.models import RoundAnchor

        anchors = session.scalars(select(RoundAnchor.anchor_id).where(RoundAnchor.round_id == rid)).all()
    paths = [
        f"/rounds/{rid}/result",
        f"/rounds/{rid}",
        "/progress",
        "/certification",
        "/dashboard",
        *(f"/rounds/{rid}/anchors/{a}/feedback" for a in anchors),
    ]
    for viewport in (None, NARROW):
        page = new_page(viewport)
        log_in(page, site.base, "tom@demo.test")
        for path in paths:
            response = page.goto(site.url(path))
            assert response is not None and response.status == 200, path
            text = page.locator("body").inner_text().lower()
            assert "adjacent" not in text, path
            assert "adjacent" not in page.content().lower(), path
    page.goto(site.url(f"/rounds/{rid}/result"))
    checks = page.get_by_role("table").first
    for title in ("Within one level of the key", "Scores two or more levels off"):
        row = checks.get_by_role("row").filter(has=page.get_by_role("rowheader", name=title))
        expect(row).to_contain_text("Not applicable")
        expect(row).not_to_contain_text("Met")

"""End-to-end journeys in a real browser: an assessor scoring with the keyboard only, a lead
trainer reading agreement, logging in and out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .support import (
    BINARY_ROUND,
    FIRST_ROUND,
    OPEN_ROUND,
    PAST_ROUND,
    active_element,
    agreement_by_assessor,
    log_in,
    screenshot,
    tab_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _planned_levels(levels: tuple[int, ...], key_levels: list[int]) -> list[int]:
    """Exact on the first criterion, adjacent on the second, two levels off on the third, exact after."""
    top = len(levels) - 1
    plan = []
    for index, key in enumerate(key_levels):
        i = levels.index(key)
        if index == 1:
            i = i + 1 if i < top else i - 1
        elif index == 2:
            i = i + 2 if i + 2 <= top else i - 2
        plan.append(levels[i])
    return plan


def test_assessor_scores_an_anchor_with_the_keyboard_and_sees_feedback(page: Page, site) -> None:
    rnd = site.open_round
    anchor = rnd.anchors[0]
    score_url = site.url(f"/rounds/{rnd.id}/anchors/{anchor.id}")
    feedback_url = score_url + "/feedback"

    log_in(page, site.base, "maya@demo.test")
    expect(page).to_have_url(site.url("/dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My rounds")
    page.get_by_role("link", name=OPEN_ROUND, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(OPEN_ROUND)
    page.get_by_role("link", name=anchor.title, exact=True).click()
    expect(page).to_have_url(score_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(anchor.title)

    # From here on: keyboard only. Tab into each radio group, arrow keys (or Space) to choose.
    plan = _planned_levels(rnd.levels, [c.key_level for c in anchor.criteria])
    first = f"criterion_{anchor.criteria[0].id}"
    tab_until(page, lambda el: el.get("name") == first)
    for number, (criterion, level) in enumerate(zip(anchor.criteria, plan, strict=True)):
        name = f"criterion_{criterion.id}"
        if number:
            page.keyboard.press("Tab")
        focused = active_element(page)
        assert (focused["type"], focused["name"], focused["value"]) == ("radio", name, str(rnd.levels[0])), (
            f"Tab did not land on the first level of {criterion.title!r}: {focused}"
        )
        steps = rnd.levels.index(level)
        if steps == 0:
            page.keyboard.press("Space")
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
        expect(page.locator(f'input[name="{name}"]:checked')).to_have_value(str(level))
    page.keyboard.press("Tab")
    assert active_element(page)["tag"] == "textarea"
    page.keyboard.type("Scored from the keyboard.")
    page.keyboard.press("Tab")
    focused = active_element(page)
    # Issue 16: a review step comes before the final submit (in the page, with JavaScript).
    assert (focused["tag"], focused["text"]) == ("button", "Review my scores")
    page.keyboard.press("Enter")
    expect(page.locator("#review-panel")).to_be_focused()
    expect(page.locator("#review-panel")).to_contain_text("final, cannot be changed")
    page.keyboard.press("Tab")
    focused = active_element(page)
    assert (focused["tag"], focused["text"]) == ("button", "Submit final scores")
    page.keyboard.press("Enter")

    expect(page).to_have_url(feedback_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Feedback: {anchor.title}")
    rows = page.locator("table.feedback tbody tr")
    expect(rows).to_have_count(len(anchor.criteria))
    for index, (criterion, level) in enumerate(zip(anchor.criteria, plan, strict=True)):
        row = rows.nth(index)
        expect(row.get_by_role("rowheader")).to_have_text(criterion.title)
        expect(row).to_contain_text(criterion.rationale)
        diff = rnd.levels.index(level) - rnd.levels.index(criterion.key_level)
        expected = {0: "Exact match", 1: "Adjacent", -1: "Adjacent"}.get(diff, f"Off by {abs(diff)} levels")
        expect(row.locator(".verdict")).to_contain_text(expected)
    expect(page.locator("main")).to_contain_text("Scored from the keyboard.")
    for text in ("Exact match", "Adjacent", "Off by"):
        expect(page.locator("table.feedback")).to_contain_text(text)

    # The sheet is final: the scoring page now leads to the feedback, by Back and by address.
    page.go_back()
    expect(page).to_have_url(feedback_url)
    page.goto(score_url)
    expect(page).to_have_url(feedback_url)
    page.goto(site.url(f"/rounds/{rnd.id}"))
    expect(page.get_by_role("listitem").filter(has_text=anchor.title)).to_contain_text("see feedback")


def test_invalid_submission_keeps_the_chosen_levels_and_explains(page: Page, site) -> None:
    rnd = site.open_round
    anchor = rnd.anchors[1]
    score_url = site.url(f"/rounds/{rnd.id}/anchors/{anchor.id}")
    log_in(page, site.base, "maya@demo.test")
    page.goto(score_url)
    chosen = {c.id: c.key_level for c in anchor.criteria[:-1]}
    missing = anchor.criteria[-1]
    for criterion_id, level in chosen.items():
        page.locator(f'input[name="criterion_{criterion_id}"][value="{level}"]').check()
    page.get_by_label("Notes").fill("Half-way notes.")
    # A browser would refuse to submit with a required radio group empty; the server must cope anyway.
    page.evaluate(
        "() => document.querySelectorAll('[required]').forEach(el => el.removeAttribute('required'))"
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Review my scores").click()
    assert navigation.value.status == 400

    expect(page).to_have_url(score_url)
    expect(page.get_by_role("alert")).to_contain_text(f"Choose a level for “{missing.title}”.")
    group = page.get_by_role("group", name=re.compile(re.escape(missing.title)))
    expect(group).to_contain_text(f"Choose a level for “{missing.title}”.")
    error_id = group.get_attribute("aria-describedby")
    assert error_id and page.locator(f"#{error_id}").is_visible()
    for criterion_id, level in chosen.items():
        expect(page.locator(f'input[name="criterion_{criterion_id}"]:checked')).to_have_value(str(level))
    expect(page.locator(f'input[name="criterion_{missing.id}"]:checked')).to_have_count(0)
    expect(page.get_by_label("Notes")).to_have_value("Half-way notes.")

    # Completing the missing criterion now submits.
    page.locator(f'input[name="criterion_{missing.id}"][value="{missing.key_level}"]').check()
    page.get_by_role("button", name="Review my scores").click()
    page.get_by_role("button", name="Submit final scores").click()
    expect(page).to_have_url(score_url + "/feedback")


def test_lead_trainer_reads_rounds_and_agreement_per_assessor(page: Page, site) -> None:
    log_in(page, site.base, "trainer@demo.test")
    expect(page).to_have_url(site.url("/trainer/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rounds")
    table = page.get_by_role("table")
    for name in (
        OPEN_ROUND,
        PAST_ROUND,
        BINARY_ROUND,
        FIRST_ROUND,
    ):
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(table.get_by_role("row").filter(has_text=OPEN_ROUND)).to_contain_text("open")
    expect(table.get_by_role("row").filter(has_text=PAST_ROUND)).to_contain_text("closed")

    table.get_by_role("link", name=PAST_ROUND, exact=True).click()
    expect(page).to_have_url(site.url(f"/trainer/rounds/{site.past_round.id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(PAST_ROUND)
    with site.session() as session:
        expected = agreement_by_assessor(session, site.past_round)
    assert len(expected) == 7
    for name, (exact, adjacent) in expected.items():
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"{exact * 100:.0f}%")
        expect(row).to_contain_text(f"{adjacent * 100:.0f}%")
        expect(row).to_contain_text("finished")


def test_login_with_a_wrong_password_explains_and_logout_ends_the_session(page: Page, site) -> None:
    log_in(page, site.base, "grace@demo.test", "not-the-password")
    expect(page).to_have_url(site.url("/login"))
    expect(page.get_by_role("alert")).to_have_text("The email or password is not right.")
    expect(page.get_by_label("Email")).to_have_value("grace@demo.test")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "login-error-1280")

    log_in(page, site.base, "grace@demo.test")
    expect(page).to_have_url(site.url("/dashboard"))
    expect(page.get_by_role("banner")).to_contain_text("Grace Lin")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(site.url("/login"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto(site.url("/dashboard"))
    expect(page).to_have_url(re.compile(re.escape(site.url("/login?next=")) + r".*dashboard"))

"""Issue 16, items 9 and 10 in a real browser: a lead trainer releases an anchor and a certified
assessor browses the library by criterion and level; the dashboard's rounds become cards at 390 px
with nothing cut off; the header folds behind "Menu" on a narrow screen and opens by keyboard.

Demo people (see support.py): the trainer releases a spring calibration anchor (every demo assessor
has read its key already); daniel reads the library; priya's dashboard is only read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .support import (
    NARROW,
    WIDE,
    active_element,
    ax_nodes,
    describe,
    horizontal_overflow,
    log_in,
    releasable_anchors,
    run_axe,
    screenshot,
    tab_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _axe_clean(page: Page, name: str) -> None:
    result = run_axe(page, name)
    blocking = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe found serious/critical problems on {name}:\n{describe(blocking)}"


def test_a_trainer_releases_an_anchor_and_a_certified_assessor_studies_it(
    new_page: Callable[..., Page], site
) -> None:
    anchor_id = releasable_anchors(site)[0]
    trainer = new_page(WIDE)
    log_in(trainer, site.base, "trainer@demo.test")
    trainer.goto(site.url(f"/trainer/anchors/{anchor_id}"))
    title = trainer.get_by_role("heading", level=1).inner_text()
    trainer.get_by_role("link", name="Release to the anchor library…").click()
    expect(trainer.get_by_role("heading", level=1)).to_have_text(f"Release “{title}” to the anchor library")
    expect(trainer.get_by_text("leaves every pool of unseen anchors permanently")).to_be_visible()
    _axe_clean(trainer, "anchor-release-1280")
    trainer.get_by_role("button", name="Release for good").click()
    expect(trainer.get_by_role("status").filter(has_text="is now in the anchor library")).to_be_visible()
    expect(trainer.get_by_role("link", name="Release to the anchor library…")).to_have_count(0)

    page = new_page(WIDE)
    log_in(page, site.base, "daniel@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Anchor library").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anchor library")
    links = page.get_by_role("link", name=title)
    n_criteria = links.count()
    assert n_criteria >= 2, "one link per criterion, on the shelf of the key's level"
    first_shelf = page.locator("table.library-shelf").first
    row = first_shelf.get_by_role("row").filter(has=page.get_by_role("link", name=title))
    level_name = row.get_by_role("rowheader").inner_text()
    screenshot(page, "library-1280")
    _axe_clean(page, "library-1280")
    page.set_viewport_size(NARROW)
    assert not horizontal_overflow(page), horizontal_overflow(page)
    screenshot(page, "library-390")
    _axe_clean(page, "library-390")
    page.set_viewport_size(WIDE)

    row.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    key = page.locator("table.library-key")
    expect(key.get_by_role("row")).to_have_count(n_criteria + 1)
    first = key.get_by_role("row").nth(1)
    expect(first).to_contain_text(level_name)  # the shelf and the key agree
    expect(first.locator("td.rationale")).not_to_be_empty()
    screenshot(page, "library-anchor-1280")
    _axe_clean(page, "library-anchor-1280")
    page.set_viewport_size(NARROW)
    assert not horizontal_overflow(page), horizontal_overflow(page)
    screenshot(page, "library-anchor-390")
    _axe_clean(page, "library-anchor-390")


def test_the_dashboard_rounds_are_cards_at_390_px(new_page: Callable[..., Page], site) -> None:
    page = new_page(NARROW)
    log_in(page, site.base, "priya@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("My rounds")
    assert not horizontal_overflow(page), horizontal_overflow(page)
    table = page.locator("table.cards")
    rows = table.locator("tbody tr")
    assert rows.count() >= 2
    for i in range(rows.count()):
        for label in ("Round", "Kind", "Window", "Progress", "State"):
            cell = rows.nth(i).locator(f'td[data-label="{label}"]')
            expect(cell).to_be_visible()
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], (label, box)
    # One card per round: the rows stack.
    a, b = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    assert a and b and b["y"] >= a["y"] + a["height"] and a["width"] > NARROW["width"] * 0.8
    # Still a table with column headers for screen readers.
    roles = {str((n.get("role") or {}).get("value")) for n in ax_nodes(page)}
    assert {"table", "row", "columnheader", "cell"} <= roles, roles
    header = page.locator("header.site-header").bounding_box()
    assert header and header["height"] <= 70, f"the header takes {header['height']} px"
    screenshot(page, "dashboard-cards-390")


def test_the_header_folds_on_a_narrow_screen_and_opens_by_keyboard(
    new_page: Callable[..., Page], site
) -> None:
    page = new_page(NARROW)
    log_in(page, site.base, "priya@demo.test")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.locator("summary", has_text="Menu")
    tab_until(page, lambda el: el.get("tag") == "summary")
    expect(menu).to_be_focused()
    assert page.evaluate("() => document.activeElement.closest('details').open") is False
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    screenshot(page, "header-menu-open-390")
    _axe_clean(page, "header-menu-open-390")
    el = tab_until(page, lambda el: el.get("tag") == "a" and el.get("text") == "My progress")
    assert el["text"] == "My progress"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My progress")
    expect(nav).to_be_hidden()  # folded again on the next page
    # Wide screens: no "Menu", the navigation is simply there.
    page.set_viewport_size(WIDE)
    expect(menu).to_be_hidden()
    expect(nav).to_be_visible()
    assert active_element(page)  # the page is still usable


def test_the_round_page_and_the_scoring_switch_at_390_px(new_page: Callable[..., Page], site) -> None:
    """The round page's anchors are cards with nothing cut off; on the scoring page a bar switches
    between the evidence and the rubric (plain links: no script needed), and is gone when wide."""
    page = new_page(NARROW)
    log_in(page, site.base, "helen@demo.test")  # helen never submits in the open round
    page.goto(site.url(f"/rounds/{site.open_round.id}"))
    assert not horizontal_overflow(page), horizontal_overflow(page)
    items = page.locator("ol.anchor-list > li")
    assert items.count() == len(site.open_round.anchors)
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], box
    screenshot(page, "round-cards-390")
    _axe_clean(page, "round-390")

    page.goto(site.url(f"/rounds/{site.open_round.id}/anchors/{site.open_round.anchors[0].id}"))
    switch = page.get_by_role("navigation", name="Evidence or rubric")
    expect(switch).to_be_visible()
    rubric_heading = page.locator("#rubric-heading")
    assert not _in_view(page, rubric_heading)
    switch.get_by_role("link", name="Rubric").click()
    expect(page).to_have_url(re.compile(r"#rubric-heading$"))
    assert _in_view(page, rubric_heading), "the rubric is not on screen after the switch"
    assert switch.bounding_box() is not None  # the bar stays at the top while scrolling
    switch.get_by_role("link", name="Evidence").click()
    assert _in_view(page, page.locator("#evidence-heading"))
    screenshot(page, "score-switch-390")
    _axe_clean(page, "score-switch-390")
    page.set_viewport_size(WIDE)
    expect(switch).to_be_hidden()


def _in_view(page: Page, locator) -> bool:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    return bool(box) and 0 <= box["y"] < height and box["y"] + box["height"] > 0


def test_the_menu_and_the_switch_work_without_javascript(browser, site) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=NARROW, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, site.base, "helen@demo.test")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_be_hidden()
        tab_until(page, lambda el: el.get("tag") == "summary")
        page.keyboard.press("Enter")
        expect(nav).to_be_visible()
        page.goto(site.url(f"/rounds/{site.open_round.id}/anchors/{site.open_round.anchors[0].id}"))
        page.get_by_role("navigation", name="Evidence or rubric").get_by_role("link", name="Rubric").click()
        expect(page).to_have_url(re.compile(r"#rubric-heading$"))
        assert _in_view(page, page.locator("#rubric-heading"))
    finally:
        context.close()

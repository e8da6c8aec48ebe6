"""The API token page (empty, after making a token, with a form error) and the API reference page
pass axe at 1280 and 390 px, with labelled controls and no sideways scrolling (issue 18)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .support import NARROW, WIDE, horizontal_overflow, log_in, screenshot, unlabelled_controls
from .test_accessibility import _assert_axe_clean

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _check_both_widths(page: Page, name: str) -> None:
    screenshot(page, f"{name}-1280")
    _assert_axe_clean(page, f"{name}-1280")
    assert not unlabelled_controls(page), "controls without an accessible name"
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    page.set_viewport_size(NARROW)
    assert not horizontal_overflow(page), f"content wider than 390 px: {horizontal_overflow(page)}"
    screenshot(page, f"{name}-390")
    _assert_axe_clean(page, f"{name}-390")
    page.set_viewport_size(WIDE)


def test_token_page_is_accessible(new_page: Callable[..., Page], site) -> None:
    page = new_page(WIDE)
    log_in(page, site.base, "trainer@demo.test")
    page.goto(site.url("/trainer/api-tokens"))
    expect(page.get_by_role("link", name="API tokens")).to_have_attribute("aria-current", "page")
    _check_both_widths(page, "api-tokens")

    page.get_by_label("Name").fill("")
    page.get_by_role("checkbox", name="read:").uncheck()
    page.get_by_role("button", name="Make the token").click()
    expect(page.get_by_role("alert")).to_be_visible()
    _check_both_widths(page, "api-tokens-error")

    page.get_by_label("Name").fill("Scoring platform")
    page.get_by_role("checkbox", name="read:").check()
    page.get_by_role("button", name="Make the token").click()
    assert page.get_by_label("Your new token").input_value().startswith("cal_")
    _check_both_widths(page, "api-tokens-made")


def test_api_reference_is_accessible(new_page: Callable[..., Page], site) -> None:
    page = new_page(WIDE)
    response = page.goto(site.url("/api/v1/reference"))
    assert response is not None and response.status == 200
    _check_both_widths(page, "api-reference")


def test_webhooks_pages_are_accessible(new_page: Callable[..., Page], site) -> None:
    page = new_page(WIDE)
    log_in(page, site.base, "trainer@demo.test")
    page.goto(site.url("/trainer/webhooks"))
    expect(page.get_by_role("link", name="Webhooks")).to_have_attribute("aria-current", "page")
    _check_both_widths(page, "webhooks")

    page.get_by_label("Address (URL)").fill("ftp://example.org/hooks")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("alert")).to_be_visible()
    _check_both_widths(page, "webhooks-error")

    page.get_by_label("Address (URL)").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("checkbox", name="round.closed:").check()
    page.get_by_role("button", name="Add the endpoint").click()
    assert page.get_by_label("The endpoint's signing secret").input_value().startswith("whsec_")
    _check_both_widths(page, "webhooks-made")

    page.get_by_role("link", name="http://127.0.0.1:9/hooks").click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("cell", name="webhook.test")).to_be_visible()
    _check_both_widths(page, "webhook-endpoint")

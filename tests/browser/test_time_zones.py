"""Time zones in a real browser: the lead trainer sets the program's zone, enters a round window
across a daylight saving change in it and reads it back in the same zone (stored as the right UTC
instants); a time the clocks skip is refused on the form; the changed forms pass axe."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from calibration.db import write_intent
from calibration.models import Program, Round
from calibration.services.demo import DEMO_SLUG

from .support import log_in, run_axe, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ZONE = "America/New_York"
NAME = "Time zone check: spring window"
# Noah (new@demo.test, in training) is given a draft round only: no assessor's pages change.
ASSESSOR = "Noah Kim"


def _serious(page: Page, name: str) -> list[dict]:
    return [v for v in run_axe(page, name)["violations"] if v["impact"] in ("serious", "critical")]


def _set_zone(site, name: str) -> None:  # type: ignore[no-untyped-def]
    with write_intent(), site.session() as session:
        session.execute(update(Program).where(Program.slug == DEMO_SLUG).values(timezone=name))
        session.commit()


def test_a_window_entered_in_new_york_time_is_read_back_in_new_york_time(page: Page, site) -> None:
    year = dt.datetime.now(dt.UTC).year + 1
    log_in(page, site.base, "trainer@demo.test")
    try:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        zone = page.get_by_label("Time zone", exact=True)
        expect(zone).to_have_value("UTC")
        zone.fill("America/New_Yrok")  # a typo: refused, kept, nothing saved
        page.get_by_role("button", name="Save the settings").click()
        expect(page.locator("#error-summary")).to_contain_text(
            "“America/New_Yrok” is not a time zone name we know"
        )
        expect(page.get_by_label("Time zone", exact=True)).to_have_value("America/New_Yrok")
        assert not _serious(page, "time-zone-settings-error")
        page.get_by_label("Time zone", exact=True).fill(ZONE)
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status").filter(has_text="Saved 1 change (Time zone)")).to_be_visible()

        page.goto(site.url("/trainer/rounds/new"))
        expect(page.get_by_role("group", name=f"Window ({ZONE})")).to_be_visible()
        page.get_by_label("Name", exact=True).fill(NAME)
        page.get_by_label("Kind").select_option(label="Qualification (onboarding gate)")
        page.get_by_label(f"Opens on (date, {ZONE})").fill(f"{year}-03-01")
        page.get_by_label(f"at (time, {ZONE})").first.fill("09:00")
        page.get_by_label(f"Closes on (date, {ZONE})").fill(f"{year}-03-20")
        page.get_by_label(f"at (time, {ZONE})").nth(1).fill("17:30")
        page.get_by_role("group", name="Assessors").get_by_role("checkbox", name=ASSESSOR).check()
        assert not _serious(page, "time-zone-round-new")
        page.get_by_role("button", name="Create draft round").click()

        expect(page).to_have_url(re.compile(re.escape(site.url("/trainer/rounds/")) + r"\d+/manage$"))
        round_id = int(page.url.rsplit("/", 2)[-2])
        expect(page.locator("dl.facts")).to_contain_text(f"{year}-03-01 09:00 EST to {year}-03-20 17:30 EDT")
        with site.session() as session:
            rnd = session.get(Round, round_id)
            assert rnd is not None
            assert rnd.opens_at == dt.datetime(year, 3, 1, 14, 0, tzinfo=dt.UTC)
            assert rnd.closes_at == dt.datetime(year, 3, 20, 21, 30, tzinfo=dt.UTC)
        # The window form shows the same local times back.
        page.get_by_text("Change the window").click()
        expect(page.get_by_label(f"Opens on (date, {ZONE})")).to_have_value(f"{year}-03-01")
        expect(page.get_by_label(f"at (time, {ZONE})").first).to_have_value("09:00")

        # Moving the opening into the hour the clocks skip is refused on the form.
        spring = dt.date(year, 3, 8) + dt.timedelta(days=(6 - dt.date(year, 3, 8).weekday()) % 7)
        page.get_by_label(f"Opens on (date, {ZONE})").fill(spring.isoformat())
        page.get_by_label(f"at (time, {ZONE})").first.fill("02:30")
        page.get_by_role("button", name="Save window").click()
        expect(
            page.get_by_text(f"02:30 on {spring:%-d} March {year} does not exist in {ZONE}")
        ).to_be_visible()
        expect(page.get_by_label(f"at (time, {ZONE})").first).to_have_value("02:30")
        screenshot(page, "time-zone-window-refused-1280")
        assert not _serious(page, "time-zone-window-refused")
        with site.session() as session:
            opens = session.scalar(select(Round.opens_at).where(Round.id == round_id))
            assert opens == dt.datetime(year, 3, 1, 14, 0, tzinfo=dt.UTC)
    finally:
        _set_zone(site, "UTC")  # the other browser tests read the demo in UTC


def test_an_assessor_chooses_their_own_zone(page: Page, site) -> None:
    log_in(page, site.base, "grace@demo.test")
    page.get_by_role("link", name="Time zone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your time zone")
    field = page.get_by_label("Your time zone")
    field.fill("Nowhere/Special")
    page.get_by_role("button", name="Save the time zone").click()
    expect(page.get_by_text("“Nowhere/Special” is not a time zone name we know")).to_be_visible()
    assert not _serious(page, "account-time-zone-error")
    try:
        page.get_by_label("Your time zone").fill("Asia/Tokyo")
        page.get_by_role("button", name="Save the time zone").click()
        expect(
            page.get_by_role("status").filter(has_text="Your pages show times in Asia/Tokyo")
        ).to_be_visible()
    finally:
        page.get_by_label("Your time zone").fill("")
        page.get_by_role("button", name="Save the time zone").click()
        expect(page.get_by_role("status").filter(has_text="your program’s time zone, UTC")).to_be_visible()

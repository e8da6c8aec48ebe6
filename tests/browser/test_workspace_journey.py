"""The lead trainer's workspace in a real browser (issue 17): the needs-attention queue on the
overview, a filtered and paged list, the settings form refusing bad input, and the audit log's
filters. On the shared demo the trainer only reads here, and the settings form is only sent with
bad input (nothing is saved), so no other test's data moves."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from calibration.models import AuditEvent, Membership, Program, Role
from calibration.services.attention import needs_attention
from calibration.services.demo import DEMO_SLUG

from .support import log_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _program_id(site) -> int:  # type: ignore[no-untyped-def]
    with site.session() as session:
        return int(session.scalar(select(Program.id).where(Program.slug == DEMO_SLUG)))


def test_overview_queue_counts_what_waits_and_links_to_it(page: Page, site) -> None:
    log_in(page, site.base, "trainer@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    queue = page.get_by_role("list", name="Needs attention")
    expect(queue).to_be_visible()
    shown = {
        key: int(page.locator(f"#attention-{key} .attention-count").inner_text())
        for key in ("flags", "challenges", "anchors", "session", "expiring", "closing")
    }
    with site.session() as session:
        counted = needs_attention(session, _program_id(site))
    assert shown == {
        "flags": counted.open_flags,
        "challenges": counted.open_challenges,
        "anchors": counted.waiting_for_anchors,
        "session": counted.waiting_for_session,
        "expiring": counted.expiring,
        "closing": len(counted.closing),
    }
    assert counted.open_flags > 0 and counted.open_challenges > 0, "the demo raises flags and a challenge"
    queue.get_by_role("link", name="Review the open flags").click()
    expect(page).to_have_url(re.compile(r"/trainer/flags\?status=open$"))
    expect(page.get_by_label("Status")).to_have_value("open")
    expect(page.locator("#list-count")).to_contain_text(f"of {counted.open_flags} flag")
    statuses = page.locator("#flags-table tbody tr > td:last-child").all_inner_texts()
    assert statuses and set(statuses) == {"open"}


def test_people_list_filters_searches_and_keeps_what_was_typed(page: Page, site) -> None:
    log_in(page, site.base, "trainer@demo.test")
    page.goto(site.url("/trainer/people"))
    with site.session() as session:
        certified = session.scalar(
            select(func.count()).where(
                Membership.program_id == _program_id(site),
                Membership.role == Role.ASSESSOR,
                Membership.certification_status == "certified",
            )
        )
    page.get_by_label("Certification status").select_option("certified")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=certified"))
    expect(page.locator("#list-count")).to_have_text(
        f"Showing 1–{certified} of {certified} assessors matching the filters."
    )
    page.get_by_label("Name or email contains").fill("SAMUEL")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#people-table tbody tr")).to_have_count(1)
    expect(page.locator("#people-table tbody th")).to_have_text("Samuel Ortiz")
    expect(page.get_by_label("Name or email contains")).to_have_value("SAMUEL")
    expect(page.get_by_label("Certification status")).to_have_value("certified")
    # A date that is no date: a plain message, the list shown unfiltered by it, never an error page.
    page.goto(site.url("/trainer/people?from=next+week"))
    expect(page.get_by_role("alert")).to_contain_text("“next week” is not a date")
    page.get_by_role("link", name="Clear the filters").click()
    expect(page).to_have_url(site.url("/trainer/people"))


def test_settings_refuse_bad_input_with_an_error_summary_and_change_nothing(page: Page, site) -> None:
    with site.session() as session:
        before = session.scalar(select(Program.settings_json).where(Program.slug == DEMO_SLUG))
        audited = session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "program.settings_changed")
        )
    log_in(page, site.base, "trainer@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Program settings")
    exact = page.get_by_label("Exact agreement with the key, at least (%)")
    expect(exact).to_have_value("70")
    exact.fill("seventy")
    page.get_by_label("Certification lasts (days)").fill("0")
    page.get_by_role("button", name="Save the settings").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("“seventy” is not a number")
    expect(summary).to_contain_text("Certification lasts (days): must be at least 1.")
    expect(exact).to_have_value("seventy")  # kept as typed
    expect(exact).to_have_attribute("aria-invalid", "true")
    expect(summary.get_by_role("link", name=re.compile("seventy"))).to_have_attribute(
        "href", "#" + (exact.get_attribute("id") or "")
    )
    with site.session() as session:
        assert session.scalar(select(Program.settings_json).where(Program.slug == DEMO_SLUG)) == before
        assert (
            session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "program.settings_changed")
            )
            == audited
        )


def test_audit_log_shows_the_chain_and_filters_by_action_and_actor(page: Page, site) -> None:
    log_in(page, site.base, "admin@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.locator("#chain-status")).to_contain_text("The audit trail is intact.")
    page.get_by_label("Action").select_option("login")
    page.get_by_label("Who (name or email contains)").fill("admin@demo")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"actor=admin%40demo.*action=login|action=login.*actor=admin%40demo"))
    actions = page.locator("#audit-table tbody tr > td:nth-child(4)").all_inner_texts()
    who = set(page.locator("#audit-table tbody tr > td:nth-child(3)").all_inner_texts())
    assert actions and set(actions) == {"login"}
    assert len(who) == 1 and next(iter(who)).endswith("(admin@demo.test)")
    request_ids = page.locator("#audit-table tbody tr > td:nth-child(7)").all_inner_texts()
    assert all(len(r) >= 8 for r in request_ids), request_ids
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these rows as CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("id,at_utc,actor,action")
    assert all(",login," in line for line in text.splitlines()[1:])

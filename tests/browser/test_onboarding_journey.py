"""A new assessor goes from invitation to certified in a real browser: the trainer invites an address,
the invitation arrives by SMTP (the browser server's ``mail_sink``), the link sets a password, the
dashboard shows the path (practice, qualification, certified), practice teaches (which criteria
differed, then another try of the same anchor, then the key after the last try), and a qualification
round scored like the key certifies, its last sheet leading to the round result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from calibration.models import Assignment, CertificationStatus, Membership, Round, RoundKind, User

from ..mailsink import link_of, text_of
from .support import NARROW, WIDE, DemoAnchor, DemoRound, describe, load_round, log_in, run_axe, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# A person no other test knows: the journey creates them.
EMAIL = "casey.morgan@demo.test"
NAME = "Casey Morgan"
PASSWORD = "river lantern copper meadow"


def _no_serious_violations(page: Page, name: str) -> None:
    serious = [v for v in run_axe(page, name)["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe(serious)


def _choose(page: Page, anchor: DemoAnchor, levels: dict[int, int]) -> None:
    """Choose a level for every criterion (by its radio group and level name)."""
    for number, criterion in enumerate(anchor.criteria, start=1):
        group = page.get_by_role("group", name=f"{number}. {criterion.title}", exact=True)
        group.get_by_role("radio", name=re.compile(rf"^{levels[criterion.id]} ·")).check()


def _score(
    page: Page, anchor: DemoAnchor, levels: dict[int, int], submit: str = "Submit final scores"
) -> None:
    """Choose every level, review, and submit."""
    _choose(page, anchor, levels)
    page.get_by_role("button", name="Review my scores").click()  # the review step (issue 16)
    page.get_by_role("button", name=submit).click()


def _no_serious_violations_at_both_widths(page: Page, name: str) -> None:
    screenshot(page, f"{name}-1280")
    _no_serious_violations(page, f"{name}-1280")
    page.set_viewport_size(NARROW)
    screenshot(page, f"{name}-390")
    _no_serious_violations(page, f"{name}-390")
    page.set_viewport_size(WIDE)


def _training_round(site, user_id: int, kind: RoundKind) -> DemoRound:
    with site.session() as session:
        name = session.scalars(
            select(Round.name)
            .join(Assignment, Assignment.round_id == Round.id)
            .where(Round.kind == kind, Assignment.user_id == user_id)
        ).one()
        return load_round(session, name)


def test_new_assessor_goes_from_invitation_to_certified(new_page, site) -> None:
    # The lead trainer invites one address.
    trainer = new_page()
    log_in(trainer, site.base, "trainer@demo.test")
    trainer.get_by_role("navigation", name="Main").get_by_role("link", name="Assessors").click()
    trainer.get_by_role("link", name="Invite assessors").click()
    expect(trainer.get_by_role("heading", level=1)).to_have_text("Invitations")
    trainer.get_by_label("Email addresses").fill(EMAIL)
    trainer.get_by_role("button", name="Send invitations").click()
    expect(trainer.get_by_role("status").filter(has_text="Invitation sent to 1 person.")).to_be_visible()
    invited_row = trainer.get_by_role("row").filter(has=trainer.get_by_role("rowheader", name=EMAIL))
    expect(invited_row).to_contain_text("waiting")
    screenshot(trainer, "invitations-sent-1280")

    # The mail went through SMTP; its one link is what the person clicks.
    mails = site.mail.to(EMAIL)
    assert len(mails) == 1, [m["Subject"] for m in site.mail.messages]
    invitation = mails[0]
    assert invitation["Subject"] == "You are invited to assess for Demo Educator Micro-credentials"
    link = link_of(invitation)
    assert link.startswith(site.url("/invitation/")), link
    assert "7 days" in text_of(invitation)

    # The person follows the link in a browser of their own and sets a password.
    page = new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept your invitation")
    expect(page.locator("main")).to_contain_text(EMAIL)
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    screenshot(page, "invitation-accept-1280")
    _no_serious_violations(page, "journey-invitation-accept")
    page.get_by_role("button", name="Set password and start").click()

    expect(page).to_have_url(site.url("/certification"))
    expect(page.get_by_role("status").filter(has_text="Welcome!")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("in training")
    expect(page.get_by_role("banner")).to_contain_text(NAME)
    screenshot(page, "certification-in-training-1280")
    _no_serious_violations(page, "journey-certification-in-training")
    # The link worked once: following it again explains instead of offering the form.
    again = new_page()
    again.goto(link)
    expect(again.get_by_role("button", name="Set password and start")).to_have_count(0)

    with site.session() as session:
        user_id = session.scalar(select(User.id).where(User.email == EMAIL))
    assert user_id is not None
    practice = _training_round(site, user_id, RoundKind.PRACTICE)
    qualification = _training_round(site, user_id, RoundKind.QUALIFICATION)
    assert practice.is_open and qualification.is_open
    assert len(qualification.anchors) >= 5
    assert not {a.id for a in practice.anchors} & {a.id for a in qualification.anchors}

    # Issue 16 item 8: the dashboard shows the path, practice first and the primary action.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My rounds").click()
    path = page.get_by_role("region", name="Your path to certification")
    steps = path.get_by_role("listitem")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Practise on anchors with feedback")
    expect(steps.nth(0)).to_contain_text(f"Not started: {len(practice.anchors)} anchors")
    expect(steps.nth(0)).to_have_attribute("aria-current", "step")
    expect(steps.nth(1)).to_contain_text("Pass the qualification round")
    expect(steps.nth(1)).to_contain_text("Not started")
    expect(steps.nth(2)).to_contain_text("Not yet")
    expect(path).to_contain_text("Next: practise.")
    _no_serious_violations_at_both_widths(page, "dashboard-path")

    # Issue 16 item 7: practice teaches. The first anchor is scored one level off the key on its first
    # criterion, three times: each try tells which criteria differed (never the key), then the last try
    # shows the key. The other anchors match the key at the first try, which shows it at once.
    path.get_by_role("link", name="Start practice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(practice.name)
    expect(page.locator("main")).to_contain_text("Practice: not counted.")
    for index, anchor in enumerate(practice.anchors):
        page.get_by_role("link", name=anchor.title, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(anchor.title)
        expect(page.locator("#practice-tag")).to_contain_text("Practice: not counted.")
        expect(page.locator("main")).not_to_contain_text("cannot be changed")
        levels = {c.id: c.key_level for c in anchor.criteria}
        missed = anchor.criteria[0] if index == 0 else None
        if missed is not None:
            position = practice.levels.index(missed.key_level)
            levels[missed.id] = practice.levels[
                position + 1 if position + 1 < len(practice.levels) else position - 1
            ]
        if index == 0:
            screenshot(page, "practice-score-1280")
        _score(page, anchor, levels, submit="Submit this try")
        expect(page).to_have_url(site.url(f"/rounds/{practice.id}/anchors/{anchor.id}/feedback"))

        if missed is not None:
            for attempt in (1, 2):
                expect(page.get_by_role("heading", level=1)).to_have_text(f"Practice: {anchor.title}")
                differed = page.locator("table.practice-differed tbody tr")
                expect(differed).to_have_count(len(anchor.criteria))
                expect(differed.filter(has_text="Differs from the key")).to_have_count(1)
                expect(differed.filter(has_text="Differs from the key")).to_contain_text(missed.title)
                expect(page.locator("#differed-summary")).to_contain_text(
                    f"{3 - attempt} {'try' if attempt == 2 else 'tries'} left"
                )
                for criterion in anchor.criteria:  # blind: no rationale while tries remain
                    expect(page.locator("main")).not_to_contain_text(criterion.rationale)
                if attempt == 1:
                    _no_serious_violations_at_both_widths(page, "practice-differed")
                page.get_by_role("link", name="Try this anchor again").click()
                expect(page.get_by_role("heading", level=1)).to_have_text(f"Try again: {anchor.title}")
                group = page.get_by_role("group", name=f"1. {missed.title}", exact=True)
                expect(group).to_contain_text("Differed from the key last time.")
                # The last try is filled in: the same miss again.
                expect(
                    group.get_by_role("radio", name=re.compile(rf"^{levels[missed.id]} ·"))
                ).to_be_checked()
                if attempt == 1:
                    _no_serious_violations_at_both_widths(page, "practice-try")
                page.get_by_role("button", name=f"Submit try {attempt + 1}").click()
                expect(page).to_have_url(site.url(f"/rounds/{practice.id}/anchors/{anchor.id}/feedback"))
            expect(page.locator("#practice-tag")).to_contain_text("That was your last try (3 of 3)")

        expect(page.get_by_role("heading", level=1)).to_have_text(f"Feedback: {anchor.title}")
        rows = page.locator("table.feedback tbody tr")
        expect(rows).to_have_count(len(anchor.criteria))
        for row_index, criterion in enumerate(anchor.criteria):
            row = rows.nth(row_index)
            expect(row.get_by_role("rowheader")).to_have_text(criterion.title)
            expect(row).to_contain_text(criterion.rationale)
            # Issue 16: on a two-level scale a miss is a miss, never "adjacent".
            miss = "Adjacent" if len(practice.levels) > 2 else "Does not match: the key is"
            verdict = miss if criterion is missed else "Exact match with the key"
            expect(row.locator(".verdict")).to_contain_text(verdict)
        if index == 0:
            _no_serious_violations_at_both_widths(page, "practice-feedback")
        page.get_by_role("link", name="Back to the round").first.click()
    expect(page.locator("ol.anchor-list")).not_to_contain_text("to score")
    expect(page.locator("ol.anchor-list")).not_to_contain_text("see what differed")

    # Qualification: unseen anchors covering every level; scored like the key, it certifies.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My certification").click()
    page.get_by_role("link", name=f"Go to {qualification.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(qualification.name)
    for index, anchor in enumerate(qualification.anchors):
        page.get_by_role("link", name=anchor.title, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(anchor.title)
        if index == 0:
            screenshot(page, "qualification-score-1280")
        _score(page, anchor, {c.id: c.key_level for c in anchor.criteria})
        if index < len(qualification.anchors) - 1:
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Feedback: {anchor.title}")
            expect(page.locator("table.feedback .verdict")).to_contain_text(
                ["Exact match with the key"] * len(anchor.criteria)
            )
            page.get_by_role("link", name="Back to the round").first.click()

    # Issue 16 (gap A): the last sheet leads to the round result, like every counted round.
    expect(page).to_have_url(site.url(f"/rounds/{qualification.id}/result"))
    expect(page.get_by_role("status").filter(has_text="here is your result")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Outcome:"))).to_contain_text("Passed")
    expect(page.locator("main")).to_contain_text("Your certification status now: certified")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My certification").click()
    expect(page.locator("dl.facts .badge")).to_have_text("certified")
    expect(page.get_by_role("heading", name="Attempt 1: Passed")).to_be_visible()
    screenshot(page, "certification-certified-1280")
    _no_serious_violations(page, "journey-certification-certified")

    with site.session() as session:
        membership = session.scalars(
            select(Membership).join(User, User.id == Membership.user_id).where(User.email == EMAIL)
        ).one()
        assert membership.certification_status == CertificationStatus.CERTIFIED
        assert membership.certification_expires_at is not None

    # The trainer sees the invitation accepted and the person certified.
    trainer.reload()
    expect(invited_row).to_contain_text("accepted")
    expect(invited_row).to_contain_text("certified")

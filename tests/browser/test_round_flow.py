"""Scoring a whole round in a real browser (issue 16, items 1-3): keyboard shortcuts through a round
of 5 anchors, a login session that runs out while scoring, the error summary, and the review step.

Demo people used here (see support.py): grace scores a practice round and a calibration round
(counted, so it ends on its result page) made for these tests; maya's
open-round anchors 3, 4 and 5 (indexes 2-4) are the timeout, error-summary and review pages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from calibration.db import utcnow, write_intent
from calibration.models import (
    Assignment,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    User,
)

from ..server import gunicorn
from .support import NARROW, WIDE, active_element, describe, log_in, run_axe, screenshot, tab_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PRACTICE_ROUND = "Keyboard practice: Applying Improvement Science"
COUNTED_ROUND = "Keyboard calibration: Applying Improvement Science"
IDLE_WAIT_MS = 65_000


def _user_id(site, email: str) -> int:
    with site.session() as session:
        found = session.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return found


def _round_for(site, email: str, kind: RoundKind = RoundKind.PRACTICE, name: str = PRACTICE_ROUND) -> int:
    """A round of ``kind`` with the open round's 5 anchors, open now, assigned to ``email`` alone."""
    user_id = _user_id(site, email)
    with write_intent(), site.session() as session:
        source = session.get(Round, site.open_round.id)
        assert source is not None
        now = utcnow()
        rnd = Round(
            program_id=source.program_id,
            rubric_version_id=source.rubric_version_id,
            name=name,
            kind=kind,
            status=RoundStatus.OPEN,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=7),
            pass_rule_json=source.pass_rule_json,
            created_by_id=source.created_by_id,
        )
        session.add(rnd)
        session.flush()
        session.add_all(
            RoundAnchor(round_id=rnd.id, anchor_id=a.id, position=i)
            for i, a in enumerate(site.open_round.anchors)
        )
        session.add(Assignment(round_id=rnd.id, user_id=user_id))
        session.commit()
        return rnd.id


def _assert_axe_clean(page: Page, name: str) -> None:
    result = run_axe(page, name)
    blocking = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe found serious/critical problems on {name}:\n{describe(blocking)}"


def _score_round_by_keyboard(page: Page, site, round_id: int, *, practice: bool = False) -> None:
    """From the round page, with the keyboard alone: open the first anchor, choose every level with
    the number keys, review with "r", submit, and go on with "n", through all 5 anchors. Ends on the
    last anchor's feedback page. A practice round's review says it is not counted (issue 16 item 7)."""
    rnd = site.open_round
    assert len(rnd.anchors) == 5
    page.goto(site.url(f"/rounds/{round_id}"))
    tab_until(page, lambda el: el.get("tag") == "a" and el.get("text") == rnd.anchors[0].title)
    page.keyboard.press("Enter")

    for n, anchor in enumerate(rnd.anchors, start=1):
        expect(page).to_have_url(site.url(f"/rounds/{round_id}/anchors/{anchor.id}"))
        expect(page.locator(".round-progress")).to_contain_text(f"Anchor {n} of 5")
        expect(page.get_by_text("Keyboard shortcuts")).to_be_visible()
        for criterion in anchor.criteria:
            page.keyboard.press(str(rnd.levels.index(criterion.key_level) + 1))
            expect(page.locator(f'input[name="criterion_{criterion.id}"]:checked')).to_have_value(
                str(criterion.key_level)
            )
            expect(page.locator("#shortcut-status")).to_contain_text(f"{criterion.title}: ")
        page.keyboard.press("r")
        panel = page.locator("#review-panel")
        expect(panel).to_be_focused()
        if practice:
            expect(panel).to_contain_text("Practice: not counted.")
            expect(panel).not_to_contain_text("cannot be changed")
        else:
            expect(panel).to_contain_text("final, cannot be changed")
        page.keyboard.press("Tab")
        assert active_element(page)["text"] == ("Submit this try" if practice else "Submit final scores")
        page.keyboard.press("Enter")
        expect(page).to_have_url(site.url(f"/rounds/{round_id}/anchors/{anchor.id}/feedback"))
        expect(page.locator("main")).to_contain_text(f"{n} of 5 scored")
        if n < 5:
            # The script shows the shortcut's hint once "n" listens (it loads after the page).
            expect(page.locator("#feedback-shortcut")).to_contain_text("for the next anchor")
            expect(page.locator("#feedback-shortcut")).to_be_visible()
            page.keyboard.press("n")
    expect(page.get_by_role("link", name="Next anchor")).to_have_count(0)
    with site.session() as session:
        stored = session.scalar(
            select(func.count()).select_from(ScoreSheet).where(ScoreSheet.round_id == round_id)
        )
    assert stored == 5


def test_keyboard_only_scores_a_round_of_five_anchors_with_shortcuts(page: Page, site) -> None:
    round_id = _round_for(site, "grace@demo.test")
    log_in(page, site.base, "grace@demo.test")
    _score_round_by_keyboard(page, site, round_id, practice=True)
    # Practice has no result page: after the last anchor the way on is the round.
    expect(page.get_by_role("link", name="See your round result")).to_have_count(0)
    tab_until(page, lambda el: el.get("tag") == "a" and el.get("text") == "Back to the round")
    page.keyboard.press("Enter")
    expect(page).to_have_url(site.url(f"/rounds/{round_id}"))
    expect(page.locator(".anchor-list li")).to_have_count(5)


def test_keyboard_only_scores_a_counted_round_and_reaches_its_result(
    new_page: Callable[..., Page], site
) -> None:
    """The acceptance line: a counted round of 5 anchors scored with shortcuts alone ends on the
    round result page ("n" on the last feedback page goes there), which axe finds clean at both
    widths."""
    round_id = _round_for(site, "grace@demo.test", RoundKind.CALIBRATION, COUNTED_ROUND)
    page = new_page(WIDE)
    log_in(page, site.base, "grace@demo.test")
    _score_round_by_keyboard(page, site, round_id)
    expect(page.get_by_role("link", name="See your round result").first).to_be_visible()
    expect(page.get_by_role("link", name="Back to the round").first).to_be_visible()
    expect(page.locator("#feedback-shortcut")).to_contain_text("to see your round result")
    expect(page.locator("#feedback-shortcut")).to_be_visible()
    page.keyboard.press("n")
    expect(page).to_have_url(site.url(f"/rounds/{round_id}/result"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your result: {COUNTED_ROUND}")
    expect(page.locator("main")).to_contain_text("Passed")
    screenshot(page, "round-result-by-keyboard-1280")
    _assert_axe_clean(page, "round-result-by-keyboard-1280")
    page.set_viewport_size(NARROW)
    screenshot(page, "round-result-by-keyboard-390")
    _assert_axe_clean(page, "round-result-by-keyboard-390")


def test_a_timeout_while_scoring_loses_nothing(page: Page, site) -> None:
    """A server of its own with SESSION_IDLE_MINUTES=1 on the demo database: type, wait past the
    idle limit, submit, log in again, and find everything restored (nothing submitted)."""
    rnd = site.open_round
    anchor = rnd.anchors[2]
    with gunicorn(site.database_url, workers=1, extra_env={"SESSION_IDLE_MINUTES": "1"}) as base:
        score_url = f"{base}/rounds/{rnd.id}/anchors/{anchor.id}"
        log_in(page, base, "maya@demo.test")
        page.goto(score_url)
        plan = {c.id: rnd.levels[(i + 1) % len(rnd.levels)] for i, c in enumerate(anchor.criteria)}
        for criterion_id, level in plan.items():
            page.locator(f'input[name="criterion_{criterion_id}"][value="{level}"]').check()
        page.get_by_label("Notes").fill("Typed before the session ran out.")
        page.wait_for_timeout(IDLE_WAIT_MS)  # past the one-minute idle limit (waiting, not a timed check)

        page.get_by_role("button", name="Review my scores").click()
        page.get_by_role("button", name="Submit final scores").click()
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_role("status")).to_contain_text("What you typed is kept")
        expect(page.get_by_label("Email")).to_be_focused()
        page.keyboard.type("maya@demo.test")
        page.keyboard.press("Tab")
        page.keyboard.type("calibrate-demo")
        page.keyboard.press("Enter")

        expect(page).to_have_url(score_url)
        expect(page.locator("main")).to_contain_text("You were signed out while scoring")
        for criterion_id, level in plan.items():
            expect(page.locator(f'input[name="criterion_{criterion_id}"]:checked')).to_have_value(str(level))
        expect(page.get_by_label("Notes")).to_have_value("Typed before the session ran out.")
        screenshot(page, "score-restored-1280")
    user_id = _user_id(site, "maya@demo.test")
    with site.session() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(ScoreSheet)
            .where(
                ScoreSheet.round_id == rnd.id,
                ScoreSheet.anchor_id == anchor.id,
                ScoreSheet.assessor_id == user_id,
            )
        )
    assert stored == 0, "nothing is submitted on the assessor's behalf"


def test_the_error_summary_takes_focus_and_links_to_the_criterion(
    new_page: Callable[..., Page], site
) -> None:
    rnd = site.open_round
    anchor = rnd.anchors[3]
    page = new_page(WIDE)
    log_in(page, site.base, "maya@demo.test")
    page.goto(site.url(f"/rounds/{rnd.id}/anchors/{anchor.id}"))
    missing = anchor.criteria[1]
    for criterion in anchor.criteria:
        if criterion is not missing:
            page.locator(f'input[name="criterion_{criterion.id}"][value="{criterion.key_level}"]').check()
    page.evaluate(
        "() => document.querySelectorAll('[required]').forEach(el => el.removeAttribute('required'))"
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Review my scores").click()
    assert navigation.value.status == 400

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There is a problem")
    link = summary.get_by_role("link", name=f"Choose a level for “{missing.title}”.")
    target = f"criterion_{missing.id}-{rnd.levels[0]}"
    assert link.get_attribute("href") == f"#{target}"
    screenshot(page, "score-error-summary-1280")
    _assert_axe_clean(page, "score-error-summary-1280")
    link.click()
    expect(page.locator(f"#{target}")).to_be_focused()
    group = page.get_by_role("group", name=missing.title, exact=False)
    expect(group).to_contain_text(f"Choose a level for “{missing.title}”.")
    page.set_viewport_size(NARROW)
    _assert_axe_clean(page, "score-error-summary-390")


def test_the_review_step_at_both_widths(new_page: Callable[..., Page], site) -> None:
    rnd = site.open_round
    anchor = rnd.anchors[4]
    page = new_page(WIDE)
    log_in(page, site.base, "maya@demo.test")
    page.goto(site.url(f"/rounds/{rnd.id}/anchors/{anchor.id}"))
    for criterion in anchor.criteria:
        page.locator(f'input[name="criterion_{criterion.id}"][value="{criterion.key_level}"]').check()
    page.get_by_label("Notes").fill("Checked twice.")
    screenshot(page, "score-page-1280")
    # With JavaScript: the review in the page.
    page.get_by_role("button", name="Review my scores").click()
    expect(page.locator("#review-panel")).to_be_focused()
    screenshot(page, "review-step-1280")
    _assert_axe_clean(page, "review-step-1280")
    page.set_viewport_size(NARROW)
    screenshot(page, "review-step-390")
    _assert_axe_clean(page, "review-step-390")
    screenshot(page, "score-page-390")

    # Without it: the server's review page (the form sent as a browser without the script would).
    page.set_viewport_size(WIDE)
    with page.expect_navigation() as navigation:
        page.evaluate(
            """() => { const f = document.getElementById('score-form');
                       const i = document.createElement('input'); i.type = 'hidden'; i.name = 'action';
                       i.value = 'review'; f.appendChild(i); HTMLFormElement.prototype.submit.call(f); }"""
        )
    assert navigation.value.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your scores")
    expect(page.locator("main")).to_contain_text("final, cannot be changed")
    for criterion in anchor.criteria:
        expect(page.get_by_role("row").filter(has_text=criterion.title)).to_contain_text(
            str(criterion.key_level)
        )
    screenshot(page, "review-page-1280")
    _assert_axe_clean(page, "review-page-1280")
    page.set_viewport_size(NARROW)
    screenshot(page, "review-page-390")
    _assert_axe_clean(page, "review-page-390")

"""A lead trainer corrects one of an assessor's final scores in a real browser, with a reason; the
assessor then reads the correction and the reason with their feedback, and the stored score is
still what they submitted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from calibration.models import CriterionScore, ScoreCorrection, ScoreSheet, User

from .support import OPEN_ROUND, log_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ASSESSOR = "Priya Nair"
REASON = "Priya wrote that she clicked the level beside the one she meant on this criterion."


def test_trainer_corrects_a_score_and_the_assessor_reads_why(new_page, site) -> None:
    with site.session() as session:
        priya = session.scalar(select(User).where(User.email == "priya@demo.test"))
        sheet = session.scalars(
            select(ScoreSheet)
            .where(ScoreSheet.assessor_id == priya.id, ScoreSheet.round_id == site.open_round.id)
            .order_by(ScoreSheet.submitted_at, ScoreSheet.id)
        ).first()
        assert sheet is not None
        first_score = sheet.scores[0]
        submitted = first_score.level_value
        criterion_title = first_score.criterion.title
    target = next(v for v in site.open_round.levels if v != submitted)

    page = new_page()
    log_in(page, site.base, "trainer@demo.test")
    page.get_by_role("table").get_by_role("link", name=OPEN_ROUND, exact=True).click()
    page.get_by_role("link", name=f"Sheets of {ASSESSOR}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ASSESSOR)
    page.locator(f"#sheet-{sheet.id}").get_by_role("link", name="Correct a score on this sheet").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Correct a score")

    # A reason that is too short is refused, and what was chosen and typed is still there.
    page.get_by_label("Criterion").select_option(label=criterion_title)
    page.get_by_label("Corrected level").select_option(value=str(target))
    page.get_by_label("Reason").fill("slip")
    page.get_by_role("button", name="Record correction").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_label("Reason")).to_have_value("slip")
    expect(page.get_by_label("Corrected level")).to_have_value(str(target))
    expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Reason").fill(REASON)
    page.get_by_role("button", name="Record correction").click()
    expect(page.locator(".notice[role=status]")).to_contain_text("Correction recorded")
    expect(page.locator(f"#sheet-{sheet.id}")).to_contain_text(REASON)

    with site.session() as session:
        stored = session.scalar(select(CriterionScore.level_value).where(CriterionScore.id == first_score.id))
        corrections = session.scalars(
            select(ScoreCorrection).where(ScoreCorrection.criterion_score_id == first_score.id)
        ).all()
    assert stored == submitted  # the score itself is never changed
    assert [(c.previous_level_value, c.level_value, c.reason) for c in corrections] == [
        (submitted, target, REASON)
    ]

    assessor = new_page()
    log_in(assessor, site.base, "priya@demo.test")
    assessor.goto(site.url(f"/rounds/{site.open_round.id}/anchors/{sheet.anchor_id}/feedback"))
    expect(assessor.get_by_role("heading", name="Corrections to your scores")).to_be_visible()
    expect(assessor.locator("ul.corrections")).to_contain_text(REASON)
    expect(assessor.locator("ul.corrections")).to_contain_text(criterion_title)
    expect(assessor.locator("table.feedback")).to_contain_text(f"you submitted {submitted}")

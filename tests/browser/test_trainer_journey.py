"""A lead trainer in a real browser: creates a round (form, automatic anchors, open) and reads a past
round's report, whose charts must have text alternatives and data tables with the numbers of
``calibration.stats`` and of an independent count from the database."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorPurpose,
    Assignment,
    CriterionScore,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreCorrection,
    ScoreSheet,
    User,
)
from calibration.services import reports
from calibration.stats import krippendorff_alpha

from .support import NARROW, PAST_ROUND, agreement_by_assessor, describe, log_in, run_axe, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NEW_ROUND = "Onboarding gate: Noah Kim on Implementing Equitable Practices"
RUBRIC = "Implementing Equitable Practices"
# Noah (new@demo.test, in training) has the demo's practice and qualification rounds (test_accessibility
# reads his pages): giving him one more round changes nobody else's pages.
ASSESSOR = "Noah Kim"


def _serious(result: dict) -> list[dict]:
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_lead_trainer_creates_a_qualification_round_and_opens_it(page: Page, site) -> None:
    today = dt.datetime.now(dt.UTC).date()
    closes = today + dt.timedelta(days=14)
    log_in(page, site.base, "trainer@demo.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rounds").click()
    page.get_by_role("link", name="New round").click()
    expect(page).to_have_url(site.url("/trainer/rounds/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New round")
    # The pass rule comes prefilled from the program's defaults.
    expect(page.get_by_label("Exact agreement with the key, at least (%)")).to_have_value("70")
    expect(page.get_by_label("No judgement from fewer than this many anchors")).to_have_value("5")

    page.get_by_label("Name", exact=True).fill(NEW_ROUND)
    page.get_by_label("Kind").select_option(label="Qualification (onboarding gate)")
    rubric_select = page.get_by_label("Rubric")
    rubric_option = rubric_select.get_by_role("option", name=re.compile(rf"^{RUBRIC} \(version \d+\)$"))
    rubric_select.select_option(label=rubric_option.inner_text().strip())
    # Open since midnight UTC today, so the round can be scored as soon as it is opened.
    page.get_by_label("Opens on (date, UTC)").fill(today.isoformat())
    page.get_by_label("at (time, UTC)").first.fill("00:00")
    page.get_by_label("Closes on (date, UTC)").fill(closes.isoformat())
    page.get_by_label("at (time, UTC)").nth(1).fill("17:00")
    assessors = page.get_by_role("group", name="Assessors")
    assessors.get_by_role("checkbox", name=ASSESSOR).check()
    expect(assessors.get_by_role("checkbox", checked=True)).to_have_count(1)
    screenshot(page, "round-new-filled-1280")
    page.get_by_role("button", name="Create draft round").click()

    expect(page).to_have_url(re.compile(re.escape(site.url("/trainer/rounds/")) + r"\d+/manage$"))
    round_id = int(page.url.rsplit("/", 2)[-2])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Manage: {NEW_ROUND}")
    expect(page.get_by_role("status").filter(has_text="Round created as a draft")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts.locator(".badge").first).to_have_text("draft")
    expect(facts).to_contain_text("Qualification")
    expect(facts).to_contain_text(f"{today.isoformat()} 00:00 UTC to {closes.isoformat()} 17:00 UTC")
    expect(page.locator("ul.problems")).to_be_visible()  # no anchors yet: not ready to open

    expect(page.get_by_label("How many anchors (at least)")).to_have_value("5")
    page.get_by_role("button", name="Choose anchors automatically").click()
    expect(
        page.get_by_role("status").filter(
            has_text="chosen automatically, covering every level of every criterion"
        )
    ).to_be_visible()
    expect(
        page.get_by_text("Together the anchors' keys cover every level of every criterion.")
    ).to_be_visible()
    expect(page.locator("ul.problems")).to_have_count(0)
    with site.session() as session:
        rubric_id = session.scalar(select(Round.rubric_version_id).where(Round.id == round_id))
        assert session.scalar(select(RubricVersion.title).where(RubricVersion.id == rubric_id)) == RUBRIC
        qualification = dict(
            session.execute(
                select(Anchor.id, Anchor.title).where(
                    Anchor.rubric_version_id == rubric_id, Anchor.purpose == AnchorPurpose.QUALIFICATION
                )
            ).all()
        )
        chosen = list(
            session.scalars(
                select(RoundAnchor.anchor_id)
                .where(RoundAnchor.round_id == round_id)
                .order_by(RoundAnchor.position)
            )
        )
    # Only qualification anchors of the chosen rubric, at least the pass rule's minimum evidence.
    assert len(chosen) >= 5 and set(chosen) <= set(qualification)
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="In round"))
    for anchor_id, title in qualification.items():
        box = table.get_by_role("checkbox", name=title, exact=True)
        expect(box).to_be_checked(checked=anchor_id in chosen)
    screenshot(page, "round-manage-anchors-chosen-1280")

    page.get_by_role("button", name="Open round").click()
    expect(page.get_by_role("status").filter(has_text="Round opened")).to_contain_text(
        "Assessors can score it now."
    )
    expect(facts.locator(".badge").first).to_have_text("open")
    anchor_list = page.locator("ol.anchor-list > li")
    expect(anchor_list).to_have_count(len(chosen))
    for index, anchor_id in enumerate(chosen):
        expect(anchor_list.nth(index).get_by_role("link")).to_have_text(qualification[anchor_id])
    expect(page.get_by_role("heading", name=re.compile(r"^Assessors"))).to_be_visible()
    expect(page.locator("main")).to_contain_text(ASSESSOR)
    screenshot(page, "round-manage-open-1280")
    result = run_axe(page, "journey-round-manage-open")
    assert not _serious(result), describe(_serious(result))

    with site.session() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        assert (rnd.name, rnd.kind, rnd.status) == (NEW_ROUND, RoundKind.QUALIFICATION, RoundStatus.OPEN)
        assigned = session.scalars(
            select(User.email)
            .join(Assignment, Assignment.user_id == User.id)
            .where(Assignment.round_id == round_id)
        ).all()
        assert assigned == ["new@demo.test"]

    # The rounds list links the new round; its report has no scores yet and says so.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rounds").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NEW_ROUND, exact=True))
    expect(row).to_contain_text("open")
    row.get_by_role("link", name=NEW_ROUND, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_ROUND)
    expect(page.locator("main")).to_contain_text("0 of 1 assessors finished")
    expect(page.get_by_text("No scores yet: reliability appears once assessors submit.")).to_be_visible()


def _scores(session, round_id: int) -> list[tuple[int, int, int, int, int]]:
    """(anchor, criterion, assessor, level, key level) of every criterion score in the round, with the
    key version each sheet was scored against; a corrected score counts at its latest correction's
    level (the demo corrects one of Maya's spring scores)."""
    corrected = dict(
        session.execute(
            select(ScoreCorrection.criterion_score_id, ScoreCorrection.level_value)
            .where(ScoreCorrection.round_id == round_id)
            .order_by(ScoreCorrection.seq)
        ).all()
    )
    rows = session.execute(
        select(
            ScoreSheet.anchor_id,
            CriterionScore.criterion_id,
            ScoreSheet.assessor_id,
            CriterionScore.level_value,
            AnchorKeyEntry.level_value,
            CriterionScore.id,
        )
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .join(
            AnchorKeyEntry,
            (AnchorKeyEntry.key_version_id == ScoreSheet.key_version_id)
            & (AnchorKeyEntry.criterion_id == CriterionScore.criterion_id),
        )
        .where(ScoreSheet.round_id == round_id)
    )
    return [(a, c, who, corrected.get(score_id, level), key) for a, c, who, level, key, score_id in rows]


def test_lead_trainer_reads_a_round_report_with_charts_and_their_data(new_page, site) -> None:
    rnd = site.past_round
    with site.session() as session:
        scores = _scores(session, rnd.id)
        agreement = agreement_by_assessor(session, rnd)
        measurement = session.scalar(
            select(RubricVersion.level_of_measurement)
            .join(Round, Round.rubric_version_id == RubricVersion.id)
            .where(Round.id == rnd.id)
        )
    alpha = krippendorff_alpha(
        [f"{a}:{c}" for a, c, *_ in scores],
        [r for _, _, r, _, _ in scores],
        [v for *_, v, _ in scores],
        levels=list(rnd.levels),
        level_of_measurement=measurement,
        # The report's own bootstrap (seeded by the round): the label reads the interval too.
        n_boot=reports.N_BOOT,
        seed=rnd.id,
    )
    assert alpha.value is not None
    confusion = Counter((level, key) for *_, level, key in scores)

    page = new_page()
    log_in(page, site.base, "trainer@demo.test")
    page.get_by_role("table").get_by_role("link", name=PAST_ROUND, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PAST_ROUND)

    # Four server-rendered SVG charts, each an image with a text alternative and a caption that points
    # at the table holding its numbers.
    figures = page.locator("figure.chart")
    expect(figures).to_have_count(4)
    for name, table_id in (
        ("Two dot plots for 7 assessors", "accuracy-table"),
        ("Dot plot of Krippendorff's alpha", "reliability-table"),
        ("Heat map of criterion-scores", "confusion-table"),
        ("Heat map of quadratic-weighted Cohen's kappa", "pairwise-table"),
    ):
        chart = page.get_by_role("img", name=re.compile("^" + re.escape(name)))
        expect(chart).to_have_count(1)
        expect(chart).to_be_visible()
        assert chart.evaluate("el => el.tagName.toLowerCase()") == "svg"
        expect(chart.locator("title")).to_have_count(1)
        figure = figures.filter(has=chart)
        expect(figure.locator("figcaption")).to_contain_text("table")
        table = page.locator(f"table#{table_id}")
        expect(table).to_be_visible()
        expect(table.get_by_role("columnheader").first).to_be_visible()
        assert table.get_by_role("row").count() > 1

    # The accuracy table: each assessor's exact and exact-or-adjacent share, counted independently.
    accuracy = page.locator("table#accuracy-table")
    for name, (exact, adjacent) in agreement.items():
        row = accuracy.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))
        expect(row.get_by_role("cell").nth(1)).to_contain_text(f"{exact * 100:.0f}%")
        expect(row.get_by_role("cell").nth(2)).to_contain_text(f"{adjacent * 100:.0f}%")

    # The reliability table: Krippendorff's alpha over all criteria, from calibration.stats.
    overall = (
        page.locator("table#reliability-table")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name="All criteria", exact=True))
    )
    expect(overall.get_by_role("cell").nth(2)).to_contain_text(f"{alpha.value:.3f}")
    expect(overall.get_by_role("cell").nth(2)).to_contain_text(alpha.label())

    # The confusion table: criterion-scores by assessor level (rows) and key level (columns).
    matrix = page.locator("table#confusion-table")
    body_rows = matrix.locator("tbody tr")
    expect(body_rows).to_have_count(len(rnd.levels))
    for i, level in enumerate(rnd.levels):
        cells = body_rows.nth(i).locator("td")
        expect(cells).to_have_text([str(confusion[(level, key)]) for key in rnd.levels])
    assert sum(confusion.values()) == len(scores)

    screenshot(page, "round-report-charts-1280")
    result = run_axe(page, "journey-round-report")
    assert not _serious(result), describe(_serious(result))

    narrow = new_page(NARROW)
    log_in(narrow, site.base, "trainer@demo.test")
    narrow.goto(site.url(f"/trainer/rounds/{rnd.id}"))
    expect(narrow.locator("figure.chart")).to_have_count(4)
    for figure in narrow.locator("figure.chart svg").all():
        box = figure.bounding_box()
        assert box is not None and box["x"] + box["width"] <= NARROW["width"] + 1, (
            "a chart is wider than the phone"
        )
    screenshot(narrow, "round-report-charts-390")

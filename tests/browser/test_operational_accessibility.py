"""The live scoring agreement page (issue 18, item 5) passes axe at 1280 and 390 px, with labelled
controls, one h1 and no sideways scrolling, with live ratings and with a filter problem."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from calibration.db import write_intent
from calibration.models import Criterion, Membership, Program, Role, RubricVersion

from ..factories_operational import add_ratings, double_scored
from .support import DEMO_NOW, WIDE, log_in
from .test_api_accessibility import _check_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _live_ratings(site) -> str:  # type: ignore[no-untyped-def]
    """A month of calm double scoring (readers agree closely: no drift flag for other tests)."""
    with write_intent(), site.session() as session:
        program = session.scalar(select(Program.id).order_by(Program.id))
        rubric = session.scalar(
            select(RubricVersion).where(RubricVersion.program_id == program).order_by(RubricVersion.id)
        )
        readers = list(
            session.scalars(
                select(Membership.user_id)
                .where(Membership.program_id == program, Membership.role == Role.ASSESSOR)
                .order_by(Membership.user_id)
            )
        )
        criteria = list(
            session.scalars(
                select(Criterion.id)
                .where(Criterion.rubric_version_id == rubric.id)
                .order_by(Criterion.position)
            )
        )[:3]
        start = DEMO_NOW - dt.timedelta(days=40)
        rows = double_scored(
            readers=readers,
            criteria=criteria,
            levels=rubric.level_values,
            submissions=30,
            start=start,
            days=28,
            noise=0.1,
            seed=3,
            prefix="axe",
        )
        add_ratings(session, program, rubric.id, rows)
        return f"rubric_version={rubric.id}&from={start.date().isoformat()}&to={DEMO_NOW.date().isoformat()}"


def test_live_scoring_page_is_accessible(new_page: Callable[..., Page], site) -> None:  # type: ignore[no-untyped-def]
    query = _live_ratings(site)
    page = new_page(WIDE)
    log_in(page, site.base, "trainer@demo.test")
    page.goto(site.url(f"/trainer/operational?{query}"))
    expect(page.get_by_role("link", name="Live scoring", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#reliability-table")).to_be_visible()
    _check_both_widths(page, "operational")
    page.goto(site.url("/trainer/operational?from=not-a-day&by=decade"))
    expect(page.get_by_role("alert")).to_be_visible()
    _check_both_widths(page, "operational-problems")

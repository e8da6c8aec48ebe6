"""Issue 17 (items 1, 2 and 10) in a real browser, on a demo of its own with an added cohort flag (the
shared demo server's other tests must not see it): the EWMA control chart of the drifting assessor
drawn from ``calibration.stats``, the flag page in words, the cohort-confirm warning, and the round
report printed to PDF by Chromium (``Page.printToPDF``) and read back with pypdf."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from calibration.db import make_engine, write_intent
from calibration.models import (
    CertificationStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Program,
    Round,
    User,
)
from calibration.services.demo import seed_demo
from calibration.services.drift_series import assessor_statuses, calibration_series
from calibration.services.flags import affected_assessors
from calibration.stats.ewma import EWMA_L, EWMA_LAMBDA, ewma_drift, pool_sigma

from ..conftest import _fresh_sqlite
from ..mailsink import Sink
from ..server import free_port, gunicorn
from .support import (
    DEMO_NOW,
    FIRST_ROUND,
    NARROW,
    PAST_ROUND,
    ROOT,
    describe,
    horizontal_overflow,
    log_in,
    run_axe,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SPRING = PAST_ROUND  # Analyzing Time, closed (demo rounds are named after the month they opened)
AUTUMN = FIRST_ROUND  # Analyzing Time, the oldest


class WorkspaceSite:
    def __init__(self, base: str, sessions: Any, cohort_flag: int, program: int) -> None:
        self.base, self.sessions, self.cohort_flag, self.program = base, sessions, cohort_flag, program

    def url(self, path: str) -> str:
        return self.base + path

    def ids(self) -> tuple[dict[str, int], dict[str, int]]:
        with self.sessions() as s:
            users = dict(s.execute(select(User.email, User.id)).all())
            rounds = dict(s.execute(select(Round.name, Round.id)).all())
        return users, rounds


def _add_cohort_flag(session: Any, program_id: int) -> int:
    rounds = dict(session.execute(select(Round.name, Round.id)).all())
    rid = rounds[SPRING]
    flag = DriftFlag(
        program_id=program_id, user_id=None, criterion_id=None, round_id=rid, rule=FlagRule.COHORT,
        status=FlagStatus.OPEN, direction=None,
        statistic="Krippendorff's alpha of the cohort in the round, judged on its interval",
        value=0.41, threshold=0.667, window_json=json.dumps([rounds[AUTUMN], rid]),
        evidence_json=json.dumps({"round": rid, "alphas": [0.81, 0.41], "ses": [0.05, 0.06], "upper": 0.52,
                                  "baseline": None, "floor": None, "triggers": ["below_minimum"],
                                  "too_few_rounds": [], "lowest_anchor_titles": [],
                                  "lowest_criterion_titles": []}),
        parameters_json=json.dumps({"nominal_false_alarm": 0.01, "horizon_rounds": 20, "budget_total": 0.05}),
        summary="Cohort alpha 0.410: its whole interval is below the minimum.", assessor_text="",
        evidence_hash="browser-test-cohort-flag",
    )  # fmt: skip
    session.add(flag)
    session.flush()
    return int(flag.id)


@pytest.fixture(scope="module")
def workspace(browser: object, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory,
              mail_sink: Sink) -> Iterator[WorkspaceSite]:  # fmt: skip
    url = _fresh_sqlite(sqlite_template, tmp_path_factory.mktemp("workspace-db"))
    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        with write_intent(), sessions() as session:
            assert seed_demo(session, ROOT / "rubrics", now=DEMO_NOW).created
            program = session.scalar(select(Program.id))
            flag_id = _add_cohort_flag(session, program)
            session.commit()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "MAIL_BACKEND": "smtp",
            "MAIL_HOST": "127.0.0.1",
            "MAIL_PORT": str(mail_sink.port),
            "MAIL_SECURITY": "none",
            "PUBLIC_BASE_URL": base,
        }
        with gunicorn(url, workers=1, port=port, extra_env=env) as served:
            assert served == base
            yield WorkspaceSite(base, sessions, flag_id, program)
    finally:
        engine.dispose()


def _axe_both_widths(page: Page, name: str) -> None:
    for width in ("1280", "390"):
        if width == "390":
            page.set_viewport_size(NARROW)
            assert not horizontal_overflow(page), f"{name} wider than 390 px: {horizontal_overflow(page)}"
        result = run_axe(page, f"{name}-{width}")
        blocking = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not blocking, f"axe on {name} at {width} px:\n{describe(blocking)}"
        screenshot(page, f"{name}-{width}")


def _trainer(new_page: Callable[..., Page], site: WorkspaceSite) -> Page:
    page = new_page()
    log_in(page, site.base, "trainer@demo.test")
    return page


def _library_chart(site: WorkspaceSite, user_id: int, round_id: int) -> Any:
    """The overall EWMA chart straight from calibration.stats: the program's default weight and
    limits, the certified pool's sigma."""
    with site.sessions() as s:
        [series] = [x for x in calibration_series(s, site.program) if round_id in x.round_ids]
        pool_ids = [
            u
            for u, st in assessor_statuses(s, site.program).items()
            if st in (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)
        ]
        levels = series.rubric.level_values
    pool = series.mask(np.isin(series.assessor, pool_ids))
    sigma = pool_sigma(pool.pos, pool.assessor, pool.sheet, pool.level, pool.key, levels=levels,
                       criteria=pool.criterion)  # fmt: skip
    mine = series.mask(series.assessor == user_id)
    table = ewma_drift(mine.pos, mine.assessor, mine.sheet, mine.level, mine.key, levels=levels,
                       criteria=mine.criterion, sigma=sigma, lam=EWMA_LAMBDA, L=EWMA_L)  # fmt: skip
    d = table.overall[user_id]
    return d, [series.round_names[series.round_ids[int(p)]] for p in d.rounds]


def _drawn_table(page: Page, table: str) -> list[dict[str, Any]]:
    return page.evaluate(
        """(sel) => Array.from(document.querySelectorAll(sel + ' tbody tr')).map(tr => ({
            round: tr.querySelector('th').textContent.trim(),
            values: Array.from(tr.querySelectorAll('td[data-value]')).map(td => Number(td.dataset.value)),
            shown: Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim()),
            reading: tr.lastElementChild.textContent.trim(),
        }))""",
        table,
    )


def test_control_chart_points_and_limits_match_the_library(
    new_page: Callable[..., Page], workspace: WorkspaceSite
) -> None:
    users, rounds = workspace.ids()
    samuel = users["samuel@demo.test"]
    d, names = _library_chart(workspace, samuel, rounds[SPRING])
    assert d.status == "flagged", "the demo's drifting assessor should be outside the limits"
    page = _trainer(new_page, workspace)
    page.goto(workspace.url(f"/trainer/assessors/{samuel}"))
    chart = page.locator("section.control-chart").first
    expect(chart.get_by_role("heading", level=3)).to_contain_text("outside its limits since " + SPRING)
    svg = chart.locator("svg.chart-svg")
    expect(svg).to_be_visible()
    expect(svg).to_have_attribute("role", "img")
    assert "EWMA" in (svg.get_attribute("aria-label") or "")
    rows = _drawn_table(page, "#control-1-table")
    assert [r["round"] for r in rows] == names
    for row, z, limit in zip(rows, d.path, d.limits, strict=True):
        ewma, lower, upper = row["values"]
        assert ewma == pytest.approx(z, abs=1e-12) and upper == pytest.approx(limit, abs=1e-12)
        assert lower == pytest.approx(-limit, abs=1e-12)
        assert row["shown"][2] == f"{z:+.3f}"  # what is printed is the same number
    flagged = {names[d.rounds.index(r)] for r in d.signal_rounds}
    assert {r["round"] for r in rows if "above the upper limit" in r["reading"]} == flagged
    # The chart's own marks: one cross per flagged round, drawn inside the SVG as paths.
    assert svg.locator("text", has_text="outside the limits").count() == 1  # the legend names the cross
    _axe_both_widths(page, "workspace-profile-control-chart")


def test_flag_page_says_the_rule_in_words(new_page: Callable[..., Page], workspace: WorkspaceSite) -> None:
    users, _ = workspace.ids()
    with workspace.sessions() as s:
        flag_id = s.scalar(
            select(DriftFlag.id).where(
                DriftFlag.rule == FlagRule.PASS_RULE, DriftFlag.user_id == users["samuel@demo.test"]
            )
        )
    page = _trainer(new_page, workspace)
    page.goto(workspace.url(f"/trainer/flags/{flag_id}"))
    expect(page.locator("#rule-sentence")).to_have_text(
        f"In “{SPRING}” Samuel Ortiz's exact-or-adjacent agreement 56%, at most 91% at the rule's "
        "confidence, below the minimum 95%."
    )
    expect(page.locator("#confirm-effect")).to_contain_text(
        "Confirming starts recalibration for Samuel Ortiz"
    )
    main = page.get_by_role("main").inner_text()
    assert not re.search(r"\[\s*-?\d", main) and "{'" not in main
    assert not re.search(r"\d\.\d{5,}", main), re.search(r".{30}\d\.\d{5,}", main)
    expect(page.get_by_role("table", name="Each share of the pass rule in the round")).to_be_visible()
    expect(page.locator("#flag-control-1-table")).to_be_visible()
    _axe_both_widths(page, "workspace-flag")


def test_cohort_confirm_warns_and_changes_nothing_until_confirmed(
    new_page: Callable[..., Page], workspace: WorkspaceSite
) -> None:
    with workspace.sessions() as s:
        flag = s.get(DriftFlag, workspace.cohort_flag)
        affected = affected_assessors(s, workspace.program, flag)
    assert len(affected) >= 2
    page = _trainer(new_page, workspace)
    page.goto(workspace.url(f"/trainer/flags/{workspace.cohort_flag}"))
    expect(page.locator("#confirm-effect")).to_contain_text(
        f"starts recalibration for the whole cohort: {len(affected)} certified assessors"
    )
    page.get_by_label("Note (optional, kept in the audit trail)").fill("Discussed at the team meeting")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and review who is affected…").click()
    warning = page.locator("#cohort-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"{len(affected)} assessors")
    expect(warning).to_contain_text("Nothing has changed yet")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Start recalibration for {len(affected)} assessors?"
    )
    expect(page.get_by_role("list", name="Who it affects").get_by_role("listitem")).to_have_count(
        len(affected)
    )
    expect(page.get_by_label("Note (optional, kept in the audit trail)")).to_have_value(
        "Discussed at the team meeting"
    )
    _axe_both_widths(page, "workspace-cohort-confirm")
    with page.expect_navigation():
        page.get_by_role("link", name="Cancel: back to the flag, nothing changed").click()
    with workspace.sessions() as s:
        assert s.get(DriftFlag, workspace.cohort_flag).status == FlagStatus.OPEN
        statuses = assessor_statuses(s, workspace.program)
    assert all(statuses[u] == CertificationStatus.CERTIFIED for u in affected)


def test_round_report_prints_with_a_header_on_every_page(
    new_page: Callable[..., Page], workspace: WorkspaceSite, tmp_path: Path
) -> None:
    _, rounds = workspace.ids()
    page = _trainer(new_page, workspace)
    page.goto(workspace.url(f"/trainer/rounds/{rounds[SPRING]}/print"))
    pdf = tmp_path / "round.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)  # Chrome DevTools Page.printToPDF
    reader = PdfReader(str(pdf))
    texts = [re.sub(r"\s+", " ", p.extract_text()) for p in reader.pages]
    assert len(texts) >= 2, "the demo round's report fills more than one page"
    program = "Demo Educator Micro-credentials"
    for number, text in enumerate(texts, start=1):
        assert f"{program} · {SPRING}" in text, f"no running header on page {number}"
        assert "Agreement report · printed " in text, f"no date on page {number}"
        assert f"Page {number} of {len(texts)}" in text
    # The "All assessors" total row prints exactly once, at the end of its table.
    assert sum(t.count("All assessors") for t in texts) == 1
    last = next(i for i, t in enumerate(texts) if "All assessors" in t)
    assert "Under the pass rule" in texts[last], "the table's header row is on the page of its last row"
    # No navigation or controls on paper.
    assert not any("Download CSV" in t or "Printable report" in t for t in texts)

"""Issue 17, items 1-3 and 10, on the demo program (both databases): the EWMA control chart drawn from
``calibration.stats``, the flag page in words, a cohort flag confirmed only after a second step, the
report's failed checks and reading guide, two-level rounds without "adjacent", and the print header."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import (
    AuditEvent,
    CertificationStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Program,
    Round,
    User,
)
from calibration.services.demo import DEMO_PASSWORD, DEMO_SLUG, demo_round_names, seed_demo
from calibration.services.drift_series import assessor_statuses, calibration_series
from calibration.stats.ewma import EWMA_L, EWMA_LAMBDA, ewma_drift, pool_sigma

from ..conftest import post_form

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_NOW = utcnow().replace(microsecond=0)  # the demo's rounds are named after the month they opened
SPRING = demo_round_names(DEMO_NOW)["past"]  # Analyzing Time, closed
WINTER = demo_round_names(DEMO_NOW)["binary"]  # Implementing Equitable Practices: a two-level rubric
AUTUMN = demo_round_names(DEMO_NOW)["first"]  # Analyzing Time, the oldest
BAD = "bad\x00value\x1b"


@pytest.fixture
def demo(db: Any, client: Any, login: Any) -> dict[str, Any]:
    assert seed_demo(db, ROOT / "rubrics", now=DEMO_NOW).created
    db.commit()
    program = db.scalar(select(Program).where(Program.slug == DEMO_SLUG))
    users = dict(db.execute(select(User.email, User.id)).all())
    rounds = dict(db.execute(select(Round.name, Round.id).where(Round.program_id == program.id)).all())
    db.rollback()
    assert login("trainer@demo.test", DEMO_PASSWORD).status_code == 302
    return {"program": program.id, "users": users, "rounds": rounds}


def expected_ewma(db: Any, program_id: int, user_id: int, rubric_round: int) -> Any:
    """The overall EWMA chart computed straight from calibration.stats, with the program's default
    weight and limits and the certified pool's sigma (as the drift rules compute it)."""
    [series] = [s for s in calibration_series(db, program_id) if rubric_round in s.round_ids]
    pool_ids = [
        u
        for u, s in assessor_statuses(db, program_id).items()
        if s in (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)
    ]
    pool = series.mask(np.isin(series.assessor, pool_ids))
    sigma = pool_sigma(
        pool.pos, pool.assessor, pool.sheet, pool.level, pool.key,
        levels=series.rubric.level_values, criteria=pool.criterion,
    )  # fmt: skip
    mine = series.mask(series.assessor == user_id)
    table = ewma_drift(
        mine.pos, mine.assessor, mine.sheet, mine.level, mine.key, levels=series.rubric.level_values,
        criteria=mine.criterion, sigma=sigma, lam=EWMA_LAMBDA, L=EWMA_L,
    )  # fmt: skip
    d = table.overall[user_id]
    names = [series.round_names[series.round_ids[int(p)]] for p in d.rounds]
    return d, names


def control_rows(html: str, table_id: str) -> list[tuple[str, float, float, float]]:
    """(round, EWMA, lower, upper) from a control chart's data table (full-precision data-value)."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, table_id
    out = []
    for row in re.findall(r"<tr data-round.*?</tr>", table.group(0), re.S):
        name = unescape(re.search(r'<th scope="row">(.*?)</th>', row, re.S).group(1)).strip()
        values = [float(v) for v in re.findall(r'data-value="([^"]+)"', row)]
        out.append((name, *values))
    return out


def test_profile_control_chart_matches_the_library(client: Any, db: Any, demo: dict[str, Any]) -> None:
    samuel = demo["users"]["samuel@demo.test"]
    html = client.get(f"/trainer/assessors/{samuel}").get_data(as_text=True)
    d, names = expected_ewma(db, demo["program"], samuel, demo["rounds"][SPRING])
    rows = control_rows(html, "control-1-table")
    assert [r[0] for r in rows] == names
    assert [r[1] for r in rows] == pytest.approx(list(d.path), abs=1e-12)
    assert [r[2] for r in rows] == pytest.approx([-x for x in d.limits], abs=1e-12)
    assert [r[3] for r in rows] == pytest.approx(list(d.limits), abs=1e-12)
    # The drifting assessor's signal is marked, in the table and in the chart's text alternative.
    assert d.status == "flagged" and d.first_round is not None
    assert "✗ above the upper limit" in html
    assert f"outside its limits since {SPRING}" in html
    assert 'aria-label="Control chart of Samuel Ortiz&#39;s signed deviation' in html
    assert "(marked with a cross)" in html
    # One chart per criterion too, and the numbers in force are named.
    assert html.count('class="control-chart"') >= 1 + 5
    assert "Numbers in force: the program&#39;s drift settings" in html


def test_flag_page_reads_in_words(client: Any, db: Any, demo: dict[str, Any]) -> None:
    flag = db.scalar(
        select(DriftFlag).where(
            DriftFlag.program_id == demo["program"],
            DriftFlag.rule == FlagRule.PASS_RULE,
            DriftFlag.user_id == demo["users"]["samuel@demo.test"],
        )
    )
    db.rollback()
    html = client.get(f"/trainer/flags/{flag.id}").get_data(as_text=True)
    text = unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", html, flags=re.S)))
    assert f"In “{SPRING}” Samuel Ortiz's exact-or-adjacent agreement 56%" in text
    assert "Rounds it rests on" in text and "round ids" not in text
    # No raw Python lists or mappings, no long floats.
    main = text[text.index("Flag #") :]
    assert not re.search(r"\[\s*-?\d", main), re.search(r".{40}\[\s*-?\d.{40}", main)
    assert "{'" not in main and '{"' not in main
    assert not re.search(r"\d\.\d{5,}", main), re.search(r".{30}\d\.\d{5,}.{10}", main)
    assert "Confirming starts recalibration for Samuel Ortiz" in text
    # The evidence as a table of the pass rule's shares, the failed one marked.
    assert re.search(r"Exact-or-adjacent agreement\s+⚑\s+56%\s+91%\s+95%\s+clearly below", text)
    # The control chart of the flagged assessor, from the same numbers as the profile.
    d, _ = expected_ewma(db, demo["program"], flag.user_id, flag.round_id)
    rows = control_rows(html, "flag-control-1-table")
    assert [r[1] for r in rows] == pytest.approx(list(d.path), abs=1e-12)


def _cohort_flag(db: Any, demo: dict[str, Any]) -> int:
    rid = demo["rounds"][SPRING]
    flag = DriftFlag(
        program_id=demo["program"], user_id=None, criterion_id=None, round_id=rid, rule=FlagRule.COHORT,
        status=FlagStatus.OPEN, direction=None,
        statistic="Krippendorff's alpha of the cohort in the round, judged on its interval",
        value=0.41, threshold=0.667, window_json=json.dumps([demo["rounds"][AUTUMN], rid]),
        evidence_json=json.dumps({"round": rid, "alphas": [0.81, 0.41], "ses": [0.05, 0.06], "upper": 0.52,
                                  "baseline": None, "floor": None, "triggers": ["below_minimum"],
                                  "too_few_rounds": [], "lowest_anchor_titles": [], "lowest_criterion_titles": []}),
        parameters_json=json.dumps({"nominal_false_alarm": 0.01, "horizon_rounds": 20, "budget_total": 0.05}),
        summary="Cohort alpha 0.410: its whole interval is below the minimum.", assessor_text="",
        evidence_hash="test-cohort-flag",
    )  # fmt: skip
    db.add(flag)
    db.commit()
    return int(flag.id)


def test_cohort_flag_is_confirmed_only_after_a_second_step(
    client: Any, db: Any, demo: dict[str, Any]
) -> None:
    flag_id = _cohort_flag(db, demo)
    url = f"/trainer/flags/{flag_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Confirm and review who is affected" in page
    m = re.search(r"starts recalibration for the whole cohort: (\d+) certified assessors", page)
    assert m, "the flag page says how many assessors a confirm affects"
    n = int(m.group(1))
    assert n >= 2
    step = post_form(client, f"{url}/confirm", {"confirm-reason": "kept note"}, token_page=url)
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and 'id="cohort-warning"' in html
    assert f"Start recalibration for {n} assessors?" in html and "Nothing has changed yet" in html
    assert "kept note" in html  # what was typed is kept for the second press
    assert html.count("<li>") >= n
    db.rollback()
    assert db.get(DriftFlag, flag_id).status == FlagStatus.OPEN
    assert db.scalar(select(func.count()).where(AuditEvent.action == "drift.confirm")) == 0
    # Bad input on the second step: a clear message, nothing changed.
    for data in ({"confirm-acknowledged": "maybe"}, {"confirm-acknowledged": "yes", "confirm-reason": BAD}):
        bad = post_form(client, f"{url}/confirm", data, token_page=url)
        assert bad.status_code == 400 and "nothing was changed" in bad.get_data(as_text=True)
        db.rollback()
        assert db.get(DriftFlag, flag_id).status == FlagStatus.OPEN
    done = post_form(
        client,
        f"{url}/confirm",
        {"confirm-acknowledged": "yes", "confirm-reason": "kept note"},
        token_page=url,
    )
    assert done.status_code == 302
    db.rollback()
    assert db.get(DriftFlag, flag_id).status == FlagStatus.CONFIRMED
    assert db.scalar(select(func.count()).where(AuditEvent.action == "drift.confirm")) == 1


def test_round_report_names_failed_checks_and_explains_each_statistic(
    client: Any, demo: dict[str, Any]
) -> None:
    html = client.get(f"/trainer/rounds/{demo['rounds'][SPRING]}").get_data(as_text=True)
    helen = re.search(r"Helen Walsh</a>.*?</tr>", html, re.S).group(0)
    assert "✗ below the rule:" in helen
    assert (
        "<li>exact agreement 40% &lt; 70%</li>" in helen
        and "<li>decision agreement 80% &lt; 90%</li>" in helen
    )
    assert 'id="how-to-read"' in html and "How to read this report" in html
    for words in (
        "same level as the key",
        "ordinal, corrected for chance",
        "among assessors, exact matches only, chance-corrected",
        "same side of the earn cut, level 3 “Proficient”",
        "ICC(2,k): the same for the average of all k assessors",
        "where the interval crosses a boundary the label names both sides",
    ):
        assert words in unescape(html), words


def test_two_level_round_shows_no_adjacent(client: Any, demo: dict[str, Any]) -> None:
    rid = demo["rounds"][WINTER]
    html = client.get(f"/trainer/rounds/{rid}").get_data(as_text=True)
    table = re.search(r'<table class="data" id="accuracy-table">.*?</table>', html, re.S).group(0)
    assert "Exact or adjacent" not in table and "2+ levels off" not in table
    assert "On this two-level scale there is no adjacent level" in html
    csv = client.get(f"/trainer/rounds/{rid}/export.csv?table=accuracy").get_data(as_text=True)
    header = csv.splitlines()[0].split(",")
    assert "exact" in header and "adjacent" not in header and "discrepant_count" not in header
    assert all(len(line.split(",")) >= len(header) for line in csv.splitlines()[1:])
    samuel = demo["users"]["samuel@demo.test"]
    profile = client.get(f"/trainer/assessors/{samuel}").get_data(as_text=True)
    row = re.search(rf"{re.escape(WINTER)}</a>.*?</tr>", profile, re.S).group(0)
    assert "not applicable: two levels" in row
    rounds_csv = client.get(f"/trainer/assessors/{samuel}/export.csv?table=rounds").get_data(as_text=True)
    head = rounds_csv.splitlines()[0].split(",")
    winter = next(line for line in rounds_csv.splitlines() if WINTER in line).split(",")
    assert winter[head.index("adjacent")] == "" and winter[head.index("discrepant_count")] == ""


def test_print_header_stylesheet_names_program_round_and_date(
    client: Any, db: Any, demo: dict[str, Any]
) -> None:
    rid = demo["rounds"][SPRING]
    page = client.get(f"/trainer/rounds/{rid}/print").get_data(as_text=True)
    assert f'href="/trainer/rounds/{rid}/print-header.css" media="print"' in page
    css = client.get(f"/trainer/rounds/{rid}/print-header.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    body = css.get_data(as_text=True)
    assert "@top-left" in body and "Demo Educator Micro-credentials · " + SPRING in body
    assert "printed " in body and 'counter(page) " of " counter(pages)' in body
    # A name with quotes, a backslash or markup stays a string.
    db.get(Round, rid).name = 'Spring "A" \\ </style> {x}'
    db.commit()
    body = client.get(f"/trainer/rounds/{rid}/print-header.css").get_data(as_text=True)
    top_left = re.search(r"@top-left \{ content: (\"[^\"]*\");", body)
    assert top_left, body
    assert "\\22 A\\22 " in top_left.group(1) and "\\5c " in top_left.group(1) and "<" not in body


def test_flag_chart_uses_the_sigma_and_limits_the_flag_stored(
    client: Any, db: Any, world: Any, login: Any
) -> None:
    """The values in force: an own-drift flag's stored pool sigma; an EWMA flag's own lambda and L."""
    from calibration.services import drift
    from calibration.stats.ewma import PoolSigma

    from ..factories_drift import build_history
    from ..factories_reports import add_assessors

    people = [world.ids["assessor"], world.ids["assessor2"], *add_assessors(db, world.program_a, 5)]
    drifter = world.ids["assessor"]
    history = build_history(
        db, world, n_rounds=10, assessors=people, seed=3, bias={drifter: lambda t, c: 1 if t >= 6 else 0}
    )
    drift.evaluate_program(db, world.program_a)
    db.commit()
    flag = db.scalar(
        select(DriftFlag).where(
            DriftFlag.user_id == drifter,
            DriftFlag.rule == FlagRule.OWN_DRIFT,
            DriftFlag.criterion_id.is_(None),
        )
    )
    assert flag is not None
    stored = json.loads(flag.parameters_json)["sigma"]
    # The stored sigma differs from today's pool once the pool changes: make it visibly different.
    stored["per_sheet"] = float(stored["per_sheet"]) * 2
    flag.parameters_json = json.dumps({**json.loads(flag.parameters_json), "sigma": stored})
    ewma = DriftFlag(
        program_id=world.program_a, user_id=drifter, criterion_id=None, round_id=history.rounds[-1],
        rule=FlagRule.EWMA, status=FlagStatus.DISMISSED, direction="lenient", statistic="EWMA", value=0.5,
        threshold=0.2, window_json=json.dumps(history.rounds), evidence_json="{}",
        parameters_json=json.dumps({"lam": 0.3, "L": 2.5, "min_shift": 0.0, "min_anchors": 5, "min_scores": 20,
                                    "sigma": stored}),
        summary="Lenient overall: the EWMA reached +0.50.", assessor_text="", evidence_hash="old-ewma-flag",
    )  # fmt: skip
    db.add(ewma)
    db.commit()
    flag_id, ewma_id = flag.id, ewma.id
    [series] = calibration_series(db, world.program_a)
    mine = series.mask(series.assessor == drifter)
    sigma = PoolSigma(
        per_sheet=stored["per_sheet"], by_criterion={int(k): v for k, v in stored["by_criterion"].items()}
    )
    db.rollback()
    login(world.emails["trainer"])
    for fid, lam, L in ((flag_id, EWMA_LAMBDA, EWMA_L), (ewma_id, 0.3, 2.5)):
        d = ewma_drift(
            mine.pos, mine.assessor, mine.sheet, mine.level, mine.key, levels=series.rubric.level_values,
            criteria=mine.criterion, sigma=sigma, lam=lam, L=L,
        ).overall[drifter]  # fmt: skip
        html = client.get(f"/trainer/flags/{fid}").get_data(as_text=True)
        rows = control_rows(html, "flag-control-1-table")
        assert [r[1] for r in rows] == pytest.approx(list(d.path), abs=1e-12), fid
        assert [r[3] for r in rows] == pytest.approx(list(d.limits), abs=1e-12), fid
        assert f"stored with flag #{fid}" in html

"""The assessor profile and the program overview: every number checked against calibration.stats
called directly on the same rows; empty, one-assessor and full cases; scoping."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    CertificationStatus,
    Membership,
    Program,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.stats import krippendorff_alpha
from calibration.stats.accuracy import accuracy_by_rater
from calibration.web import charts

from ..factories import make_round, submit
from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores
from .test_trainer import rows, table


def past_round(db, world, people, *, name="Past round", days_ago=40):  # type: ignore[no-untyped-def]
    """A closed round in program A over the same anchors, opened ``days_ago`` days ago."""
    now = utcnow()
    return make_round(
        db,
        db.get(Program, world.program_a),
        db.get(RubricVersion, world.rubric_id),
        [db.get(Anchor, a) for a in world.anchors],
        [db.get(User, u) for u in people],
        name=name,
        status=RoundStatus.CLOSED,
        opens_at=now - dt.timedelta(days=days_ago),
        closes_at=now - dt.timedelta(days=days_ago - 7),
    ).id


def share_text(p) -> str:  # type: ignore[no-untyped-def]
    """How the page writes a proportion (the _stats.html ``share`` macro)."""
    return f"{p.p * 100:.0f}% ({p.count}/{p.n}; {p.ci_low * 100:.0f}–{p.ci_high * 100:.0f}%)"


# -------------------------------------------------------------------------------------------- profile
def test_profile_of_an_assessor_without_scores(client, login, world):
    login(world.emails["trainer"])
    page = client.get(f"/trainer/assessors/{world.ids['assessor2']}").get_data(as_text=True)
    assert "Ben Second" in page
    assert "certified" in page
    assert "No drift flags." in page
    assert rows(table(page, "rounds-table"))[0][2] == "0 of 5"
    assert "<svg" not in page


def test_profile_numbers_match_the_library(client, login, world, db):
    uid = world.ids["assessor"]
    earlier = past_round(db, world, [uid])
    old = insert_sheets(
        db, earlier, noisy_scores(world, [uid], seed=3), start=utcnow() - dt.timedelta(days=39)
    )
    rng = np.random.default_rng(5)
    new_levels = {}
    for i, anchor in enumerate(world.anchors):
        levels = [int(np.clip(k + rng.integers(-1, 2), 1, 4)) for k in world.keys[anchor]]
        new_levels[anchor] = levels
        submit(db, world, "assessor", i, levels)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/assessors/{uid}").get_data(as_text=True)

    # Per round (oldest first), against each sheet's key.
    new_values = [lv for a in world.anchors for lv in new_levels[a]]
    new_keys = [k for a in world.anchors for k in world.keys[a]]
    rounds = np.array([earlier] * len(old.level) + [world.round_id] * len(new_values))
    values = np.array(old.level + new_values)
    keys = np.array(old.key + new_keys)
    criteria = np.array(old.criterion + [c for _ in world.anchors for c in world.criteria])
    by_round = accuracy_by_rater(rounds, values, keys, levels=world.levels, earn_cut=3)
    lines = rows(table(page, "rounds-table"))
    assert [line[0].split(" ")[0] for line in lines] == ["Past", "Open"]
    for line, rid in zip(lines, (earlier, world.round_id), strict=True):
        assert line[2] == "5 of 5"
        assert line[3] == share_text(by_round.by_rater[rid].exact)
        assert line[4] == share_text(by_round.by_rater[rid].adjacent)
        msd = by_round.by_rater[rid].mean_signed_deviation
        assert line[6].startswith(f"{msd.value:.2f} [{msd.ci_low:.2f}, {msd.ci_high:.2f}]")

    # Per criterion and category use over both rounds.
    overall = accuracy_by_rater(
        np.full(values.size, uid), values, keys, levels=world.levels, earn_cut=3, criteria=criteria
    )
    sections = re.findall(r"<h3>Per criterion</h3>.*?</table>", page, re.S)
    crit_rows = rows(sections[0])
    assert len(crit_rows) == len(world.criteria)
    for line, cid in zip(crit_rows, world.criteria, strict=True):
        assert int(line[1]) == 10
        assert line[2] == share_text(overall.by_criterion[cid].exact)
        assert line[5] == "too few to judge"  # 10 criterion-scores < the rule's 20
    use = overall.overall.category_use
    use_rows = rows(re.findall(r"Use of each level, against the key</h3>.*?</table>", page, re.S)[0])
    assert [int(r[1].split(" ")[0]) for r in use_rows] == list(use.assessor_counts)
    assert [int(r[2].split(" ")[0]) for r in use_rows] == list(use.key_counts)
    # over time, level use, per criterion; plus the EWMA control charts (issue 17)
    assert page.count("<svg") - page.count('aria-label="Control chart of') == 3
    assert "No drift flags." in page


def test_profile_names_a_weak_spot_once_there_is_enough_evidence(client, login, world, db):
    uid = world.ids["assessor"]
    first_criterion_up = {
        (a, uid): [min(k + 1, 4) if i == 0 and k < 4 else k for i, k in enumerate(world.keys[a])]
        for a in world.anchors
    }
    for n in range(4):  # 4 rounds x 5 anchors: 20 scores per criterion, the rule's minimum
        rid = past_round(db, world, [uid], name=f"Past {n}", days_ago=100 - 10 * n)
        insert_sheets(db, rid, first_criterion_up)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/assessors/{uid}").get_data(as_text=True)
    crit_rows = rows(re.findall(r"<h3>Per criterion</h3>.*?</table>", page, re.S)[0])
    raised = [k < 4 for k in (world.keys[a][0] for a in world.anchors)]
    assert any(raised)
    assert "lenient" in crit_rows[0][5] and "exact agreement is clearly below" in crit_rows[0][5]
    assert all(line[5] == "—" for line in crit_rows[1:])


def test_profile_is_404_outside_the_program_and_for_non_assessors(client, login, world):
    login(world.emails["trainer"])
    for uid in (world.ids["assessor_b"], world.ids["trainer"], world.ids["trainer_b"], 999999):
        assert client.get(f"/trainer/assessors/{uid}").status_code == 404, uid


# ------------------------------------------------------------------------------------------- overview
def test_overview_of_a_program_without_scores(client, login, world):
    login(world.emails["trainer_b"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    assert "Beta round" in page and "Open round" not in page
    assert rows(table(page, "alpha-table"))[0][-1] == "no scores yet"
    assert ["certified", "1"] in rows(table(page, "status-table"))
    assert "Nobody is due for recalibration" in page


def test_overview_alpha_per_round_matches_the_library_and_the_round_page(client, login, world, db):
    people = add_assessors(db, world.program_a, 5)
    assign(db, world.round_id, people)
    earlier = past_round(db, world, people)
    data_old = insert_sheets(db, earlier, noisy_scores(world, people, seed=1, spread=2))
    data_new = insert_sheets(db, world.round_id, noisy_scores(world, people, seed=2))
    login(world.emails["trainer"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    lines = rows(table(page, "alpha-table"))
    assert [line[0] for line in lines] == ["Past round", "Open round"]
    for line, data, rid in ((lines[0], data_old, earlier), (lines[1], data_new, world.round_id)):
        units, raters, criteria, values, _ = data.arrays()
        alpha = krippendorff_alpha(
            units * 1000 + criteria, raters, values, levels=world.levels, n_boot=1000, seed=rid
        )
        text = f"{alpha.value:.3f} [{alpha.ci_low:.3f}, {alpha.ci_high:.3f}] {alpha.label()}"
        assert line[-1] == text
        assert line[3] == "5" and line[4] == "25"  # assessors with sheets, sheets
        round_page = client.get(f"/trainer/rounds/{rid}").get_data(as_text=True)
        assert rows(table(round_page, "reliability-table"))[0][3] == text
    assert page.count("<svg") == 2  # alpha over time, statuses


def test_overview_lists_who_is_due_for_recalibration(client, login, world, db):
    now = utcnow()
    people = add_assessors(db, world.program_a, 5, prefix="Due")
    settings = [
        (CertificationStatus.RECALIBRATION_DUE, None),
        (CertificationStatus.CERTIFIED, now + dt.timedelta(days=10, hours=1)),
        (CertificationStatus.CERTIFIED, now - dt.timedelta(days=3, hours=1)),
        (CertificationStatus.CERTIFIED, now + dt.timedelta(days=100)),  # not yet within 30 days
        (CertificationStatus.SUSPENDED, now + dt.timedelta(days=5)),  # suspended: not a recalibration
    ]
    for uid, (status, expires) in zip(people, settings, strict=True):
        m = db.query(Membership).filter_by(user_id=uid).one()
        m.certification_status, m.certification_expires_at = status, expires
    db.commit()
    login(world.emails["trainer"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    due = rows(table(page, "due-table"))
    assert [line[0] for line in due] == ["Due 002", "Due 001", "Due 000"]
    assert due[0][3] == "certification expired 3 days ago"
    assert due[1][3] == "certification expires in 10 days"
    assert due[2][3] == "recalibration due"
    statuses = dict((r[0], int(r[1])) for r in rows(table(page, "status-table")))
    assert (
        statuses["certified"] == 2 + 3 and statuses["recalibration due"] == 1 and statuses["suspended"] == 1
    )


@pytest.mark.parametrize("name", ["Zoë $x^2$ <b>", "名前 テスト", "=cmd|' /C calc'!A0"])
def test_charts_take_any_name_without_warnings_or_markup(client, login, world, db, name):
    charts.clear_cache()
    user = db.get(User, world.ids["assessor"])
    user.name = name
    db.commit()
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, world.keys[anchor])
        submit(db, world, "assessor2", i, [1] * len(world.criteria))
    login(world.emails["trainer"])
    for url in (f"/trainer/rounds/{world.round_id}", f"/trainer/assessors/{world.ids['assessor']}"):
        page = client.get(url).get_data(as_text=True)
        assert "<svg" in page
        assert "<b>" not in page


def test_pass_rule_thresholds_are_printed_exactly(client, login, world, db):
    """87.5% must not read as 88%: the page states the rule the decisions were made under."""
    import json

    from calibration.models import Round

    rnd = db.get(Round, world.round_id)
    rule = json.loads(rnd.pass_rule_json)
    rule.update(min_exact=0.875, min_adjacent=0.95, min_decision=0.9)
    rnd.pass_rule_json = json.dumps(rule)
    db.commit()
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "exact ≥ 87.5%" in page and "exact-or-adjacent ≥ 95%" in page and "agreement ≥ 90%" in page

"""Labels on the report pages agree with their numbers (issue 12, item 5): lenient or severe only from an
interval that excludes zero, no label below the minimum evidence, and an interval beside every pairwise
kappa, on the page and in the CSV. Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrised)."""

from __future__ import annotations

import numpy as np

from calibration.stats import pairwise_kappa_matrix

from ..factories import submit
from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores
from .test_exports import parse
from .test_trainer import rows, table

LEAN_WORDS = ("lenient", "severe")


def _one_lower(key: list[int], how_many: int) -> list[int]:
    """The key with the first ``how_many`` criteria above the lowest level scored one level lower."""
    out, left = list(key), how_many
    for i, k in enumerate(out):
        if left and k > 1:
            out[i], left = k - 1, left - 1
    return out


def test_round_page_calls_a_lean_only_when_its_interval_excludes_zero(client, login, world, db):
    # "assessor": 5 anchors, two criterion-scores one level low: -0.08 with an interval across zero.
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, _one_lower(world.keys[anchor], 1 if i < 2 else 0))
    # "assessor2": one anchor, one criterion-score low: -0.20, but one anchor is too few to judge.
    submit(db, world, "assessor2", 0, _one_lower(world.keys[world.anchors[0]], 1))
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    lines = {row[0]: row for row in rows(table(page, "accuracy-table"))}
    daniel = next(row for name, row in lines.items() if name.startswith("Asha"))
    maya = next(row for name, row in lines.items() if name.startswith("Ben"))
    assert daniel[5].startswith("-0.08 [") and daniel[5].endswith("no clear lean")
    assert maya[5].startswith("-0.20 [") and maya[5].endswith("too few to judge")
    for cell in (daniel[5], maya[5]):
        assert not any(word in cell for word in LEAN_WORDS)


def test_round_with_two_anchors_shows_numbers_without_labels(client, login, world, db):
    people = add_assessors(db, world.program_a, 4)
    assign(db, world.round_id, people)
    insert_sheets(db, world.round_id, noisy_scores(world, people, seed=3, anchors=world.anchors[:2]))
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    reliability = rows(table(page, "reliability-table"))
    for row in reliability[1:]:  # each criterion: 2 anchors, 8 criterion-scores
        assert row[3].endswith("too few to judge"), row[3]
        for band in ("good", "tentative", "unacceptable"):
            assert band not in row[3]
    icc = page.split("Intraclass correlation on total scores per anchor:", 1)[1].split("</p>", 1)[0]
    assert "(too few to judge)" in icc
    for band in ("poor", "moderate", "good", "excellent"):
        assert f"({band})" not in icc
    for pair in rows(table(page, "pairwise-table")):  # 2 anchors x 5 criteria = 10 units in common
        assert pair[2].endswith("too few to judge") and "[" in pair[2]
    for anchor_row in rows(table(page, "anchors-table")):  # 4 ratings per anchor: below 5
        assert anchor_row[-1] == "too few to judge (4 ratings)"


def test_pairwise_and_anchor_csv_carry_intervals(client, login, world, db):
    people = add_assessors(db, world.program_a, 5)
    assign(db, world.round_id, people)
    data = insert_sheets(db, world.round_id, noisy_scores(world, people, seed=8))
    login(world.emails["trainer"])
    header, got = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=pairwise"))
    assert header[-3:] == ["weighted_kappa_ci_low", "weighted_kappa_ci_high", "too_few_to_judge"]
    units, raters, criteria, values, _ = data.arrays()
    pm = pairwise_kappa_matrix(units * 1000 + criteria, raters, values, levels=world.levels)
    names = {f"Assessor {i:03d}": uid for i, uid in enumerate(people)}
    assert len(got) == 10
    for line in got:
        lo, hi = pm.interval(names[line["assessor_a"]], names[line["assessor_b"]])
        assert float(line["weighted_kappa_ci_low"]) == lo and float(line["weighted_kappa_ci_high"]) == hi
        assert line["too_few_to_judge"] == "no"
    header, got = parse(client.get(f"/trainer/rounds/{world.round_id}/export.csv?table=anchors"))
    assert {"mean_signed_deviation_ci_low", "mean_signed_deviation_ci_high", "too_few_to_judge"} <= set(
        header
    )
    for line in got:
        msd, lo, hi = (float(line[k]) for k in ("mean_signed_deviation", *header[-3:-1]))
        assert lo <= msd <= hi
        assert line["too_few_to_judge"] == "no"  # five assessors rated every anchor
    assert np.isfinite([float(line["mean_signed_deviation_ci_low"]) for line in got]).all()
